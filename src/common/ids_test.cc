#include "common/ids.h"

#include <set>

#include <gtest/gtest.h>

namespace hirestream {

// Item ids must be valid, distinct version-4 UUIDs.
TEST(Ids, NewUuidIsCanonicalVersion4AndUnique) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        std::string id = new_uuid();
        ASSERT_TRUE(is_uuid(id)) << id;
        EXPECT_EQ(id[14], '4');
        EXPECT_TRUE(seen.insert(id).second);
    }
}

// Timestamps users read are ISO 8601 UTC with milliseconds.
TEST(Ids, Iso8601FormatsUtcMilliseconds) {
    EXPECT_EQ(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(iso8601_ms(1487679933123), "2017-02-21T12:25:33.123Z");
}

// Message-IDs are derived from this digest; it must match the standard value.
TEST(Ids, Sha256MatchesKnownVector) {
    EXPECT_EQ(sha256_hex("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// Candidate ids are version 7: canonical, carrying their millisecond, sorting by time as text
// (what keeps the store's key index appending), and unique within one millisecond.
TEST(Ids, TimeOrderedUuidsSortByTimeAndCarryVersionSeven) {
    const auto a = new_time_ordered_uuid(1'780'000'000'000);
    const auto b = new_time_ordered_uuid(1'780'000'000'001);
    const auto c = new_time_ordered_uuid(1'780'000'000'001);
    EXPECT_TRUE(is_uuid(a));
    EXPECT_EQ(a[14], '7');
    EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos);  // variant 10
    EXPECT_EQ(a.substr(0, 13), "019e7044-8800");  // 1780000000000 ms = 0x019e70448800
    EXPECT_LT(a, b);
    EXPECT_NE(b, c);
    EXPECT_EQ(b.substr(0, 13), c.substr(0, 13));
}

}  // namespace hirestream
