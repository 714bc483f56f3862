#include "mail/delivery_worker.h"

#include <algorithm>
#include <future>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/change_signal.h"
#include "common/ids.h"
#include "common/thread_name.h"

namespace hirestream::mail {

bool is_bad_mailbox_reply(std::string_view reply) {
    // "550 5.1.1 ...", "550-5.1.1 ...", or the enhanced code alone.
    if (reply.size() >= 4 && reply[0] >= '2' && reply[0] <= '5' && (reply[3] == ' ' ||
                                                                   reply[3] == '-')) {
        reply.remove_prefix(4);
    }
    if (reply.size() < 5 || !reply.starts_with("5.1.")) return false;
    std::size_t digits = 0;
    while (4 + digits < reply.size() && digits < 4 && reply[4 + digits] >= '0' &&
           reply[4 + digits] <= '9') {
        ++digits;
    }
    return digits >= 1 && digits <= 3 && (4 + digits == reply.size() || reply[4 + digits] == ' ');
}

DeliveryWorker::DeliveryWorker(store::Store& store, Transport& transport, const Clock& clock,
                               DeliveryWorkerOptions options)
    : store_(store),
      transport_(transport),
      clock_(clock),
      options_(std::move(options)),
      limiter_(clock, options_.rate_limits) {
    if (options_.metrics) {
        auto& m = *options_.metrics;
        const char* name = "hirestream_mail_deliveries_total";
        const char* help = "Assignment emails by outcome of an attempt.";
        sent_ = &m.counter(name, help, "outcome=\"sent\"");
        failed_ = &m.counter(name, help, "outcome=\"failed\"");
        deferred_ = &m.counter(name, help, "outcome=\"deferred\"");
        suppressed_ = &m.counter(name, help, "outcome=\"suppressed\"");
    }
}

DeliveryWorker::~DeliveryWorker() { stop(); }

Result<void> DeliveryWorker::start() {
    auto requeued = store_.requeue_interrupted_deliveries(clock_.now_ms());
    if (!requeued) return fail(requeued.error());
    if (*requeued > 0) {
        spdlog::warn("deliveries interrupted by a restart requeued count={}", *requeued);
    }
    if (options_.rate_limits.per_day > 0) {
        constexpr std::int64_t kDayMs = 24 * 3'600'000;
        auto sent = store_.sent_per_minute_since(clock_.now_ms() - kDayMs - 60'000);
        if (!sent) return fail(sent.error());
        limiter_.seed_daily(*sent);
    }
    for (int i = 0; i < options_.threads; ++i) {
        threads_.emplace_back([this](std::stop_token stop) {
            name_this_thread("hs-mail");
            run(stop);
        });
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
    // Handed over but never tried: PENDING again, not "interrupted" at the next start.
    std::vector<std::int64_t> untried;
    {
        std::lock_guard lock(handoff_mutex_);
        for (const auto& d : handed_) untried.push_back(d.id);
        handed_.clear();
    }
    if (untried.empty()) return;
    if (auto released = store_.unclaim_deliveries(untried, clock_.now_ms()); !released) {
        spdlog::warn("cannot put back {} unsent deliveries error=\"{}\"; the next start "
                     "requeues them",
                     untried.size(), released.error().message);
    }
}

int DeliveryWorker::reserve(int wanted) {
    if (wanted <= 0 || options_.rate_limits.per_second > 0 || options_.rate_limits.per_day > 0 ||
        stopping_.stop_requested()) {
        return 0;
    }
    std::lock_guard lock(handoff_mutex_);
    const int free = idle_ - reserved_ - static_cast<int>(handed_.size());
    const int granted = std::clamp(wanted, 0, std::max(free, 0));
    reserved_ += granted;
    return granted;
}

void DeliveryWorker::give(store::Delivery delivery) {
    {
        std::lock_guard lock(handoff_mutex_);
        reserved_ = std::max(reserved_ - 1, 0);
        handed_.push_back(std::move(delivery));
    }
    // One sender is enough for one delivery; any sender looks at handed_ before the store.
    store_.delivery_signal().notify_one();
}

void DeliveryWorker::cancel(int count) {
    std::lock_guard lock(handoff_mutex_);
    reserved_ = std::max(reserved_ - count, 0);
}

std::optional<store::Delivery> DeliveryWorker::take_handed() {
    std::lock_guard lock(handoff_mutex_);
    if (handed_.empty()) return std::nullopt;
    auto d = std::move(handed_.front());
    handed_.pop_front();
    return d;
}

std::chrono::milliseconds DeliveryWorker::backoff(int attempts) const {
    const auto shift = std::clamp(attempts - 1, 0, 30);
    const auto ms = std::min<std::int64_t>(options_.max_backoff.count(),
                                           options_.initial_backoff.count() << shift);
    return std::chrono::milliseconds(ms);
}

Result<int> DeliveryWorker::send_due(int limit, std::stop_token stop, NothingDue* nothing_due) {
    // The last email's outcome, committing while the next email is claimed: the claim is asked
    // for after it, so the two share a commit (or the outcome's comes first), and an email
    // costs one wait for the disk instead of two. It is settled before the next send.
    std::optional<PendingOutcome> pending;
    int handled = 0;
    while (handled < limit && !stop.stop_requested()) {
        warn_about_quota();
        if (limiter_.try_acquire() > 0) break;
        // One handed over (claimed in the commit that added it) first, else one from the store.
        Result<std::vector<store::Delivery>> claimed = std::vector<store::Delivery>{};
        if (auto given = take_handed()) {
            claimed->push_back(std::move(*given));
        } else if (auto due = store_.next_delivery_due_ms();
                   due && (!*due || **due > clock_.now_ms())) {
            // Nothing due, seen by a read beside the writer: no claim, whose empty transaction
            // would queue with every commit for nothing (after each email, most often). A
            // delivery added meanwhile bumps the signal this thread waits on next.
            if (nothing_due != nullptr) *nothing_due = {true, *due};
        } else {
            claimed = store_.claim_due_deliveries(clock_.now_ms(), 1);
        }
        if (!settle(pending)) {
            // Stopped with the last outcome unrecorded: send nothing more. A delivery just
            // claimed stays SENDING, never sent, and the next start makes it due again.
            limiter_.finish(false, false);
            break;
        }
        if (!claimed || claimed->empty()) {
            limiter_.finish(false, false);
            if (!claimed) return fail(claimed.error());
            break;
        }
        const auto [handed, accepted] = deliver(std::move(claimed->front()), pending);
        limiter_.finish(handed, accepted);
        ++handled;
    }
    settle(pending);
    return handled;
}

void DeliveryWorker::warn_about_quota() {
    if (options_.rate_limits.per_day <= 0) return;
    const bool reached = limiter_.sent_today() >= options_.rate_limits.per_day;
    if (reached && !quota_warned_.exchange(true)) {
        spdlog::warn("daily sending quota reached: {} emails in 24 h (mail.rateLimit.per24Hours);"
                     " emails wait as PENDING until it frees",
                     options_.rate_limits.per_day);
    } else if (!reached && quota_warned_.exchange(false)) {
        spdlog::info("daily sending quota has room again; sending resumes");
    }
}

void DeliveryWorker::record_async(const store::Delivery& d, const store::AttemptOutcome& outcome,
                                  std::optional<PendingOutcome>& pending) {
    auto promise = std::make_shared<std::promise<Result<void>>>();
    pending.emplace(PendingOutcome{d, outcome, promise->get_future()});
    store_.finish_delivery_async(d.candidate_id, d.kind, outcome, clock_.now_ms(),
                                 [promise](Result<void> r) { promise->set_value(std::move(r)); });
}

bool DeliveryWorker::settle(std::optional<PendingOutcome>& pending) {
    if (!pending) return true;
    const auto recorded = pending->result.get();
    bool settled = true;
    if (recorded) {
        count(pending->outcome.state);
    } else {
        log_unrecorded(pending->delivery, pending->outcome, 1, recorded.error());
        if (recorded.error().code == Errc::unavailable) {
            settled = record(pending->delivery, pending->outcome, 2);
        } else {
            count(pending->outcome.state);
        }
    }
    pending.reset();
    return settled;
}

void DeliveryWorker::log_unrecorded(const store::Delivery& d, const store::AttemptOutcome& outcome,
                                    int attempt, const Error& error) {
    spdlog::error("cannot record delivery outcome candidate={} state={} attempt={} error=\"{}\"",
                  d.candidate_id, store::delivery_state_text(outcome.state), attempt,
                  error.message);
}

bool DeliveryWorker::record(const store::Delivery& d, const store::AttemptOutcome& outcome,
                            int first_attempt) {
    // The outcome must be recorded before this thread sends more: left SENDING, the delivery
    // would wait for a restart, and a SENT one would then be mailed again. So a store that
    // cannot take the write (disk full, I/O error) is retried until it can, or until stop;
    // after a stop the restart requeues it (the documented window).
    bool settled = false;
    for (int attempt = first_attempt;; ++attempt) {
        if (attempt > 1 &&
            !sleep_unless_stopped(backoff(std::min(attempt - 1, 6)), stopping_.get_token())) {
            break;  // stopping with the outcome unrecorded
        }
        auto r = store_.finish_delivery(d.candidate_id, d.kind, outcome, clock_.now_ms());
        settled = r || r.error().code != Errc::unavailable;
        if (settled) {
            if (!r) log_unrecorded(d, outcome, attempt, r.error());
            break;
        }
        log_unrecorded(d, outcome, attempt, r.error());
    }
    count(outcome.state);
    return settled;
}

void DeliveryWorker::count(store::DeliveryState state) {
    Counter* counter = state == store::DeliveryState::sent         ? sent_
                       : state == store::DeliveryState::failed     ? failed_
                       : state == store::DeliveryState::suppressed ? suppressed_
                                                                   : deferred_;
    if (counter) counter->inc();
}

std::pair<bool, bool> DeliveryWorker::deliver(store::Delivery d,
                                              std::optional<PendingOutcome>& pending) {
    using store::AttemptOutcome;
    using store::DeliveryState;
    constexpr std::pair<bool, bool> kNotSent{false, false};
    auto record = [&](DeliveryState state, int code, const std::string& reply,
                      std::int64_t next_ms = 0, bool suppress = false) {
        record_async(d, AttemptOutcome{state, code, reply, next_ms, suppress}, pending);
    };

    std::optional<store::Item> candidate;
    if (!options_.candidates_table.empty()) {
        auto item = store_.get_item(options_.candidates_table, d.candidate_id);
        if (!item) {
            record(DeliveryState::retry, 0, "cannot read the candidate: " + item.error().message,
                   clock_.now_ms() + backoff(d.attempts).count());
            return kNotSent;
        }
        if (!*item) {
            record(DeliveryState::failed, 0,
                   "the candidate was deleted before the email was sent");
            spdlog::warn("delivery cancelled candidate={} reason=\"candidate deleted\"",
                         d.candidate_id);
            return kNotSent;
        }
        // A PATCH may have corrected the address or the name since the INSERT.
        if (auto email = (*item)->string_attr("email"); email && !email->empty()) {
            d.recipient = std::string(*email);
        }
        if (auto name = (*item)->string_attr("fullname")) d.recipient_name = std::string(*name);
        candidate = std::move(*item);
    }

    auto suppression = store_.find_suppression(d.recipient);
    if (!suppression) {
        record(DeliveryState::retry, 0,
               "cannot read the suppression list: " + suppression.error().message,
               clock_.now_ms() + backoff(d.attempts).count());
        return kNotSent;
    }
    if (*suppression) {
        const auto& s = **suppression;
        record(DeliveryState::suppressed, 0,
               fmt::format("not sent: {} is on the suppression list since {} ({})", s.address,
                           iso8601_ms(s.created_ms), s.reason));
        spdlog::warn("email suppressed candidate={} reason=\"{}\"", d.candidate_id, s.reason);
        return kNotSent;
    }

    auto message = options_.messages->build(d, candidate ? &*candidate : nullptr,
                                            clock_.now_ms());
    if (!message) {
        if (message.error().code == Errc::unavailable) {
            record(DeliveryState::retry, 0,
                   "cannot read the assignment: " + message.error().message,
                   clock_.now_ms() + backoff(d.attempts).count());
            return kNotSent;
        }
        record(DeliveryState::failed, 0, message.error().message);
        spdlog::error("delivery failed candidate={} reason=\"{}\"", d.candidate_id,
                      message.error().message);
        return kNotSent;
    }
    auto mime = render_message(*message);
    if (!mime) {
        record(DeliveryState::failed, 0,
               fmt::format("message refused: {} ({})", mime.error().message, mime.error().field));
        spdlog::error("delivery failed candidate={} reason=\"{}\"", d.candidate_id,
                      mime.error().message);
        return kNotSent;
    }
    const Envelope envelope{options_.messages->sender().from.address, {d.recipient}};
    const auto outcome = transport_.send(envelope, *mime, d.message_id);
    switch (outcome.kind) {
        case SendOutcome::Kind::sent:
            record(DeliveryState::sent, outcome.reply_code, outcome.detail);
            spdlog::info("email sent candidate={} assignment={} message_id={} attempts={}",
                         d.candidate_id, d.assignment, d.message_id, d.attempts);
            return {true, true};
        case SendOutcome::Kind::permanent: {
            const bool bad_mailbox = is_bad_mailbox_reply(outcome.detail);
            record(DeliveryState::failed, outcome.reply_code, outcome.detail, 0, bad_mailbox);
            spdlog::error("email failed candidate={} reply=\"{}\"{}", d.candidate_id,
                          outcome.detail, bad_mailbox ? " suppressed=true" : "");
            return {true, false};
        }
        case SendOutcome::Kind::transient:
            break;
    }
    const auto age_ms = clock_.now_ms() - (d.queued_ms != 0 ? d.queued_ms : d.created_ms);
    const bool too_many = options_.max_attempts > 0 && d.attempts >= options_.max_attempts;
    const bool too_old = age_ms >= options_.give_up_after.count();
    if (too_many || too_old) {
        record(DeliveryState::failed, outcome.reply_code,
               fmt::format("gave up after {} attempts over {} s: {}", d.attempts, age_ms / 1000,
                           outcome.detail));
        spdlog::error("email failed candidate={} attempts={} reply=\"{}\"", d.candidate_id,
                      d.attempts, outcome.detail);
        return {true, false};
    }
    // Full jitter on the upper half, so many deliveries failing together do not retry together.
    thread_local std::mt19937_64 rng(std::random_device{}());
    const auto cap = backoff(d.attempts).count();
    const auto delay = std::uniform_int_distribution<std::int64_t>(cap / 2, cap)(rng);
    record(DeliveryState::retry, outcome.reply_code, outcome.detail, clock_.now_ms() + delay);
    spdlog::warn("email deferred candidate={} attempts={} retry_in_ms={} reply=\"{}\"",
                 d.candidate_id, d.attempts, delay, outcome.detail);
    return {true, false};
}

void DeliveryWorker::run(std::stop_token stop) {
    auto& signal = store_.delivery_signal();
    int failures = 0;
    while (!stop.stop_requested()) {
        const auto seen = signal.version();
        // Claimed one at a time (a delivery is SENDING only while it is really in flight, so a
        // crash leaves as few as possible to requeue), many in a row.
        NothingDue nothing_due;
        auto handled = send_due(kSendsPerRound, stop, &nothing_due);
        if (!handled) {
            ++failures;
            spdlog::warn("delivery queue unavailable error=\"{}\"", handled.error().message);
            sleep_unless_stopped(backoff(std::min(failures, 6)), stop);
            continue;
        }
        failures = 0;
        // A round that ran out of work has just read when the next is due: no second round
        // (and read) to learn it again. A delivery added since `seen` ends the wait at once.
        if (*handled > 0 && !nothing_due.seen) continue;
        // Sleep until the next retry is due, a new delivery is signalled, or the safety net;
        // while throttled, until the limits allow the next message.
        if (const auto throttled = limiter_.wait_ms(); throttled > 0) {
            sleep_unless_stopped(std::chrono::milliseconds(
                                     std::min<std::int64_t>(throttled,
                                                            options_.idle_wait.count())),
                                 stop);
            continue;
        }
        auto wait = options_.idle_wait;
        std::optional<std::int64_t> due_ms = nothing_due.next_due_ms;
        if (!nothing_due.seen) {
            if (auto due = store_.next_delivery_due_ms(); due) due_ms = *due;
        }
        if (due_ms) {
            const auto until = std::chrono::milliseconds(*due_ms - clock_.now_ms());
            wait = std::clamp(until, std::chrono::milliseconds(1), options_.idle_wait);
        }
        // Counted idle while waiting: reserve() promises this thread to a function's commit,
        // whose give() bumps the signal (a give() since `seen` ends the wait at once).
        {
            std::lock_guard lock(handoff_mutex_);
            ++idle_;
        }
        signal.wait_past(seen, wait, stop);
        {
            std::lock_guard lock(handoff_mutex_);
            --idle_;
        }
    }
}

}  // namespace hirestream::mail
