#include "http/handlers/candidate_input.h"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hirestream::http {
namespace {

// The seed's request body is accepted and normalized as the store keeps it.
TEST(CandidateInput, SeedBodyIsAcceptedAndNormalized) {
    auto c = parse_new_candidate(
        R"({"fullname":" Shekhar Gulati ", "email": "Shekhar@Example.com", "skills": "java",
            "experience": 12, "recruiterEmail": "R@example.org"})");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->fullname, "Shekhar Gulati");
    EXPECT_EQ(c->email, "shekhar@example.com");
    EXPECT_EQ(c->skills, "java");
    EXPECT_EQ(c->experience, "12");
    EXPECT_EQ(c->recruiter_email, "r@example.org");
    EXPECT_EQ(parse_new_candidate(R"({"fullname":"a","email":"a@b.c","experience":5.5})")
                  ->experience,
              "5.5");
}

// Each refusal names the field a client has to fix, first failing field first.
TEST(CandidateInput, RefusalsNameTheField) {
    auto field = [](const char* body) {
        auto c = parse_new_candidate(body);
        EXPECT_FALSE(c) << body;
        return c ? std::string("<accepted>") : c.error().field;
    };
    EXPECT_EQ(field("[1]"), "");
    EXPECT_EQ(field(R"({"fullname":"a","email":"a@b.c","experience":1,"age":3})"), "age");
    EXPECT_EQ(field(R"({"fullname":"a","email":"a@b.c"})"), "experience");
    EXPECT_EQ(field(R"({"fullname":"a\r\nBcc: x","email":"a@b.c","experience":1})"), "fullname");
    EXPECT_EQ(field(R"({"fullname":"a","email":"a..b@c.d","experience":1})"), "email");
    EXPECT_EQ(field(R"({"fullname":"a","email":"a@b.c","experience":81})"), "experience");
    EXPECT_EQ(field(R"({"fullname":"a","email":"a@b.c","experience":1,"skills":7})"), "skills");
}

// A PATCH sets DynamoDB values, removes with null, and refuses the fields nobody may change.
TEST(CandidateInput, UpdateSetsRemovesAndRefusesImmutableFields) {
    auto u = parse_candidate_update(R"({"experience": 3, "skills": null, "evaluated": true})");
    ASSERT_TRUE(u) << u.error().message;
    EXPECT_EQ(boost::json::serialize(u->set.at("experience")), R"({"N":"3"})");
    EXPECT_EQ(boost::json::serialize(u->set.at("evaluated")), R"({"BOOL":true})");
    EXPECT_EQ(u->remove, std::vector<std::string>{"skills"});
    EXPECT_EQ(parse_candidate_update(R"({"id":"x"})").error().field, "id");
    EXPECT_FALSE(parse_candidate_update("{}"));
}

}  // namespace
}  // namespace hirestream::http
