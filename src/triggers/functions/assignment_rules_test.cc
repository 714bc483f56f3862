#include "triggers/functions/assignment_rules.h"

#include <gtest/gtest.h>

namespace hirestream::triggers {
namespace {

AssignmentRules shipped_rules() {
    using config::NumberRange;
    return AssignmentRules(
        {config::Rule{"assignment1", NumberRange{std::nullopt, 0.0, std::nullopt, 5.0}, {}},
         config::Rule{"assignment2", NumberRange{5.0, std::nullopt, std::nullopt, 8.0}, {}},
         config::Rule{"assignment3", NumberRange{8.0, std::nullopt, std::nullopt, std::nullopt},
                      {}}},
        "assignment3");
}

// The seed's thresholds with its defects fixed: 0 is junior, bounds are inclusive above.
TEST(AssignmentRules, BoundariesFollowTheShippedRules) {
    auto rules = shipped_rules();
    const std::pair<const char*, const char*> cases[] = {
        {"0", "assignment1"},    {"3", "assignment1"},    {"5", "assignment1"},
        {"5.01", "assignment2"}, {"6", "assignment2"},    {"8", "assignment2"},
        {"8.01", "assignment3"}, {"12", "assignment3"},   {"1.5e1", "assignment3"},
    };
    for (const auto& [experience, expected] : cases) {
        auto chosen = rules.choose(experience);
        ASSERT_TRUE(chosen) << experience;
        EXPECT_EQ(*chosen, expected) << experience;
    }
}

// Missing, non-numeric or negative experience never falls through to the senior assignment.
TEST(AssignmentRules, InvalidExperienceIsAnErrorNotTheSeniorAssignment) {
    auto rules = shipped_rules();
    for (std::optional<std::string_view> bad :
         {std::optional<std::string_view>(), std::optional<std::string_view>("abc"),
          std::optional<std::string_view>(""), std::optional<std::string_view>("-1"),
          std::optional<std::string_view>("nan"), std::optional<std::string_view>("inf"),
          std::optional<std::string_view>(" 5"), std::optional<std::string_view>("5 years")}) {
        auto chosen = rules.choose(bad);
        EXPECT_FALSE(chosen) << (bad ? *bad : "<missing>");
        if (!chosen) {
            EXPECT_EQ(chosen.error().field, "experience");
        }
    }
}

// A valid experience that no rule matches gets the configured default.
TEST(AssignmentRules, DefaultAppliesOnlyToValidUnmatchedExperience) {
    AssignmentRules rules({config::Rule{"junior", config::NumberRange{std::nullopt, 0.0,
                                                                      std::nullopt, 2.0},
                                        {}}},
                          "fallback");
    EXPECT_EQ(rules.choose("1").value(), "junior");
    EXPECT_EQ(rules.choose("30").value(), "fallback");
    EXPECT_FALSE(rules.choose("x"));
}

// A skills condition is AND-ed with experience, matches case-insensitively as a substring,
// any of its words; first match wins, so a skills rule placed first takes its candidates and
// everyone else falls through to the experience rules.
// What the rules page's "which assignment?" box shows: the index of the first matching rule,
// or none when the default applied.
TEST(AssignmentRules, ExplainNamesTheMatchingRuleOrTheDefault) {
    auto rules = AssignmentRules(
        {config::Rule{"assignment1",
                      config::NumberRange{std::nullopt, 0.0, std::nullopt, 5.0}, {}}},
        "assignment3");
    auto junior = rules.explain("2");
    ASSERT_TRUE(junior);
    EXPECT_EQ(junior->assignment, "assignment1");
    EXPECT_EQ(junior->rule, std::optional<std::size_t>(0));
    auto fallback = rules.explain("30");
    ASSERT_TRUE(fallback);
    EXPECT_EQ(fallback->assignment, "assignment3");
    EXPECT_FALSE(fallback->rule);
    EXPECT_EQ(rules.explain("-1").error().field, "experience");
}

TEST(AssignmentRules, SkillsRulesCombineWithExperienceAndComeFirst) {
    using config::NumberRange;
    config::Rule jvm{"jvm", NumberRange{std::nullopt, 2.0, std::nullopt, std::nullopt},
                     config::SkillMatch{{"java", "kotlin"}}};
    config::Rule senior{"senior", NumberRange{5.0, std::nullopt, std::nullopt, std::nullopt}, {}};
    AssignmentRules rules({jvm, senior}, "junior");
    EXPECT_EQ(rules.choose("3", "Java, SQL").value(), "jvm");
    EXPECT_EQ(rules.choose("3", "backend (KOTLIN)").value(), "jvm");
    EXPECT_EQ(rules.choose("12", "javascript").value(), "jvm");  // a substring, as documented
    EXPECT_EQ(rules.choose("1", "java").value(), "junior");      // experience fails the AND
    EXPECT_EQ(rules.choose("12", "c++").value(), "senior");
    EXPECT_EQ(rules.choose("3", "").value(), "junior");
    EXPECT_EQ(rules.choose("3").value(), "junior");
    EXPECT_FALSE(rules.choose(std::nullopt, "java"));  // no experience is never matched
}

}  // namespace
}  // namespace hirestream::triggers
