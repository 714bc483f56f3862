#include "mail/download_link.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "common/ids.h"

namespace hirestream::mail {
namespace {

constexpr std::string_view kDenied = "the link is invalid or has expired";


std::vector<std::string_view> split(std::string_view text, char sep) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const auto pos = text.find(sep, start);
        parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
        if (pos == std::string_view::npos) return parts;
        start = pos + 1;
    }
}

}  // namespace

bool is_plain_name(std::string_view text, std::size_t max) {
    if (text.empty() || text.size() > max) return false;
    for (char c : text) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_';
        if (!ok) return false;
    }
    return true;
}

std::string random_secret() {
    std::array<unsigned char, 32> bytes{};
    // RAND_bytes only fails when the OS entropy source is broken: a fatal condition.
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed: no entropy source");
    }
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

LinkSigner::LinkSigner(std::string secret, const Clock& clock)
    : secret_(std::move(secret)), clock_(clock) {
    if (secret_.size() < 16) throw std::invalid_argument("link secret shorter than 16 bytes");
}

std::string LinkSigner::signature(const LinkClaims& c) const {
    // A version prefix and newline separators: no two distinct claims sign the same text.
    const auto text = fmt::format("hirestream-download-v1\n{}\n{}\n{}", c.candidate_id,
                                  c.assignment, c.expires_s);
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
             reinterpret_cast<const unsigned char*>(text.data()), text.size(), md.data(),
             &len) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    return base64url(md.data(), len);
}

std::string LinkSigner::sign(const LinkClaims& claims) const {
    return fmt::format("{}.{}.{}.{}", claims.candidate_id, claims.assignment, claims.expires_s,
                       signature(claims));
}

Result<LinkClaims> LinkSigner::verify(std::string_view token) const {
    auto denied = [] { return fail(Errc::forbidden, std::string(kDenied)); };
    if (token.size() > 512) return denied();
    const auto parts = split(token, '.');
    if (parts.size() != 4 || !is_plain_name(parts[0], 128) || !is_plain_name(parts[1], 64) ||
        parts[2].empty() || parts[2].size() > 12 || parts[2][0] == '0') {
        return denied();
    }
    LinkClaims claims{std::string(parts[0]), std::string(parts[1]), 0};
    const char* end = parts[2].data() + parts[2].size();
    auto [ptr, ec] = std::from_chars(parts[2].data(), end, claims.expires_s);
    if (ec != std::errc() || ptr != end || claims.expires_s <= 0) return denied();
    const auto expected = signature(claims);
    // Constant time: the comparison must not tell an attacker how many leading bytes match.
    if (parts[3].size() != expected.size() ||
        CRYPTO_memcmp(parts[3].data(), expected.data(), expected.size()) != 0) {
        return denied();
    }
    if (clock_.now_ms() >= claims.expires_s * 1000) return denied();
    return claims;
}

}  // namespace hirestream::mail
