#include "mail/delivery_worker.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/change_signal.h"

namespace hirestream::mail {

DeliveryWorker::DeliveryWorker(store::Store& store, Transport& transport, const Clock& clock,
                               DeliveryWorkerOptions options)
    : store_(store), transport_(transport), clock_(clock), options_(std::move(options)) {
    if (options_.metrics) {
        auto& m = *options_.metrics;
        const char* name = "hirestream_mail_deliveries_total";
        const char* help = "Assignment emails by outcome of an attempt.";
        sent_ = &m.counter(name, help, "outcome=\"sent\"");
        failed_ = &m.counter(name, help, "outcome=\"failed\"");
        deferred_ = &m.counter(name, help, "outcome=\"deferred\"");
    }
}

DeliveryWorker::~DeliveryWorker() { stop(); }

Result<void> DeliveryWorker::start() {
    auto requeued = store_.requeue_interrupted_deliveries(clock_.now_ms());
    if (!requeued) return fail(requeued.error());
    if (*requeued > 0) {
        spdlog::warn("deliveries interrupted by a restart requeued count={}", *requeued);
    }
    for (int i = 0; i < options_.threads; ++i) {
        threads_.emplace_back([this](std::stop_token stop) { run(stop); });
    }
    return {};
}

void DeliveryWorker::stop() {
    stopping_.request_stop();
    for (auto& t : threads_) t.request_stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

std::chrono::milliseconds DeliveryWorker::backoff(int attempts) const {
    const auto shift = std::clamp(attempts - 1, 0, 30);
    const auto ms = std::min<std::int64_t>(options_.max_backoff.count(),
                                           options_.initial_backoff.count() << shift);
    return std::chrono::milliseconds(ms);
}

Result<int> DeliveryWorker::send_due(int limit) {
    auto claimed = store_.claim_due_deliveries(clock_.now_ms(), limit);
    if (!claimed) return fail(claimed.error());
    for (const auto& d : *claimed) deliver(d);
    return static_cast<int>(claimed->size());
}

void DeliveryWorker::record(const store::Delivery& d, store::DeliveryState state,
                            const std::string& reply, std::int64_t next_ms) {
    // The outcome must be recorded before this thread takes more work: left SENDING, the
    // delivery would wait for a restart, and a SENT one would then be mailed again. So a store
    // that cannot take the write (disk full, I/O error) is retried until it can, or until stop;
    // after a stop the restart requeues it (the documented window).
    for (int attempt = 1;; ++attempt) {
        auto r = store_.finish_delivery(d.candidate_id, d.kind, state, reply, clock_.now_ms(),
                                        next_ms);
        if (r) break;
        spdlog::error("cannot record delivery outcome candidate={} state={} attempt={} "
                      "error=\"{}\"",
                      d.candidate_id, store::delivery_state_text(state), attempt,
                      r.error().message);
        if (r.error().code != Errc::unavailable ||
            !sleep_unless_stopped(backoff(std::min(attempt, 6)), stopping_.get_token())) {
            break;
        }
    }
    Counter* counter = state == store::DeliveryState::sent     ? sent_
                       : state == store::DeliveryState::failed ? failed_
                                                               : deferred_;
    if (counter) counter->inc();
}

void DeliveryWorker::deliver(store::Delivery d) {
    auto record = [&](store::DeliveryState state, const std::string& reply, std::int64_t next_ms) {
        this->record(d, state, reply, next_ms);
    };

    std::optional<store::Item> candidate;
    if (!options_.candidates_table.empty()) {
        auto item = store_.get_item(options_.candidates_table, d.candidate_id);
        if (!item) {
            record(store::DeliveryState::retry, "cannot read the candidate: " + item.error().message,
                   clock_.now_ms() + backoff(d.attempts).count());
            return;
        }
        if (!*item) {
            record(store::DeliveryState::failed,
                   "the candidate was deleted before the email was sent", 0);
            spdlog::warn("delivery cancelled candidate={} reason=\"candidate deleted\"",
                         d.candidate_id);
            return;
        }
        // A PATCH may have corrected the address or the name since the INSERT.
        if (auto email = (*item)->string_attr("email"); email && !email->empty()) {
            d.recipient = std::string(*email);
        }
        if (auto name = (*item)->string_attr("fullname")) d.recipient_name = std::string(*name);
        candidate = std::move(*item);
    }

    auto message = options_.messages->build(d, candidate ? &*candidate : nullptr,
                                            clock_.now_ms());
    if (!message) {
        if (message.error().code == Errc::unavailable) {
            record(store::DeliveryState::retry,
                   "cannot read the assignment: " + message.error().message,
                   clock_.now_ms() + backoff(d.attempts).count());
            return;
        }
        record(store::DeliveryState::failed, message.error().message, 0);
        spdlog::error("delivery failed candidate={} reason=\"{}\"", d.candidate_id,
                      message.error().message);
        return;
    }
    auto mime = render_message(*message);
    if (!mime) {
        record(store::DeliveryState::failed,
               fmt::format("message refused: {} ({})", mime.error().message, mime.error().field),
               0);
        spdlog::error("delivery failed candidate={} reason=\"{}\"", d.candidate_id,
                      mime.error().message);
        return;
    }
    const Envelope envelope{options_.messages->sender().from.address, {d.recipient}};
    const auto outcome = transport_.send(envelope, *mime, d.message_id);
    switch (outcome.kind) {
        case SendOutcome::Kind::sent:
            record(store::DeliveryState::sent, outcome.detail, 0);
            spdlog::info("email sent candidate={} assignment={} message_id={} attempts={}",
                         d.candidate_id, d.assignment, d.message_id, d.attempts);
            return;
        case SendOutcome::Kind::permanent:
            record(store::DeliveryState::failed, outcome.detail, 0);
            spdlog::error("email failed candidate={} reply=\"{}\"", d.candidate_id,
                          outcome.detail);
            return;
        case SendOutcome::Kind::transient:
            break;
    }
    const bool too_many = options_.max_attempts > 0 && d.attempts >= options_.max_attempts;
    const bool too_old = clock_.now_ms() - d.created_ms >= options_.give_up_after.count();
    if (too_many || too_old) {
        record(store::DeliveryState::failed,
               fmt::format("gave up after {} attempts over {} s: {}", d.attempts,
                           (clock_.now_ms() - d.created_ms) / 1000, outcome.detail),
               0);
        spdlog::error("email failed candidate={} attempts={} reply=\"{}\"", d.candidate_id,
                      d.attempts, outcome.detail);
        return;
    }
    // Full jitter on the upper half, so many deliveries failing together do not retry together.
    thread_local std::mt19937_64 rng(std::random_device{}());
    const auto cap = backoff(d.attempts).count();
    const auto delay = std::uniform_int_distribution<std::int64_t>(cap / 2, cap)(rng);
    record(store::DeliveryState::retry, outcome.detail, clock_.now_ms() + delay);
    spdlog::warn("email deferred candidate={} attempts={} retry_in_ms={} reply=\"{}\"",
                 d.candidate_id, d.attempts, delay, outcome.detail);
}

void DeliveryWorker::run(std::stop_token stop) {
    auto& signal = store_.delivery_signal();
    int failures = 0;
    while (!stop.stop_requested()) {
        const auto seen = signal.version();
        // One at a time: a delivery is SENDING only while it is really in flight, so a crash
        // leaves as few as possible to requeue.
        auto handled = send_due(1);
        if (!handled) {
            ++failures;
            spdlog::warn("delivery queue unavailable error=\"{}\"", handled.error().message);
            sleep_unless_stopped(backoff(std::min(failures, 6)), stop);
            continue;
        }
        failures = 0;
        if (*handled > 0) continue;
        // Sleep until the next retry is due, a new delivery is signalled, or the safety net.
        auto wait = options_.idle_wait;
        if (auto due = store_.next_delivery_due_ms(); due && *due) {
            const auto until = std::chrono::milliseconds(**due - clock_.now_ms());
            wait = std::clamp(until, std::chrono::milliseconds(1), options_.idle_wait);
        }
        signal.wait_past(seen, wait, stop);
    }
}

}  // namespace hirestream::mail
