// GET /openapi.json: the API's OpenAPI 3.0 document, open to everyone.

#include "http/handlers/handlers.h"
#include "http/openapi_document.h"

namespace hirestream::http {

void add_openapi_routes(Router& router) {
    router.add("GET", "/openapi.json", Access::open, [](Request&) -> Result<Response> {
        Response r;
        r.body = std::string(openapi_document());
        return r;
    });
}

void add_api_routes(Router& router, const ApiContext& ctx) {
    // Before /candidates/{id}: the first matching pattern wins.
    add_candidate_change_routes(router, ctx);
    add_candidate_import_routes(router, ctx);
    add_candidate_routes(router, ctx);
    add_stream_routes(router, ctx);
    add_rule_routes(router, ctx);
    add_assignment_routes(router, ctx);
    add_function_routes(router, ctx);
    add_email_routes(router, ctx);
    add_outbox_routes(router, ctx);
    add_key_routes(router, ctx);
    add_health_routes(router, ctx);
    add_openapi_routes(router);
}

}  // namespace hirestream::http
