#include "mail/download_link.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace hirestream::mail {
namespace {

constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

class DownloadLinkTest : public ::testing::Test {
protected:
    ManualClock clock_{1'800'000'000'000};
    LinkSigner signer_{kSecret, clock_};
    LinkClaims claims_{"5f0c7e9a-1b2c-4d3e-8f90-a1b2c3d4e5f6", "assignment2",
                       1'800'000'000 + 7 * 86'400};

    void expect_denied(const std::string& token) {
        auto r = signer_.verify(token);
        ASSERT_FALSE(r) << token;
        EXPECT_EQ(r.error().code, Errc::forbidden);
        // One message whatever the reason: an answer tells nothing.
        EXPECT_EQ(r.error().message, "the link is invalid or has expired");
        EXPECT_EQ(r.error().field, "");
    }
};

// A token verifies back to exactly what was signed, until just before its expiry.
TEST_F(DownloadLinkTest, SignedTokenVerifiesUntilItExpires) {
    const auto token = signer_.sign(claims_);
    EXPECT_EQ(signer_.verify(token).value(), claims_);
    clock_.set_ms(claims_.expires_s * 1000 - 1);
    EXPECT_TRUE(signer_.verify(token));
    clock_.set_ms(claims_.expires_s * 1000);
    expect_denied(token);
}

// Changing any bound field, or the signature, or the secret, breaks the token.
TEST_F(DownloadLinkTest, TamperedFieldsOrSignatureAreDenied) {
    const auto token = signer_.sign(claims_);
    auto other = claims_;
    other.candidate_id = "5f0c7e9a-1b2c-4d3e-8f90-a1b2c3d4e5f7";
    auto sig = token.substr(token.rfind('.') + 1);
    expect_denied(fmt::format("{}.{}.{}.{}", other.candidate_id, claims_.assignment,
                              claims_.expires_s, sig));
    expect_denied(fmt::format("{}.{}.{}.{}", claims_.candidate_id, "assignment3",
                              claims_.expires_s, sig));
    expect_denied(fmt::format("{}.{}.{}.{}", claims_.candidate_id, claims_.assignment,
                              claims_.expires_s + 86'400, sig));
    auto flipped = token;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    expect_denied(flipped);
    expect_denied(token.substr(0, token.size() - 1));
    LinkSigner other_secret("another secret of enough length", clock_);
    EXPECT_FALSE(other_secret.verify(token));
}

// Anything that is not four well-formed fields is denied before any signature is computed.
TEST_F(DownloadLinkTest, MalformedTokensAreDenied) {
    const auto token = signer_.sign(claims_);
    const auto sig = token.substr(token.rfind('.') + 1);
    for (std::string bad :
         {std::string(), std::string("."), std::string("a.b.c"), token + ".x",
          std::string("../../etc/passwd"), std::string("a.b.-5.") + sig,
          fmt::format("{}.{}.0{}.{}", claims_.candidate_id, claims_.assignment,
                      claims_.expires_s, sig),
          fmt::format("{}.a/b.{}.{}", claims_.candidate_id, claims_.expires_s, sig),
          fmt::format("{}.{}.{}x.{}", claims_.candidate_id, claims_.assignment,
                      claims_.expires_s, sig),
          std::string("x\0y.a.1.s", 9), std::string(600, 'a')}) {
        expect_denied(bad);
    }
}

TEST(DownloadLink, PlainNamesAreLettersDigitsDashAndUnderscore) {
    EXPECT_TRUE(is_plain_name("assignment_1-b", 64));
    EXPECT_FALSE(is_plain_name("", 64));
    EXPECT_FALSE(is_plain_name("..", 64));
    EXPECT_FALSE(is_plain_name("a b", 64));
    EXPECT_FALSE(is_plain_name(std::string(65, 'a'), 64));
    EXPECT_EQ(random_secret().size(), 32u);
    EXPECT_NE(random_secret(), random_secret());
}

}  // namespace
}  // namespace hirestream::mail
