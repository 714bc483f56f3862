#include "mail/smtp_transport.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mail/smtp_reply_capture.h"

namespace hirestream::mail {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int kMaxPoolSize = 64;

void init_curl_once() {
    // curl_global_init is not thread-safe and must run before any other curl call. It is never
    // paired with curl_global_cleanup: other libraries in the process may share libcurl, and
    // process exit releases everything anyway.
    static std::once_flag once;
    std::call_once(once, [] {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("curl_global_init failed");
        }
    });
}

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

// An SMTP envelope address we pass to libcurl. CR or LF would let a value inject SMTP commands
// (RFC 5321 2.3.8: commands end at CRLF); angle brackets and spaces would break the path syntax
// of MAIL FROM / RCPT TO (RFC 5321 4.1.2).
bool is_envelope_address(std::string_view address) {
    return address.size() <= 254 && std::all_of(address.begin(), address.end(), [](char c) {
               const auto u = static_cast<unsigned char>(c);
               return u > 0x20 && u < 0x7f && c != '<' && c != '>';
           });
}

// One pooled connection: a curl easy handle (which keeps its SMTP connection open between
// transfers) and the buffers libcurl writes into during a transfer.
struct Connection {
    CURL* easy = nullptr;
    std::array<char, CURL_ERROR_SIZE> error{};
    SmtpReplyCapture reply;

    Connection() = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    // curl_easy_cleanup closes the cached connection, politely with QUIT when it is still
    // usable (bounded by the handle's server-response timeout).
    ~Connection() {
        if (easy != nullptr) curl_easy_cleanup(easy);
    }
};

struct Upload {
    const std::string* data = nullptr;
    std::size_t offset = 0;
};

// CURLOPT_READFUNCTION: hands the message to libcurl, which dot-stuffs it and appends the
// final "." line itself (RFC 5321 4.5.2).
std::size_t read_upload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* upload = static_cast<Upload*>(user);
    const std::size_t n = std::min(size * count, upload->data->size() - upload->offset);
    // NOLINTNEXTLINE(bugprone-not-null-terminated-result): raw message bytes, not a C string
    std::memcpy(buffer, upload->data->data() + upload->offset, n);
    upload->offset += n;
    return n;
}

// CURLOPT_DEBUGFUNCTION: keeps server reply lines. Of the client's lines
// (CURLINFO_HEADER_OUT) only QUIT is recognized; none is stored, since AUTH carries the
// credentials.
int on_debug(CURL* /*easy*/, curl_infotype type, char* data, std::size_t size, void* user) {
    auto* reply = static_cast<SmtpReplyCapture*>(user);
    try {
        if (type == CURLINFO_HEADER_IN) {
            reply->add(std::string_view(data, size));
        } else if (type == CURLINFO_HEADER_OUT &&
                   std::string_view(data, size).starts_with("QUIT")) {
            reply->freeze();
        }
    } catch (...) {
        // Out of memory while keeping diagnostics: never let an exception cross into C.
    }
    return 0;
}

struct CurlSlist {
    curl_slist* list = nullptr;
    CurlSlist() = default;
    CurlSlist(const CurlSlist&) = delete;
    CurlSlist& operator=(const CurlSlist&) = delete;
    ~CurlSlist() { curl_slist_free_all(list); }
    bool append(const std::string& value) {
        curl_slist* next = curl_slist_append(list, value.c_str());
        if (next == nullptr) return false;
        list = next;
        return true;
    }
};

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

struct SmtpTransport::Impl {
    SmtpOptions options;
    std::string url;  // smtp(s)://host:port/<helo name>: libcurl sends the path in EHLO

    std::mutex pool_mutex;
    std::condition_variable pool_freed;
    std::vector<std::unique_ptr<Connection>> idle;  // guarded by pool_mutex
    int open = 0;  // connections in existence, idle or in use; guarded by pool_mutex

    // Waits until a pooled connection is free or a new one may be made. Returns nullptr when
    // the deadline passed first or curl_easy_init failed.
    std::unique_ptr<Connection> acquire(SteadyClock::time_point deadline) {
        {
            std::unique_lock lock(pool_mutex);
            if (!pool_freed.wait_until(lock, deadline,
                                       [&] { return !idle.empty() || open < options.pool_size; })) {
                return nullptr;
            }
            if (!idle.empty()) {
                // Most recently used first: its connection is the least likely to have been
                // closed by the server's idle timeout.
                std::unique_ptr<Connection> connection = std::move(idle.back());
                idle.pop_back();
                return connection;
            }
            ++open;
        }
        auto connection = std::make_unique<Connection>();
        connection->easy = curl_easy_init();
        if (connection->easy == nullptr) {
            release(nullptr);
            return nullptr;
        }
        return connection;
    }

    // Returns a connection to the pool; nullptr (or a connection that failed) is dropped, which
    // frees its slot for a fresh one.
    void release(std::unique_ptr<Connection> connection) {
        {
            std::lock_guard lock(pool_mutex);
            if (connection != nullptr) {
                idle.push_back(std::move(connection));
            } else {
                --open;
            }
        }
        pool_freed.notify_one();
    }

    void configure(Connection& connection, const std::string& mail_from, const CurlSlist& rcpts,
                   Upload& upload, SteadyClock::time_point deadline) const {
        CURL* easy = connection.easy;
        const SmtpOptions& o = options;
        curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#endif
        curl_easy_setopt(easy, CURLOPT_MAIL_FROM, mail_from.c_str());
        curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpts.list);
        curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(easy, CURLOPT_READFUNCTION, read_upload);
        curl_easy_setopt(easy, CURLOPT_READDATA, &upload);
        // Lets libcurl announce SIZE= (RFC 1870) so an oversized message is refused up front.
        curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE,
                         static_cast<curl_off_t>(upload.data->size()));

        // STARTTLS is required, not opportunistic: CURLUSESSL_TRY would fall back to plain text
        // when a man in the middle strips the STARTTLS capability (RFC 3207 6).
        curl_easy_setopt(easy, CURLOPT_USE_SSL,
                         o.tls == SmtpTls::starttls ? static_cast<long>(CURLUSESSL_ALL)
                                                    : static_cast<long>(CURLUSESSL_NONE));
        if (!o.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, o.ca_file.c_str());
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, o.verify_peer ? 1L : 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, o.verify_peer ? 2L : 0L);
        if (!o.username.empty()) {
            curl_easy_setopt(easy, CURLOPT_USERNAME, o.username.c_str());
            curl_easy_setopt(easy, CURLOPT_PASSWORD, o.password.c_str());
            if (!o.auth_mechanism.empty()) {
                // RFC 4954 mechanism names; libcurl then uses that one only (RFC 5092 URL
                // options "AUTH=<mech>").
                // libcurl copies string options, so a local string is enough.
                const std::string login_options = "AUTH=" + o.auth_mechanism;
                curl_easy_setopt(easy, CURLOPT_LOGIN_OPTIONS, login_options.c_str());
            }
        }

        // libcurl's server-response timeout defaults to 120 s, and a hung relay was seen to hold
        // a send that long: every step gets an explicit bound.
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_ms));
#if LIBCURL_VERSION_NUM >= 0x080600
        curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT_MS,
                         static_cast<long>(o.response_timeout_ms));
#else
        curl_easy_setopt(easy, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                         static_cast<long>(std::max(1, (o.response_timeout_ms + 999) / 1000)));
#endif
        // The message's whole budget, less what was spent waiting for a pooled connection.
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
        curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS,
                         static_cast<long>(std::max<std::int64_t>(1, left.count())));
        // Signals cannot time out name resolution in a multi-threaded process; libcurl's
        // threaded resolver honours the timeouts without them.
        curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
        // Each SMTP command waits for its reply: Nagle would add a delay to every round trip.
        curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);

        connection.error[0] = '\0';
        connection.reply.reset();
        curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, connection.error.data());
        // VERBOSE only routes protocol lines to on_debug; nothing is printed.
        curl_easy_setopt(easy, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(easy, CURLOPT_DEBUGDATA, &connection.reply);
        curl_easy_setopt(easy, CURLOPT_VERBOSE, 1L);
    }

    // Never lets the password reach a detail string, whatever a server chose to echo. A very
    // short password is left alone: masking every "a" would garble the detail and reveal more.
    std::string scrub(std::string text) const {
        if (options.password.size() >= 4) replace_all(text, options.password, "***");
        return text;
    }
};

SmtpTransport::SmtpTransport(SmtpOptions options) : impl_(std::make_unique<Impl>()) {
    init_curl_once();
    const SmtpOptions defaults;
    options.pool_size = std::clamp(options.pool_size, 1, kMaxPoolSize);
    // To libcurl 0 means "no limit" (or 300 s to connect): never what a caller meant.
    if (options.connect_timeout_ms <= 0) options.connect_timeout_ms = defaults.connect_timeout_ms;
    if (options.response_timeout_ms <= 0) {
        options.response_timeout_ms = defaults.response_timeout_ms;
    }
    if (options.total_timeout_ms <= 0) options.total_timeout_ms = defaults.total_timeout_ms;
    // The EHLO argument travels as the URL path: a domain or an address literal (RFC 5321
    // 4.1.1.1). Anything else would garble the URL or the command.
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
    impl_->url = fmt::format("{}://{}:{}/{}", scheme_of(options.tls), host_for_url(options.host),
                             options.port, options.helo_name);
    impl_->options = std::move(options);
}

SmtpTransport::~SmtpTransport() {
    // Idle connections close with QUIT here. Sends still running would be an owner's bug: the
    // owner stops its senders first.
    std::lock_guard lock(impl_->pool_mutex);
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
    CurlSlist rcpts;
    for (const std::string& recipient : envelope.recipients) {
        if (recipient.empty() || !is_envelope_address(recipient)) {
            return SendOutcome{Kind::permanent, 0, "invalid recipient address"};
        }
        if (!rcpts.append("<" + recipient + ">")) {
            return SendOutcome{Kind::transient, 0, "out of memory"};
        }
    }
    const std::string mail_from = "<" + envelope.mail_from + ">";

    const auto deadline = SteadyClock::now() + std::chrono::milliseconds(options.total_timeout_ms);
    std::unique_ptr<Connection> connection = impl_->acquire(deadline);
    if (connection == nullptr) {
        return SendOutcome{
            Kind::transient, 0,
            fmt::format("no SMTP connection free within {} ms", options.total_timeout_ms)};
    }

    Upload upload{&mime, 0};
    impl_->configure(*connection, mail_from, rcpts, upload, deadline);
    const CURLcode result = curl_easy_perform(connection->easy);
    long code = 0;
    curl_easy_getinfo(connection->easy, CURLINFO_RESPONSE_CODE, &code);
    // Drop pointers into this call's stack frame.
    curl_easy_setopt(connection->easy, CURLOPT_MAIL_RCPT, static_cast<curl_slist*>(nullptr));
    curl_easy_setopt(connection->easy, CURLOPT_READDATA, static_cast<void*>(nullptr));

    SendOutcome outcome;
    outcome.reply_code = static_cast<int>(code);
    const std::string& reply = connection->reply.text();
    if (result == CURLE_OK) {
        outcome.kind = Kind::sent;
        // The final reply to DATA, often with the relay's queue id ("250 2.0.0 Ok: queued as X").
        outcome.detail = reply.empty() ? std::to_string(code) : reply;
        impl_->release(std::move(connection));
    } else {
        const std::string curl_text =
            connection->error[0] != '\0' ? connection->error.data() : curl_easy_strerror(result);
        const bool server_refused = code >= 400 && code < 600;
        if (server_refused && result == CURLE_LOGIN_DENIED) {
            // 535 and friends (RFC 4954 6) are about our credentials, not this message: transient,
            // so deliveries resume once the operator fixes the configuration.
            outcome.kind = Kind::transient;
            outcome.detail = fmt::format("{} (SMTP authentication failed)",
                                         reply.empty() ? std::to_string(code) : reply);
        } else if (server_refused) {
            // RFC 5321 4.2.1: 5yz is a permanent failure, 4yz a transient one.
            outcome.kind = code >= 500 ? Kind::permanent : Kind::transient;
            outcome.detail = reply.starts_with(std::to_string(code))
                                 ? reply
                                 : fmt::format("{} {}", code, curl_text);
        } else {
            // No SMTP verdict: refused or dropped connection, timeout, TLS failure. The last
            // code seen (a 354 before a dropped DATA, say) decided nothing, so none is reported.
            outcome.kind = Kind::transient;
            outcome.reply_code = 0;
            outcome.detail = fmt::format("{} (curl error {})", curl_text, static_cast<int>(result));
        }
        // A failed transfer can leave the SMTP session mid-transaction (after a refused RCPT
        // the server still holds our MAIL FROM; RFC 5321 4.1.4), so the handle and any
        // connection it cached are thrown away rather than reused.
        connection.reset();
        impl_->release(nullptr);
    }
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
