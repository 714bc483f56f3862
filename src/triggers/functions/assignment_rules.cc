#include "triggers/functions/assignment_rules.h"

#include <cctype>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace hirestream::triggers {

AssignmentRules::AssignmentRules(std::vector<config::Rule> rules, std::string default_assignment)
    : rules_(std::move(rules)), default_assignment_(std::move(default_assignment)) {}

Result<double> parse_decimal(std::string_view text) {
    // std::from_chars accepts exactly the decimal forms N can hold and, unlike strtod, no
    // leading spaces, hex, "inf" or "nan" (it does accept "inf"/"nan", checked below).
    double value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
    if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value) ||
        !(std::isdigit(static_cast<unsigned char>(text.back())) || text.back() == '.')) {
        return fail(Errc::invalid_argument, fmt::format("'{}' is not a decimal number", text),
                    "experience");
    }
    return value;
}

Result<std::string> AssignmentRules::choose(std::optional<std::string_view> experience,
                                            std::string_view skills) const {
    auto choice = explain(experience, skills);
    if (!choice) return fail(choice.error());
    return std::move(choice->assignment);
}

Result<RuleChoice> AssignmentRules::explain(std::optional<std::string_view> experience,
                                            std::string_view skills) const {
    if (!experience) {
        return fail(Errc::invalid_argument, "the candidate has no experience attribute",
                    "experience");
    }
    auto years = parse_decimal(*experience);
    if (!years) return fail(years.error());
    if (*years < 0) {
        return fail(Errc::invalid_argument,
                    fmt::format("experience {} is negative", *experience), "experience");
    }
    for (std::size_t i = 0; i < rules_.size(); ++i) {
        const auto& rule = rules_[i];
        if (rule.experience.contains(*years) && rule.skills.matches(skills)) {
            return RuleChoice{rule.assignment, i};
        }
    }
    return RuleChoice{default_assignment_, std::nullopt};
}

}  // namespace hirestream::triggers
