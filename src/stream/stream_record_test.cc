#include "stream/stream_record.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hirestream::stream {
namespace {

StreamIdentity identity() {
    return {"us-east-1", "123456789012", "candidates-dev", "2017-02-21T12:05:33.650"};
}

// Code written for AWS reads our records: every field of the documented format is there.
TEST(StreamRecord, RendersDynamoDbStreamsFormatFieldForField) {
    store::ChangeRecord r;
    r.sequence = 42;
    r.table = "candidates-dev";
    r.event_name = store::EventName::insert;
    r.event_id = "f46f92dd4ba53e6e1912f5edeac68cf4";
    r.created_ms = 1487679933650;
    r.keys = boost::json::parse(R"({"id":{"S":"a"}})").as_object();
    r.new_image = boost::json::parse(R"({"id":{"S":"a"},"experience":{"N":"12"}})").as_object();
    r.size_bytes = 57;
    r.view_type = store::StreamViewType::new_and_old_images;

    auto json = to_stream_record(r, identity());
    EXPECT_EQ(json.at("eventID"), "f46f92dd4ba53e6e1912f5edeac68cf4");
    EXPECT_EQ(json.at("eventName"), "INSERT");
    EXPECT_EQ(json.at("eventVersion"), "1.1");
    EXPECT_EQ(json.at("eventSource"), "aws:dynamodb");
    EXPECT_EQ(json.at("awsRegion"), "us-east-1");
    EXPECT_EQ(json.at("eventSourceARN"),
              "arn:aws:dynamodb:us-east-1:123456789012:table/candidates-dev/stream/"
              "2017-02-21T12:05:33.650");
    const auto& d = json.at("dynamodb").as_object();
    EXPECT_EQ(d.at("ApproximateCreationDateTime"), 1487679933);
    EXPECT_EQ(d.at("Keys"), r.keys);
    EXPECT_EQ(d.at("NewImage"), *r.new_image);
    EXPECT_FALSE(d.contains("OldImage"));
    EXPECT_EQ(d.at("SequenceNumber"), "100000000000000000042");
    EXPECT_EQ(d.at("SizeBytes"), 57);
    EXPECT_EQ(d.at("StreamViewType"), "NEW_AND_OLD_IMAGES");
}

// Dead letters store rendered records; reading one back gives the same record.
TEST(StreamRecord, ParseIsTheInverseOfRender) {
    store::ChangeRecord r;
    r.sequence = 7;
    r.event_name = store::EventName::modify;
    r.event_id = "0123456789abcdef0123456789abcdef";
    r.created_ms = 1487679933000;
    r.keys = boost::json::parse(R"({"id":{"S":"a"}})").as_object();
    r.new_image = boost::json::parse(R"({"id":{"S":"a"},"n":{"N":"2"}})").as_object();
    r.old_image = boost::json::parse(R"({"id":{"S":"a"},"n":{"N":"1"}})").as_object();
    r.size_bytes = 80;
    auto back = parse_stream_record(to_stream_record(r, identity()));
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(back->sequence, 7u);
    EXPECT_EQ(back->event_name, store::EventName::modify);
    EXPECT_EQ(back->event_id, r.event_id);
    EXPECT_EQ(back->created_ms, r.created_ms);
    EXPECT_EQ(back->keys, r.keys);
    EXPECT_EQ(back->new_image, r.new_image);
    EXPECT_EQ(back->old_image, r.old_image);
    EXPECT_EQ(back->size_bytes, 80u);
    EXPECT_FALSE(parse_stream_record(boost::json::parse(R"({"eventName":"INSERT"})")));
}

// Sequence numbers must sort as numbers and as text, and parse back.
// A record from outside (`hirestream invoke --path`, a redrive) with a negative size or a
// fractional or huge creation time is an error naming the field, never an exception (found by
// the stream_record fuzz target: SizeBytes -2 threw from boost::json).
TEST(StreamRecord, BadNumbersAreErrorsNamingTheField) {
    store::ChangeRecord r;
    r.sequence = 2;
    r.event_name = store::EventName::remove;
    r.keys = boost::json::parse(R"({"id":{"S":"a"}})").as_object();
    r.size_bytes = 10;
    const auto good = to_stream_record(r, identity());
    const std::pair<const char*, boost::json::value> cases[] = {
        {"SizeBytes", boost::json::value(-2)},
        {"SizeBytes", boost::json::value(1.5)},
        {"ApproximateCreationDateTime", boost::json::value(1.5e300)},
        {"ApproximateCreationDateTime", boost::json::value(-1)},
        {"ApproximateCreationDateTime", boost::json::value(1700000000.5)},
    };
    for (const auto& [field, bad] : cases) {
        auto record = good;
        record["dynamodb"].as_object()[field] = bad;
        auto parsed = parse_stream_record(record);
        ASSERT_FALSE(parsed) << field << " " << boost::json::serialize(bad);
        EXPECT_EQ(parsed.error().field, std::string("dynamodb.") + field);
    }
    EXPECT_TRUE(parse_stream_record(good));
}

TEST(StreamRecord, SequenceNumbersAreFixedWidthAndRoundTrip) {
    const auto a = format_sequence_number(9);
    const auto b = format_sequence_number(10);
    EXPECT_EQ(a.size(), 21u);
    EXPECT_LT(a, b);
    EXPECT_EQ(parse_sequence_number(b), 10u);
    EXPECT_EQ(parse_sequence_number(format_sequence_number(UINT64_MAX)), UINT64_MAX);
    EXPECT_FALSE(parse_sequence_number("12"));
    EXPECT_FALSE(parse_sequence_number("1000000000000000000x1"));
}

// Shard ids look like AWS's and differ between shards and streams.
TEST(StreamRecord, ShardIdsAreStableAndDistinct) {
    auto id = identity();
    EXPECT_EQ(shard_id(id, 0), shard_id(id, 0));
    EXPECT_NE(shard_id(id, 0), shard_id(id, 1));
    EXPECT_EQ(shard_id(id, 0).rfind("shardId-00000000000000000001-", 0), 0u);
    auto other = id;
    other.label = "2026-01-01T00:00:00.000";
    EXPECT_NE(shard_id(id, 0), shard_id(other, 0));
}

}  // namespace
}  // namespace hirestream::stream
