#pragma once
// Route registration, a function per resource file.

#include "http/api_context.h"
#include "http/router.h"

namespace hirestream::http {

// POST/GET /candidates, GET/PATCH/DELETE /candidates/{id}
void add_candidate_routes(Router& router, const ApiContext& ctx);
// GET /streams/{table}/records
void add_stream_routes(Router& router, const ApiContext& ctx);
// GET /assignments, GET/PUT/DELETE /assignments/{name}, GET /d/{token} (signed downloads)
void add_assignment_routes(Router& router, const ApiContext& ctx);
// GET/PATCH /functions[/{name}], dead letters: list, show, redrive
void add_function_routes(Router& router, const ApiContext& ctx);
// GET /emails, GET /emails/{id}, POST /emails/{id}/retry; GET /suppressions,
// PUT/DELETE /suppressions/{address}
void add_email_routes(Router& router, const ApiContext& ctx);
// An email (a tracked delivery) as the API shows it, in /emails and in a candidate's "delivery".
boost::json::object email_json(const store::Delivery& delivery);
// GET /healthz, GET /metrics
void add_health_routes(Router& router, const ApiContext& ctx);

}  // namespace hirestream::http
