#include "config/serverless_variables.h"

#include <gtest/gtest.h>

namespace hirestream::config {
namespace {

using Strings = std::map<std::string, std::string>;

Result<YAML::Node> resolve(const std::string& yaml, const Strings& options = {},
                           const Strings& env = {}, const std::set<std::string>& unread = {}) {
    return resolve_variables(YAML::Load(yaml), options, env, unread);
}

// The tutorial's own line: ${self:service} and ${opt:stage, self:provider.stage} in one string.
TEST(ServerlessVariables, SelfAndOptWithSelfFallbackInsideAString) {
    const std::string yaml =
        "service: candidates\n"
        "provider:\n"
        "  stage: dev\n"
        "  environment:\n"
        "    CANDIDATE_TABLE: ${self:service}-${opt:stage, self:provider.stage}\n";
    auto dev = resolve(yaml);
    ASSERT_TRUE(dev) << dev.error().field << ": " << dev.error().message;
    EXPECT_EQ((*dev)["provider"]["environment"]["CANDIDATE_TABLE"].as<std::string>(),
              "candidates-dev");
    auto prod = resolve(yaml, {{"stage", "prod"}});
    ASSERT_TRUE(prod);
    EXPECT_EQ((*prod)["provider"]["environment"]["CANDIDATE_TABLE"].as<std::string>(),
              "candidates-prod");
}

// A referenced value that holds variables itself resolves first, however deep the chain.
TEST(ServerlessVariables, ReferencedValuesResolveRecursively) {
    auto r = resolve(
        "service: candidates\n"
        "provider: {stage: dev, region: us-east-1,\n"
        "  environment: {CANDIDATE_TABLE: '${self:service}-${self:provider.stage}'}}\n"
        "arn: arn:aws:dynamodb:${self:provider.region}::table/"
        "${self:provider.environment.CANDIDATE_TABLE}/stream/\n");
    ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
    EXPECT_EQ((*r)["arn"].as<std::string>(),
              "arn:aws:dynamodb:us-east-1::table/candidates-dev/stream/");
}

// Both quote styles of a literal fallback, the empty string, and env with and without a value.
TEST(ServerlessVariables, QuotedFallbacksAndEnvironment) {
    auto r = resolve(
        "a: ${opt:stage, 'dev'}\n"
        "b: ${opt:stage, \"qa\"}\n"
        "c: x${env:MISSING, ''}y\n"
        "d: ${env:HOME_DIR}\n"
        "e: ${opt:stage, 'a,b}c'}\n",
        {}, {{"HOME_DIR", "/home/h"}});
    ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
    EXPECT_EQ((*r)["a"].as<std::string>(), "dev");
    EXPECT_EQ((*r)["b"].as<std::string>(), "qa");
    EXPECT_EQ((*r)["c"].as<std::string>(), "xy");
    EXPECT_EQ((*r)["d"].as<std::string>(), "/home/h");
    EXPECT_EQ((*r)["e"].as<std::string>(), "a,b}c");
}

// Fallbacks written as nested ${...}, and a variable inside another's address.
TEST(ServerlessVariables, NestedVariables) {
    auto r = resolve(
        "custom: {dev: {table: t-dev}, prod: {table: t-prod}}\n"
        "provider: {stage: dev}\n"
        "a: ${opt:stage, ${self:provider.stage}}\n"
        "b: ${self:custom.${opt:stage, self:provider.stage}.table}\n",
        {{"stage", "prod"}});
    ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
    EXPECT_EQ((*r)["a"].as<std::string>(), "prod");
    EXPECT_EQ((*r)["b"].as<std::string>(), "t-prod");
}

// `timeout: ${self:custom.timeout}` must still read as a number, and a whole mapping moves whole.
TEST(ServerlessVariables, WholeValueKeepsItsType) {
    auto r = resolve(
        "custom: {timeout: 30, env: {A: '1'}, list: [x, y]}\n"
        "timeout: ${self:custom.timeout}\n"
        "quoted: '${self:custom.timeout}'\n"
        "environment: ${self:custom.env}\n"
        "second: ${self:custom.list.1}\n");
    ASSERT_TRUE(r) << r.error().field << ": " << r.error().message;
    EXPECT_EQ((*r)["timeout"].as<int>(), 30);
    EXPECT_EQ((*r)["timeout"].Tag(), "?");  // plain: a number
    EXPECT_EQ((*r)["quoted"].Tag(), "!");   // written quoted: a string
    ASSERT_TRUE((*r)["environment"].IsMap());
    EXPECT_EQ((*r)["environment"]["A"].as<std::string>(), "1");
    EXPECT_EQ((*r)["second"].as<std::string>(), "y");
}

// An unresolvable variable names the key that holds it and the variable.
TEST(ServerlessVariables, MissingValueNamesKeyAndVariable) {
    auto r = resolve(
        "functions:\n  sendAssignment:\n    events:\n"
        "      - stream:\n          arn: ${env:NOPE}\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "functions.sendAssignment.events[0].stream.arn");
    EXPECT_EQ(r.error().message.rfind("${env:NOPE} is not set", 0), 0u) << r.error().message;

    auto opt = resolve("provider: {stage: '${opt:stage}'}\n");
    ASSERT_FALSE(opt);
    EXPECT_EQ(opt.error().field, "provider.stage");
    EXPECT_NE(opt.error().message.find("no --stage option"), std::string::npos);

    auto self = resolve("a: ${self:provider.nothing}\n");
    ASSERT_FALSE(self);
    EXPECT_EQ(self.error().field, "a");
    EXPECT_NE(self.error().message.find("${self:provider.nothing}"), std::string::npos);
}

// The error names where the missing value is, not every value that leads to it.
TEST(ServerlessVariables, MissingValueDeepInAChainNamesTheInnermostKey) {
    auto r = resolve("a: ${self:b}\nb: x-${env:NOPE}\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "b");
}

// A cycle must fail rather than recurse forever, and say which keys form it.
TEST(ServerlessVariables, CycleIsAnError) {
    auto r = resolve("a: ${self:b}\nb: x-${self:c}\nc: ${self:a}\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "a");
    EXPECT_NE(r.error().message.find("a -> b -> c -> a"), std::string::npos) << r.error().message;

    auto parent = resolve("a: {b: '${self:a}'}\n");
    ASSERT_FALSE(parent);
    EXPECT_EQ(parent.error().field, "a.b");
}

// Sources hirestream cannot resolve fail by name; in unread sections they are left alone.
TEST(ServerlessVariables, UnsupportedSourcesFailUnlessUnread) {
    auto r = resolve("a: ${ssm:/path/x}\n");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "a");
    EXPECT_NE(r.error().message.find("'ssm'"), std::string::npos);

    auto unread = resolve("custom: {secret: '${ssm:/x}', table: t}\nb: ${self:custom.table}\n", {},
                          {}, {"custom"});
    ASSERT_TRUE(unread) << unread.error().message;
    EXPECT_EQ((*unread)["b"].as<std::string>(), "t");
    EXPECT_EQ((*unread)["custom"]["secret"].as<std::string>(), "${ssm:/x}");
}

// ${sls:stage}: --stage, else provider.stage, else dev.
TEST(ServerlessVariables, SlsStage) {
    auto file = resolve("provider: {stage: qa}\na: ${sls:stage}\n");
    ASSERT_TRUE(file);
    EXPECT_EQ((*file)["a"].as<std::string>(), "qa");
    auto option = resolve("provider: {stage: qa}\na: ${sls:stage}\n", {{"stage", "prod"}});
    ASSERT_TRUE(option);
    EXPECT_EQ((*option)["a"].as<std::string>(), "prod");
    auto none = resolve("a: ${sls:stage}\n");
    ASSERT_TRUE(none);
    EXPECT_EQ((*none)["a"].as<std::string>(), "dev");
}

// Malformed syntax names its key instead of passing text through.
TEST(ServerlessVariables, MalformedVariablesAreErrors) {
    for (const std::string yaml : {"a: x${opt:stage\n", "a: ${opt:stage, }\n",
                                   "a: ${opt:stage, dev}\n", "a: ${opt:stage, 'dev}\n"}) {
        auto r = resolve(yaml);
        ASSERT_FALSE(r) << yaml;
        EXPECT_EQ(r.error().field, "a") << yaml;
    }
}

// The caller's tree is not modified.
TEST(ServerlessVariables, InputIsNotModified) {
    YAML::Node root = YAML::Load("a: ${opt:x, 'y'}\n");
    auto r = resolve_variables(root, {}, {});
    ASSERT_TRUE(r);
    EXPECT_EQ((*r)["a"].as<std::string>(), "y");
    EXPECT_EQ(root["a"].as<std::string>(), "${opt:x, 'y'}");
}

}  // namespace
}  // namespace hirestream::config
