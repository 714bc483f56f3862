#pragma once
// Function: what an event-source mapping invokes with a batch of stream records. Three kinds
// implement it: the built-in assignment function, webhooks (http:// and https:// handlers) and
// processes (exec: handlers).
// Thread-safety: invoke() may be called concurrently from several mapping threads (with
// parallelizationFactor > 1); implementations must allow that.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/change_record.h"
#include "stream/stream_record.h"

namespace hirestream::triggers {

// A function as declared in config (Serverless Framework keys).
struct FunctionSpec {
    std::string name;     // e.g. "sendAssignment"
    std::string handler;  // "builtin:assignment" | "http(s)://..." | "exec:<command line>"
    std::chrono::milliseconds timeout{6000};  // `timeout` (seconds in config; default 6)
    int memory_size_mb = 1024;                // `memorySize` (default 1024)
    std::map<std::string, std::string> environment;  // `environment`
};

struct Batch {
    const stream::StreamIdentity* stream = nullptr;
    int shard = 0;
    std::vector<store::ChangeRecord> records;  // one shard's, in sequence order
};

// What one invocation gets besides its batch.
struct InvocationContext {
    std::string request_id;  // a UUID, as Lambda's RequestId
    std::chrono::milliseconds timeout{6000};
    // Receives each line the function logs (its stderr for a process, its own lines for a
    // built-in). Never null when invoked by a mapping; may be empty in tests.
    std::function<void(std::string_view line)> log;
};

struct InvokeResult {
    // false: a function error: the whole batch failed (a crash, a timeout, a non-2xx answer,
    // an answer that is not JSON, an exit status other than 0).
    bool ok = true;
    std::string error;  // when !ok: why, one line, for logs, status and dead letters
    // The function's answer: the response body (webhook), stdout (process) or a JSON text the
    // built-in builds. Empty means no answer. The mapping reads batchItemFailures from it when
    // ReportBatchItemFailures is on (parse_batch_item_failures).
    std::string response;
    // A webhook's Retry-After, honoured by the mapping's next retry.
    std::optional<std::chrono::milliseconds> retry_after;
    std::int64_t max_memory_used_mb = 0;  // when known (processes), for the REPORT line
};

class Function {
public:
    virtual ~Function() = default;
    virtual const FunctionSpec& spec() const = 0;
    const std::string& name() const { return spec().name; }
    // Handles the batch. Delivery is at-least-once: a failed or partly failed batch comes
    // again, so a function must be idempotent per record.
    virtual InvokeResult invoke(const Batch& batch, const InvocationContext& context) = 0;
};

// The event exactly as a Lambda receives it from DynamoDB Streams: {"Records": [...]}.
std::string render_event(const Batch& batch);

// Reads `{"batchItemFailures": [{"itemIdentifier": "<SequenceNumber>"}, ...]}` from a function's
// answer (AWS's ReportBatchItemFailures contract). Returns the identifiers; an empty answer,
// `null`, `{}` or an empty list mean full success. Fails with invalid_argument when the answer
// is not JSON or the list is malformed (AWS then treats the whole batch as failed).
Result<std::vector<std::string>> parse_batch_item_failures(std::string_view response);

}  // namespace hirestream::triggers
