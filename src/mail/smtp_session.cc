#include "mail/smtp_session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

#include "mail/message.h"
#include "mail/smtp_reply_capture.h"

namespace hirestream::mail {
namespace {

using Clock = std::chrono::steady_clock;
using Deadline = SmtpSession::Deadline;

// RFC 5321 4.5.3.1.5 allows 512 octets per reply line; some servers send longer EHLO lines.
constexpr std::size_t kMaxReplyLine = 4096;
constexpr std::size_t kMaxReplyLines = 128;
constexpr std::size_t kReadChunk = 16 * 1024;

long long ms_left(Deadline deadline) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
}

SmtpStep failed(std::string text) {
    SmtpStep step;
    step.kind = SmtpStep::Kind::failed;
    step.text = std::move(text);
    return step;
}

std::string errno_text(int error) { return std::strerror(error); }

bool is_ip_literal(const std::string& host) {
    in6_addr v6{};
    in_addr v4{};
    return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 ||
           ::inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

std::string upper(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    return out;
}

struct AddrInfoFree {
    void operator()(addrinfo* list) const {
        if (list != nullptr) ::freeaddrinfo(list);
    }
};
using AddrList = std::unique_ptr<addrinfo, AddrInfoFree>;

// A name lookup runs on a thread of its own, so it can be given up on: getaddrinfo has no
// timeout but resolv.conf's, which can add up to many seconds per server. (Not getaddrinfo_a:
// glibc starts its threads where sanitizers cannot see them.) A lookup given up on finishes on
// its thread and frees itself; at most kMaxLookups run at once, so a resolver that hangs
// cannot pile up threads.
struct Lookup {
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;  // guarded by mutex
    int status = 0;
    addrinfo* result = nullptr;
    Lookup() = default;
    Lookup(const Lookup&) = delete;
    Lookup& operator=(const Lookup&) = delete;
    ~Lookup() {
        if (result != nullptr) ::freeaddrinfo(result);
    }
};

constexpr int kMaxLookups = 16;
std::atomic<int> lookups_running{0};

SmtpStep resolve(const std::string& host, int port, long long timeout_ms, AddrList& out) {
    const std::string service = std::to_string(port);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &list) == 0) {
        out.reset(list);
        return {};
    }
    if (lookups_running.fetch_add(1) >= kMaxLookups) {
        lookups_running.fetch_sub(1);
        return failed(fmt::format("cannot resolve {}: {} earlier lookups are still running", host,
                                  kMaxLookups));
    }
    auto lookup = std::make_shared<Lookup>();
    try {
        std::thread([lookup, host, service] {
            addrinfo hints{};
            hints.ai_socktype = SOCK_STREAM;
            hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
            addrinfo* list = nullptr;
            const int status = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
            {
                std::lock_guard lock(lookup->mutex);
                lookup->status = status;
                lookup->result = list;
                lookup->done = true;
            }
            lookup->finished.notify_all();
            lookups_running.fetch_sub(1);
        }).detach();
    } catch (const std::system_error& e) {
        lookups_running.fetch_sub(1);
        return failed(fmt::format("cannot resolve {}: {}", host, e.what()));
    }
    std::unique_lock lock(lookup->mutex);
    if (!lookup->finished.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                   [&] { return lookup->done; })) {
        return failed(fmt::format("timeout: resolving {} took more than {} ms", host, timeout_ms));
    }
    if (lookup->status != 0) {
        return failed(fmt::format("cannot resolve {}: {}", host, ::gai_strerror(lookup->status)));
    }
    out.reset(std::exchange(lookup->result, nullptr));
    return {};
}

// RFC 5321 4.5.2: a line of the message that starts with "." gets one more. Lines end in CRLF;
// the message's first line counts as starting after one.
bool needs_dot_stuffing(std::string_view message) {
    return message.starts_with('.') || message.find("\r\n.") != std::string_view::npos;
}

void dot_stuff(std::string_view message, std::string& out) {
    out.clear();
    out.reserve(message.size() + message.size() / 64 + 1);
    if (message.starts_with('.')) out.push_back('.');
    std::size_t from = 0;
    for (std::size_t at = message.find("\r\n.", from); at != std::string_view::npos;
         at = message.find("\r\n.", from)) {
        out.append(message.substr(from, at + 2 - from));
        out.push_back('.');
        from = at + 2;
    }
    out.append(message.substr(from));
}

}  // namespace

SmtpStep SmtpSession::answer(const Reply& reply, char want) {
    SmtpStep step;
    step.code = reply.code;
    step.text = reply.text;
    if (reply.code / 100 != want - '0') step.kind = SmtpStep::Kind::refused;
    return step;
}

std::string take_openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown TLS error";
    std::array<char, 256> text{};
    ERR_error_string_n(code, text.data(), text.size());
    return text.data();
}

SmtpSession::SmtpSession(const SmtpOptions& options, SSL_CTX* tls)
    : options_(options), tls_ctx_(tls) {}

SmtpSession::~SmtpSession() { close(); }

void SmtpSession::close() {
    if (ssl_ != nullptr) SSL_free(ssl_);  // frees both BIOs
    ssl_ = nullptr;
    tls_in_ = nullptr;
    tls_out_ = nullptr;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
    recv_armed_ms_ = -1;
    send_armed_ms_ = -1;
    messages_sent_ = 0;
}

SmtpStep SmtpSession::open(Deadline deadline) {
    close();
    SmtpStep step = connect_socket(deadline);
    if (step.ok() && options_.tls == SmtpTls::implicit) step = start_tls(deadline);
    Reply reply;
    if (step.ok()) step = read_reply(reply, "the greeting", deadline);
    if (step.ok() && reply.code != 220) {
        step = answer(reply, '2');
        step.kind = SmtpStep::Kind::refused;  // a 2xx other than 220 is no greeting either
        step.session = true;
    }
    if (step.ok()) step = hello(deadline);
    if (step.ok() && options_.tls == SmtpTls::starttls) {
        // Required, not opportunistic: falling back to plain text when the capability is missing
        // is what a man in the middle stripping it wants (RFC 3207 6).
        if (!starttls_offered_) {
            step = failed("the server does not offer STARTTLS, which tls=starttls requires");
        } else {
            step = command("STARTTLS\r\n", '2', reply, "STARTTLS", deadline);
            step.session = true;
        }
        // Bytes after the 220 were sent before the handshake, in clear: a man in the middle could
        // have injected replies the TLS session would then believe (CVE-2011-0411's class).
        if (step.ok() && !in_.empty()) {
            step = failed("the server sent more than its reply to STARTTLS before TLS started");
        }
        if (step.ok()) step = start_tls(deadline);
        // RFC 3207 4.2: forget what the server said before TLS and ask again.
        if (step.ok()) step = hello(deadline);
    }
    if (step.ok()) step = authenticate(deadline);
    if (!step.ok()) close();
    return step;
}

SmtpStep SmtpSession::connect_socket(Deadline deadline) {
    const Deadline until =
        std::min(deadline, Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms));
    AddrList addresses;
    if (SmtpStep step =
            resolve(options_.host, options_.port, std::max(1LL, ms_left(until)), addresses);
        !step.ok()) {
        return step;
    }
    std::string last_error = "no address";
    for (const addrinfo* ai = addresses.get(); ai != nullptr; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                ai->ai_protocol);
        if (fd < 0) {
            last_error = errno_text(errno);
            continue;
        }
        int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            pollfd pfd{fd, POLLOUT, 0};
            do {
                rc = ::poll(&pfd, 1, static_cast<int>(std::max(0LL, ms_left(until))));
            } while (rc < 0 && errno == EINTR);
            if (rc == 0) {
                ::close(fd);
                return failed(fmt::format("timeout: no connection to {}:{} within {} ms",
                                          options_.host, options_.port,
                                          options_.connect_timeout_ms));
            }
            int error = 0;
            socklen_t len = sizeof error;
            if (rc < 0) {
                error = errno;
            } else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) != 0) {
                error = errno;
            }
            rc = error == 0 ? 0 : -1;
            errno = error;
        }
        if (rc != 0) {
            last_error = errno_text(errno);
            ::close(fd);
            continue;
        }
        // Blocking from here: each read and write is bounded by SO_RCVTIMEO / SO_SNDTIMEO, which
        // costs no poll() per call.
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        const int one = 1;
        // Pipelined commands and the message go out as whole writes; Nagle would only delay them.
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
        return {};
    }
    return failed(
        fmt::format("cannot connect to {}:{}: {}", options_.host, options_.port, last_error));
}

SmtpStep SmtpSession::start_tls(Deadline deadline) {
    ERR_clear_error();
    ssl_ = SSL_new(tls_ctx_);
    if (ssl_ == nullptr) return failed("TLS setup failed: " + take_openssl_error());
    tls_in_ = BIO_new(BIO_s_mem());
    tls_out_ = BIO_new(BIO_s_mem());
    if (tls_in_ == nullptr || tls_out_ == nullptr) {
        BIO_free(tls_in_);
        BIO_free(tls_out_);
        tls_in_ = tls_out_ = nullptr;
        return failed("TLS setup failed: out of memory");
    }
    // An empty input BIO means "wait for more", not end of stream.
    BIO_set_mem_eof_return(tls_in_, -1);
    SSL_set_bio(ssl_, tls_in_, tls_out_);
    SSL_set_connect_state(ssl_);
    const bool ip = is_ip_literal(options_.host);
    // SNI takes a host name only (RFC 6066 3).
    if (!ip) SSL_set_tlsext_host_name(ssl_, options_.host.c_str());
    if (options_.verify_peer) {
        const int set =
            ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), options_.host.c_str())
               : SSL_set1_host(ssl_, options_.host.c_str());
        if (set != 1) return failed("TLS setup failed: " + take_openssl_error());
    }
    std::string received;
    while (true) {
        const int rc = SSL_do_handshake(ssl_);
        if (SmtpStep step = flush_tls("the TLS handshake", deadline); !step.ok()) return step;
        if (rc == 1) return {};
        const int error = SSL_get_error(ssl_, rc);
        if (error != SSL_ERROR_WANT_READ) {
            const long verify = SSL_get_verify_result(ssl_);
            if (verify != X509_V_OK) {
                ERR_clear_error();
                return failed(fmt::format("TLS handshake failed: certificate verify failed: {}",
                                          X509_verify_cert_error_string(verify)));
            }
            return failed("TLS handshake failed: " + take_openssl_error());
        }
        received.clear();
        if (SmtpStep step = raw_recv(received, "the TLS handshake", deadline); !step.ok()) {
            return step;
        }
        BIO_write(tls_in_, received.data(), static_cast<int>(received.size()));
    }
}

SmtpStep SmtpSession::hello(Deadline deadline) {
    pipelining_ = false;
    starttls_offered_ = false;
    size_offered_ = false;
    auth_mechanisms_.clear();
    const std::string ehlo = fmt::format("EHLO {}\r\n", options_.helo_name);
    Reply reply;
    if (SmtpStep step = write(ehlo, {}, "EHLO", deadline); !step.ok()) return step;
    if (SmtpStep step = read_reply(reply, "EHLO", deadline, true); !step.ok()) return step;
    if (reply.code / 100 != 2) {
        // RFC 5321 3.2: a server that does not know EHLO gets HELO, unless we need an extension.
        if (reply.code / 100 == 5 && options_.tls == SmtpTls::none && options_.username.empty()) {
            SmtpStep step = command(fmt::format("HELO {}\r\n", options_.helo_name), '2', reply,
                                    "HELO", deadline);
            step.session = true;
            return step;
        }
        SmtpStep step = answer(reply, '2');
        step.session = true;
        return step;
    }
    // The first line is the server's name; each later one an extension (RFC 5321 4.1.1.1).
    for (std::size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string line = upper(reply.lines[i]);
        std::string_view keyword(line);
        std::string_view params;
        if (const std::size_t sp = keyword.find_first_of(" ="); sp != std::string_view::npos) {
            params = keyword.substr(sp + 1);
            keyword = keyword.substr(0, sp);
        }
        if (keyword == "PIPELINING") {
            pipelining_ = true;
        } else if (keyword == "STARTTLS") {
            starttls_offered_ = true;
        } else if (keyword == "SIZE") {
            // The server judges SIZE= itself (a 552 to MAIL FROM): its limit is not kept.
            size_offered_ = true;
        } else if (keyword == "AUTH") {
            // "AUTH PLAIN LOGIN", or the pre-RFC 4954 form "AUTH=PLAIN LOGIN".
            while (!params.empty()) {
                const std::size_t sp = params.find(' ');
                const std::string_view mechanism = params.substr(0, sp);
                if (!mechanism.empty() &&
                    std::find(auth_mechanisms_.begin(), auth_mechanisms_.end(), mechanism) ==
                        auth_mechanisms_.end()) {
                    auth_mechanisms_.emplace_back(mechanism);
                }
                params = sp == std::string_view::npos ? std::string_view() : params.substr(sp + 1);
            }
        }
    }
    return {};
}

SmtpStep SmtpSession::authenticate(Deadline deadline) {
    if (options_.username.empty()) return {};
    auto offered = [&](std::string_view mechanism) {
        return std::find(auth_mechanisms_.begin(), auth_mechanisms_.end(), mechanism) !=
               auth_mechanisms_.end();
    };
    std::string mechanism = options_.auth_mechanism;
    if (mechanism.empty()) mechanism = offered("PLAIN") ? "PLAIN" : "LOGIN";
    if (!offered(mechanism)) {
        std::string list;
        for (const std::string& m : auth_mechanisms_) list += (list.empty() ? "" : " ") + m;
        return failed(fmt::format("the server does not offer AUTH {} (it offers: {})", mechanism,
                                  list.empty() ? "none" : list));
    }
    Reply reply;
    SmtpStep step;
    if (mechanism == "PLAIN") {
        // RFC 4616: authorization id (empty), NUL, user, NUL, password; sent as the initial
        // response (RFC 4954 4).
        std::string credentials;
        credentials.reserve(options_.username.size() + options_.password.size() + 2);
        credentials.push_back('\0');
        credentials += options_.username;
        credentials.push_back('\0');
        credentials += options_.password;
        step = command("AUTH PLAIN " + base64_line(credentials) + "\r\n", '2', reply, "AUTH",
                       deadline);
    } else {
        step = command("AUTH LOGIN\r\n", '3', reply, "AUTH", deadline);
        if (step.ok()) {
            step = command(base64_line(options_.username) + "\r\n", '3', reply, "AUTH", deadline);
        }
        if (step.ok()) {
            step = command(base64_line(options_.password) + "\r\n", '2', reply, "AUTH", deadline);
        }
    }
    step.authentication = step.kind == SmtpStep::Kind::refused;
    return step;
}

SmtpStep SmtpSession::send(std::string_view mail_from, const std::vector<std::string>& recipients,
                           std::string_view message, Deadline deadline) {
    const bool reused = messages_sent_ > 0;
    bool replied = false;  // the server answered a command of this transaction
    auto finish = [&](SmtpStep step) {
        if (step.kind == SmtpStep::Kind::failed && reused && !replied) {
            step.stale = true;
        }
        return step;
    };
    // Each command's end in `commands` and the reply's first digit it wants. Replies come in
    // the order of the commands (RFC 2920 3.1).
    std::vector<std::pair<std::size_t, char>> ends;
    ends.reserve(recipients.size() + 2);
    std::string commands = fmt::format("MAIL FROM:<{}>", mail_from);
    // RFC 1870: lets the server refuse an oversized message before it is sent.
    if (size_offered_) commands += fmt::format(" SIZE={}", message.size());
    commands += "\r\n";
    ends.emplace_back(commands.size(), '2');
    for (const std::string& recipient : recipients) {
        commands += fmt::format("RCPT TO:<{}>\r\n", recipient);
        ends.emplace_back(commands.size(), '2');
    }
    commands += "DATA\r\n";
    ends.emplace_back(commands.size(), '3');
    const std::string_view all(commands);

    if (pipelining_) {
        if (SmtpStep step = write(all, {}, "MAIL FROM", deadline); !step.ok()) {
            return finish(std::move(step));
        }
    }
    Reply reply;
    std::size_t start = 0;
    for (const auto& [end, want] : ends) {
        const std::string_view line = all.substr(start, end - start);
        start = end;
        const std::string_view what = line.substr(0, line.find_first_of(":\r"));
        if (!pipelining_) {
            if (SmtpStep step = write(line, {}, what, deadline); !step.ok()) {
                return finish(std::move(step));
            }
        }
        if (SmtpStep step = read_reply(reply, what, deadline); !step.ok()) {
            return finish(std::move(step));
        }
        replied = true;
        // Any refusal ends the transaction: the caller closes the connection, so a DATA already
        // answered 354 never sees a message (an unterminated DATA is discarded, RFC 5321 4.1.1.4).
        if (SmtpStep step = answer(reply, want); !step.ok()) return step;
    }

    std::string_view body = message;
    if (needs_dot_stuffing(message)) {
        dot_stuff(message, scratch_);
        body = scratch_;
    }
    const std::string_view end = body.ends_with("\r\n") ? ".\r\n" : "\r\n.\r\n";
    if (SmtpStep step = write(body, end, "the message", deadline); !step.ok()) return step;
    if (SmtpStep step = read_reply(reply, "the message", deadline); !step.ok()) return step;
    if (scratch_.capacity() > 4 * message.size()) std::string().swap(scratch_);
    SmtpStep step = answer(reply, '2');
    if (step.ok()) ++messages_sent_;
    return step;
}

bool SmtpSession::went_away() const {
    if (fd_ < 0) return true;
    if (!in_.empty()) return true;
    pollfd pfd{fd_, POLLIN, 0};
    return ::poll(&pfd, 1, 0) != 0;
}

void SmtpSession::quit(std::chrono::milliseconds wait) {
    if (fd_ >= 0) {
        const Deadline deadline = Clock::now() + wait;
        Reply reply;
        if (write("QUIT\r\n", {}, "QUIT", deadline).ok()) {
            (void)read_reply(reply, "QUIT", deadline);
        }
    }
    close();
}

SmtpStep SmtpSession::command(std::string_view line, char want, Reply& reply, std::string_view what,
                              Deadline deadline) {
    if (SmtpStep step = write(line, {}, what, deadline); !step.ok()) return step;
    if (SmtpStep step = read_reply(reply, what, deadline); !step.ok()) return step;
    return answer(reply, want);
}

SmtpStep SmtpSession::read_reply(Reply& reply, std::string_view what, Deadline deadline,
                                 bool keep_lines) {
    reply.code = 0;
    reply.text.clear();
    reply.lines.clear();
    SmtpReplyCapture capture;
    std::size_t pos = 0;
    std::size_t count = 0;
    while (true) {
        const std::size_t eol = in_.find('\n', pos);
        if (eol == std::string::npos) {
            if (in_.size() - pos > kMaxReplyLine) {
                return failed(
                    fmt::format("garbled reply to {}: a line over {} bytes", what, kMaxReplyLine));
            }
            if (SmtpStep step = receive_more(what, deadline); !step.ok()) return step;
            continue;
        }
        std::string_view line(in_.data() + pos, eol - pos);
        pos = eol + 1;
        if (line.ends_with('\r')) line.remove_suffix(1);
        const bool coded = line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
                           std::isdigit(static_cast<unsigned char>(line[1])) &&
                           std::isdigit(static_cast<unsigned char>(line[2])) &&
                           (line.size() == 3 || line[3] == ' ' || line[3] == '-');
        if (!coded) {
            return failed(fmt::format("garbled reply to {}: a line without a reply code", what));
        }
        if (++count > kMaxReplyLines) {
            return failed(fmt::format("garbled reply to {}: over {} lines", what, kMaxReplyLines));
        }
        capture.add(line);
        if (keep_lines) reply.lines.emplace_back(line.size() > 4 ? line.substr(4) : "");
        if (line.size() == 3 || line[3] == ' ') {
            reply.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
            reply.text = capture.text();
            in_.erase(0, pos);
            return {};
        }
    }
}

SmtpStep SmtpSession::receive_more(std::string_view what, Deadline deadline) {
    if (ssl_ == nullptr) return raw_recv(in_, what, deadline);
    // Decrypt what is buffered; read the socket only when TLS has nothing whole.
    std::array<char, kReadChunk> buffer;
    std::string received;
    while (true) {
        ERR_clear_error();
        const int n = SSL_read(ssl_, buffer.data(), static_cast<int>(buffer.size()));
        if (n > 0) {
            in_.append(buffer.data(), static_cast<std::size_t>(n));
            return {};
        }
        const int error = SSL_get_error(ssl_, n);
        if (error == SSL_ERROR_ZERO_RETURN) {
            return failed(fmt::format("the server ended TLS during {}", what));
        }
        if (error != SSL_ERROR_WANT_READ) {
            return failed(fmt::format("TLS error during {}: {}", what, take_openssl_error()));
        }
        // A TLS 1.3 key update may want an answer before more data comes.
        if (SmtpStep step = flush_tls(what, deadline); !step.ok()) return step;
        received.clear();
        if (SmtpStep step = raw_recv(received, what, deadline); !step.ok()) return step;
        BIO_write(tls_in_, received.data(), static_cast<int>(received.size()));
    }
}

SmtpStep SmtpSession::write(std::string_view data, std::string_view tail, std::string_view what,
                            Deadline deadline) {
    if (ssl_ == nullptr) return raw_send(data, tail, what, deadline);
    ERR_clear_error();
    for (std::string_view piece : {data, tail}) {
        if (piece.empty()) continue;
        // Into the memory BIO, whole: without SSL_MODE_ENABLE_PARTIAL_WRITE, SSL_write returns
        // only when every byte is encrypted.
        if (SSL_write(ssl_, piece.data(), static_cast<int>(piece.size())) <= 0) {
            return failed(fmt::format("TLS error during {}: {}", what, take_openssl_error()));
        }
    }
    return flush_tls(what, deadline);
}

SmtpStep SmtpSession::flush_tls(std::string_view what, Deadline deadline) {
    char* data = nullptr;
    const long pending = BIO_get_mem_data(tls_out_, &data);
    if (pending <= 0) return {};
    SmtpStep step =
        raw_send(std::string_view(data, static_cast<std::size_t>(pending)), {}, what, deadline);
    (void)BIO_reset(tls_out_);
    return step;
}

bool SmtpSession::arm_timeout(int option, Deadline deadline, int& armed_ms, std::string_view what,
                              SmtpStep& step) {
    const long long left = ms_left(deadline);
    if (left <= 0) {
        step = failed(fmt::format("timeout: the message's time budget ran out before {}", what));
        return false;
    }
    const int want = static_cast<int>(std::min<long long>(options_.response_timeout_ms, left));
    // Set again only when the bound would overshoot the deadline or cut a reply's time by more
    // than a tenth: a steady bound costs no call at all.
    if (armed_ms < 0 || armed_ms > want || want - armed_ms > want / 10) {
        const timeval tv{want / 1000, (want % 1000) * 1000};
        if (::setsockopt(fd_, SOL_SOCKET, option, &tv, sizeof tv) != 0) {
            step = failed(fmt::format("cannot set a socket timeout: {}", errno_text(errno)));
            return false;
        }
        armed_ms = want;
    }
    return true;
}

SmtpStep SmtpSession::raw_send(std::string_view data, std::string_view tail, std::string_view what,
                               Deadline deadline) {
    std::array<iovec, 2> pieces{};
    std::size_t count = 0;
    for (std::string_view piece : {data, tail}) {
        if (piece.empty()) continue;
        pieces[count++] = {const_cast<char*>(piece.data()), piece.size()};
    }
    std::size_t first = 0;
    while (first < count) {
        SmtpStep step;
        if (!arm_timeout(SO_SNDTIMEO, deadline, send_armed_ms_, what, step)) return step;
        msghdr header{};
        header.msg_iov = pieces.data() + first;
        header.msg_iovlen = count - first;
        const ssize_t n = ::sendmsg(fd_, &header, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return failed(fmt::format("timeout: the server took no data for {} ms during {}",
                                          send_armed_ms_, what));
            }
            return failed(
                fmt::format("the connection failed during {}: {}", what, errno_text(errno)));
        }
        auto sent = static_cast<std::size_t>(n);
        while (first < count && sent >= pieces[first].iov_len) sent -= pieces[first++].iov_len;
        if (first < count) {
            pieces[first].iov_base = static_cast<char*>(pieces[first].iov_base) + sent;
            pieces[first].iov_len -= sent;
        }
    }
    return {};
}

SmtpStep SmtpSession::raw_recv(std::string& into, std::string_view what, Deadline deadline) {
    while (true) {
        SmtpStep step;
        if (!arm_timeout(SO_RCVTIMEO, deadline, recv_armed_ms_, what, step)) return step;
        const std::size_t had = into.size();
        into.resize(had + kReadChunk);
        const ssize_t n = ::recv(fd_, into.data() + had, kReadChunk, 0);
        into.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        if (n > 0) return {};
        if (n == 0) return failed(fmt::format("the server closed the connection during {}", what));
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return failed(
                fmt::format("timeout: no reply to {} within {} ms", what, recv_armed_ms_));
        }
        return failed(fmt::format("the connection failed during {}: {}", what, errno_text(errno)));
    }
}

}  // namespace hirestream::mail
