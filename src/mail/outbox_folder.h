#pragma once
// OutboxFolder: reads what OutboxTransport wrote, for the API's GET /outbox (the web app's
// outbox page, in the manner of MailHog). Only names OutboxTransport writes are listed or opened
// (is_outbox_file_name), never a symbolic link or anything but a regular file, and every read is
// bounded. The message itself is returned as the file holds it; a browser parses its MIME.
// Stateless apart from the folder's path: thread-safe.

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace hirestream::mail {

// One message in the folder with the header fields a listing shows, unfolded but otherwise as
// written (an RFC 2047 encoded word stays encoded).
struct OutboxEntry {
    std::string name;  // the file name, e.g. "20261125T100000.000Z-<id>.eml"
    std::uint64_t size = 0;
    std::string to;
    std::string subject;
    std::string date;
};

class OutboxFolder {
public:
    // The largest message read (an attachment of server.maxUploadBytes, base64, fits).
    static constexpr std::uint64_t kMaxMessageBytes = 32 * 1024 * 1024;
    // How much of a file is read to find its header fields.
    static constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

    explicit OutboxFolder(std::string folder) : folder_(std::move(folder)) {}

    // Messages newest first (names begin with their UTC time), those with a name below
    // `before` when it is not empty, at most `limit`. A missing folder lists nothing. Fails with
    // unavailable when the folder cannot be read.
    Result<std::vector<OutboxEntry>> list(const std::string& before, int limit) const;
    // The message's bytes. Fails with not_found for a name OutboxTransport would not write, or
    // no such regular file; too_large past kMaxMessageBytes; unavailable on a read error.
    Result<std::string> read(const std::string& name) const;

private:
    std::string folder_;
};

// The header fields of a message: `name: value` lines up to the first empty line, folded lines
// (RFC 5322 section 2.2.3) joined; returns the first field of each wanted (lower-case) name.
// Pure; what list() applies to the first kMaxHeaderBytes of each file.
void read_header_fields(std::string_view message, OutboxEntry& entry);

}  // namespace hirestream::mail
