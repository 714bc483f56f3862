// API keys: list, create (the secret is answered once) and revoke.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "http/api_keys.h"
#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxNameLength = 200;

json::value time_or_null(std::int64_t ms) { return ms != 0 ? json::value(ms) : json::value(nullptr); }

json::object key_json(const store::ApiKey& k) {
    return json::object{{"id", k.id},
                        {"name", k.name},
                        {"role", store::role_text(k.role)},
                        {"createdAt", k.created_ms},
                        {"lastUsedAt", time_or_null(k.last_used_ms)},
                        {"revokedAt", time_or_null(k.revoked_ms)}};
}

Result<Response> list(const ApiContext& ctx) {
    auto keys = ctx.store.list_api_keys();
    if (!keys) return fail(keys.error());
    json::array out;
    for (const auto& k : *keys) out.push_back(key_json(k));
    return json_response(200, json::serialize(json::object{{"keys", std::move(out)}}));
}

Result<Response> create(const ApiContext& ctx, const Request& req) {
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_object()) {
        return fail(Errc::invalid_argument,
                    "body must be a JSON object such as {\"role\": \"recruiter\", \"name\": \"...\"}",
                    "body");
    }
    std::optional<store::Role> role;
    std::string name;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "role") {
            if (v.is_string()) role = store::parse_role(v.as_string());
            if (!role) return fail(Errc::invalid_argument, "must be recruiter or admin", "role");
        } else if (k == "name") {
            if (!v.is_string() || v.as_string().size() > kMaxNameLength) {
                return fail(Errc::invalid_argument,
                            fmt::format("must be a string of at most {} characters",
                                        kMaxNameLength),
                            "name");
            }
            name = std::string(v.as_string());
            for (unsigned char c : name) {
                if (c < 0x20 || c == 0x7f) {
                    return fail(Errc::invalid_argument, "must not hold control characters",
                                "name");
                }
            }
        } else {
            return fail(Errc::invalid_argument, "unknown field", std::string(k));
        }
    }
    if (!role) return fail(Errc::invalid_argument, "is required: recruiter or admin", "role");
    auto issued = issue_api_key(*role, std::move(name), ctx.clock.now_ms());
    if (auto added = ctx.store.add_api_key(issued.key); !added) return fail(added.error());
    auto out = key_json(issued.key);
    out["key"] = issued.secret;
    auto r = json_response(201, json::serialize(out));
    r.headers.emplace_back("Location", "/keys/" + issued.key.id);
    return r;
}

Result<Response> revoke(const ApiContext& ctx, const Request& req) {
    auto revoked = ctx.store.revoke_api_key(req.param("id"), ctx.clock.now_ms());
    if (!revoked) return fail(revoked.error());
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

}  // namespace

void add_key_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/keys", Access::admin, [&ctx](Request&) { return list(ctx); });
    router.add("POST", "/keys", Access::admin, [&ctx](Request& r) { return create(ctx, r); });
    router.add("DELETE", "/keys/{id}", Access::admin,
               [&ctx](Request& r) { return revoke(ctx, r); });
}

}  // namespace hirestream::http
