#pragma once
// ApiKeyGuard: the router's guard (router.h). A protected route needs an `x-api-key` header
// whose SHA-256 names a key in the store that is not revoked; admin routes need an admin key.
// Answers 401 unauthenticated (no key, unknown or revoked key), 403 forbidden (a recruiter key
// on an admin route), 429 rate_limited with Retry-After (an address with too many bad keys,
// AuthFailureLimiter), 503 when the store cannot be read. Refusals are logged at warn with the
// client address and, when known, the key's id: never the key itself.
//
// Keys are looked up in the store on every request, so a key created or revoked by another
// process (the CLI) takes effect at once. A key's last use is written at most once a minute.
// Thread-safe; the store and clock must outlive it.

#include <optional>

#include "common/clock.h"
#include "http/auth_failure_limiter.h"
#include "http/router.h"
#include "store/store.h"

namespace hirestream::http {

class ApiKeyGuard {
public:
    ApiKeyGuard(store::Store& store, const Clock& clock, int max_failures_per_minute);

    // The Guard: nullopt lets the request through with Request::api_key_id set.
    std::optional<Response> check(Request& request, Access access);

private:
    std::optional<Response> refuse(const Request& request, Error error, const char* reason,
                                   const std::string& key_id = {});

    store::Store& store_;
    const Clock& clock_;
    AuthFailureLimiter failures_;
};

}  // namespace hirestream::http
