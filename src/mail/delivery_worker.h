#pragma once
// DeliveryWorker: the delivery engine's sending side. Threads claim due deliveries from the
// store (PENDING or RETRY -> SENDING, atomically, so no two threads send one), build and render
// the assignment email, hand it to the transport and record the outcome:
//   accepted         -> SENT
//   4xx, network, timeout -> RETRY after exponential backoff with jitter, or FAILED once
//                       maxAttempts is reached
//   5xx              -> FAILED with the server's reply; a bad-mailbox reply (enhanced status
//                       5.1.x, RFC 3463) also puts the address on the suppression list
//   suppressed address -> SUPPRESSED, nothing sent
// Sending limits (SendRateLimiter) are applied before a delivery is claimed: throttled
// deliveries wait as PENDING.
// It is also the DeliveryHandoff of new deliveries: a sender waiting for work is reserved by
// the function that adds them, and takes its delivery, claimed in that function's commit, from
// memory instead of claiming it from the store (one durable commit fewer per email). Not with
// sending limits set: then every delivery waits for the limiter as PENDING.
// A delivery left SENDING by a crash is made due again at start(): the only window where a
// message can go out twice (accepted by the server, not yet recorded), and its Message-ID is
// the same both times so the receiver can drop the duplicate.
//
// Lifecycle: start() launches `threads` threads; stop() is idempotent and waits for them.
// Thread-safety: everything public may be called from any thread.

#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/metrics.h"
#include "mail/assignment_message.h"
#include "mail/send_rate_limiter.h"
#include "mail/transport.h"
#include "store/delivery_handoff.h"
#include "store/store.h"

namespace hirestream::mail {

struct DeliveryWorkerOptions {
    // Builds each message (templates, links, attachment); must outlive the worker. Its
    // sender's address is the envelope's MAIL FROM.
    const AssignmentMessageBuilder* messages = nullptr;
    // The candidates table: each delivery re-reads its candidate just before sending, so a
    // corrected address or name is used and a deleted candidate is not mailed. Empty: send the
    // delivery as recorded.
    std::string candidates_table;
    int threads = 2;
    // A delivery that keeps failing transiently (relay down, 4xx) gives up, FAILED, after
    // max_attempts attempts (0: no limit) or once it is give_up_after old, whichever first.
    // Age rather than count by default: a relay down over lunch must not fail everyone queued.
    int max_attempts = 0;
    std::chrono::milliseconds give_up_after{std::chrono::hours(72)};
    std::chrono::milliseconds initial_backoff{1000};
    std::chrono::milliseconds max_backoff{300'000};
    // How long a thread sleeps when nothing signals; a safety net only.
    std::chrono::milliseconds idle_wait{1000};
    SendRateLimits rate_limits;          // none by default
    MetricsRegistry* metrics = nullptr;  // optional: sent / failed / deferred counters
};

// True when an SMTP reply says the mailbox or its address is bad (enhanced status 5.1.x after
// the reply code, e.g. "550 5.1.1 <x@example.com>: User unknown"), as opposed to a policy or
// content refusal: such an address goes on the suppression list.
bool is_bad_mailbox_reply(std::string_view reply);

class DeliveryWorker final : public store::DeliveryHandoff {
public:
    DeliveryWorker(store::Store& store, Transport& transport, const Clock& clock,
                   DeliveryWorkerOptions options);
    ~DeliveryWorker() override;

    // Requeues deliveries interrupted by a crash, then starts the threads.
    Result<void> start();
    void stop();

    // What a round of send_due() read when it stopped because nothing was due: the earliest
    // time a delivery falls due (none queued: empty), so the caller waits without reading it
    // again.
    struct NothingDue {
        bool seen = false;
        std::optional<std::int64_t> next_due_ms;
    };

    // Claims and sends what is due now, on the caller's thread, as far as the sending limits
    // allow, until `stop` is requested. Returns how many were handled; `nothing_due`, when
    // given, is filled if the round ended for want of a due delivery.
    Result<int> send_due(int limit, std::stop_token stop = {}, NothingDue* nothing_due = nullptr);


    // The retry delay after `attempts` failed attempts, before jitter.
    std::chrono::milliseconds backoff(int attempts) const;

    // DeliveryHandoff. Reserves senders that are waiting for work, less those already promised
    // one; none after stop() or with sending limits.
    int reserve(int wanted) override;
    void give(store::Delivery delivery) override;
    void cancel(int count) override;

private:
    // An attempt's outcome on its way to the store (finish_delivery_async).
    struct PendingOutcome {
        store::Delivery delivery;
        store::AttemptOutcome outcome;
        std::future<Result<void>> result;
    };
    static constexpr int kSendsPerRound = 64;  // between looks at the sending limits' wait

    // Returns whether the message was handed to the relay, and whether it was accepted. Its
    // outcome is left in `pending`, committing.
    std::pair<bool, bool> deliver(store::Delivery delivery, std::optional<PendingOutcome>& pending);
    void record_async(const store::Delivery& delivery, const store::AttemptOutcome& outcome,
                      std::optional<PendingOutcome>& pending);
    // Waits for `pending`'s commit; an outcome the store could not take is recorded again.
    // False when it is still unrecorded (the store unavailable until stop).
    bool settle(std::optional<PendingOutcome>& pending);
    // Records synchronously, retrying while the store is unavailable (until stop). False when
    // stopped before the store took it.
    bool record(const store::Delivery& delivery, const store::AttemptOutcome& outcome,
                int first_attempt);
    void log_unrecorded(const store::Delivery& delivery, const store::AttemptOutcome& outcome,
                        int attempt, const Error& error);
    void count(store::DeliveryState state);
    std::optional<store::Delivery> take_handed();
    void warn_about_quota();
    void run(std::stop_token stop);

    store::Store& store_;
    Transport& transport_;
    const Clock& clock_;
    DeliveryWorkerOptions options_;
    Counter* sent_ = nullptr;
    Counter* failed_ = nullptr;
    Counter* deferred_ = nullptr;
    Counter* suppressed_ = nullptr;
    SendRateLimiter limiter_;
    std::atomic<bool> quota_warned_{false};
    std::stop_source stopping_;  // ends the wait of an outcome that cannot be recorded yet
    std::vector<std::jthread> threads_;

    std::mutex handoff_mutex_;
    int idle_ = 0;                         // senders waiting for work; by handoff_mutex_
    int reserved_ = 0;                     // promised, not yet given or cancelled; ditto
    std::deque<store::Delivery> handed_;  // given, SENDING, not yet taken; ditto
};

}  // namespace hirestream::mail
