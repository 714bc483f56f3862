#pragma once
// AssignmentRecord and Download: uploaded assignment zips and the record of each download of
// an assignment link, as the store keeps them. Plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hirestream::store {

// How the assignment email hands over the zip: attached, as a signed link, or both.
enum class DeliveryMode { attach, link, both };
std::string_view delivery_mode_text(DeliveryMode mode);  // "attach" | "link" | "both"
std::optional<DeliveryMode> parse_delivery_mode(std::string_view text);

// An assignment uploaded over the API (config-declared ones never reach the store).
struct AssignmentRecord {
    std::string name;      // [A-Za-z0-9_-]{1,64}
    std::string title;     // shown in emails
    DeliveryMode delivery = DeliveryMode::both;
    std::string bytes;     // the zip; empty in list_assignments() answers
    std::int64_t size = 0;  // bytes.size(), also when bytes are not loaded
    std::string sha256;     // lower-case hex of the bytes
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
};

// One successful download through a signed link.
struct Download {
    std::int64_t id = 0;  // assigned by the store
    std::string candidate_id;
    std::string assignment;
    std::int64_t at_ms = 0;
    std::string client;  // the client's address as the server saw it
};

}  // namespace hirestream::store
