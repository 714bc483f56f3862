// The assignment rules from the config, in the order they are tried, and an evaluation: which
// assignment a given experience and skills would get, and from which rule.

#include <cmath>
#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "http/error_response.h"
#include "http/handlers/handlers.h"
#include "triggers/functions/assignment_rules.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

// The longest skills text evaluated; a candidate's skills are bounded the same way.
constexpr std::size_t kMaxSkills = 1000;

// A bound as the config wrote it: 5, not 5E0, when it is a whole number.
json::value bound(double v) {
    if (std::trunc(v) == v && std::fabs(v) < 1e15) return static_cast<std::int64_t>(v);
    return v;
}

json::object range_json(const config::NumberRange& r) {
    json::object o;
    if (r.gt) o["gt"] = bound(*r.gt);
    if (r.gte) o["gte"] = bound(*r.gte);
    if (r.lt) o["lt"] = bound(*r.lt);
    if (r.lte) o["lte"] = bound(*r.lte);
    return o;
}

// A rule as the config writes it: {assignment, when: {experience: {...}, skills: {contains}}}.
json::object rule_json(std::size_t index, const config::Rule& rule) {
    json::object when{{"experience", range_json(rule.experience)}};
    if (!rule.skills.contains.empty()) {
        json::array words;
        for (const auto& w : rule.skills.contains) words.emplace_back(w);
        when["skills"] = json::object{{"contains", std::move(words)}};
    }
    return json::object{{"index", index}, {"assignment", rule.assignment}, {"when", when}};
}

Result<Response> list(const ApiContext& ctx) {
    json::array rules;
    for (std::size_t i = 0; i < ctx.rules.size(); ++i) rules.push_back(rule_json(i, ctx.rules[i]));
    return json_response(200, json::serialize(json::object{
                                  {"rules", std::move(rules)},
                                  {"defaultAssignment", ctx.default_assignment}}));
}

// Body {"experience": <number>, "skills"?: "<text>"}: the experience as the stream carries it
// (its N text), so the answer is the one the function would give.
Result<Response> evaluate(const ApiContext& ctx, const triggers::AssignmentRules& rules,
                          const Request& req) {
    boost::system::error_code ec;
    auto body = json::parse(req.body, ec);
    if (ec || !body.is_object()) {
        return fail(Errc::invalid_argument,
                    "body must be a JSON object such as {\"experience\": 6, \"skills\": \"go\"}");
    }
    std::optional<std::string> experience;
    std::string skills;
    for (const auto& [k, v] : body.as_object()) {
        if (k == "experience") {
            if (v.is_int64()) {
                experience = std::to_string(v.as_int64());
            } else if (v.is_uint64()) {
                experience = std::to_string(v.as_uint64());
            } else if (v.is_double()) {
                experience = fmt::format("{}", v.as_double());
            } else {
                return fail(Errc::invalid_argument, "must be a number", "experience");
            }
        } else if (k == "skills") {
            if (!v.is_string() || v.as_string().size() > kMaxSkills) {
                return fail(Errc::invalid_argument,
                            fmt::format("must be a string of at most {} characters", kMaxSkills),
                            "skills");
            }
            skills = std::string(v.as_string());
        } else {
            return fail(Errc::invalid_argument, "unknown field", std::string(k));
        }
    }
    if (!experience) return fail(Errc::invalid_argument, "is required", "experience");
    auto choice = rules.explain(*experience, skills);
    if (!choice) return fail(choice.error());
    json::object out{{"assignment", choice->assignment}};
    out["rule"] = choice->rule ? json::value(rule_json(*choice->rule, ctx.rules[*choice->rule]))
                               : json::value(nullptr);
    return json_response(200, json::serialize(out));
}

}  // namespace

void add_rule_routes(Router& router, const ApiContext& ctx) {
    auto rules = std::make_shared<const triggers::AssignmentRules>(ctx.rules,
                                                                   ctx.default_assignment);
    router.add("GET", "/rules", Access::admin, [&ctx](Request&) { return list(ctx); });
    router.add("POST", "/rules/evaluate", Access::admin,
               [&ctx, rules](Request& r) { return evaluate(ctx, *rules, r); });
}

}  // namespace hirestream::http
