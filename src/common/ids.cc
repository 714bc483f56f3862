#include "common/ids.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include <fmt/format.h>

namespace hirestream {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(const unsigned char* data, std::size_t size) {
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kHex[data[i] >> 4]);
        out.push_back(kHex[data[i] & 0x0f]);
    }
    return out;
}

// Identifiers need unpredictable bytes, not secret ones, and take them on every write: each
// thread draws them from its own buffer, refilled from OpenSSL's DRBG 4 KiB at a time (one
// RAND_bytes per id cost about 4 % of the ingest path's HTTP threads). Secrets (API keys) call
// RAND_bytes directly.
void fill_random(unsigned char* data, std::size_t size) {
    struct Pool {
        Pool() = default;
        Pool(const Pool&) = delete;
        Pool& operator=(const Pool&) = delete;
        ~Pool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }  // the unused rest, at exit
        std::array<unsigned char, 4096> bytes{};
        std::size_t used = sizeof(bytes);
    };
    thread_local Pool pool;
    while (size > 0) {
        if (pool.used == pool.bytes.size()) {
            // RAND_bytes only fails when the OS entropy source is broken: a fatal condition.
            if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1) {
                throw std::runtime_error("RAND_bytes failed: no entropy source");
            }
            pool.used = 0;
        }
        const std::size_t n = std::min(size, pool.bytes.size() - pool.used);
        std::memcpy(data, pool.bytes.data() + pool.used, n);
        // Handed-out bytes are not kept where a later memory disclosure could find them.
        OPENSSL_cleanse(pool.bytes.data() + pool.used, n);
        pool.used += n;
        data += n;
        size -= n;
    }
}

std::string canonical_uuid(const std::array<unsigned char, 16>& b) {
    std::string hex = to_hex(b.data(), b.size());
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace

std::string new_uuid() {
    std::array<unsigned char, 16> b{};
    fill_random(b.data(), b.size());
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4 (RFC 4122 4.4)
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
    return canonical_uuid(b);
}

std::string new_time_ordered_uuid(std::int64_t unix_ms) {
    std::array<unsigned char, 16> b{};
    fill_random(b.data(), b.size());
    const auto ms = static_cast<std::uint64_t>(unix_ms < 0 ? 0 : unix_ms);
    for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x70);  // version 7 (RFC 9562 5.7)
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // variant 10
    return canonical_uuid(b);
}

std::string random_hex(std::size_t bytes) {
    std::string raw(bytes, '\0');
    fill_random(reinterpret_cast<unsigned char*>(raw.data()), raw.size());
    return to_hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

std::string sha256_hex(std::string_view data) {
    // Fetched once: with EVP_sha256(), OpenSSL 3 looks the algorithm up again for every digest
    // (every API request hashes its key).
    static const EVP_MD* const sha256 = [] {
        const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        return fetched != nullptr ? fetched : EVP_sha256();
    }();
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md.data(), &len, sha256, nullptr) != 1) {
        throw std::runtime_error("EVP_Digest(sha256) failed");
    }
    return to_hex(md.data(), len);
}

bool is_uuid(std::string_view text) {
    if (text.size() != 36) return false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) {
            return false;
        }
    }
    return true;
}

std::string iso8601_ms(std::int64_t epoch_ms) {
    std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                       static_cast<int>(epoch_ms % 1000));
}

std::string base64url(const unsigned char* data, std::size_t size) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (std::size_t i = 0; i < size; ++i) {
        acc = (acc << 8) | data[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
    return out;
}

}  // namespace hirestream
