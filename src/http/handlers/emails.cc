// Tracked emails (deliveries): list by state, inspect with the attempt timeline, retry by hand;
// and the suppression list that bad-mailbox replies fill.

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/email_address.h"
#include "http/error_response.h"
#include "http/handlers/handlers.h"
#include "http/handlers/params.h"

namespace hirestream::http {

namespace json = boost::json;

json::object email_json(const store::Delivery& d) {
    using store::DeliveryState;
    const bool waiting = d.state == DeliveryState::retry || d.state == DeliveryState::pending;
    return json::object{
        {"id", d.id},
        {"candidateId", d.candidate_id},
        {"kind", d.kind},
        {"to", d.recipient},
        {"assignment", d.assignment.empty() ? json::value(nullptr) : json::value(d.assignment)},
        {"messageId", d.message_id},
        {"state", store::delivery_state_text(d.state)},
        {"attempts", d.attempts},
        {"lastReply", d.last_reply},
        {"lastReplyCode", d.last_code != 0 ? json::value(d.last_code) : json::value(nullptr)},
        {"createdAt", d.created_ms},
        {"updatedAt", d.updated_ms},
        {"nextAttemptAt", waiting ? json::value(d.next_attempt_ms) : json::value(nullptr)},
        {"sentAt", d.state == DeliveryState::sent ? json::value(d.sent_ms) : json::value(nullptr)},
    };
}

namespace {

constexpr int kTimelineLength = 100;

Result<Response> list(const ApiContext& ctx, Request& req) {
    store::DeliveryQuery query;
    auto limit = limit_param(req, 20, 100);
    if (!limit) return fail(limit.error());
    query.limit = *limit;
    if (auto s = req.query_param("state"); s && !s->empty()) {
        auto state = store::parse_delivery_state(*s);
        if (!state) return fail(Errc::invalid_argument, state.error().message, "state");
        query.state = *state;
    }
    if (auto c = req.query_param("cursor"); c && !c->empty()) {
        auto before = positive_id(*c, "cursor");
        if (!before) return fail(before.error());
        query.before_id = *before;
    }
    auto found = ctx.store.list_deliveries(query);
    if (!found) return fail(found.error());
    json::array emails;
    for (const auto& d : *found) emails.push_back(email_json(d));
    json::object body{{"emails", std::move(emails)}};
    body["nextCursor"] = static_cast<int>(found->size()) == query.limit
                             ? json::value(std::to_string(found->back().id))
                             : json::value(nullptr);
    return json_response(200, json::serialize(body));
}

Result<store::Delivery> load(const ApiContext& ctx, const Request& req) {
    auto id = positive_id(req.param("id"), "id");
    if (!id) return fail(Errc::not_found, fmt::format("no email {}", req.param("id")), "id");
    auto found = ctx.store.get_delivery_by_id(*id);
    if (!found) return fail(found.error());
    if (!*found) return fail(Errc::not_found, fmt::format("no email {}", *id), "id");
    return std::move(**found);
}

Result<Response> get_one(const ApiContext& ctx, Request& req) {
    auto d = load(ctx, req);
    if (!d) return fail(d.error());
    auto attempts = ctx.store.delivery_attempts(d->id, kTimelineLength);
    if (!attempts) return fail(attempts.error());
    json::array timeline;
    for (const auto& a : *attempts) {
        timeline.push_back(json::object{
            {"startedAt", a.started_ms},
            {"finishedAt", a.finished_ms},
            {"outcome", a.outcome},
            {"replyCode", a.reply_code != 0 ? json::value(a.reply_code) : json::value(nullptr)},
            {"reply", a.reply},
        });
    }
    auto body = email_json(*d);
    body["timeline"] = std::move(timeline);
    return json_response(200, json::serialize(body));
}

Result<Response> retry(const ApiContext& ctx, Request& req) {
    auto d = load(ctx, req);
    if (!d) return fail(d.error());
    if (d->state == store::DeliveryState::suppressed) {
        auto s = ctx.store.find_suppression(d->recipient);
        if (!s) return fail(s.error());
        if (*s) {
            return fail(Errc::conflict,
                        fmt::format("{} is on the suppression list; remove it first "
                                    "(DELETE /suppressions/{})",
                                    (*s)->address, (*s)->address),
                        "to");
        }
    }
    auto retried = ctx.store.retry_delivery(d->id, ctx.clock.now_ms());
    if (!retried) return fail(retried.error());
    return json_response(202, json::serialize(email_json(*retried)));
}

json::object suppression_json(const store::Suppression& s) {
    return json::object{
        {"address", s.address},
        {"reason", s.reason},
        {"emailId", s.delivery_id != 0 ? json::value(s.delivery_id) : json::value(nullptr)},
        {"createdAt", s.created_ms},
    };
}

Result<std::string> address_param(const Request& req) {
    const auto& address = req.param("address");
    if (!is_valid_email_address(address)) {
        return fail(Errc::invalid_argument, "is not an email address", "address");
    }
    return address;
}

Result<Response> list_suppressions(const ApiContext& ctx, Request& req) {
    auto limit = limit_param(req, 50, 1000);
    if (!limit) return fail(limit.error());
    const std::string after(req.query_param("cursor").value_or(""));
    auto found = ctx.store.list_suppressions(after, *limit);
    if (!found) return fail(found.error());
    json::array out;
    for (const auto& s : *found) out.push_back(suppression_json(s));
    json::object body{{"suppressions", std::move(out)}};
    body["nextCursor"] = static_cast<int>(found->size()) == *limit
                             ? json::value(found->back().address)
                             : json::value(nullptr);
    return json_response(200, json::serialize(body));
}

Result<Response> put_suppression(const ApiContext& ctx, Request& req) {
    auto address = address_param(req);
    if (!address) return fail(address.error());
    std::string reason = "added by hand";
    if (!req.body.empty()) {
        boost::system::error_code ec;
        auto body = json::parse(req.body, ec);
        if (ec || !body.is_object()) {
            return fail(Errc::invalid_argument,
                        "body must be a JSON object such as {\"reason\": \"...\"}");
        }
        for (const auto& [k, v] : body.as_object()) {
            if (k != "reason") return fail(Errc::invalid_argument, "unknown field", std::string(k));
            if (!v.is_string() || v.as_string().size() > 1000) {
                return fail(Errc::invalid_argument, "must be a string of at most 1000 characters",
                            "reason");
            }
            reason = std::string(v.as_string());
        }
    }
    if (auto added = ctx.store.add_suppression({*address, reason, 0, ctx.clock.now_ms()});
        !added) {
        return fail(added.error());
    }
    auto stored = ctx.store.find_suppression(*address);
    if (!stored) return fail(stored.error());
    if (!*stored) return fail(Errc::internal, "the suppression was not stored");
    return json_response(200, json::serialize(suppression_json(**stored)));
}

Result<Response> delete_suppression(const ApiContext& ctx, Request& req) {
    auto address = address_param(req);
    if (!address) return fail(address.error());
    if (auto removed = ctx.store.remove_suppression(*address); !removed) {
        return fail(removed.error());
    }
    Response r;
    r.status = 204;
    return r;
}

}  // namespace

void add_email_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/emails", Access::admin, [&ctx](Request& r) { return list(ctx, r); });
    router.add("GET", "/emails/{id}", Access::admin, [&ctx](Request& r) { return get_one(ctx, r); });
    router.add("POST", "/emails/{id}/retry", Access::admin, [&ctx](Request& r) { return retry(ctx, r); });
    router.add("GET", "/suppressions", Access::admin, [&ctx](Request& r) { return list_suppressions(ctx, r); });
    router.add("PUT", "/suppressions/{address}", Access::admin,
               [&ctx](Request& r) { return put_suppression(ctx, r); });
    router.add("DELETE", "/suppressions/{address}", Access::admin,
               [&ctx](Request& r) { return delete_suppression(ctx, r); });
}

}  // namespace hirestream::http
