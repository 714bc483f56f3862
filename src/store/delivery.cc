#include "store/delivery.h"

namespace hirestream::store {

std::string_view delivery_state_text(DeliveryState state) {
    switch (state) {
        case DeliveryState::pending: return "PENDING";
        case DeliveryState::sending: return "SENDING";
        case DeliveryState::sent: return "SENT";
        case DeliveryState::retry: return "RETRY";
        case DeliveryState::failed: return "FAILED";
        case DeliveryState::suppressed: return "SUPPRESSED";
    }
    return "PENDING";
}

Result<DeliveryState> parse_delivery_state(std::string_view text) {
    for (DeliveryState state : {DeliveryState::pending, DeliveryState::sending, DeliveryState::sent,
                                DeliveryState::retry, DeliveryState::failed,
                                DeliveryState::suppressed}) {
        if (text == delivery_state_text(state)) return state;
    }
    return fail(Errc::invalid_argument,
                "unknown delivery state \"" + std::string(text) +
                    "\" (expected PENDING, SENDING, SENT, RETRY, FAILED or SUPPRESSED)");
}

}  // namespace hirestream::store
