// Liveness and metrics.

#include <boost/json.hpp>

#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {

void add_health_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/healthz", [&ctx](Request&) -> Result<Response> {
        const auto problem = ctx.health_problem ? ctx.health_problem() : std::string();
        boost::json::object o;
        o["status"] = problem.empty() ? "ok" : "degraded";
        if (!problem.empty()) o["problem"] = problem;
        return json_response(problem.empty() ? 200 : 503, boost::json::serialize(o));
    });
    router.add("GET", "/metrics", [&ctx](Request&) -> Result<Response> {
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = ctx.metrics_text ? ctx.metrics_text() : std::string();
        return r;
    });
}

}  // namespace hirestream::http
