#include "http/error_response.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace hirestream::http {

int status_for(Errc code) {
    switch (code) {
        case Errc::not_found: return 404;
        case Errc::invalid_argument: return 400;
        case Errc::conflict: return 409;
        case Errc::unavailable: return 503;
        case Errc::deadline: return 504;
        case Errc::too_large: return 413;
        case Errc::forbidden: return 403;
        case Errc::unauthenticated: return 401;
        case Errc::rate_limited: return 429;
        case Errc::internal: return 500;
    }
    return 500;
}

Response error_response(const Error& error) {
    boost::json::object inner;
    inner["code"] = errc_name(error.code);
    // An internal error's message may carry details of our own; users get a generic one and the
    // details go to the log (the router logs them).
    inner["message"] = error.code == Errc::internal ? "internal error" : error.message;
    inner["field"] = error.field;
    boost::json::object outer;
    outer["error"] = std::move(inner);
    return json_response(status_for(error.code), boost::json::serialize(outer));
}

Response json_response(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

}  // namespace hirestream::http
