#pragma once
// Signed download links: a token that grants one candidate one assignment until an expiry,
// like S3's pre-signed URLs (7 days by default). The token is
//   <candidate id>.<assignment>.<expiry, epoch seconds>.<signature>
// where the signature is HMAC-SHA256 over the three fields (base64url, no padding). The fields
// are readable on purpose: they tell the holder nothing it did not know, and cannot be changed
// without the secret. Immutable after construction; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace hirestream::mail {

struct LinkClaims {
    std::string candidate_id;  // [A-Za-z0-9_-]{1,128}
    std::string assignment;    // [A-Za-z0-9_-]{1,64}
    std::int64_t expires_s = 0;

    friend bool operator==(const LinkClaims&, const LinkClaims&) = default;
};

class LinkSigner {
public:
    // `secret`: at least 16 bytes (callers validate; shorter ones are a bug and throw).
    LinkSigner(std::string secret, const Clock& clock);

    // The token for the claims. Precondition: the fields match the character sets above.
    std::string sign(const LinkClaims& claims) const;

    // The claims of a token signed with this secret whose expiry is still ahead. Fails with
    // forbidden, always with the same message, for a malformed, tampered or expired token, so
    // an answer reveals nothing about why.
    Result<LinkClaims> verify(std::string_view token) const;

private:
    std::string signature(const LinkClaims& claims) const;

    std::string secret_;
    const Clock& clock_;
};

// True when `text` is 1..max characters of [A-Za-z0-9_-] (assignment names, link fields).
bool is_plain_name(std::string_view text, std::size_t max);

// 32 random bytes, for a generated link secret.
std::string random_secret();

}  // namespace hirestream::mail
