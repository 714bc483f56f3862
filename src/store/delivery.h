#pragma once
// Delivery: one tracked email, as the store keeps it. There is at most one delivery per
// (candidate, kind): that key is what makes a replayed stream or a retried batch unable to mail
// a candidate twice. Plain value.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace hirestream::store {

// PENDING -> SENDING -> SENT, or RETRY (with next_attempt_ms) until SENT or FAILED.
enum class DeliveryState { pending, sending, sent, retry, failed };
std::string_view delivery_state_text(DeliveryState state);  // "PENDING", ...
Result<DeliveryState> parse_delivery_state(std::string_view text);

struct Delivery {
    std::string candidate_id;
    std::string kind = "assignment";
    std::string recipient;       // the address mailed
    std::string recipient_name;  // the candidate's full name
    std::string assignment;      // the assignment chosen; empty when none could be
    std::string message_id;      // deterministic per (candidate, assignment), without <>
    DeliveryState state = DeliveryState::pending;
    int attempts = 0;
    std::string last_reply;  // the server's last reply, or the reason it failed
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
    std::int64_t next_attempt_ms = 0;  // when a PENDING or RETRY delivery is due
    std::int64_t sent_ms = 0;
};

}  // namespace hirestream::store
