#pragma once
// Transport: hands one rendered message to the next hop (an SMTP server, or the outbox folder).
// Implementations are thread-safe: send() may be called from several threads.

#include <string>
#include <vector>

namespace hirestream::mail {

struct Envelope {
    std::string mail_from;                // SMTP MAIL FROM (the bounce address)
    std::vector<std::string> recipients;  // SMTP RCPT TO
};

struct SendOutcome {
    enum class Kind {
        sent,       // the next hop accepted the message
        transient,  // 4xx reply, network error or timeout: try again later
        permanent,  // 5xx reply: do not try again
    };
    Kind kind = Kind::transient;
    int reply_code = 0;  // the SMTP reply code that decided the outcome; 0 when none did
    // The server's reply text, or a description of the local failure. Never holds secrets.
    std::string detail;
};

class Transport {
public:
    virtual ~Transport() = default;
    // `mime` is the output of render_message(); `message_id` names the message in logs/files.
    virtual SendOutcome send(const Envelope& envelope, const std::string& mime,
                             const std::string& message_id) = 0;
    // A short description for start-up logs, e.g. "smtp://relay:587 (starttls)" or
    // "outbox folder ./outbox". Never includes a password.
    virtual std::string describe() const = 0;
};

}  // namespace hirestream::mail
