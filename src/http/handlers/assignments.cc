// Assignments: the catalog over the API (list, upload or replace, delete) and the signed
// download links every assignment email carries.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

json::object info_json(const mail::AssignmentInfo& a) {
    return json::object{{"name", a.name},
                        {"title", a.title},
                        {"delivery", store::delivery_mode_text(a.delivery)},
                        {"size", a.size},
                        {"sha256", a.sha256},
                        {"source", a.source}};
}

Result<Response> list(const ApiContext& ctx, Request&) {
    auto all = ctx.assignments->list();
    if (!all) return fail(all.error());
    json::array out;
    for (const auto& a : *all) out.push_back(info_json(a));
    return json_response(200, json::serialize(json::object{{"assignments", std::move(out)}}));
}

Result<Response> get_one(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    Result<std::optional<mail::AssignmentZip>> found = std::optional<mail::AssignmentZip>();
    if (mail::is_plain_name(name, 64)) found = ctx.assignments->find(name);
    if (!found) return fail(found.error());
    if (!*found) return fail(Errc::not_found, fmt::format("no assignment {}", name), "name");
    return json_response(200, json::serialize(info_json((*found)->info)));
}

// PUT /assignments/{name}?title=...&delivery=attach|link|both, body: the zip.
Result<Response> put(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    const auto type = req.header("content-type").value_or("");
    if (type.substr(0, type.find(';')) != "application/zip") {
        return fail(Errc::invalid_argument, "the body must be sent as application/zip",
                    "Content-Type");
    }
    auto delivery = store::parse_delivery_mode(req.query_param("delivery").value_or("both"));
    if (!delivery) {
        return fail(Errc::invalid_argument, "must be attach, link or both", "delivery");
    }
    const std::string title(req.query_param("title").value_or(""));
    auto created = ctx.assignments->upload(name, title, *delivery, std::move(req.body));
    if (!created) return fail(created.error());
    auto found = ctx.assignments->find(name);
    if (!found) return fail(found.error());
    if (!*found) return fail(Errc::internal, "an uploaded assignment vanished");
    spdlog::info("assignment uploaded name={} size={} created={}", name, (*found)->info.size,
                 *created);
    auto r = json_response(*created ? 201 : 200, json::serialize(info_json((*found)->info)));
    if (*created) r.headers.emplace_back("Location", "/assignments/" + name);
    return r;
}

Result<Response> remove(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    if (!mail::is_plain_name(name, 64)) {
        return fail(Errc::not_found, fmt::format("no assignment {}", name), "name");
    }
    if (auto done = ctx.assignments->remove(name); !done) return fail(done.error());
    spdlog::info("assignment deleted name={}", name);
    Response r;
    r.status = 204;
    return r;
}

// GET /d/{token}: the token alone grants access (no API key), so every refusal looks the same.
Result<Response> download(const ApiContext& ctx, Request& req) {
    // The token never reaches the file system: it only selects a zip already in memory or in the
    // store, by a name of [A-Za-z0-9_-]; '..', '/', NUL or '%2e' fail verification first.
    auto claims = ctx.links->verify(req.param("token"));
    if (!claims) return fail(claims.error());
    auto found = ctx.assignments->find(claims->assignment);
    if (!found) return fail(found.error());
    if (!*found) {
        return fail(Errc::not_found, "the assignment of this link is no longer available");
    }
    auto recorded = ctx.store.add_download(store::Download{
        0, claims->candidate_id, claims->assignment, ctx.clock.now_ms(), req.remote_address});
    if (!recorded) return fail(recorded.error());
    spdlog::info("assignment downloaded candidate={} assignment={} client={}",
                 claims->candidate_id, claims->assignment, req.remote_address);
    Response r;
    r.content_type = "application/zip";
    r.body = std::move((*found)->bytes);
    r.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + claims->assignment + ".zip\"");
    r.headers.emplace_back("Cache-Control", "private, no-store");
    return r;
}

}  // namespace

void add_assignment_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/assignments", Access::admin, [&ctx](Request& r) { return list(ctx, r); });
    router.add("GET", "/assignments/{name}", Access::admin, [&ctx](Request& r) { return get_one(ctx, r); });
    router.add("PUT", "/assignments/{name}", Access::admin, [&ctx](Request& r) { return put(ctx, r); },
               ctx.max_upload_bytes);
    router.add("DELETE", "/assignments/{name}", Access::admin, [&ctx](Request& r) { return remove(ctx, r); });
    router.add("GET", "/d/{token}", Access::open, [&ctx](Request& r) { return download(ctx, r); });
}

}  // namespace hirestream::http
