#include "mail/smtp_transport.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mail/smtp_session.h"

namespace hirestream::mail {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxPoolSize = 64;

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 3986 2.1 percent-decoding.
Result<std::string> percent_decode(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        const int hi = i + 2 < text.size() ? hex_value(text[i + 1]) : -1;
        const int lo = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            return fail(Errc::invalid_argument, "bad percent-escape", "smtp_url");
        }
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

bool is_host_name(std::string_view host) {
    if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') {
        return false;
    }
    return std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

bool is_ipv6_literal(std::string_view host) {
    return !host.empty() && host.find(':') != std::string_view::npos &&
           std::all_of(host.begin(), host.end(),
                       [](char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; });
}

std::string host_for_url(const std::string& host) {
    return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

std::string_view scheme_of(SmtpTls tls) { return tls == SmtpTls::implicit ? "smtps" : "smtp"; }

// An SMTP envelope address we put in MAIL FROM or RCPT TO. CR or LF would let a value inject SMTP
// commands (RFC 5321 2.3.8: commands end at CRLF); angle brackets and spaces would break the path
// syntax of MAIL FROM / RCPT TO (RFC 5321 4.1.2).
bool is_envelope_address(std::string_view address) {
    return address.size() <= 254 && std::all_of(address.begin(), address.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u > 0x20 && u < 0x7f && c != '<' && c != '>';
           });
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
    if (what.empty()) return;
    for (std::size_t p = text.find(what); p != std::string::npos; p = text.find(what, p)) {
        text.replace(p, what.size(), with);
        p += with.size();
    }
}

}  // namespace

Result<SmtpOptions> parse_smtp_url(const std::string& url) {
    // Error messages never repeat the URL: it may hold a password.
    auto bad = [](std::string_view what) {
        return fail(Errc::invalid_argument, fmt::format("invalid SMTP URL: {}", what), "smtp_url");
    };
    SmtpOptions options;
    std::string_view rest(url);
    const std::size_t colon = rest.find("://");
    if (colon == std::string_view::npos) return bad("expected smtp:// or smtps://");
    std::string scheme(rest.substr(0, colon));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (scheme == "smtp") {
        options.tls = SmtpTls::none;
        options.port = 25;
    } else if (scheme == "smtps") {
        options.tls = SmtpTls::implicit;
        options.port = 465;
    } else {
        return bad("the scheme must be smtp or smtps");
    }
    rest.remove_prefix(colon + 3);
    if (rest.find('#') != std::string_view::npos) return bad("a fragment is not allowed");

    std::string_view query;
    if (const std::size_t q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
        if (slash + 1 != rest.size()) return bad("a path is not allowed");
        rest = rest.substr(0, slash);
    }
    // The last "@" ends the user info, so an unescaped "@" in a password still parses.
    if (const std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
        const std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        const std::size_t sep = userinfo.find(':');
        auto user = percent_decode(userinfo.substr(0, sep));
        if (!user) return bad("bad percent-escape in the user name");
        if (user->empty()) return bad("empty user name");
        options.username = std::move(*user);
        if (sep != std::string_view::npos) {
            auto password = percent_decode(userinfo.substr(sep + 1));
            if (!password) return bad("bad percent-escape in the password");
            options.password = std::move(*password);
        }
    }

    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        const std::size_t close = rest.find(']');
        if (close == std::string_view::npos) return bad("unterminated IPv6 address");
        const std::string_view host = rest.substr(1, close - 1);
        if (!is_ipv6_literal(host)) return bad("bad IPv6 address");
        options.host = std::string(host);
        rest.remove_prefix(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return bad("bad host");
            port_text = rest.substr(1);
            if (port_text.empty()) return bad("empty port");
        }
    } else {
        const std::size_t sep = rest.find(':');
        const std::string_view host = rest.substr(0, sep);
        if (!is_host_name(host)) return bad("missing or bad host");
        options.host = std::string(host);
        if (sep != std::string_view::npos) {
            port_text = rest.substr(sep + 1);
            if (port_text.empty()) return bad("empty port");
        }
    }
    if (!port_text.empty()) {
        if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(),
                                                 [](char c) { return c >= '0' && c <= '9'; })) {
            return bad("the port must be a number");
        }
        const int port = std::stoi(std::string(port_text));
        if (port < 1 || port > 65535) return bad("the port must be 1-65535");
        options.port = port;
    }

    bool tls_given = false;
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view param = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (param == "tls=starttls" && options.tls != SmtpTls::implicit) {
            options.tls = SmtpTls::starttls;
        } else if (param == "tls=none" && options.tls != SmtpTls::implicit) {
            options.tls = SmtpTls::none;
        } else {
            return bad("the query may only be tls=starttls or tls=none (smtp:// only)");
        }
        tls_given = true;
    }
    // Credentials never cross the network in clear by default: smtp:// with a user name means
    // STARTTLS, required. Plain AUTH needs an explicit tls=none (a local relay, say).
    if (!options.username.empty() && options.tls == SmtpTls::none && !tls_given) {
        options.tls = SmtpTls::starttls;
    }
    return options;
}

namespace {

struct SslCtxFree {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

// The TLS settings every connection shares, into `out`. Returns an empty text, or why TLS
// cannot work (then `out` is left empty).
std::string make_tls_context(const SmtpOptions& options,
                             std::unique_ptr<SSL_CTX, SslCtxFree>& out) {
    ERR_clear_error();
    std::unique_ptr<SSL_CTX, SslCtxFree> ctx(SSL_CTX_new(TLS_client_method()));
    if (ctx == nullptr) return "TLS setup failed: " + take_openssl_error();
    // TLS 1.0 and 1.1 are deprecated (RFC 8996).
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (options.verify_peer) {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
        const int loaded =
            options.ca_file.empty()
                ? SSL_CTX_set_default_verify_paths(ctx.get())
                : SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr);
        if (loaded != 1) {
            const std::string why = take_openssl_error();
            return options.ca_file.empty() ? "cannot load the system's CA certificates: " + why
                                           : fmt::format("cannot load CA certificates from {}: {}",
                                                         options.ca_file, why);
        }
    } else {
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    }
    out = std::move(ctx);
    return {};
}

}  // namespace

struct SmtpTransport::Impl {
    SmtpOptions options;
    std::unique_ptr<SSL_CTX, SslCtxFree> tls;  // null without TLS
    std::string tls_error;  // non-empty: TLS cannot be set up, and every send says why

    std::mutex pool_mutex;
    std::condition_variable pool_freed;
    // Open connections last, most recently used at the back; closed ones first.
    std::vector<std::unique_ptr<SmtpSession>> idle;  // guarded by pool_mutex
    int sessions = 0;  // connections in existence, idle or in use; guarded by pool_mutex

    // Waits until a pooled connection is free or a new one may be made. Returns nullptr when
    // the deadline passed first.
    std::unique_ptr<SmtpSession> acquire(SteadyClock::time_point deadline) {
        std::unique_lock lock(pool_mutex);
        if (!pool_freed.wait_until(lock, deadline,
                                   [&] { return !idle.empty() || sessions < options.pool_size; })) {
            return nullptr;
        }
        if (!idle.empty()) {
            // Most recently used first: the least likely to have been closed by the server's
            // idle timeout.
            std::unique_ptr<SmtpSession> session = std::move(idle.back());
            idle.pop_back();
            return session;
        }
        ++sessions;
        lock.unlock();
        return std::make_unique<SmtpSession>(options, tls.get());
    }

    void release(std::unique_ptr<SmtpSession> session) {
        {
            std::lock_guard lock(pool_mutex);
            if (session->is_open()) {
                idle.push_back(std::move(session));
            } else {
                idle.insert(idle.begin(), std::move(session));
            }
        }
        pool_freed.notify_one();
    }

    // Never lets the password reach a detail string, whatever a server chose to echo. A very
    // short password is left alone: masking every "a" would garble the detail and reveal more.
    std::string scrub(std::string text) const {
        if (options.password.size() >= 4) replace_all(text, options.password, "***");
        return text;
    }
};

SmtpTransport::SmtpTransport(SmtpOptions options) : impl_(std::make_unique<Impl>()) {
    const SmtpOptions defaults;
    options.pool_size = std::clamp(options.pool_size, 1, kMaxPoolSize);
    // 0 or less would mean no bound at all: never what a caller meant.
    if (options.connect_timeout_ms <= 0) options.connect_timeout_ms = defaults.connect_timeout_ms;
    if (options.response_timeout_ms <= 0) {
        options.response_timeout_ms = defaults.response_timeout_ms;
    }
    if (options.total_timeout_ms <= 0) options.total_timeout_ms = defaults.total_timeout_ms;
    // The EHLO argument: a domain or an address literal (RFC 5321 4.1.1.1). Anything else
    // would garble the command.
    const bool helo_ok =
        !options.helo_name.empty() && options.helo_name.size() <= 255 &&
        std::all_of(options.helo_name.begin(), options.helo_name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                   std::string_view(".-[]:").find(c) != std::string_view::npos;
        });
    if (!helo_ok) {
        spdlog::warn("smtp helo_name is not a domain; using \"{}\"", defaults.helo_name);
        options.helo_name = defaults.helo_name;
    }
    if (options.tls != SmtpTls::none) {
        impl_->tls_error = make_tls_context(options, impl_->tls);
        if (!impl_->tls_error.empty()) spdlog::error("smtp: {}", impl_->tls_error);
    }
    impl_->options = std::move(options);
}

SmtpTransport::~SmtpTransport() {
    // Idle connections close with QUIT, each waiting briefly for the reply. Sends still running
    // would be an owner's bug: the owner stops its senders first.
    std::lock_guard lock(impl_->pool_mutex);
    const auto wait = std::chrono::milliseconds(std::min(impl_->options.response_timeout_ms, 2000));
    for (const std::unique_ptr<SmtpSession>& session : impl_->idle) session->quit(wait);
    impl_->idle.clear();
}

SendOutcome SmtpTransport::send(const Envelope& envelope, const std::string& mime,
                                const std::string& message_id) {
    using Kind = SendOutcome::Kind;
    const SmtpOptions& options = impl_->options;
    if (envelope.recipients.empty()) {
        return SendOutcome{Kind::permanent, 0, "no recipients"};
    }
    // The null reverse-path "<>" (empty mail_from) is valid: RFC 5321 4.5.5.
    if (!is_envelope_address(envelope.mail_from)) {
        return SendOutcome{Kind::permanent, 0, "invalid MAIL FROM address"};
    }
    for (const std::string& recipient : envelope.recipients) {
        if (recipient.empty() || !is_envelope_address(recipient)) {
            return SendOutcome{Kind::permanent, 0, "invalid recipient address"};
        }
    }
    if (!impl_->tls_error.empty()) return SendOutcome{Kind::transient, 0, impl_->tls_error};

    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options.total_timeout_ms);
    std::unique_ptr<SmtpSession> session = impl_->acquire(deadline);
    if (session == nullptr) {
        return SendOutcome{
            Kind::transient, 0,
            fmt::format("no SMTP connection free within {} ms", options.total_timeout_ms)};
    }

    SmtpStep step;
    // One retry, only when a reused connection turned out dead before the server answered
    // anything: the message cannot have been taken, so sending it again risks no duplicate.
    for (int attempt = 0; attempt < 2; ++attempt) {
        // A 421 or a close that came while the connection sat idle (RFC 5321 3.8).
        if (session->is_open() && session->went_away()) session->close();
        step = session->is_open() ? SmtpStep{} : session->open(deadline);
        if (step.ok()) {
            step = session->send(envelope.mail_from, envelope.recipients, mime, deadline);
        }
        if (!step.stale) break;
        spdlog::debug("smtp: a reused connection was gone ({}); sending again on a new one",
                      step.text);
        session->close();
    }

    SendOutcome outcome;
    outcome.reply_code = step.code;
    if (step.ok()) {
        outcome.kind = Kind::sent;
        // The final reply to DATA, often with the relay's queue id ("250 2.0.0 Ok: queued as X").
        outcome.detail = std::move(step.text);
    } else if (step.kind == SmtpStep::Kind::refused && step.authentication) {
        // 535 and friends (RFC 4954 6) are about our credentials, not this message: transient,
        // so deliveries resume once the operator fixes the configuration.
        outcome.kind = Kind::transient;
        outcome.detail = fmt::format("{} (SMTP authentication failed)", step.text);
    } else if (step.kind == SmtpStep::Kind::refused && !step.session) {
        // RFC 5321 4.2.1: 5yz is a permanent failure, 4yz a transient one.
        outcome.kind = step.code >= 500 && step.code < 600 ? Kind::permanent : Kind::transient;
        outcome.detail = std::move(step.text);
    } else {
        // No verdict on this message: the relay refused the connection itself (a 554 greeting,
        // a refused STARTTLS), or there was no SMTP answer at all (connect, timeout, TLS, a
        // dropped connection). A code seen on the way (a 354 before a dropped DATA) decided
        // nothing, so none is reported unless it was the relay's refusal.
        outcome.kind = Kind::transient;
        if (step.kind == SmtpStep::Kind::failed) outcome.reply_code = 0;
        outcome.detail = std::move(step.text);
    }
    // A failed transaction can leave the server mid-transaction (after a refused RCPT it still
    // holds our MAIL FROM; RFC 5321 4.1.4): the connection is closed rather than reused.
    if (!step.ok()) session->close();
    impl_->release(std::move(session));
    outcome.detail = impl_->scrub(std::move(outcome.detail));
    spdlog::debug("smtp send message_id={} outcome={} code={} detail=\"{}\"", message_id,
                  outcome.kind == Kind::sent        ? "sent"
                  : outcome.kind == Kind::permanent ? "permanent"
                                                    : "transient",
                  outcome.reply_code, outcome.detail);
    return outcome;
}

std::string SmtpTransport::describe() const {
    const SmtpOptions& o = impl_->options;
    std::string notes = o.tls == SmtpTls::none       ? "no tls"
                        : o.tls == SmtpTls::starttls ? "starttls"
                                                     : "implicit tls";
    if (!o.username.empty()) notes += ", auth";
    if (o.tls != SmtpTls::none && !o.verify_peer) notes += ", certificate not verified";
    return fmt::format("{}://{}:{} ({})", scheme_of(o.tls), host_for_url(o.host), o.port, notes);
}

}  // namespace hirestream::mail
