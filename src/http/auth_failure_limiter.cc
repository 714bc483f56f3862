#include "http/auth_failure_limiter.h"

namespace hirestream::http {

AuthFailureLimiter::AuthFailureLimiter(const Clock& clock, int max_failures,
                                       std::chrono::milliseconds window, std::size_t max_clients)
    : clock_(clock),
      max_failures_(max_failures),
      window_ms_(window.count()),
      max_clients_(max_clients > 0 ? max_clients : 1) {}

std::int64_t AuthFailureLimiter::blocked_for_ms(const std::string& client) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(client);
    if (it == clients_.end() || it->second.failures < max_failures_) return 0;
    const auto left = it->second.window_start_ms + window_ms_ - clock_.now_ms();
    return left > 0 ? left : 0;
}

void AuthFailureLimiter::record_failure(const std::string& client) {
    std::lock_guard lock(mutex_);
    const auto now = clock_.now_ms();
    auto it = clients_.find(client);
    if (it == clients_.end()) {
        if (clients_.size() >= max_clients_) {
            clients_.erase(lru_.back());
            lru_.pop_back();
        }
        lru_.push_front(client);
        it = clients_.emplace(client, Entry{now, 0, lru_.begin()}).first;
    } else {
        lru_.splice(lru_.begin(), lru_, it->second.lru);
    }
    auto& e = it->second;
    if (now >= e.window_start_ms + window_ms_) {
        e.window_start_ms = now;
        e.failures = 0;
    }
    ++e.failures;
}

std::size_t AuthFailureLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return clients_.size();
}

}  // namespace hirestream::http
