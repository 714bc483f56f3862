#pragma once
// SmtpTransport: sends through an SMTP server with libcurl, reusing its connection across
// messages. TLS: none, STARTTLS (required, not opportunistic) or implicit TLS (smtps://), with
// certificate verification on unless turned off; optional AUTH (the best mechanism the server
// offers, or PLAIN or LOGIN when asked).
// Every step has a timeout. Thread-safe: a bounded pool of connections (one curl easy handle
// each) serves concurrent send() calls.

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
