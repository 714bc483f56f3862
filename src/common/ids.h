#pragma once
// Identifiers: random UUIDs for items, hex event ids, and time formatting helpers.
// All functions are thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace hirestream {

// A random (version 4) UUID in its canonical lower-case 36-character form.
std::string new_uuid();

// A time-ordered (version 7, RFC 9562 5.7) UUID: the 48-bit Unix time in ms, then 74 random
// bits. Item keys made of these are appended near the end of the store's key index instead of at
// random pages, so each commit rewrites far fewer pages.
std::string new_time_ordered_uuid(std::int64_t unix_ms);

// `bytes` random bytes as lower-case hex (2 * bytes characters).
std::string random_hex(std::size_t bytes);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);

// `size` bytes in base64url (RFC 4648 section 5), without padding.
std::string base64url(const unsigned char* data, std::size_t size);

// True when `text` is a canonical UUID (any version, lower or upper case).
bool is_uuid(std::string_view text);

// ISO 8601 UTC with milliseconds, e.g. "2026-11-25T10:00:00.000Z".
std::string iso8601_ms(std::int64_t epoch_ms);

}  // namespace hirestream
