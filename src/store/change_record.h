#pragma once
// ChangeRecord: one entry of a table's change stream, as the store keeps it. The stream module
// renders it in DynamoDB Streams' exact JSON format. Plain value.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "common/result.h"

namespace hirestream::store {

enum class EventName { insert, modify, remove };
std::string_view event_name_text(EventName name);  // "INSERT" | "MODIFY" | "REMOVE"
Result<EventName> parse_event_name(std::string_view text);

// What a stream record carries, fixed per table once its stream exists (AWS semantics).
enum class StreamViewType { keys_only, new_image, old_image, new_and_old_images };
std::string_view view_type_text(StreamViewType type);  // "KEYS_ONLY", ...
Result<StreamViewType> parse_view_type(std::string_view text);

struct ChangeRecord {
    // Store-wide, strictly increasing in commit order; so also increasing within a shard.
    std::uint64_t sequence = 0;
    std::string table;
    int shard = 0;
    EventName event_name = EventName::insert;
    std::string event_id;  // 32 lower-case hex characters, unique
    std::int64_t created_ms = 0;
    boost::json::object keys;
    // Present according to the table's view type and the event (INSERT has no old image,
    // REMOVE no new image).
    std::optional<boost::json::object> new_image;
    std::optional<boost::json::object> old_image;
    std::size_t size_bytes = 0;
    StreamViewType view_type = StreamViewType::new_and_old_images;
};

}  // namespace hirestream::store
