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

}  // namespace hirestream::stream
