#pragma once
// SmtpTransport: sends through an SMTP server, reusing its connections across messages.
// TLS: none, STARTTLS (required, not opportunistic) or implicit TLS (smtps://), with the
// certificate checked against the host name or address unless turned off; optional AUTH (PLAIN
// when the server offers it, else LOGIN, or the one asked for). Commands are pipelined when the
// server offers PIPELINING. The protocol itself is SmtpSession's (smtp_session.h).
// Every step has a timeout. Thread-safe: a bounded pool of connections (SmtpSession each)
// serves concurrent send() calls; a reused connection found dead before the server answered
// anything of a message is replaced and the message sent again, once.

#include <memory>
#include <string>

#include "common/result.h"
#include "mail/transport.h"

namespace hirestream::mail {

enum class SmtpTls { none, starttls, implicit };

struct SmtpOptions {
    std::string host;
    int port = 25;
    SmtpTls tls = SmtpTls::none;
    std::string username;  // empty: no AUTH
    std::string password;
    std::string auth_mechanism;  // empty: the best the server offers; "PLAIN" or "LOGIN"
    std::string ca_file;   // empty: the system's CA store
    bool verify_peer = true;
    std::string helo_name = "hirestream";
    int connect_timeout_ms = 10'000;
    int response_timeout_ms = 30'000;  // per SMTP reply
    int total_timeout_ms = 120'000;    // per message
    int pool_size = 2;
};

// Parses smtp://[user:pass@]host[:port][?tls=starttls] and smtps://[user:pass@]host[:port].
// Percent-escapes in user and password are decoded. Fails with invalid_argument.
Result<SmtpOptions> parse_smtp_url(const std::string& url);

class SmtpTransport final : public Transport {
public:
    explicit SmtpTransport(SmtpOptions options);
    ~SmtpTransport() override;
    SendOutcome send(const Envelope& envelope, const std::string& mime,
                     const std::string& message_id) override;
    std::string describe() const override;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hirestream::mail
