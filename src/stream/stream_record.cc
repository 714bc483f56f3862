#include "stream/stream_record.h"

#include <charconv>

#include <fmt/format.h>

namespace hirestream::stream {
namespace {

// Ours are 21 digits: a leading '1' then the store sequence zero-padded to 20 digits, which
// holds any uint64. AWS documents 21 to 40 digits.
constexpr std::size_t kSequenceDigits = 21;

}  // namespace

std::string StreamIdentity::table_arn() const {
    return fmt::format("arn:aws:dynamodb:{}:{}:table/{}", region, account_id, table);
}

std::string StreamIdentity::stream_arn() const {
    return fmt::format("{}/stream/{}", table_arn(), label);
}

std::string format_sequence_number(std::uint64_t sequence) {
    return fmt::format("1{:020}", sequence);
}

std::optional<std::uint64_t> parse_sequence_number(std::string_view text) {
    if (text == "0") return 0;
    if (text.size() != kSequenceDigits || text.front() != '1') return std::nullopt;
    std::uint64_t value = 0;
    const auto digits = text.substr(1);
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
    return value;
}

std::string shard_id(const StreamIdentity& identity, int shard) {
    // FNV-1a of the stream ARN: a suffix that changes when the stream is re-created, as AWS's
    // does, so a checkpoint of an old stream is never mistaken for one of the new.
    std::uint32_t hash = 2166136261u;
    for (unsigned char c : identity.stream_arn()) {
        hash = (hash ^ c) * 16777619u;
    }
    return fmt::format("shardId-{:020}-{:08x}", shard + 1, hash);
}

boost::json::object to_stream_record(const store::ChangeRecord& record,
                                     const StreamIdentity& identity) {
    boost::json::object dynamodb;
    dynamodb["ApproximateCreationDateTime"] = record.created_ms / 1000;
    dynamodb["Keys"] = record.keys;
    if (record.new_image) dynamodb["NewImage"] = *record.new_image;
    if (record.old_image) dynamodb["OldImage"] = *record.old_image;
    dynamodb["SequenceNumber"] = format_sequence_number(record.sequence);
    dynamodb["SizeBytes"] = record.size_bytes;
    dynamodb["StreamViewType"] = store::view_type_text(record.view_type);

    boost::json::object out;
    out["eventID"] = record.event_id;
    out["eventName"] = store::event_name_text(record.event_name);
    out["eventVersion"] = "1.1";
    out["eventSource"] = "aws:dynamodb";
    out["awsRegion"] = identity.region;
    out["dynamodb"] = std::move(dynamodb);
    out["eventSourceARN"] = identity.stream_arn();
    return out;
}

Result<store::ChangeRecord> parse_stream_record(const boost::json::value& value) {
    const auto* o = value.if_object();
    if (!o) return fail(Errc::invalid_argument, "a record must be a JSON object", "Records");
    auto text = [&](const boost::json::object& obj, const char* key) -> const boost::json::string* {
        const auto* v = obj.if_contains(key);
        return v ? v->if_string() : nullptr;
    };
    store::ChangeRecord r;
    const auto* id = text(*o, "eventID");
    const auto* name = text(*o, "eventName");
    const auto* d = o->if_contains("dynamodb") ? o->at("dynamodb").if_object() : nullptr;
    if (!id || !name || !d) {
        return fail(Errc::invalid_argument, "eventID, eventName and dynamodb are required",
                    "Records");
    }
    r.event_id = std::string(*id);
    auto event = store::parse_event_name(*name);
    if (!event) return fail(event.error());
    r.event_name = *event;
    const auto* seq = text(*d, "SequenceNumber");
    auto sequence = seq ? parse_sequence_number(*seq) : std::nullopt;
    if (!sequence) {
        return fail(Errc::invalid_argument, "SequenceNumber is missing or not ours",
                    "dynamodb.SequenceNumber");
    }
    r.sequence = *sequence;
    const auto* keys = d->if_contains("Keys");
    if (!keys || !keys->is_object()) {
        return fail(Errc::invalid_argument, "Keys is required", "dynamodb.Keys");
    }
    r.keys = keys->as_object();
    if (const auto* n = d->if_contains("NewImage"); n && n->is_object()) r.new_image = n->as_object();
    if (const auto* old = d->if_contains("OldImage"); old && old->is_object()) {
        r.old_image = old->as_object();
    }
    // Non-throwing conversions, with ranges: a negative size or a fractional or huge time from
    // outside must be an error, not an exception (or an overflow when scaled to ms).
    if (const auto* t = d->if_contains("ApproximateCreationDateTime"); t && t->is_number()) {
        boost::system::error_code ec;
        const auto seconds = t->to_number<std::int64_t>(ec);
        constexpr std::int64_t kMaxSeconds = 100'000'000'000;  // year 5138; *1000 cannot overflow
        if (ec || seconds < 0 || seconds > kMaxSeconds) {
            return fail(Errc::invalid_argument, "must be whole epoch seconds",
                        "dynamodb.ApproximateCreationDateTime");
        }
        r.created_ms = seconds * 1000;
    }
    if (const auto* size = d->if_contains("SizeBytes"); size && size->is_number()) {
        boost::system::error_code ec;
        const auto bytes = size->to_number<std::int64_t>(ec);
        if (ec || bytes < 0) {
            return fail(Errc::invalid_argument, "must be a whole number of bytes, not negative",
                        "dynamodb.SizeBytes");
        }
        r.size_bytes = static_cast<std::size_t>(bytes);
    }
    if (const auto* view = text(*d, "StreamViewType")) {
        auto type = store::parse_view_type(*view);
        if (!type) return fail(type.error());
        r.view_type = *type;
    }
    return r;
}

}  // namespace hirestream::stream
