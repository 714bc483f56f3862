// The candidates resource: the seed's API (POST /candidates answers exactly as the seed did),
// with its defects fixed: validation errors are 400s naming the field, the duplicate-email
// check is atomic (a unique attribute in the store), GET is paginated, a missing id is a 404.

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/ids.h"
#include "common/text.h"
#include "http/error_response.h"
#include "http/handlers/candidate_input.h"
#include "http/handlers/handlers.h"
#include "http/handlers/params.h"
#include "http/idempotency.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

json::object candidate_json(const store::Item& item, const store::Delivery* delivery) {
    json::object o = plain_attributes(item.attributes());
    o["assignment"] = delivery && !delivery->assignment.empty()
                          ? json::value(delivery->assignment)
                          : json::value(nullptr);
    o["delivery"] = delivery ? json::value(email_json(*delivery)) : json::value(nullptr);
    return o;
}

const store::Delivery* find_assignment_delivery(const std::vector<store::Delivery>& ds,
                                                const std::string& id) {
    for (const auto& d : ds) {
        if (d.candidate_id == id && d.kind == "assignment") return &d;
    }
    return nullptr;
}

}  // namespace

void count_candidate_writes(const ApiContext& ctx, const char* event, std::uint64_t n) {
    if (!ctx.metrics || n == 0) return;
    ctx.metrics
        ->counter("hirestream_table_writes_total", "Item writes, by table and stream event.",
                  fmt::format("table=\"{}\",event=\"{}\"",
                              MetricsRegistry::label_value(ctx.candidates_table), event))
        .inc(n);
}

namespace {

void count_write(const ApiContext& ctx, const char* event) { count_candidate_writes(ctx, event, 1); }

constexpr int kTimelineLength = 100;

// What happened to the candidate's email, oldest first: QUEUED when the function chose the
// assignment, REQUEUED for a retry by hand, one entry per attempt (SENT, RETRY, FAILED,
// SUPPRESSED, INTERRUPTED, with the server's reply) and DOWNLOADED per download. The same
// attempts GET /emails/{id} shows an admin, for a recruiter who may see only candidates.
Result<json::array> candidate_timeline(const ApiContext& ctx, const store::Delivery* delivery,
                                       const std::vector<store::Download>& downloads) {
    std::vector<std::pair<std::int64_t, json::object>> events;
    if (delivery) {
        const json::value assignment = delivery->assignment.empty()
                                           ? json::value(nullptr)
                                           : json::value(delivery->assignment);
        events.emplace_back(delivery->created_ms,
                            json::object{{"at", delivery->created_ms},
                                         {"event", "QUEUED"},
                                         {"assignment", assignment}});
        if (delivery->queued_ms > delivery->created_ms) {
            events.emplace_back(delivery->queued_ms,
                                json::object{{"at", delivery->queued_ms}, {"event", "REQUEUED"}});
        }
        auto attempts = ctx.store.delivery_attempts(delivery->id, kTimelineLength);
        if (!attempts) return fail(attempts.error());
        for (const auto& a : *attempts) {
            events.emplace_back(
                a.finished_ms,
                json::object{{"at", a.finished_ms},
                             {"event", a.outcome},
                             {"startedAt", a.started_ms},
                             {"replyCode", a.reply_code != 0 ? json::value(a.reply_code)
                                                             : json::value(nullptr)},
                             {"reply", a.reply}});
        }
    }
    for (const auto& d : downloads) {
        events.emplace_back(d.at_ms, json::object{{"at", d.at_ms},
                                                  {"event", "DOWNLOADED"},
                                                  {"assignment", d.assignment},
                                                  {"client", d.client}});
    }
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    json::array out;
    for (auto& [at, event] : events) out.push_back(std::move(event));
    return out;
}

Result<Response> candidate_response(const ApiContext& ctx, const store::Item& item, int status) {
    const std::string id(item.string_attr("id").value_or(""));
    auto ds = ctx.store.deliveries_for({id});
    if (!ds) return fail(ds.error());
    const auto* delivery = find_assignment_delivery(*ds, id);
    auto o = candidate_json(item, delivery);
    // Where the candidate is: null until the email is sent, INVITED once it is, DOWNLOADED once
    // a signed link served the zip.
    auto downloads = ctx.store.downloads_for(id, 100);
    if (!downloads) return fail(downloads.error());
    json::array list;
    for (const auto& d : *downloads) {
        list.push_back(json::object{{"at", d.at_ms}, {"assignment", d.assignment},
                                    {"client", d.client}});
    }
    o["progress"] = !downloads->empty() ? json::value("DOWNLOADED")
                    : delivery && delivery->state == store::DeliveryState::sent
                        ? json::value("INVITED")
                        : json::value(nullptr);
    o["downloads"] = std::move(list);
    auto timeline = candidate_timeline(ctx, delivery, *downloads);
    if (!timeline) return fail(timeline.error());
    o["timeline"] = std::move(*timeline);
    return json_response(status, json::serialize(o));
}

// The answer to a POST once its write is settled: the seed's 201, or why not.
Result<Response> created(const ApiContext& ctx, const Result<store::WriteResult>& written,
                         const std::string& id, const std::string& email) {
    if (!written) {
        if (written.error().code == Errc::conflict && written.error().field == "email") {
            return fail(Errc::conflict,
                        fmt::format("a candidate with email {} is already on file", email),
                        "email");
        }
        return fail(written.error());
    }
    count_write(ctx, "INSERT");
    json::object out;
    // The seed's answer, typo included: clients written for it compare this text.
    out["message"] = "Sucessfully submitted candidate with email " + email;
    out["candidateId"] = id;
    auto r = json_response(201, json::serialize(out));
    r.headers.emplace_back("Location", "/candidates/" + id);
    return r;
}

// Waits for the commit on the calling thread (what an Idempotency-Key needs: the answer is
// stored before it is sent).
Result<Response> create(const ApiContext& ctx, Request& req) {
    auto candidate = parse_new_candidate(req.body);
    if (!candidate) return fail(candidate.error());
    const auto now = ctx.clock.now_ms();
    const auto id = new_time_ordered_uuid(now);
    const auto item = new_candidate_item(*candidate, id, now);
    return created(ctx, ctx.store.put_item(ctx.candidates_table, item, store::PutMode::create_only),
                   id, candidate->email);
}

// The usual path: validated on the I/O thread, answered once the group commit holding the
// write is durable, with no I/O thread waiting meanwhile, so every open connection's write can
// share one commit. The answer is made on the I/O thread too: the committer only hands over.
Result<Response> create_deferred(const ApiContext& ctx, Request& req) {
    auto candidate = parse_new_candidate(req.body);
    if (!candidate) return fail(candidate.error());
    const auto now = ctx.clock.now_ms();
    auto id = new_time_ordered_uuid(now);
    auto item = new_candidate_item(*candidate, id, now);
    Response r;
    r.deferred = [&ctx, item = std::move(item), id = std::move(id),
                  email = std::move(candidate->email)](auto reply) mutable {
        ctx.store.put_item_async(
            ctx.candidates_table, std::move(item), store::PutMode::create_only,
            [&ctx, id = std::move(id), email = std::move(email),
             reply = std::move(reply)](Result<store::WriteResult> written) mutable {
                reply([&ctx, id = std::move(id), email = std::move(email),
                       written = std::move(written)] {
                    return answer(created(ctx, written, id, email), "POST", "/candidates");
                });
            });
    };
    return r;
}

// The longest search text taken: a name or an email is far shorter.
constexpr std::size_t kMaxSearchText = 200;

// GET /candidates' query: limit, cursor, q (name or email), assignment, state (of the email).
Result<store::ItemFilter> list_filter(const Request& req) {
    store::ItemFilter filter;
    if (auto q = req.query_param("q"); q && !q->empty()) {
        if (q->size() > kMaxSearchText) {
            return fail(Errc::invalid_argument,
                        fmt::format("must be at most {} characters", kMaxSearchText), "q");
        }
        filter.text = std::string(*q);
        filter.text_attributes = {"fullname", "email"};
    }
    if (auto a = req.query_param("assignment"); a && !a->empty()) {
        filter.assignment = std::string(*a);
    }
    if (auto s = req.query_param("state"); s && !s->empty()) {
        auto state = store::parse_delivery_state(*s);
        if (!state) return fail(Errc::invalid_argument, state.error().message, "state");
        filter.delivery_state = *state;
    }
    return filter;
}

Result<Response> list(const ApiContext& ctx, Request& req) {
    auto limit = limit_param(req, 20, 100);
    if (!limit) return fail(limit.error());
    auto filter = list_filter(req);
    if (!filter) return fail(filter.error());
    std::optional<std::string> cursor;
    if (auto c = req.query_param("cursor"); c && !c->empty()) cursor = std::string(*c);
    auto page = ctx.store.find_items(ctx.candidates_table, *filter, cursor, *limit);
    if (!page) return fail(page.error());
    std::vector<std::string> ids;
    for (const auto& item : page->items) ids.emplace_back(item.string_attr("id").value_or(""));
    auto ds = ctx.store.deliveries_for(ids);
    if (!ds) return fail(ds.error());
    json::array candidates;
    for (std::size_t i = 0; i < page->items.size(); ++i) {
        candidates.push_back(
            candidate_json(page->items[i], find_assignment_delivery(*ds, ids[i])));
    }
    json::object out;
    out["candidates"] = std::move(candidates);
    out["nextCursor"] = page->next_cursor ? json::value(*page->next_cursor) : json::value(nullptr);
    return json_response(200, json::serialize(out));
}

Result<store::Item> load(const ApiContext& ctx, const std::string& id) {
    auto item = is_uuid(id) ? ctx.store.get_item(ctx.candidates_table, ascii_lower(id))
                            : Result<std::optional<store::Item>>(std::nullopt);
    if (!item) return fail(item.error());
    if (!*item) return fail(Errc::not_found, fmt::format("no candidate with id {}", id), "id");
    return std::move(**item);
}

Result<Response> get_one(const ApiContext& ctx, Request& req) {
    auto item = load(ctx, req.param("id"));
    if (!item) return fail(item.error());
    return candidate_response(ctx, *item, 200);
}

Result<Response> patch(const ApiContext& ctx, Request& req) {
    const auto& id = req.param("id");
    if (auto exists = load(ctx, id); !exists) return fail(exists.error());
    auto parsed = parse_candidate_update(req.body);
    if (!parsed) return fail(parsed.error());
    store::ItemUpdate update = std::move(*parsed);
    update.set["updatedAt"] = json::object{{"N", std::to_string(ctx.clock.now_ms())}};
    auto written = ctx.store.update_item(ctx.candidates_table, ascii_lower(id), update);
    if (!written) {
        if (written.error().code == Errc::conflict && written.error().field == "email") {
            return fail(Errc::conflict, "another candidate already has this email", "email");
        }
        return fail(written.error());
    }
    count_write(ctx, "MODIFY");
    return candidate_response(ctx, *written->new_item, 200);
}

Result<Response> remove(const ApiContext& ctx, Request& req) {
    const auto& id = req.param("id");
    if (!is_uuid(id)) return fail(Errc::not_found, fmt::format("no candidate with id {}", id), "id");
    auto written = ctx.store.delete_item(ctx.candidates_table, ascii_lower(id));
    if (!written) {
        if (written.error().code == Errc::not_found) {
            return fail(Errc::not_found, fmt::format("no candidate with id {}", id), "id");
        }
        return fail(written.error());
    }
    count_write(ctx, "REMOVE");
    Response r;
    r.status = 204;
    return r;
}

}  // namespace

json::value plain(const json::value& av) {
    const auto& o = av.as_object();
    const auto& [type, v] = *o.begin();
    auto number = [](std::string_view n) -> json::value {
        std::int64_t i = 0;
        auto [p, ec] = std::from_chars(n.data(), n.data() + n.size(), i);
        if (ec == std::errc() && p == n.data() + n.size()) return i;
        double d = 0;
        auto [p2, ec2] = std::from_chars(n.data(), n.data() + n.size(), d);
        if (ec2 == std::errc() && p2 == n.data() + n.size()) return d;
        return json::string(n);
    };
    if (type == "S" || type == "B") return v;
    if (type == "N") return number(v.as_string());
    if (type == "BOOL") return v;
    if (type == "NULL") return nullptr;
    if (type == "L") {
        json::array a;
        for (const auto& e : v.as_array()) a.push_back(plain(e));
        return a;
    }
    if (type == "M") {
        json::object m;
        for (const auto& [k, e] : v.as_object()) m[k] = plain(e);
        return m;
    }
    if (type == "NS") {
        json::array a;
        for (const auto& e : v.as_array()) a.push_back(number(e.as_string()));
        return a;
    }
    return v;  // SS, BS: arrays of strings
}

json::object plain_attributes(const json::object& attributes) {
    json::object o;
    for (const auto& [name, av] : attributes) o[name] = plain(av);
    return o;
}

void add_candidate_routes(Router& router, const ApiContext& ctx) {
    router.add("POST", "/candidates", Access::recruiter, [&ctx](Request& r) {
        if (!r.header("idempotency-key")) return create_deferred(ctx, r);
        return run_idempotent(ctx.store, ctx.clock, r,
                              [&ctx](Request& req) { return create(ctx, req); });
    });
    router.add("GET", "/candidates", Access::recruiter, [&ctx](Request& r) { return list(ctx, r); });
    router.add("GET", "/candidates/{id}", Access::recruiter, [&ctx](Request& r) { return get_one(ctx, r); });
    router.add("PATCH", "/candidates/{id}", Access::recruiter, [&ctx](Request& r) { return patch(ctx, r); });
    router.add("DELETE", "/candidates/{id}", Access::recruiter, [&ctx](Request& r) { return remove(ctx, r); });
}

}  // namespace hirestream::http
