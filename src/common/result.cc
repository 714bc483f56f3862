#include "common/result.h"

namespace hirestream {

std::string_view errc_name(Errc errc) {
    switch (errc) {
        case Errc::not_found: return "not_found";
        case Errc::invalid_argument: return "invalid_argument";
        case Errc::conflict: return "conflict";
        case Errc::unavailable: return "unavailable";
        case Errc::deadline: return "deadline";
        case Errc::too_large: return "too_large";
        case Errc::forbidden: return "forbidden";
        case Errc::unauthenticated: return "unauthenticated";
        case Errc::rate_limited: return "rate_limited";
        case Errc::internal: return "internal";
    }
    return "internal";
}

}  // namespace hirestream
