#include "common/text.h"

#include <gtest/gtest.h>

namespace hirestream {
namespace {

// Header names and CSV columns compare after these: only ASCII letters fold, only blanks (and
// a CR when asked) are trimmed.
TEST(Text, LowerFoldsAsciiOnlyAndTrimRemovesBlanks) {
    EXPECT_EQ(ascii_lower("Content-TYPE \xC3\x89"), "content-type \xC3\x89");
    EXPECT_EQ(trim_blanks(" \t a b \t"), "a b");
    EXPECT_EQ(trim_blanks(" value\r"), "value\r");
    EXPECT_EQ(trim_blanks(" value\r", true), "value");
    EXPECT_EQ(trim_blanks("   "), "");
}

}  // namespace
}  // namespace hirestream
