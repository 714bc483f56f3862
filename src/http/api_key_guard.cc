#include "http/api_key_guard.h"

#include <openssl/crypto.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/api_keys.h"
#include "http/error_response.h"

namespace hirestream::http {
namespace {

constexpr std::int64_t kTouchEveryMs = 60'000;

}  // namespace

ApiKeyGuard::ApiKeyGuard(store::Store& store, const Clock& clock, int max_failures_per_minute)
    : store_(store), clock_(clock), failures_(clock, max_failures_per_minute) {}

std::optional<Response> ApiKeyGuard::refuse(const Request& request, Error error,
                                            const char* reason, const std::string& key_id) {
    spdlog::warn("request refused reason={} method={} path={} client={} key_id={}", reason,
                 request.method, request.path, request.remote_address,
                 key_id.empty() ? "-" : key_id);
    return error_response(error);
}

std::optional<Response> ApiKeyGuard::check(Request& request, Access access) {
    if (access == Access::open) return std::nullopt;
    const auto presented = request.header("x-api-key");
    if (!presented || presented->empty()) {
        return refuse(request,
                      Error(Errc::unauthenticated, "an API key is required (header x-api-key)",
                            "x-api-key"),
                      "no_key");
    }
    if (const auto wait_ms = failures_.blocked_for_ms(request.remote_address); wait_ms > 0) {
        auto r = refuse(request,
                        Error(Errc::rate_limited,
                              "too many requests with invalid API keys from this address",
                              "x-api-key"),
                        "rate_limited");
        r->headers.emplace_back("Retry-After", std::to_string((wait_ms + 999) / 1000));
        return r;
    }
    const auto hash = api_key_hash(*presented);
    // Looked up by the digest of the secret: lookup time depends on the digest, which the
    // client cannot steer toward a stored one; the full digest is then compared in constant
    // time anyway.
    auto found = store_.find_api_key_by_hash(hash);
    if (!found) {
        spdlog::error("api key lookup failed error=\"{}\"", found.error().message);
        return error_response(Error(Errc::unavailable, "cannot check the API key now"));
    }
    const auto& key = *found;
    if (!key || key->hash.size() != hash.size() ||
        CRYPTO_memcmp(key->hash.data(), hash.data(), hash.size()) != 0) {
        failures_.record_failure(request.remote_address);
        return refuse(request,
                      Error(Errc::unauthenticated, "the API key is not valid", "x-api-key"),
                      "unknown_key");
    }
    if (key->revoked_ms != 0) {
        failures_.record_failure(request.remote_address);
        return refuse(request,
                      Error(Errc::unauthenticated, "the API key was revoked", "x-api-key"),
                      "revoked_key", key->id);
    }
    if (access == Access::admin && key->role != store::Role::admin) {
        return refuse(request,
                      Error(Errc::forbidden,
                            fmt::format("this needs an admin key; key {} is a {} key", key->id,
                                        store::role_text(key->role)),
                            "x-api-key"),
                      "forbidden", key->id);
    }
    const auto now = clock_.now_ms();
    if (now - key->last_used_ms >= kTouchEveryMs) {
        // Best effort: a busy database must not refuse a valid request.
        if (auto touched = store_.touch_api_key(key->id, now); !touched) {
            spdlog::debug("api key use not recorded key_id={} error=\"{}\"", key->id,
                          touched.error().message);
        }
    }
    request.api_key_id = key->id;
    return std::nullopt;
}

}  // namespace hirestream::http
