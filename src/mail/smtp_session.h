#pragma once
// SmtpSession: one SMTP client connection (RFC 5321) and the dialog on it. open() resolves the
// relay (bounded by the connect timeout), connects, reads the greeting, says EHLO, upgrades with
// STARTTLS (required when asked, RFC 3207) or starts in TLS (smtps, RFC 8314 3.3), checks the
// certificate against the host name or address, and authenticates (AUTH PLAIN or LOGIN,
// RFC 4954). send() runs one mail transaction: MAIL FROM (with SIZE= when offered, RFC 1870),
// RCPT TO per recipient and DATA go out in one write when the server offers PIPELINING
// (RFC 2920), else one at a time; the message follows dot-stuffed (RFC 5321 4.5.2) in one write.
//
// All socket I/O is ours (TLS runs over memory BIOs), so a message costs two writes and two or
// three reads, and no write can raise SIGPIPE. Every read and write is bounded by the response
// timeout and by the caller's deadline; connect and name resolution by the connect timeout.
//
// Not thread-safe: one thread uses a session at a time (SmtpTransport pools them). A session
// whose step failed is left for the caller to close(); it is never reused.

#include <openssl/ssl.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mail/smtp_transport.h"

namespace hirestream::mail {

// What a step came to. `refused`: the server answered with a reply other than the one wanted
// (`code` and its text in `text`). `failed`: no SMTP verdict (connect, timeout, TLS, a dropped
// connection, a garbled reply); `text` says what went wrong, `code` is 0.
struct SmtpStep {
    enum class Kind { ok, refused, failed };
    Kind kind = Kind::ok;
    int code = 0;
    std::string text;
    // The refusal was an answer to AUTH: our credentials, not the message.
    bool authentication = false;
    // The refusal was not about this message (greeting, EHLO, STARTTLS): the relay's state or
    // our configuration.
    bool session = false;
    // A reused connection died before the server answered anything of this transaction: the
    // message can go again on a fresh connection without any risk of a duplicate.
    bool stale = false;

    bool ok() const { return kind == Kind::ok; }
};

// The oldest error OpenSSL queued on this thread, as text; the queue is left empty.
std::string take_openssl_error();

class SmtpSession {
  public:
    using Deadline = std::chrono::steady_clock::time_point;

    // `options` and `tls` (null when options.tls is none) must outlive the session.
    SmtpSession(const SmtpOptions& options, SSL_CTX* tls);
    ~SmtpSession();
    SmtpSession(const SmtpSession&) = delete;
    SmtpSession& operator=(const SmtpSession&) = delete;

    bool is_open() const { return fd_ >= 0; }
    // Connects and readies the session for send(). On failure the session is closed.
    SmtpStep open(Deadline deadline);
    // One message to `recipients` (already validated addresses without brackets). `message`
    // is the RFC 5322 text; a missing final CRLF is supplied. On success `text` holds the
    // final reply ("250 2.0.0 Ok: queued as ...").
    SmtpStep send(std::string_view mail_from, const std::vector<std::string>& recipients,
                  std::string_view message, Deadline deadline);
    // True when an idle open session has heard something unasked (a 421, or the peer closed):
    // it must not carry another message.
    bool went_away() const;
    // Says QUIT and waits (at most `wait`) for the reply, then closes. Safe on a closed session.
    void quit(std::chrono::milliseconds wait);
    void close();

  private:
    struct Reply {
        int code = 0;
        std::string text;                // "250 a b", bounded, control characters replaced
        std::vector<std::string> lines;  // raw line texts after the code, for EHLO only
    };

    SmtpStep connect_socket(Deadline deadline);
    SmtpStep start_tls(Deadline deadline);
    SmtpStep hello(Deadline deadline);
    SmtpStep authenticate(Deadline deadline);
    // Reads one whole reply; `what` names the command it answers, for error texts.
    SmtpStep read_reply(Reply& reply, std::string_view what, Deadline deadline,
                        bool keep_lines = false);
    // Sends `data` then `tail` (may be empty) in one write.
    SmtpStep write(std::string_view data, std::string_view tail, std::string_view what,
                   Deadline deadline);
    // The reply as a step: refused unless its first digit is `want`.
    static SmtpStep answer(const Reply& reply, char want);
    // Sends a command and reads its reply; refused unless the reply's first digit is `want`.
    SmtpStep command(std::string_view line, char want, Reply& reply, std::string_view what,
                     Deadline deadline);
    // Socket level: every byte in and out goes through these two.
    SmtpStep raw_send(std::string_view data, std::string_view tail, std::string_view what,
                      Deadline deadline);
    SmtpStep raw_recv(std::string& into, std::string_view what, Deadline deadline);
    // Appends at least one more received (decrypted) byte to in_.
    SmtpStep receive_more(std::string_view what, Deadline deadline);
    // Drains what TLS wants to send.
    SmtpStep flush_tls(std::string_view what, Deadline deadline);
    // Bounds the next blocking socket call to min(response timeout, left until `deadline`).
    bool arm_timeout(int option, Deadline deadline, int& armed_ms, std::string_view what,
                     SmtpStep& step);

    const SmtpOptions& options_;
    SSL_CTX* tls_ctx_;
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    BIO* tls_in_ = nullptr;   // owned by ssl_: bytes read from the socket, for OpenSSL
    BIO* tls_out_ = nullptr;  // owned by ssl_: bytes OpenSSL wants written to the socket
    std::string in_;          // received (decrypted) bytes not yet parsed as replies
    std::string scratch_;     // a dot-stuffed copy of the message, when it needs one
    bool pipelining_ = false;
    bool starttls_offered_ = false;
    bool size_offered_ = false;
    std::vector<std::string> auth_mechanisms_;
    int recv_armed_ms_ = -1;
    int send_armed_ms_ = -1;
    std::uint64_t messages_sent_ = 0;  // on this connection: more than 0 means reused
};

}  // namespace hirestream::mail
