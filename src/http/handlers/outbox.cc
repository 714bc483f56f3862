// The outbox folder, while mail goes there instead of to an SMTP relay: a listing with To,
// Subject and Date, and each message as the file holds it (message/rfc822), which the web app
// renders as MailHog does.

#include <boost/json.hpp>

#include "http/error_response.h"
#include "http/handlers/handlers.h"
#include "http/handlers/params.h"
#include "mail/outbox_folder.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

Result<Response> list(const ApiContext& ctx, Request& req) {
    auto limit = limit_param(req, 50, 200);
    if (!limit) return fail(limit.error());
    json::object body{{"transport", ctx.outbox_dir.empty() ? "smtp" : "outbox"}};
    json::array messages;
    json::value next = nullptr;
    if (!ctx.outbox_dir.empty()) {
        const std::string before(req.query_param("cursor").value_or(""));
        auto found = mail::OutboxFolder(ctx.outbox_dir).list(before, *limit);
        if (!found) return fail(found.error());
        for (const auto& m : *found) {
            messages.push_back(json::object{{"name", m.name},
                                            {"size", m.size},
                                            {"to", m.to},
                                            {"subject", m.subject},
                                            {"date", m.date}});
        }
        if (static_cast<int>(found->size()) == *limit) next = json::value(found->back().name);
    }
    body["messages"] = std::move(messages);
    body["nextCursor"] = std::move(next);
    return json_response(200, json::serialize(body));
}

Result<Response> get_one(const ApiContext& ctx, Request& req) {
    const auto& name = req.param("name");
    if (ctx.outbox_dir.empty()) {
        return fail(Errc::not_found, "mail goes to an SMTP relay: there is no outbox folder",
                    "name");
    }
    auto bytes = mail::OutboxFolder(ctx.outbox_dir).read(name);
    if (!bytes) return fail(bytes.error());
    Response r;
    r.content_type = "message/rfc822";
    r.body = std::move(*bytes);
    // Served as a download, never rendered by the browser as a page of this origin.
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + name + "\"");
    r.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return r;
}

}  // namespace

void add_outbox_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/outbox", Access::admin, [&ctx](Request& r) { return list(ctx, r); });
    router.add("GET", "/outbox/{name}", Access::admin,
               [&ctx](Request& r) { return get_one(ctx, r); });
}

}  // namespace hirestream::http
