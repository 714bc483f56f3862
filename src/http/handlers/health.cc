// Liveness and metrics.

#include <boost/json.hpp>

#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {

void add_health_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/healthz", Access::open, [&ctx](Request&) -> Result<Response> {
        const auto problem = ctx.health_problem ? ctx.health_problem() : std::string();
        boost::json::object o;
        o["status"] = problem.empty() ? "ok" : "degraded";
        if (!problem.empty()) o["problem"] = problem;
        // Background work that is failing shows here too (the service itself is up: 200).
        boost::json::object functions;
        for (const auto* m : ctx.mappings) {
            const auto s = m->status();
            functions[s.function] = boost::json::object{
                {"state", s.enabled ? "Enabled" : "Disabled"},
                {"lastProcessingResult", s.last_result},
                {"iteratorAgeMs", s.iterator_age_ms}};
        }
        o["functions"] = std::move(functions);
        return json_response(problem.empty() ? 200 : 503, boost::json::serialize(o));
    });
    router.add("GET", "/metrics", ctx.metrics_require_key ? Access::admin : Access::open, [&ctx](Request&) -> Result<Response> {
        Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = ctx.metrics_text ? ctx.metrics_text() : std::string();
        return r;
    });
}

}  // namespace hirestream::http
