#pragma once
// Delivery: one tracked email, as the store keeps it. There is at most one delivery per
// (candidate, kind): that key is what makes a replayed stream or a retried batch unable to mail
// a candidate twice. DeliveryAttempt: one try at sending it, kept for the delivery's timeline.
// Suppression: an address that is never mailed again (a bad-mailbox reply, or added by hand).
// Plain values.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hirestream::store {

// PENDING -> SENDING -> SENT, or RETRY (with next_attempt_ms) until SENT or FAILED; SUPPRESSED
// when the recipient is on the suppression list at the time of sending.
enum class DeliveryState { pending, sending, sent, retry, failed, suppressed };
std::string_view delivery_state_text(DeliveryState state);  // "PENDING", ...
// Parses "PENDING" ... "SUPPRESSED"; fails with invalid_argument naming the states.
Result<DeliveryState> parse_delivery_state(std::string_view text);

struct Delivery {
    std::int64_t id = 0;  // assigned by the store; the API's /emails/{id}
    std::string candidate_id;
    std::string kind = "assignment";
    std::string recipient;       // the address mailed
    std::string recipient_name;  // the candidate's full name
    std::string assignment;      // the assignment chosen; empty when none could be
    std::string message_id;      // deterministic per (candidate, assignment), without <>
    DeliveryState state = DeliveryState::pending;
    int attempts = 0;        // attempts since it was queued (a manual retry starts again at 0)
    std::string last_reply;  // the server's last reply, or the reason it failed
    int last_code = 0;       // the SMTP reply code of the last attempt, 0 when there was none
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
    std::int64_t next_attempt_ms = 0;  // when a PENDING or RETRY delivery is due
    std::int64_t sent_ms = 0;
    // When the current series of attempts began: creation, or the last manual retry. The
    // give-up age counts from here. 0 on input means created_ms.
    std::int64_t queued_ms = 0;
};

// How one attempt on a SENDING delivery ended.
struct AttemptOutcome {
    DeliveryState state = DeliveryState::failed;  // sent, retry, failed or suppressed
    int reply_code = 0;                           // SMTP reply code, 0 when none
    std::string reply;                            // the server's reply, or the reason
    std::int64_t next_attempt_ms = 0;             // for retry
    // Put the recipient on the suppression list in the same transaction (a 5.1.x reply).
    bool suppress_recipient = false;
};

// One attempt, as the timeline shows it. outcome is SENT, RETRY, FAILED, SUPPRESSED or
// INTERRUPTED (the service stopped during the attempt).
struct DeliveryAttempt {
    std::int64_t delivery_id = 0;
    std::int64_t started_ms = 0;
    std::int64_t finished_ms = 0;
    std::string outcome;
    int reply_code = 0;
    std::string reply;
};

struct Suppression {
    std::string address;  // stored and compared lower-cased
    std::string reason;   // the server's reply, or what an operator wrote
    std::int64_t delivery_id = 0;  // the delivery whose reply added it; 0 when added by hand
    std::int64_t created_ms = 0;
};

// Which deliveries GET /emails lists: newest first (by id), optionally of one state.
struct DeliveryQuery {
    std::optional<DeliveryState> state;
    std::int64_t before_id = 0;  // 0: from the newest
    int limit = 20;              // 1..1000
};

}  // namespace hirestream::store
