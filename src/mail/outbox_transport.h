#pragma once
// OutboxTransport: the embedded default when no SMTP server is configured. Each message becomes
// one .eml file in a folder, written atomically (temporary file, fsync, rename), named
// "<date>-<message id>.eml" so a listing is in sending order. Sending the same Message-ID again
// overwrites its file: the folder never holds a duplicate. Thread-safe.

#include <map>
#include <mutex>
#include <string>
#include <string_view>

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
    // File name by sanitized message id, built by scanning the folder at construction, so a
    // re-sent Message-ID finds the file written before (also by an earlier run).
    std::mutex files_mutex_;
    std::map<std::string, std::string> files_by_id_;
};

// True for a name OutboxTransport writes: "<YYYYMMDDTHHMMSS.mmmZ>-<id>.eml" with an id part of
// [A-Za-z0-9._@-] only, so it names a file inside the folder and nothing else (no separator,
// no leading dot). Readers of the folder accept no other name.
bool is_outbox_file_name(std::string_view name);

}  // namespace hirestream::mail
