#include "config/config.h"

#include <gtest/gtest.h>

namespace hirestream::config {
namespace {

const std::string kRepo = HIRESTREAM_SOURCE_DIR;

Result<Config> parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    return parse_config(yaml, kRepo, env);
}

// The shipped config file must load and give the seed's rules with its defects fixed.
TEST(Config, ShippedFileLoadsWithSeedRules) {
    auto c = load_config({kRepo + "/config/hirestream.yaml", {}});
    ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
    EXPECT_EQ(c->candidates.spec.name, "candidates-dev");
    ASSERT_EQ(c->rules.size(), 3u);
    EXPECT_TRUE(c->rules[0].experience.contains(0));
    EXPECT_TRUE(c->rules[0].experience.contains(5));
    EXPECT_FALSE(c->rules[0].experience.contains(5.01));
    EXPECT_TRUE(c->rules[1].experience.contains(8));
    EXPECT_FALSE(c->rules[1].experience.contains(5));
    EXPECT_TRUE(c->rules[2].experience.contains(8.01));
    EXPECT_EQ(c->mail.from_address, "hiring@example.com");
    EXPECT_EQ(c->mail.from_name, "Hiring Team");
    EXPECT_EQ(c->mail.subject, "Coding Round");
    EXPECT_EQ(c->data_dir, kRepo + "/data");
}

// Scripts and tests rely on the documented environment overrides winning over the file.
TEST(Config, EnvironmentOverridesWin) {
    auto c = parse("server: {listen: '127.0.0.1:9000'}\n",
                   {{"HIRESTREAM_LISTEN", "127.0.0.1:0"},
                    {"HIRESTREAM_DATA", "/tmp/hs-data"},
                    {"HIRESTREAM_SMTP_URL", "smtp://127.0.0.1:2525"},
                    {"HIRESTREAM_OUTBOX", "/tmp/hs-outbox"}});
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->server.port, 0);
    EXPECT_EQ(c->data_dir, "/tmp/hs-data");
    EXPECT_EQ(c->mail.smtp_url, "smtp://127.0.0.1:2525");
    EXPECT_EQ(c->mail.outbox_dir, "/tmp/hs-outbox");
}

// A typo in a key must stop start-up with the key's name, not fall back to a default.
TEST(Config, UnknownKeyIsNamed) {
    auto c = parse("mail:\n  subjet: Hello\n");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().field, "mail.subjet");
}

// Each invalid value names its key.
TEST(Config, InvalidValuesNameTheirKey) {
    struct Case {
        std::string yaml, field;
    };
    const Case cases[] = {
        {"tables: {candidates: {shards: 0}}", "tables.candidates.shards"},
        {"tables: {candidates: {streamViewType: ALL}}", "tables.candidates.streamViewType"},
        {"rules: [{assignment: nope, when: {experience: {gt: 1}}}]", "rules[0].assignment"},
        {"rules: [{assignment: assignment1, when: {experience: {gt: x}}}]",
         "rules[0].when.experience.gt"},
        {"defaultAssignment: nope", "defaultAssignment"},
        {"assignments: {a: {file: config/hirestream.yaml}}", "assignments.a.file"},
        {"mail: {from: 'not an address'}", "mail.from"},
        {"server: {listen: 'localhost'}", "server.listen"},
        {"functions: {f: {handler: 'python:x'}}", "functions.f.handler"},
        {"functions: {f: {handler: 'builtin:assignment', events: [{stream: {batchSize: 0}}]}}",
         "functions.f.events[0].stream.batchSize"},
        {"provider: {accountId: '12'}", "provider.accountId"},
        {"mail: {retry: {initialBackoffMs: 500, maxBackoffMs: 100}}", "mail.retry.maxBackoffMs"},
    };
    for (const auto& tc : cases) {
        auto c = parse(tc.yaml);
        ASSERT_FALSE(c) << tc.yaml;
        EXPECT_EQ(c.error().field, tc.field) << tc.yaml << " -> " << c.error().message;
    }
}

// Without a config file the embedded defaults still give a complete, valid pipeline.
TEST(Config, EmptyFileGivesDefaults) {
    auto c = parse("");
    ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
    EXPECT_EQ(c->assignments.size(), 3u);
    EXPECT_EQ(c->default_assignment, "assignment3");
    EXPECT_EQ(c->functions.size(), 1u);
    EXPECT_EQ(c->candidates.spec.unique_attributes, std::vector<std::string>{"email"});
}

}  // namespace
}  // namespace hirestream::config
