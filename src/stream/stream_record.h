#pragma once
// Rendering of change records in DynamoDB Streams' exact JSON format (what a Lambda receives in
// event.Records[]), and the stream's ARN and shard ids. Pure functions; thread-safe.

#include <cstdint>
#include <string>

#include <boost/json/object.hpp>

#include "common/result.h"
#include "store/change_record.h"

namespace hirestream::stream {

// Where a table's stream lives, for its ARNs.
struct StreamIdentity {
    std::string region;
    std::string account_id;
    std::string table;
    std::string label;  // the stream label, e.g. "2026-11-25T10:00:00.000"

    // arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE/stream/LABEL
    std::string stream_arn() const;
    // arn:aws:dynamodb:REGION:ACCOUNT:table/TABLE
    std::string table_arn() const;
};

// A SequenceNumber as DynamoDB writes it: a decimal string of 21 digits, increasing with the
// store's sequence, so it sorts numerically and as text.
std::string format_sequence_number(std::uint64_t sequence);
// Parses a SequenceNumber back; fails (nullopt) on anything that is not one of ours.
std::optional<std::uint64_t> parse_sequence_number(std::string_view text);

// "shardId-00000000000000000001-<8 hex of the stream>": stable for the stream's life.
std::string shard_id(const StreamIdentity& identity, int shard);

// The record as DynamoDB Streams delivers it: eventID, eventName, eventVersion "1.1",
// eventSource "aws:dynamodb", awsRegion, dynamodb {ApproximateCreationDateTime (epoch seconds),
// Keys, NewImage, OldImage, SequenceNumber, SizeBytes, StreamViewType}, eventSourceARN.
boost::json::object to_stream_record(const store::ChangeRecord& record,
                                     const StreamIdentity& identity);

// The inverse of to_stream_record: reads a record in DynamoDB Streams' format back (dead letters
// keep their records in this form, so they can be redriven after the stream trimmed them).
// `table` and `shard` are not part of the format and are left empty/0. Fails with
// invalid_argument naming the missing or malformed field.
Result<store::ChangeRecord> parse_stream_record(const boost::json::value& record);

}  // namespace hirestream::stream
