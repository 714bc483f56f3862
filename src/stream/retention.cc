#include "stream/retention.h"

#include "common/change_signal.h"
#include "common/thread_name.h"

#include <spdlog/spdlog.h>

namespace hirestream::stream {

Retention::Retention(store::Store& store, const Clock& clock,
                     std::vector<RetentionPolicy> policies, std::chrono::milliseconds interval,
                     std::function<Result<void>()> maintenance)
    : store_(store),
      clock_(clock),
      policies_(std::move(policies)),
      interval_(interval),
      maintenance_(std::move(maintenance)) {}

Retention::~Retention() { stop(); }

void Retention::start() {
    thread_ = std::jthread([this](std::stop_token stop) {
        name_this_thread("hs-retention");
        while (!stop.stop_requested()) {
            (void)run_once();
            sleep_unless_stopped(interval_, stop);
        }
    });
}

void Retention::stop() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
}

Result<std::uint64_t> Retention::run_once() {
    std::uint64_t total = 0;
    std::optional<Error> error;
    for (const auto& p : policies_) {
        const auto cutoff =
            clock_.now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(p.retention)
                                  .count();
        std::vector<std::uint64_t> bounds;
        if (p.handled_up_to) {
            auto b = p.handled_up_to();
            if (!b) {
                error = b.error();
                continue;
            }
            bounds = std::move(*b);
        }
        auto trimmed = store_.trim_stream(p.table, cutoff, bounds);
        if (!trimmed) {
            spdlog::warn("stream trim failed table={} error=\"{}\"", p.table,
                         trimmed.error().message);
            error = trimmed.error();
            continue;
        }
        if (*trimmed > 0) spdlog::info("stream trimmed table={} records={}", p.table, *trimmed);
        total += *trimmed;
    }
    if (maintenance_) {
        if (auto r = maintenance_(); !r) {
            spdlog::warn("store maintenance failed error=\"{}\"", r.error().message);
            error = r.error();
        }
    }
    std::lock_guard lock(mutex_);
    last_error_ = error;
    if (error) return fail(*error);
    return total;
}

std::optional<Error> Retention::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

}  // namespace hirestream::stream
