// Stream functions: their status (Lambda's event-source-mapping view), turning them on and off,
// and their dead letters (list, inspect, redrive).

#include <boost/json.hpp>
#include <fmt/format.h>

#include "http/error_response.h"
#include "http/handlers/handlers.h"
#include "http/handlers/params.h"
#include "triggers/invocation_log.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;
using triggers::EventSourceMapping;

std::vector<EventSourceMapping*> mappings_of(const ApiContext& ctx, const std::string& name) {
    std::vector<EventSourceMapping*> out;
    for (auto* m : ctx.mappings) {
        if (m->function().name() == name) out.push_back(m);
    }
    return out;
}

Result<std::vector<EventSourceMapping*>> find(const ApiContext& ctx, const std::string& name) {
    auto found = mappings_of(ctx, name);
    if (found.empty()) return fail(Errc::not_found, fmt::format("no function {}", name), "name");
    return found;
}

Result<json::object> mapping_json(const ApiContext& ctx, EventSourceMapping& m) {
    const auto s = m.status();
    const auto& ev = m.event();
    auto behind = m.records_behind();
    if (!behind) return fail(behind.error());
    auto pending = ctx.store.count_pending_dead_letters(s.function);
    if (!pending) return fail(pending.error());
    json::array filters;
    for (const auto& f : ev.filter_patterns) filters.push_back(json::parse(f));
    return json::object{
        {"function", s.function},
        {"handler", m.function().spec().handler},
        {"table", s.table},
        {"eventSourceArn", ctx.candidates_stream.stream_arn()},
        {"state", s.enabled ? "Enabled" : "Disabled"},
        {"batchSize", ev.batch_size},
        {"batchWindow", ev.batch_window_seconds},
        {"startingPosition", ev.starting_position == config::StartingPosition::latest
                                 ? "LATEST"
                                 : "TRIM_HORIZON"},
        {"maximumRetryAttempts", ev.maximum_retry_attempts},
        {"maximumRecordAgeInSeconds", ev.maximum_record_age_seconds},
        {"bisectBatchOnFunctionError", ev.bisect_batch_on_function_error},
        {"parallelizationFactor", ev.parallelization_factor},
        {"functionResponseTypes", ev.report_batch_item_failures
                                      ? json::array{"ReportBatchItemFailures"}
                                      : json::array{}},
        {"filterPatterns", std::move(filters)},
        {"onFailure", ev.on_failure.empty() ? json::value(nullptr) : json::value(ev.on_failure)},
        {"lastProcessingResult", s.last_result},
        {"lastError", s.last_error.empty() ? json::value(nullptr) : json::value(s.last_error)},
        {"lastErrorAt", s.last_error_ms ? json::value(s.last_error_ms) : json::value(nullptr)},
        {"invocations", s.invocations},
        {"errors", s.failed_invocations},
        {"recordsProcessed", s.records_processed},
        {"recordsFiltered", s.records_filtered},
        {"recordsDeadLettered", s.dead_lettered},
        {"iteratorAgeMs", s.iterator_age_ms},
        {"recordsBehind", behind->records},
        {"recordsBehindCapped", behind->capped},
        {"pendingDeadLetters", *pending},
    };
}

Result<Response> list(const ApiContext& ctx, Request&) {
    json::array out;
    for (auto* m : ctx.mappings) {
        auto j = mapping_json(ctx, *m);
        if (!j) return fail(j.error());
        out.push_back(std::move(*j));
    }
    return json_response(200, json::serialize(json::object{{"functions", std::move(out)}}));
}

Result<Response> describe(const ApiContext& ctx, const std::string& name, int status) {
    auto found = find(ctx, name);
    if (!found) return fail(found.error());
    json::array mappings;
    for (auto* m : *found) {
        auto j = mapping_json(ctx, *m);
        if (!j) return fail(j.error());
        mappings.push_back(std::move(*j));
    }
    // The first mapping's fields at the top level: most functions have one stream event.
    json::object out = mappings.front().as_object();
    out["eventSourceMappings"] = std::move(mappings);
    return json_response(status, json::serialize(out));
}

Result<Response> patch(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    auto found = find(ctx, name);
    if (!found) return fail(found.error());
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_object()) {
        return fail(Errc::invalid_argument, "body must be a JSON object such as {\"enabled\": false}");
    }
    for (const auto& [k, v] : body.as_object()) {
        if (k != "enabled") return fail(Errc::invalid_argument, "unknown field", std::string(k));
        if (!v.is_bool()) return fail(Errc::invalid_argument, "must be true or false", "enabled");
        for (auto* m : *found) m->set_enabled(v.as_bool());
    }
    return describe(ctx, name, 200);
}

json::object letter_json(const store::DeadLetter& d, bool full) {
    json::object o{{"id", d.id},
                   {"function", d.function},
                   {"destination", d.destination},
                   {"table", d.table},
                   {"condition", d.condition},
                   {"recordCount", d.record_count},
                   {"createdAt", d.created_ms},
                   {"redrivenAt", d.redriven_ms ? json::value(d.redriven_ms) : json::value(nullptr)}};
    if (full) {
        boost::system::error_code ec;
        o["invocationRecord"] = json::parse(d.invocation_record, ec);
        o["records"] = json::parse(d.records, ec).as_object()["Records"];
    } else {
        o["invocationRecord"] = json::parse(d.invocation_record);
    }
    return o;
}

Result<Response> dead_letters(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    if (auto found = find(ctx, name); !found) return fail(found.error());
    auto limit_or = limit_param(req, 20, 100);
    if (!limit_or) return fail(limit_or.error());
    const int limit = *limit_or;
    std::int64_t before = 0;
    if (auto b = req.query_param("before"); b && !b->empty()) {
        auto id = positive_id(*b, "before");
        if (!id) return fail(id.error());
        before = *id;
    }
    auto letters = ctx.store.list_dead_letters(name, before, limit);
    if (!letters) return fail(letters.error());
    json::array out;
    for (const auto& d : *letters) out.push_back(letter_json(d, false));
    json::object body{{"deadLetters", std::move(out)}};
    body["nextBefore"] = static_cast<int>(letters->size()) == limit
                             ? json::value(letters->back().id)
                             : json::value(nullptr);
    return json_response(200, json::serialize(body));
}

Result<store::DeadLetter> load_letter(const ApiContext& ctx, Request& req) {
    auto id = positive_id(req.param("id"), "id");
    if (!id) return fail(Errc::not_found, "no such dead letter", "id");
    auto letter = ctx.store.get_dead_letter(*id);
    if (!letter) return fail(letter.error());
    if (!*letter || (*letter)->function != req.param("name")) {
        return fail(Errc::not_found, fmt::format("no dead letter {} of function {}", *id,
                                                 req.param("name")),
                    "id");
    }
    return std::move(**letter);
}

Result<Response> dead_letter(const ApiContext& ctx, Request& req) {
    auto letter = load_letter(ctx, req);
    if (!letter) return fail(letter.error());
    return json_response(200, json::serialize(letter_json(*letter, true)));
}

Result<Response> redrive(const ApiContext& ctx, Request& req) {
    auto found = find(ctx, req.param("name"));
    if (!found) return fail(found.error());
    auto letter = load_letter(ctx, req);
    if (!letter) return fail(letter.error());
    if (auto done = found->front()->redrive(letter->id); !done) return fail(done.error());
    auto after = ctx.store.get_dead_letter(letter->id);
    if (!after || !*after) return fail(Errc::internal, "dead letter vanished during redrive");
    return json_response(200, json::serialize(letter_json(**after, false)));
}

// The function's invocation log lines, for a polling reader: the last `limit` lines, then with
// the cursor each answer gives, the lines written since.
Result<Response> logs(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    if (auto found = find(ctx, name); !found) return fail(found.error());
    auto limit = limit_param(req, 200, 1000);
    if (!limit) return fail(limit.error());
    std::optional<triggers::LogCursor> cursor;
    if (auto c = req.query_param("cursor"); c && !c->empty()) {
        auto parsed = triggers::parse_log_cursor(*c);
        if (!parsed) return fail(parsed.error());
        cursor = *parsed;
    }
    auto tail = triggers::read_log_tail(ctx.log_dir, name, cursor,
                                        static_cast<std::size_t>(*limit));
    if (!tail) return fail(tail.error());
    json::array lines;
    for (auto& l : tail->lines) lines.emplace_back(std::move(l));
    return json_response(200, json::serialize(json::object{
                                  {"function", name},
                                  {"lines", std::move(lines)},
                                  {"nextCursor", triggers::log_cursor_text(tail->next)}}));
}

}  // namespace

void add_function_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/functions", Access::admin, [&ctx](Request& r) { return list(ctx, r); });
    router.add("GET", "/functions/{name}", Access::admin,
               [&ctx](Request& r) { return describe(ctx, r.param("name"), 200); });
    router.add("PATCH", "/functions/{name}", Access::admin, [&ctx](Request& r) { return patch(ctx, r); });
    router.add("GET", "/functions/{name}/logs", Access::admin,
               [&ctx](Request& r) { return logs(ctx, r); });
    router.add("GET", "/functions/{name}/dead-letters", Access::admin,
               [&ctx](Request& r) { return dead_letters(ctx, r); });
    router.add("GET", "/functions/{name}/dead-letters/{id}", Access::admin,
               [&ctx](Request& r) { return dead_letter(ctx, r); });
    router.add("POST", "/functions/{name}/dead-letters/{id}/redrive", Access::admin,
               [&ctx](Request& r) { return redrive(ctx, r); });
}

}  // namespace hirestream::http
