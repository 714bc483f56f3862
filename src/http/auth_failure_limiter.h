#pragma once
// AuthFailureLimiter: slows down guessing of API keys. Counts failed key checks per client
// address in a fixed window; once an address has `max_failures` in its window, it is blocked
// until the window ends (the guard answers 429 with Retry-After without checking its keys).
// Memory is bounded: at most `max_clients` addresses, the least recently seen forgotten first.
// Thread-safe (one mutex).

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace hirestream::http {

class AuthFailureLimiter {
public:
    AuthFailureLimiter(const Clock& clock, int max_failures,
                       std::chrono::milliseconds window = std::chrono::minutes(1),
                       std::size_t max_clients = 10'000);

    // Milliseconds until `client` may try again, or 0 when it is not blocked.
    std::int64_t blocked_for_ms(const std::string& client);
    // Counts one failed key check of `client`.
    void record_failure(const std::string& client);
    // How many addresses are tracked (for tests).
    std::size_t tracked() const;

private:
    struct Entry {
        std::int64_t window_start_ms = 0;
        int failures = 0;
        std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
    };

    const Clock& clock_;
    const int max_failures_;
    const std::int64_t window_ms_;
    const std::size_t max_clients_;
    mutable std::mutex mutex_;
    std::list<std::string> lru_;
    std::unordered_map<std::string, Entry> clients_;
};

}  // namespace hirestream::http
