#pragma once
// Function: what an event-source mapping invokes with a batch of stream records. The built-in
// assignment function is one; webhooks and processes are others (each a Function).
// Implementations must be safe to call from the mapping's thread; one mapping never invokes
// its function concurrently for the same shard.

#include <string>
#include <vector>

#include "store/change_record.h"
#include "stream/stream_record.h"

namespace hirestream::triggers {

struct Batch {
    const stream::StreamIdentity* stream = nullptr;
    int shard = 0;
    std::vector<store::ChangeRecord> records;  // one shard's, in sequence order
};

struct InvokeResult {
    bool ok = true;
    std::string error;  // when !ok: why, for logs and status
};

class Function {
public:
    virtual ~Function() = default;
    virtual const std::string& name() const = 0;
    // Handles the whole batch. A failed result makes the mapping retry the batch; the function
    // must therefore be idempotent per record.
    virtual InvokeResult invoke(const Batch& batch) = 0;
};

}  // namespace hirestream::triggers
