#pragma once
// OutboxTransport: the embedded default when no SMTP server is configured. Each message becomes
// one .eml file in a folder, written atomically (temporary file, fsync, rename), named
// "<date>-<message id>.eml" so a listing is in sending order. Sending the same Message-ID again
// overwrites its file: the folder never holds a duplicate. Thread-safe.

#include <string>

#include "mail/transport.h"

namespace hirestream::mail {

class OutboxTransport final : public Transport {
public:
    // Creates the folder if missing (throws std::runtime_error when it cannot: fatal at start-up).
    explicit OutboxTransport(std::string folder);
    SendOutcome send(const Envelope& envelope, const std::string& mime,
                     const std::string& message_id) override;
    std::string describe() const override;

private:
    std::string folder_;
};

}  // namespace hirestream::mail
