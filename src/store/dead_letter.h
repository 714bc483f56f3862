#pragma once
// DeadLetter: a batch a function could not handle, kept in the store by an on-failure
// destination. It holds AWS's invocation record (what a Lambda's OnFailure destination gets)
// and, beyond AWS, the records themselves, so they can be redriven after the stream has trimmed
// them. Plain value.

#include <cstdint>
#include <string>

namespace hirestream::store {

struct DeadLetter {
    std::int64_t id = 0;       // assigned by the store, increasing
    std::string destination;   // the onFailure destination's name, e.g. "deadletters"
    std::string function;      // the function that failed
    std::string table;
    int shard = 0;
    std::string condition;          // RetryAttemptsExhausted | RecordAgeExceeded | ...
    std::string invocation_record;  // AWS's on-failure invocation record, JSON
    std::string records;            // {"Records": [...]} as the function received them
    std::uint64_t first_sequence = 0;
    std::uint64_t last_sequence = 0;
    int record_count = 0;
    std::int64_t created_ms = 0;
    std::int64_t redriven_ms = 0;  // 0 until a redrive succeeded
};

}  // namespace hirestream::store
