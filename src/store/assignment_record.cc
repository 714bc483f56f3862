#include "store/assignment_record.h"

namespace hirestream::store {

std::string_view delivery_mode_text(DeliveryMode mode) {
    switch (mode) {
        case DeliveryMode::attach: return "attach";
        case DeliveryMode::link: return "link";
        case DeliveryMode::both: return "both";
    }
    return "both";
}

std::optional<DeliveryMode> parse_delivery_mode(std::string_view text) {
    if (text == "attach") return DeliveryMode::attach;
    if (text == "link") return DeliveryMode::link;
    if (text == "both") return DeliveryMode::both;
    return std::nullopt;
}

}  // namespace hirestream::store
