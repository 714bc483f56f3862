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

}  // namespace hirestream
