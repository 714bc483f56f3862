#pragma once
// Route registration, a function per resource file.

#include "http/api_context.h"
#include "http/router.h"

namespace hirestream::http {

// POST/GET /candidates, GET/PATCH/DELETE /candidates/{id}
void add_candidate_routes(Router& router, const ApiContext& ctx);
// GET /candidates/changes: the change stream as Server-Sent Events
void add_candidate_change_routes(Router& router, const ApiContext& ctx);
// POST /candidates:import: candidates from CSV
void add_candidate_import_routes(Router& router, const ApiContext& ctx);
// DynamoDB attribute values as plain JSON, as the API answers: {"S":"a"} -> "a", {"N":"12"} -> 12.
boost::json::value plain(const boost::json::value& attribute_value);
boost::json::object plain_attributes(const boost::json::object& attributes);
// Counts `n` writes of the candidates table in hirestream_table_writes_total.
void count_candidate_writes(const ApiContext& ctx, const char* event, std::uint64_t n);
// GET /streams/{table}/records
void add_stream_routes(Router& router, const ApiContext& ctx);
// GET /assignments, GET/PUT/DELETE /assignments/{name}, GET /d/{token} (signed downloads)
void add_assignment_routes(Router& router, const ApiContext& ctx);
// GET /rules, POST /rules/evaluate (admin)
void add_rule_routes(Router& router, const ApiContext& ctx);
// GET /outbox, GET /outbox/{name} (admin)
void add_outbox_routes(Router& router, const ApiContext& ctx);
// GET/PATCH /functions[/{name}], GET /functions/{name}/logs, dead letters: list, show, redrive
void add_function_routes(Router& router, const ApiContext& ctx);
// GET /emails, GET /emails/{id}, POST /emails/{id}/retry; GET /suppressions,
// PUT/DELETE /suppressions/{address}
void add_email_routes(Router& router, const ApiContext& ctx);
// An email (a tracked delivery) as the API shows it, in /emails and in a candidate's "delivery".
boost::json::object email_json(const store::Delivery& delivery);
// GET /healthz, GET /metrics (open unless ctx.metrics_require_key)
void add_health_routes(Router& router, const ApiContext& ctx);
// GET /keys, POST /keys, DELETE /keys/{id} (admin)
void add_key_routes(Router& router, const ApiContext& ctx);
// GET /openapi.json (open)
void add_openapi_routes(Router& router);
// Every route of the API, each with its access: what the service serves and what the OpenAPI
// test checks the document against.
void add_api_routes(Router& router, const ApiContext& ctx);
// The web app's static files (web/, embedded at build time): GET / and a fixed path per file,
// open, outside the API and its OpenAPI document.
void add_web_app_routes(Router& router);

}  // namespace hirestream::http
