#include "store/item.h"

#include <string>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "store/change_record.h"
#include "store/delivery.h"
#include "store/table_spec.h"

namespace hirestream::store {
namespace {

namespace json = boost::json;

Result<Item> item_from(std::string_view text) { return Item::from_json(json::parse(text)); }

// Protects the N grammar: what DynamoDB accepts passes, the rest is refused before storage.
TEST(DynamoDbNumber, AcceptsDecimalNotationAndRefusesEverythingElse) {
    for (const char* good : {"0", "12", "-12", "3.25", "-0.5", ".5", "5.", "1e10", "1E-3",
                             "2.5e+4", "007", "12345678901234567890123456789012345678",
                             "100000000000000000000000000000000000000000", "1e125", "1e-130",
                             "0e999999"}) {
        EXPECT_TRUE(is_dynamodb_number(good)) << good;
    }
    for (const char* bad : {"", "-", "+1", " 1", "1 ", "1.2.3", "e5", "1e", "1e+", "0x10", "NaN",
                            "Infinity", "1,5", "--1", "123456789012345678901234567890123456789",
                            "1e126", "1e-131"}) {
        EXPECT_FALSE(is_dynamodb_number(bad)) << bad;
    }
}

// Protects the accepted shape of every attribute type, including nesting and sets.
TEST(Item, FromJsonAcceptsEveryAttributeType) {
    auto item = item_from(R"({
        "id": {"S": "c-1"}, "experience": {"N": "12"}, "photo": {"B": "aGk="},
        "active": {"BOOL": true}, "nickname": {"NULL": true},
        "history": {"L": [{"S": "a"}, {"N": "1"}, {"L": []}]},
        "address": {"M": {"city": {"S": "Oslo"}, "zip": {"N": "150"}}},
        "tags": {"SS": ["cpp", "sql"]}, "scores": {"NS": ["1", "2.5"]},
        "blobs": {"BS": ["aGk=", "aGV5"]}
    })");
    ASSERT_TRUE(item) << item.error().message;
    EXPECT_EQ(item->string_attr("id"), "c-1");
    EXPECT_EQ(item->number_attr("experience"), "12");
    EXPECT_EQ(item->bool_attr("active"), true);
    EXPECT_FALSE(item->string_attr("experience"));
    EXPECT_FALSE(item->string_attr("missing"));
}

// Protects that a rejected value names the attribute (or element) the user must fix.
TEST(Item, FromJsonRejectsInvalidValuesNamingTheField) {
    struct Case {
        const char* json;
        const char* field;
    };
    const Case cases[] = {
        {R"({"experience": {"N": "twelve"}})", "experience"},
        {R"({"experience": {"N": 12}})", "experience"},
        {R"({"experience": {"N": "+12"}})", "experience"},
        {R"({"name": {"S": 5}})", "name"},
        {R"({"name": "plain"})", "name"},
        {R"({"name": {"S": "a", "N": "1"}})", "name"},
        {R"({"name": {}})", "name"},
        {R"({"name": {"X": "a"}})", "name"},
        {R"({"photo": {"B": "not base64!"}})", "photo"},
        {R"({"photo": {"B": "aGk"}})", "photo"},
        {R"({"active": {"BOOL": "yes"}})", "active"},
        {R"({"nickname": {"NULL": false}})", "nickname"},
        {R"({"history": {"L": {"S": "a"}}})", "history"},
        {R"({"history": {"L": [{"S": "a"}, {"N": "x"}]}})", "history[1]"},
        {R"({"address": {"M": {"zip": {"N": "x"}}}})", "address.zip"},
        {R"({"tags": {"SS": []}})", "tags"},
        {R"({"tags": {"SS": ["a", "b", "a"]}})", "tags[2]"},
        {R"({"tags": {"SS": ["a", 1]}})", "tags[1]"},
        {R"({"scores": {"NS": ["1", "1.0"]}})", "scores[1]"},
        {R"({"scores": {"NS": ["1", "x"]}})", "scores[1]"},
        {R"({"blobs": {"BS": ["aGk=", "%%%%"]}})", "blobs[1]"},
    };
    for (const Case& c : cases) {
        auto item = item_from(c.json);
        ASSERT_FALSE(item) << c.json;
        EXPECT_EQ(item.error().code, Errc::invalid_argument) << c.json;
        EXPECT_EQ(item.error().field, c.field) << c.json;
    }
    EXPECT_FALSE(item_from("[1, 2]"));
    EXPECT_FALSE(Item::parse("{not json"));
}

// Protects against unbounded recursion on hostile documents.
TEST(Item, FromJsonRejectsNestingDeeperThanDynamoDbAllows) {
    json::value value = json::object{{"S", "leaf"}};
    for (int i = 0; i < 40; ++i) value = json::object{{"L", json::array{value}}};
    auto item = Item::from_json(json::object{{"deep", value}});
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error().field.substr(0, 4), "deep");
}

// Protects attribute order: stored and streamed JSON keep the order the user wrote.
TEST(Item, SettersAndEraseKeepInsertionOrder) {
    Item item;
    item.set_string("id", "c-1");
    item.set_number("experience", std::int64_t{7});
    item.set_bool("active", true);
    item.set_null("nickname");
    item.set_number("score", "2.5");
    item.erase("experience");
    item.set_string("id", "c-2");  // replacing keeps the position
    EXPECT_EQ(item.to_json_text(),
              R"({"id":{"S":"c-2"},"active":{"BOOL":true},"nickname":{"NULL":true},)"
              R"("score":{"N":"2.5"}})");
    auto reparsed = Item::parse(item.to_json_text());
    ASSERT_TRUE(reparsed);
    EXPECT_EQ(reparsed->attributes(), item.attributes());
}

// Protects the wire names shared with the stream module and the database.
TEST(StoreEnums, TextRoundTripsAndUnknownTextIsRejected) {
    for (auto name : {EventName::insert, EventName::modify, EventName::remove}) {
        EXPECT_EQ(parse_event_name(event_name_text(name)), name);
    }
    for (auto type : {StreamViewType::keys_only, StreamViewType::new_image,
                      StreamViewType::old_image, StreamViewType::new_and_old_images}) {
        EXPECT_EQ(parse_view_type(view_type_text(type)), type);
    }
    for (auto state : {DeliveryState::pending, DeliveryState::sending, DeliveryState::sent,
                       DeliveryState::retry, DeliveryState::failed}) {
        EXPECT_EQ(parse_delivery_state(delivery_state_text(state)), state);
    }
    EXPECT_EQ(view_type_text(StreamViewType::new_and_old_images), "NEW_AND_OLD_IMAGES");
    EXPECT_EQ(parse_event_name("insert").error().code, Errc::invalid_argument);
    EXPECT_EQ(parse_view_type("BOTH").error().code, Errc::invalid_argument);
    EXPECT_EQ(parse_delivery_state("DONE").error().code, Errc::invalid_argument);
}

// Protects the key-to-shard mapping, which checkpoints depend on across versions.
TEST(ShardForKey, IsFnv1aModuloShardCount) {
    // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; of "foobar" 0x85944171f73967e8.
    EXPECT_EQ(shard_for_key("a", 7), static_cast<int>(0xaf63dc4c8601ec8cull % 7));
    EXPECT_EQ(shard_for_key("foobar", 7), static_cast<int>(0x85944171f73967e8ull % 7));
    EXPECT_EQ(shard_for_key("anything", 1), 0);
    for (int i = 0; i < 100; ++i) {
        const int shard = shard_for_key("key-" + std::to_string(i), 4);
        EXPECT_GE(shard, 0);
        EXPECT_LT(shard, 4);
    }
}

}  // namespace
}  // namespace hirestream::store
