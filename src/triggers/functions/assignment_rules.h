#pragma once
// AssignmentRules: picks the coding assignment for a candidate from the configured rules.
// First match wins; the default applies only to a valid experience no rule matches. A missing,
// non-numeric or negative experience matches nothing and is an error: it never falls through
// to the senior assignment (the seed's `else` did). Immutable; thread-safe.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "config/config.h"

namespace hirestream::triggers {

// Which assignment the rules pick, and why: the index of the rule that matched, or none when
// the default applied.
struct RuleChoice {
    std::string assignment;
    std::optional<std::size_t> rule;
};

class AssignmentRules {
public:
    AssignmentRules(std::vector<config::Rule> rules, std::string default_assignment);

    // `experience` is the stream's N value (a decimal string) or nullopt when absent; `skills`
    // the S value (absent: empty, which no skills condition matches). A rule matches when its
    // experience range and its skills condition both do. Returns the assignment name. Fails
    // with invalid_argument (field "experience") when the experience is missing, not a decimal
    // number, negative or not finite.
    Result<std::string> choose(std::optional<std::string_view> experience,
                               std::string_view skills = {}) const;
    // choose(), also naming the rule that matched (what GET /rules' evaluation shows).
    Result<RuleChoice> explain(std::optional<std::string_view> experience,
                               std::string_view skills = {}) const;

private:
    std::vector<config::Rule> rules_;
    std::string default_assignment_;
};

// Parses a DynamoDB N value as a decimal number. Fails with invalid_argument.
Result<double> parse_decimal(std::string_view text);

}  // namespace hirestream::triggers
