#include "http/api_keys.h"

#include <openssl/rand.h>

#include <array>
#include <stdexcept>

#include "common/ids.h"

namespace hirestream::http {

std::string api_key_hash(std::string_view secret) { return sha256_hex(secret); }

IssuedKey issue_api_key(store::Role role, std::string name, std::int64_t now_ms) {
    std::array<unsigned char, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed: no entropy source");
    }
    IssuedKey issued;
    issued.secret = "hs_" + base64url(bytes.data(), bytes.size());
    issued.key.id = "key_" + random_hex(8);
    issued.key.name = std::move(name);
    issued.key.role = role;
    issued.key.hash = api_key_hash(issued.secret);
    issued.key.created_ms = now_ms;
    return issued;
}

store::ApiKey configured_api_key(std::string_view secret, store::Role role, std::string name,
                                 std::int64_t now_ms) {
    store::ApiKey key;
    key.hash = api_key_hash(secret);
    // Not the hash's start (that would help no one, but a listed id should reveal nothing of
    // the secret's digest either): a hash of the hash.
    key.id = "key_" + sha256_hex("hirestream-key-id:" + key.hash).substr(0, 16);
    key.name = std::move(name);
    key.role = role;
    key.created_ms = now_ms;
    return key;
}

}  // namespace hirestream::http
