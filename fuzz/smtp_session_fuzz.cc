// The SMTP client against a hostile or broken server: the input is everything a server on
// loopback sends (greeting, EHLO capabilities, replies to AUTH, STARTTLS, MAIL, RCPT, DATA and
// the message), all at once, then it closes. The client opens a connection and sends a message;
// its first byte picks the client's settings (AUTH or not, which mechanism, STARTTLS). Whatever
// comes, the client must end with a verdict, never a crash, a hang or unbounded memory.
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mail/smtp_session.h"

namespace {

using hirestream::mail::SmtpOptions;
using hirestream::mail::SmtpSession;
using hirestream::mail::SmtpTls;

int listener(int& port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd, 4) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::abort();
    }
    port = ntohs(addr.sin_port);
    return fd;
}

// The server's side: writes `input` while discarding what the client sends, then closes its
// writing half and reads until the client is done (bounded).
void serve(int listen_fd, std::string_view input) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    std::size_t sent = 0;
    bool shut = false;
    char sink[4096];
    while (std::chrono::steady_clock::now() < until) {
        if (!shut && sent == input.size()) {
            ::shutdown(fd, SHUT_WR);
            shut = true;
        }
        pollfd pfd{fd, static_cast<short>(POLLIN | (shut ? 0 : POLLOUT)), 0};
        if (::poll(&pfd, 1, 100) < 0) break;
        if ((pfd.revents & POLLOUT) != 0) {
            const ssize_t n = ::send(fd, input.data() + sent, input.size() - sent, MSG_NOSIGNAL);
            if (n > 0) sent += static_cast<std::size_t>(n);
            if (n < 0 && errno != EAGAIN) break;
        }
        if ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            const ssize_t n = ::recv(fd, sink, sizeof sink, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) break;
        }
    }
    ::close(fd);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static int port = 0;
    static const int listen_fd = listener(port);
    static SSL_CTX* const tls = [] {
        SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
        return ctx;
    }();
    if (size == 0) return 0;
    const std::uint8_t settings = data[0];
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

    SmtpOptions options;
    options.host = "127.0.0.1";
    options.port = port;
    options.connect_timeout_ms = 2'000;
    options.response_timeout_ms = 2'000;
    if ((settings & 1) != 0) {
        options.username = "user";
        options.password = "secret";
        if ((settings & 6) == 2) options.auth_mechanism = "PLAIN";
        if ((settings & 6) == 4) options.auth_mechanism = "LOGIN";
    }
    if ((settings & 8) != 0) options.tls = SmtpTls::starttls;

    std::thread server(serve, listen_fd, input);
    {
        SmtpSession session(options, tls);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(4);
        if (session.open(deadline).ok()) {
            const std::vector<std::string> recipients = {"a@example.org", "b@example.org"};
            const auto step = session.send("jobs@example.com", recipients,
                                           "Subject: x\r\n\r\n.line\r\nbody\r\n", deadline);
            if (step.text.size() > 4096) std::abort();
            if (step.ok() && (settings & 16) != 0)
                (void)session.send("jobs@example.com", recipients, "Subject: y\r\n\r\ny", deadline);
            (void)session.went_away();
            session.quit(std::chrono::milliseconds(200));
        }
    }
    server.join();
    return 0;
}
