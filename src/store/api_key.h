#pragma once
// ApiKey and IdempotentResponse: API credentials and remembered answers to retried requests,
// as the store keeps them. Plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hirestream::store {

// What a key may do: recruiters read and write candidates; admins may do everything.
enum class Role { recruiter, admin };
std::string_view role_text(Role role);  // "recruiter" | "admin"
std::optional<Role> parse_role(std::string_view text);

// An API key. The secret itself is never stored: only its SHA-256, so a copy of the database
// grants no access.
struct ApiKey {
    std::string id;           // public identifier, e.g. "key_3f9a0c1d2e4b5a6f"
    std::string name;         // a label chosen by whoever created it
    Role role = Role::recruiter;
    std::string hash;         // lower-case hex SHA-256 of the secret; unique
    std::int64_t created_ms = 0;
    std::int64_t last_used_ms = 0;  // 0: never used
    std::int64_t revoked_ms = 0;    // 0: not revoked
};

// The first answer to a request that carried an Idempotency-Key, replayed to its retries.
// `status` 0 means the first request is still being handled.
struct IdempotentResponse {
    std::string scope;         // who and what, e.g. "<key id> POST /candidates"
    std::string key;           // the Idempotency-Key header's value
    std::string request_hash;  // SHA-256 of the request (method, path, body)
    int status = 0;
    std::string content_type;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // e.g. Location
    std::int64_t created_ms = 0;
};

}  // namespace hirestream::store
