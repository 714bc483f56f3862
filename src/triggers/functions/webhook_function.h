#pragma once
// WebhookFunction: an `http://` or `https://` handler. Each invocation POSTs the batch's event
// (render_event: {"Records": [...]}, exactly what a Lambda receives) to the handler URL with
//   Content-Type: application/json
//   User-Agent: hirestream
//   X-Hirestream-Request-Id: <context.request_id>
// and maps the answer onto InvokeResult:
//   - 2xx: ok, response = the body (any body: the mapping judges it, e.g. batchItemFailures).
//   - a body over 6 MiB (Lambda's payload limit), whatever the status: error
//     "answer exceeds 6 MiB".
//   - any other status: error "HTTP <code>: <first 200 bytes of the body, on one line>"
//     ("HTTP <code>" when the body is empty). Redirects are not followed: a 3xx is an error.
//   - no answer within context.timeout: error "Task timed out after <x.xx> seconds".
//   - connection failures (refused, DNS, TLS, connect timeout of min(timeout, 5 s)): error with
//     curl's message.
//   - a Retry-After header (delta-seconds or HTTP-date, RFC 9110 10.2.3) on any answer sets
//     retry_after, clamped to [0, 15 min].
// TLS peers are verified. Only http and https are allowed, also for the handler URL itself.
// context.log gets one line per invocation, e.g. "POST http://host/path -> 200 in 12 ms"; the
// logged URL never shows user:password@, the query or the fragment (where secrets live).
//
// Lifecycle: stateless between invocations (one libcurl handle per call; no connection reuse).
// Thread-safety: invoke() may run concurrently on any threads.

#include <chrono>
#include <optional>
#include <string>

#include "common/clock.h"
#include "triggers/function.h"

namespace hirestream::triggers {

// The delay a Retry-After header value asks for (RFC 9110 10.2.3): delay-seconds, or an
// HTTP-date (the three formats of RFC 9110 5.6.7) measured against `date`, the answer's Date
// header, when that parses, else against `clock`. Clamped to [0, 15 min]; nullopt when the
// value is empty or neither form. Pure apart from reading `clock`; thread-safe.
std::optional<std::chrono::milliseconds> parse_retry_after(const std::string& value,
                                                           const std::optional<std::string>& date,
                                                           const Clock& clock);

class WebhookFunction final : public Function {
  public:
    // `spec.handler` should be an http:// or https:// URL (config validation checks it); any
    // other handler makes every invoke() fail with an error naming it.
    explicit WebhookFunction(FunctionSpec spec);
    // `clock` (which must outlive this) resolves a Retry-After HTTP-date when the answer has no
    // Date header to measure it against.
    WebhookFunction(FunctionSpec spec, const Clock& clock);
    // Not copyable: clock_ may refer to this object's own system_clock_.
    WebhookFunction(const WebhookFunction&) = delete;
    WebhookFunction& operator=(const WebhookFunction&) = delete;

    const FunctionSpec& spec() const override { return spec_; }
    InvokeResult invoke(const Batch& batch, const InvocationContext& context) override;

  private:
    FunctionSpec spec_;
    SystemClock system_clock_;
    const Clock& clock_;
    std::string log_url_;  // the handler without credentials, query or fragment
};

}  // namespace hirestream::triggers
