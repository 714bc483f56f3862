#pragma once
// Idempotency-Key (as Stripe's and the IETF draft's): a request retried with the same key and
// the same body gets the first answer (status, body, Location) and does nothing new. Keys are
// scoped per API key and route, kept 24 h (trimmed lazily by the store), and:
// - the same key with another body: 409 conflict naming "Idempotency-Key";
// - the same key while the first request is still being handled: 409 conflict;
// - a key that is not 1-255 printable ASCII characters: 400 invalid_argument.
// A 5xx answer (unavailable, internal, deadline) is not remembered: a retry runs again. A
// replayed answer carries `Idempotent-Replayed: true`.
// Thread-safe; the store serializes claims.

#include <functional>

#include "common/clock.h"
#include "common/result.h"
#include "http/message.h"
#include "store/store.h"

namespace hirestream::http {

using IdempotentHandler = std::function<Result<Response>(Request&)>;

// Runs `handle` for `request` under its Idempotency-Key header, or directly without one.
Result<Response> run_idempotent(store::Store& store, const Clock& clock, Request& request,
                                const IdempotentHandler& handle);

}  // namespace hirestream::http
