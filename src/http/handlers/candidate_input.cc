#include "http/handlers/candidate_input.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <set>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/email_address.h"
#include "common/text.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxNameLength = 256;
constexpr std::size_t kMaxEmailLength = 254;  // RFC 5321 4.5.3.1.3 path limit less brackets
constexpr std::size_t kMaxSkillsLength = 2048;
constexpr double kMaxExperience = 80;

Result<json::object> parse_object(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        return fail(Errc::invalid_argument, fmt::format("body is not valid JSON: {}", ec.message()));
    }
    if (!v.is_object()) return fail(Errc::invalid_argument, "body must be a JSON object");
    return std::move(v.as_object());
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// A candidate's address: what the mail renderer accepts (common/email_address.h), further
// narrowed to what a person's mailbox looks like: RFC 5322 dot-atoms (no leading, trailing or
// doubled dots in the local part) and a dotted domain name, not a bracketed IP literal.
bool valid_email(std::string_view e) {
    if (!is_valid_email_address(e)) return false;
    const auto at = e.find('@');
    const auto local = e.substr(0, at);
    const auto domain = e.substr(at + 1);
    return local.front() != '.' && local.back() != '.' &&
           local.find("..") == std::string_view::npos && domain.front() != '[' &&
           domain.find('.') != std::string_view::npos;
}

Result<std::string> text_field(const json::value& v, const char* field, std::size_t max_len,
                               bool required_non_empty) {
    if (!v.is_string()) return fail(Errc::invalid_argument, "must be a string", field);
    std::string_view s = v.as_string();
    if (has_control(s)) {
        return fail(Errc::invalid_argument, "must not contain control characters (CR, LF, ...)",
                    field);
    }
    std::string t = trim_blanks(s);
    if (required_non_empty && t.empty()) {
        return fail(Errc::invalid_argument, "must not be empty", field);
    }
    if (t.size() > max_len) {
        return fail(Errc::invalid_argument, fmt::format("must be at most {} bytes", max_len),
                    field);
    }
    return t;
}

Result<std::string> email_field(const json::value& v, const char* field) {
    auto t = text_field(v, field, kMaxEmailLength, true);
    if (!t) return t;
    if (!valid_email(*t)) {
        return fail(Errc::invalid_argument, fmt::format("'{}' is not a valid email address", *t),
                    field);
    }
    return ascii_lower(*t);
}

// Experience as DynamoDB's N text: "12" for whole numbers, shortest round-trip otherwise.
Result<std::string> experience_field(const json::value& v) {
    double years = 0;
    if (v.is_int64()) {
        years = static_cast<double>(v.as_int64());
    } else if (v.is_uint64()) {
        years = static_cast<double>(v.as_uint64());
    } else if (v.is_double()) {
        years = v.as_double();
    } else {
        return fail(Errc::invalid_argument, "must be a number of years", "experience");
    }
    if (!std::isfinite(years) || years < 0 || years > kMaxExperience) {
        return fail(Errc::invalid_argument,
                    fmt::format("must be between 0 and {} years", kMaxExperience), "experience");
    }
    if (years == std::floor(years)) return fmt::format("{}", static_cast<std::int64_t>(years));
    return fmt::format("{}", years);
}

}  // namespace

Result<CandidateInput> parse_new_candidate(std::string_view body_text) {
    auto body = parse_object(body_text);
    if (!body) return fail(body.error());
    static const std::set<std::string, std::less<>> known = {"fullname", "email", "skills",
                                                             "experience", "recruiterEmail"};
    for (const auto& [k, v] : *body) {
        if (!known.count(k)) {
            return fail(Errc::invalid_argument,
                        "unknown field (accepted: fullname, email, skills, experience, "
                        "recruiterEmail)",
                        std::string(k));
        }
    }
    for (const char* required : {"fullname", "email", "experience"}) {
        if (!body->contains(required)) {
            return fail(Errc::invalid_argument, "is required", required);
        }
    }
    CandidateInput candidate;
    auto fullname = text_field(body->at("fullname"), "fullname", kMaxNameLength, true);
    if (!fullname) return fail(fullname.error());
    candidate.fullname = std::move(*fullname);
    auto email = email_field(body->at("email"), "email");
    if (!email) return fail(email.error());
    candidate.email = std::move(*email);
    auto experience = experience_field(body->at("experience"));
    if (!experience) return fail(experience.error());
    candidate.experience = std::move(*experience);
    if (auto s = body->find("skills"); s != body->end()) {
        auto skills = text_field(s->value(), "skills", kMaxSkillsLength, false);
        if (!skills) return fail(skills.error());
        candidate.skills = std::move(*skills);
    }
    if (auto r = body->find("recruiterEmail"); r != body->end()) {
        auto recruiter = email_field(r->value(), "recruiterEmail");
        if (!recruiter) return fail(recruiter.error());
        candidate.recruiter_email = std::move(*recruiter);
    }
    return candidate;
}

Result<store::ItemUpdate> parse_candidate_update(std::string_view body_text) {
    auto body = parse_object(body_text);
    if (!body) return fail(body.error());
    if (body->empty()) return fail(Errc::invalid_argument, "no field to update");
    store::ItemUpdate update;
    for (const auto& [k, v] : *body) {
        const std::string key(k);
        if (key == "id" || key == "submittedAt" || key == "updatedAt") {
            return fail(Errc::invalid_argument, "cannot be changed", key);
        }
        if (key == "fullname") {
            auto t = text_field(v, "fullname", kMaxNameLength, true);
            if (!t) return fail(t.error());
            update.set["fullname"] = json::object{{"S", *t}};
        } else if (key == "email") {
            auto e = email_field(v, "email");
            if (!e) return fail(e.error());
            update.set["email"] = json::object{{"S", *e}};
        } else if (key == "skills" || key == "recruiterEmail") {
            if (v.is_null()) {
                update.remove.push_back(key);
                continue;
            }
            auto t = key == "skills" ? text_field(v, "skills", kMaxSkillsLength, false)
                                     : email_field(v, "recruiterEmail");
            if (!t) return fail(t.error());
            update.set[key] = json::object{{"S", *t}};
        } else if (key == "experience") {
            auto n = experience_field(v);
            if (!n) return fail(n.error());
            update.set["experience"] = json::object{{"N", *n}};
        } else if (key == "evaluated") {
            if (!v.is_bool()) return fail(Errc::invalid_argument, "must be true or false", key);
            update.set["evaluated"] = json::object{{"BOOL", v.as_bool()}};
        } else {
            return fail(Errc::invalid_argument, "unknown field", key);
        }
    }
    return update;
}

store::Item new_candidate_item(const CandidateInput& candidate, const std::string& id,
                               std::int64_t now_ms) {
    store::Item item;
    item.set_string("id", id);
    item.set_string("fullname", candidate.fullname);
    item.set_string("email", candidate.email);
    if (candidate.skills) item.set_string("skills", *candidate.skills);
    item.set_number("experience", candidate.experience);
    if (candidate.recruiter_email) item.set_string("recruiterEmail", *candidate.recruiter_email);
    item.set_bool("evaluated", false);
    item.set_number("submittedAt", now_ms);
    item.set_number("updatedAt", now_ms);
    return item;
}

}  // namespace hirestream::http
