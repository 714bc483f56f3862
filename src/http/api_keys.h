#pragma once
// API key secrets: how they are made and hashed. A secret is "hs_" + 32 random bytes in
// base64url (no padding); the store keeps only its SHA-256. Thread-safe free functions.

#include <cstdint>
#include <string>
#include <string_view>

#include "store/api_key.h"

namespace hirestream::http {

// A new key and its secret, shown to its creator once and never again.
struct IssuedKey {
    std::string secret;
    store::ApiKey key;  // id, name, role, hash, created_ms set
};

// A fresh random secret and its record. Throws only when the OS has no entropy (fatal).
IssuedKey issue_api_key(store::Role role, std::string name, std::int64_t now_ms);
// The record of a secret chosen by the operator (auth.adminKey); its id derives from the hash,
// so the same secret gives the same id at every start.
store::ApiKey configured_api_key(std::string_view secret, store::Role role, std::string name,
                                 std::int64_t now_ms);
// Lower-case hex SHA-256 of a secret, as the store keeps it.
std::string api_key_hash(std::string_view secret);

}  // namespace hirestream::http
