#include "http/idempotency.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ids.h"
#include "http/error_response.h"

namespace hirestream::http {
namespace {

constexpr std::int64_t kKeepMs = 24LL * 3600 * 1000;
// Far longer than a candidate write takes: an unfinished claim older than this belongs to a
// process that died before answering.
constexpr std::int64_t kStaleClaimMs = 5LL * 60 * 1000;
constexpr std::size_t kMaxKeyLength = 255;
constexpr const char* kHeader = "Idempotency-Key";

bool transient(Errc code) {
    return code == Errc::unavailable || code == Errc::internal || code == Errc::deadline;
}

}  // namespace

Result<Response> run_idempotent(store::Store& store, const Clock& clock, Request& request,
                                const IdempotentHandler& handle) {
    const auto header = request.header("idempotency-key");
    if (!header) return handle(request);
    const std::string key(*header);
    if (key.empty() || key.size() > kMaxKeyLength) {
        return fail(Errc::invalid_argument,
                    fmt::format("must be 1 to {} characters", kMaxKeyLength), kHeader);
    }
    for (unsigned char c : key) {
        if (c < 0x21 || c > 0x7e) {
            return fail(Errc::invalid_argument, "must be printable ASCII without spaces", kHeader);
        }
    }
    const auto now = clock.now_ms();
    store::IdempotentResponse claim;
    claim.scope = fmt::format("{} {} {}", request.api_key_id, request.method, request.path);
    claim.key = key;
    claim.request_hash =
        sha256_hex(fmt::format("{}\n{}\n{}", request.method, request.path, request.body));
    claim.created_ms = now;
    auto existing = store.claim_idempotency_key(claim, now - kKeepMs, now - kStaleClaimMs);
    if (!existing) return fail(existing.error());
    if (*existing) {
        const auto& first = **existing;
        if (first.request_hash != claim.request_hash) {
            return fail(Errc::conflict,
                        "this Idempotency-Key was used with a different request body", kHeader);
        }
        if (first.status == 0) {
            return fail(Errc::conflict,
                        "a request with this Idempotency-Key is still being handled", kHeader);
        }
        Response replay;
        replay.status = first.status;
        replay.content_type = first.content_type;
        replay.body = first.body;
        replay.headers = first.headers;
        replay.headers.emplace_back("Idempotent-Replayed", "true");
        return replay;
    }
    auto result = handle(request);
    if (!result && transient(result.error().code)) {
        if (auto released = store.release_idempotency_key(claim.scope, claim.key); !released) {
            spdlog::warn("idempotency key not released error=\"{}\"", released.error().message);
        }
        return result;
    }
    Response answer = result ? std::move(*result) : error_response(result.error());
    store::IdempotentResponse done = claim;
    done.status = answer.status;
    done.content_type = answer.content_type;
    done.body = answer.body;
    done.headers = answer.headers;
    if (auto completed = store.complete_idempotency_key(done); !completed) {
        // The work is done and answered; only a retry's replay is lost (it would see 409 or
        // run again after the stale bound).
        spdlog::warn("idempotent answer not recorded error=\"{}\"", completed.error().message);
    }
    return answer;
}

}  // namespace hirestream::http
