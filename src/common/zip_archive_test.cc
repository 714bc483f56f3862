#include "common/zip_archive.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace hirestream {
namespace {

std::string sample_zip() {
    std::ifstream in(std::string(HIRESTREAM_SOURCE_DIR) + "/assignments/assignment1.zip",
                     std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The shipped assignments, and an empty archive (only its end record), are zips.
TEST(ZipArchive, RealArchivesAndTheEmptyArchivePass) {
    const auto zip = sample_zip();
    ASSERT_GT(zip.size(), 22u);
    EXPECT_TRUE(check_zip_archive(zip));
    EXPECT_TRUE(check_zip_archive(std::string("PK\x05\x06", 4) + std::string(18, '\0')));
}

// What an upload form might send instead of a zip is refused with a reason.
TEST(ZipArchive, OtherBytesAreRefused) {
    for (std::string bytes : {std::string(), std::string("hello, world, not a zip at all"),
                              std::string("{\"json\": true, \"padding\": \"xxxxxxxxx\"}"),
                              std::string(100, '\0')}) {
        auto r = check_zip_archive(bytes);
        ASSERT_FALSE(r) << bytes;
        EXPECT_EQ(r.error().code, Errc::invalid_argument);
        EXPECT_NE(r.error().message.find("not a zip archive"), std::string::npos);
    }
}

// A zip cut short (an interrupted upload) has lost its end record; one whose end record
// points outside the file is refused too.
TEST(ZipArchive, TruncatedOrInconsistentArchivesAreRefused) {
    const auto zip = sample_zip();
    EXPECT_FALSE(check_zip_archive(zip.substr(0, zip.size() - 10)));
    EXPECT_FALSE(check_zip_archive(zip.substr(0, zip.size() / 2)));
    auto bad = zip;
    bad[bad.size() - 22 + 16] = '\x7f';  // central directory offset far beyond the end
    bad[bad.size() - 22 + 19] = '\x7f';
    EXPECT_FALSE(check_zip_archive(bad));
    EXPECT_FALSE(check_zip_archive(zip + "trailing garbage"));
}

}  // namespace
}  // namespace hirestream
