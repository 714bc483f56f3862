#include "config/config.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace hirestream::config {
namespace {

const std::string kRepo = HIRESTREAM_SOURCE_DIR;

Result<Config> parse(const std::string& yaml, std::map<std::string, std::string> env = {},
                     std::map<std::string, std::string> options = {}) {
    return parse_config(yaml, kRepo, env, options);
}

// A function with one stream event written as `stream_yaml` (a flow mapping or a scalar).
Result<Config> parse_stream(const std::string& stream_yaml) {
    return parse("functions: {f: {handler: 'builtin:assignment', events: [{stream: " + stream_yaml +
                 "}]}}\n");
}

std::string describe(const Result<Config>& c) {
    return c ? std::string("ok") : c.error().field + ": " + c.error().message;
}

// Protects start-up from a crash found by fuzzing: YAML allows a list or a mapping as a key
// ("? [a]: 1"); every place that reads key names refuses one with an error naming where.
TEST(Config, ComplexKeysAreRefusedWhereverKeysAreNames) {
    const std::pair<std::string, std::string> cases[] = {
        {"service: hs\n? {size: 9}\n: 1\n", ""},
        {"service: hs\nprovider:\n  environment:\n    ? [A]\n    : x\n", "provider.environment"},
        {"service: hs\nfunctions:\n  ? [f]\n  : {handler: 'builtin:assignment'}\n", "functions"},
        {"service: hs\nfunctions: {f: {handler: 'builtin:assignment', events: [{? [stream]: x}]}}\n",
         "functions.f.events[0]"},
        {"service: hs\nassignments:\n  ? [a]\n  : {file: x.zip}\n", "assignments"},
    };
    for (const auto& [yaml, field] : cases) {
        auto c = parse(yaml);
        ASSERT_FALSE(c) << yaml;
        EXPECT_EQ(c.error().message, "keys must be plain names, not lists or mappings") << yaml;
        EXPECT_EQ(c.error().field, field) << yaml;
    }
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

// The shipped file documents the defaults: with no file at all the function must be the same.
TEST(Config, ShippedFunctionEqualsBuiltInDefault) {
    auto shipped = load_config({kRepo + "/config/hirestream.yaml", {}});
    ASSERT_TRUE(shipped) << describe(shipped);
    auto builtin = parse("");
    ASSERT_TRUE(builtin) << describe(builtin);
    ASSERT_EQ(shipped->functions.size(), 1u);
    EXPECT_EQ(shipped->functions, builtin->functions);

    const auto& fn = shipped->functions[0];
    EXPECT_EQ(fn.name, "sendAssignment");
    EXPECT_EQ(fn.handler, "builtin:assignment");
    EXPECT_EQ(fn.timeout_seconds, 30);
    EXPECT_EQ(fn.memory_size_mb, 128);
    ASSERT_EQ(fn.stream_events.size(), 1u);
    const auto& ev = fn.stream_events[0];
    EXPECT_EQ(ev.arn, "");
    EXPECT_EQ(ev.table, "candidates-dev");
    EXPECT_EQ(ev.batch_size, 100);
    EXPECT_EQ(ev.batch_window_seconds, 0);
    EXPECT_EQ(ev.starting_position, StartingPosition::trim_horizon);
    EXPECT_EQ(ev.maximum_retry_attempts, 3);
    EXPECT_EQ(ev.maximum_record_age_seconds, 86'400);
    EXPECT_TRUE(ev.bisect_batch_on_function_error);
    EXPECT_EQ(ev.parallelization_factor, 1);
    EXPECT_TRUE(ev.report_batch_item_failures);
    EXPECT_EQ(ev.filter_patterns, std::vector<std::string>{R"({"eventName":["INSERT"]})"});
    EXPECT_EQ(ev.on_failure, "deadletters");
    EXPECT_EQ(ev.tumbling_window_seconds, 0);
    EXPECT_TRUE(ev.enabled);
}

// `--stage prod` must move the shipped file's table, as `serverless --stage prod` would.
TEST(Config, StageOptionChangesShippedTableName) {
    auto c = load_config({kRepo + "/config/hirestream.yaml", {}, {{"stage", "prod"}}});
    ASSERT_TRUE(c) << describe(c);
    EXPECT_EQ(c->stage, "prod");
    EXPECT_EQ(c->candidates.spec.name, "candidates-prod");
    EXPECT_EQ(c->functions[0].stream_events[0].table, "candidates-prod");
}

// The seed's serverless.yml, handler changed, loads from any working directory, and its
// hand-pasted (here empty) account number and stream label still name our table.
TEST(Config, SeedServerlessFileLoads) {
    const auto cwd = std::filesystem::current_path();
    std::filesystem::current_path("/");
    auto c = load_config({kRepo + "/config/testdata/seed-serverless.yml", {}});
    std::filesystem::current_path(cwd);
    ASSERT_TRUE(c) << describe(c);
    EXPECT_EQ(c->candidates.spec.name, "candidates-dev");
    EXPECT_EQ(c->assignments[0].file, kRepo + "/assignments/assignment1.zip");
    ASSERT_EQ(c->functions.size(), 1u);
    const auto& fn = c->functions[0];
    EXPECT_EQ(fn.name, "sendAssignment");
    EXPECT_EQ(fn.handler, "builtin:assignment");
    EXPECT_EQ(fn.description, "Send assignment zip to candidate");
    EXPECT_EQ(fn.timeout_seconds, 30);
    EXPECT_EQ(fn.memory_size_mb, 128);
    EXPECT_EQ(fn.environment.at("CANDIDATE_TABLE"), "candidates-dev");
    EXPECT_EQ(fn.environment.at("ACCOUNT_NUMBER"), "");
    ASSERT_EQ(fn.stream_events.size(), 1u);
    const auto& ev = fn.stream_events[0];
    EXPECT_EQ(ev.arn, "arn:aws:dynamodb:us-east-1::table/candidates-dev/stream/");
    EXPECT_EQ(ev.table, "candidates-dev");
    // A bare ARN takes AWS's defaults.
    EXPECT_EQ(ev.batch_size, 100);
    EXPECT_EQ(ev.starting_position, StartingPosition::trim_horizon);
    EXPECT_EQ(ev.maximum_retry_attempts, -1);
    EXPECT_EQ(ev.maximum_record_age_seconds, -1);
    EXPECT_FALSE(ev.bisect_batch_on_function_error);
    EXPECT_FALSE(ev.report_batch_item_failures);
    EXPECT_TRUE(ev.filter_patterns.empty());
    EXPECT_EQ(ev.on_failure, "");
    EXPECT_TRUE(ev.enabled);

    auto prod =
        load_config({kRepo + "/config/testdata/seed-serverless.yml", {}, {{"stage", "prod"}}});
    ASSERT_TRUE(prod) << describe(prod);
    EXPECT_EQ(prod->candidates.spec.name, "candidates-prod");
    EXPECT_EQ(prod->functions[0].stream_events[0].table, "candidates-prod");
}

// Every stream key in the Serverless Framework's spelling lands in its field.
TEST(Config, StreamEventKeysParse) {
    auto c = parse(R"(
functions:
  f:
    handler: builtin:assignment
    events:
      - stream:
          arn: arn:aws:dynamodb:us-east-1:123456789012:table/candidates-dev/stream/2017-02-21T12:05:33.650
          type: dynamodb
          batchSize: 10
          batchWindow: 5
          startingPosition: LATEST
          maximumRetryAttempts: 2
          maximumRecordAgeInSeconds: 60
          bisectBatchOnFunctionError: true
          parallelizationFactor: 4
          functionResponseType: ReportBatchItemFailures
          filterPatterns:
            - eventName: [INSERT, MODIFY]
          destinations:
            onFailure: arn:aws:sqs:us-east-1:123456789012:failed-candidates
          tumblingWindowInSeconds: 120
          enabled: false
)");
    ASSERT_TRUE(c) << describe(c);
    const auto& ev = c->functions.at(0).stream_events.at(0);
    EXPECT_EQ(ev.table, "candidates-dev");
    EXPECT_EQ(ev.batch_size, 10);
    EXPECT_EQ(ev.batch_window_seconds, 5);
    EXPECT_EQ(ev.starting_position, StartingPosition::latest);
    EXPECT_EQ(ev.maximum_retry_attempts, 2);
    EXPECT_EQ(ev.maximum_record_age_seconds, 60);
    EXPECT_TRUE(ev.bisect_batch_on_function_error);
    EXPECT_EQ(ev.parallelization_factor, 4);
    EXPECT_TRUE(ev.report_batch_item_failures);
    EXPECT_EQ(ev.filter_patterns, std::vector<std::string>{R"({"eventName":["INSERT","MODIFY"]})"});
    EXPECT_EQ(ev.on_failure, "failed-candidates");
    EXPECT_EQ(ev.tumbling_window_seconds, 120);
    EXPECT_FALSE(ev.enabled);
}

// Each out-of-range or invalid stream value names its key exactly.
TEST(Config, StreamEventRangeErrorsNameTheirKey) {
    const std::string prefix = "functions.f.events[0].stream.";
    const std::pair<std::string, std::string> cases[] = {
        {"{batchSize: 10001}", "batchSize"},
        {"{batchSize: 0}", "batchSize"},
        {"{batchWindow: 301}", "batchWindow"},
        {"{batchWindow: -1}", "batchWindow"},
        {"{startingPosition: AT_TIMESTAMP}", "startingPosition"},
        {"{maximumRetryAttempts: -2}", "maximumRetryAttempts"},
        {"{maximumRetryAttempts: 10001}", "maximumRetryAttempts"},
        {"{maximumRecordAgeInSeconds: 59}", "maximumRecordAgeInSeconds"},
        {"{maximumRecordAgeInSeconds: 0}", "maximumRecordAgeInSeconds"},
        {"{maximumRecordAgeInSeconds: 604801}", "maximumRecordAgeInSeconds"},
        {"{bisectBatchOnFunctionError: maybe}", "bisectBatchOnFunctionError"},
        {"{parallelizationFactor: 0}", "parallelizationFactor"},
        {"{parallelizationFactor: 11}", "parallelizationFactor"},
        {"{functionResponseType: ReportAll}", "functionResponseType"},
        {"{filterPatterns: {eventName: [INSERT]}}", "filterPatterns"},
        {"{filterPatterns: [a, b, c, d, e, f]}", "filterPatterns"},
        {"{filterPatterns: [INSERT]}", "filterPatterns[0]"},
        {"{filterPatterns: [{eventName: INSERT}]}", "filterPatterns[0].eventName"},
        {"{filterPatterns: [{dynamodb: {NewImage: {x: []}}}]}",
         "filterPatterns[0].dynamodb.NewImage.x"},
        {"{destinations: {onFailure: 'bad name'}}", "destinations.onFailure"},
        {"{destinations: {onFailure: 'arn:aws:lambda:us-east-1:1:function:f'}}",
         "destinations.onFailure"},
        {"{destinations: {onSuccess: x}}", "destinations.onSuccess"},
        {"{tumblingWindowInSeconds: 901}", "tumblingWindowInSeconds"},
        {"{enabled: sometimes}", "enabled"},
        {"{type: kinesis}", "type"},
        {"{batchsize: 10}", "batchsize"},
        {"{arn: {'Fn::GetAtt': [CandidatesTable, StreamArn]}}", "arn"},
    };
    for (const auto& [yaml, key] : cases) {
        auto c = parse_stream(yaml);
        ASSERT_FALSE(c) << yaml;
        EXPECT_EQ(c.error().field, prefix + key) << yaml << " -> " << c.error().message;
    }
    // The bounds themselves are accepted.
    for (const std::string yaml :
         {"{batchSize: 1}", "{batchSize: 10000}", "{batchWindow: 300}",
          "{maximumRetryAttempts: -1}", "{maximumRetryAttempts: 10000}",
          "{maximumRecordAgeInSeconds: -1}", "{maximumRecordAgeInSeconds: 604800}",
          "{parallelizationFactor: 10}", "{tumblingWindowInSeconds: 900}",
          "{destinations: {onFailure: {arn: 'arn:aws:sns:us-east-1:1:topic-1', type: sns}}}"}) {
        EXPECT_TRUE(parse_stream(yaml)) << yaml << " -> " << describe(parse_stream(yaml));
    }
}

// Filter patterns reach the engine as AWS's JSON: numbers and booleans typed as YAML reads
// them, quoted scalars kept as strings.
TEST(Config, FilterPatternsBecomeJsonText) {
    auto c = parse_stream(
        "{filterPatterns: ["
        "{eventName: [INSERT]},"
        "{dynamodb: {NewImage: {experience: {N: [{numeric: ['>', 5, '<=', 8.5]}]}}}},"
        "{dynamodb: {NewImage: {email: {S: [{prefix: 'a\"b'}]}, id: [{exists: true}]}}},"
        "{eventName: [{anything-but: [REMOVE]}], code: ['5', 5, null, false]}]}");
    ASSERT_TRUE(c) << describe(c);
    const auto& p = c->functions[0].stream_events[0].filter_patterns;
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(p[0], R"({"eventName":["INSERT"]})");
    EXPECT_EQ(p[1],
              R"({"dynamodb":{"NewImage":{"experience":{"N":[{"numeric":[">",5,"<=",8.5]}]}}}})");
    EXPECT_EQ(
        p[2],
        R"({"dynamodb":{"NewImage":{"email":{"S":[{"prefix":"a\"b"}]},"id":[{"exists":true}]}}})");
    EXPECT_EQ(p[3], R"({"eventName":[{"anything-but":["REMOVE"]}],"code":["5",5,null,false]})");
}

// The seed's ARN form, an explicit label and a bare string all match our table; any other
// table stops start-up naming the key, the table it named and the tables that exist.
TEST(Config, StreamArnMustNameOurTable) {
    for (const std::string arn :
         {"arn:aws:dynamodb:us-east-1::table/candidates-dev/stream/",
          "arn:aws:dynamodb:us-east-1:123456789012:table/candidates-dev/stream/"
          "2017-02-21T12:05:33.650"}) {
        auto mapping = parse_stream("{arn: '" + arn + "'}");
        ASSERT_TRUE(mapping) << arn << " -> " << describe(mapping);
        EXPECT_EQ(mapping->functions[0].stream_events[0].arn, arn);
        EXPECT_EQ(mapping->functions[0].stream_events[0].table, "candidates-dev");
        auto bare = parse_stream("'" + arn + "'");
        ASSERT_TRUE(bare) << arn << " -> " << describe(bare);
        EXPECT_EQ(bare->functions[0].stream_events[0].table, "candidates-dev");
    }

    auto wrong = parse_stream("{arn: 'arn:aws:dynamodb:us-east-1::table/candidate-dev/stream/x'}");
    ASSERT_FALSE(wrong);
    EXPECT_EQ(wrong.error().field, "functions.f.events[0].stream.arn");
    EXPECT_NE(wrong.error().message.find("'candidate-dev'"), std::string::npos);
    EXPECT_NE(wrong.error().message.find("candidates-dev"), std::string::npos);

    auto wrong_bare = parse_stream("'arn:aws:dynamodb:us-east-1::table/other/stream/'");
    ASSERT_FALSE(wrong_bare);
    EXPECT_EQ(wrong_bare.error().field, "functions.f.events[0].stream");

    for (const std::string arn :
         {"candidates-dev", "arn:aws:dynamodb:us-east-1::table/candidates-dev",
          "arn:aws:kinesis:us-east-1::table/candidates-dev/stream/",
          "arn:aws:dynamodb:us-east-1::table//stream/"}) {
        auto bad = parse_stream("{arn: '" + arn + "'}");
        ASSERT_FALSE(bad) << arn;
        EXPECT_EQ(bad.error().field, "functions.f.events[0].stream.arn") << arn;
    }
}

// hirestream runs stream functions only: an http or schedule event must not be dropped silently.
TEST(Config, OtherEventKindsAreErrors) {
    for (const std::string kind : {"http", "schedule", "sqs"}) {
        auto c =
            parse("functions: {f: {handler: 'builtin:assignment', events: [{" + kind + ": x}]}}");
        ASSERT_FALSE(c) << kind;
        EXPECT_EQ(c.error().field, "functions.f.events[0]." + kind);
    }
}

// The three handler kinds load; anything else names the handler and lists the kinds.
TEST(Config, HandlerKinds) {
    for (const std::string handler : {"builtin:assignment", "http://127.0.0.1:9000/hook",
                                      "https://hooks.example.com/a?b=c", "exec:node handler.js"}) {
        auto c = parse("functions: {f: {handler: '" + handler + "'}}");
        ASSERT_TRUE(c) << handler << " -> " << describe(c);
        EXPECT_EQ(c->functions[0].handler, handler);
    }
    for (const std::string handler : {"api/candidates.sendAssignment", "builtin:other", "http://",
                                      "https://exa mple.com", "exec:", "exec:   ", ""}) {
        auto c = parse("functions: {f: {handler: '" + handler + "'}}");
        ASSERT_FALSE(c) << handler;
        EXPECT_EQ(c.error().field, "functions.f.handler") << handler;
    }
    auto c = parse("functions: {f: {handler: 'python:x'}}");
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().message.find("builtin:assignment"), std::string::npos);
    EXPECT_NE(c.error().message.find("exec:"), std::string::npos);
    EXPECT_NE(c.error().message.find("https://"), std::string::npos);
}

// Function names follow Lambda's alphabet; the error names the function.
TEST(Config, FunctionNamesAreChecked) {
    auto c = parse("functions: {'send assignment': {handler: 'builtin:assignment'}}");
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().field, "functions.send assignment");
    auto long_name =
        parse("functions: {" + std::string(65, 'a') + ": {handler: 'builtin:assignment'}}");
    ASSERT_FALSE(long_name);
    EXPECT_TRUE(
        parse("functions: {" + std::string(64, 'a') + ": {handler: 'builtin:assignment'}}"));
}

// provider.timeout, memorySize and environment are every function's defaults; a function's
// own values win, and without either the Lambda defaults apply.
TEST(Config, ProviderDefaultsForFunctions) {
    auto c = parse(R"(
provider:
  timeout: 10
  memorySize: 256
  environment: {A: 1, B: from-provider}
functions:
  plain: {handler: 'builtin:assignment'}
  own:
    handler: builtin:assignment
    timeout: 900
    memorySize: 10240
    environment: {B: own, C: x}
)");
    ASSERT_TRUE(c) << describe(c);
    ASSERT_EQ(c->functions.size(), 2u);
    const auto& plain = c->functions[0];
    EXPECT_EQ(plain.timeout_seconds, 10);
    EXPECT_EQ(plain.memory_size_mb, 256);
    EXPECT_EQ(plain.environment,
              (std::map<std::string, std::string>{{"A", "1"}, {"B", "from-provider"}}));
    const auto& own = c->functions[1];
    EXPECT_EQ(own.timeout_seconds, 900);
    EXPECT_EQ(own.memory_size_mb, 10240);
    EXPECT_EQ(own.environment,
              (std::map<std::string, std::string>{{"A", "1"}, {"B", "own"}, {"C", "x"}}));

    auto lambda = parse("functions: {f: {handler: 'builtin:assignment'}}");
    ASSERT_TRUE(lambda);
    EXPECT_EQ(lambda->functions[0].timeout_seconds, 6);
    EXPECT_EQ(lambda->functions[0].memory_size_mb, 1024);

    const std::pair<std::string, std::string> bad[] = {
        {"provider: {timeout: 0}", "provider.timeout"},
        {"provider: {memorySize: 127}", "provider.memorySize"},
        {"provider: {environment: [A]}", "provider.environment"},
        {"provider: {environment: {1A: x}}", "provider.environment.1A"},
        {"functions: {f: {handler: 'builtin:assignment', timeout: 901}}", "functions.f.timeout"},
        {"functions: {f: {handler: 'builtin:assignment', memorySize: 10241}}",
         "functions.f.memorySize"},
        {"functions: {f: {handler: 'builtin:assignment', runtime: nodejs4.3}}",
         "functions.f.runtime"},
    };
    for (const auto& [yaml, field] : bad) {
        auto r = parse(yaml);
        ASSERT_FALSE(r) << yaml;
        EXPECT_EQ(r.error().field, field) << yaml << " -> " << r.error().message;
    }
}

// --stage and --region win over provider.stage/region; ${opt:stage, ...} follows them.
TEST(Config, StageOptionWinsAndFlowsThroughVariables) {
    const std::string yaml =
        "service: candidates\n"
        "provider: {stage: qa, region: eu-west-1}\n"
        "tables: {candidates: {name: '${self:service}-${opt:stage, self:provider.stage}'}}\n";
    auto file = parse(yaml);
    ASSERT_TRUE(file) << describe(file);
    EXPECT_EQ(file->stage, "qa");
    EXPECT_EQ(file->region, "eu-west-1");
    EXPECT_EQ(file->candidates.spec.name, "candidates-qa");
    auto option = parse(yaml, {}, {{"stage", "prod"}, {"region", "us-west-2"}});
    ASSERT_TRUE(option) << describe(option);
    EXPECT_EQ(option->stage, "prod");
    EXPECT_EQ(option->region, "us-west-2");
    EXPECT_EQ(option->candidates.spec.name, "candidates-prod");
    // Without a table name the default <service>-<stage> also follows the option.
    auto unnamed = parse("", {}, {{"stage", "prod"}});
    ASSERT_TRUE(unnamed);
    EXPECT_EQ(unnamed->candidates.spec.name, "candidates-prod");
    EXPECT_EQ(unnamed->functions[0].stream_events[0].table, "candidates-prod");
}

// A Serverless service file's own keys are accepted; a typo anywhere is still named.
TEST(Config, ServerlessKeysAcceptedTyposNamed) {
    auto c = parse(R"(
service: candidates
frameworkVersion: '3'
useDotenv: true
configValidationMode: error
variablesResolutionMode: '20210326'
plugins: [serverless-offline]
package: {individually: true}
params: {prod: {x: 1}}
custom: {secret: '${ssm:/not/resolved}', table: '${self:service}-dev'}
resources: {Resources: {T: {Type: 'AWS::DynamoDB::Table'}}}
provider:
  name: aws
  runtime: nodejs18.x
  iamRoleStatements: [{Effect: Allow, Action: ['ses:SendEmail'], Resource: '*'}]
  iam: {role: {statements: []}}
  deploymentBucket: {name: b}
  stackName: s
  apiGateway: {apiKeys: [k]}
  logRetentionInDays: 14
  tracing: {lambda: true}
tables: {candidates: {name: '${self:custom.table}'}}
)");
    ASSERT_TRUE(c) << describe(c);
    EXPECT_EQ(c->candidates.spec.name, "candidates-dev");

    const std::pair<std::string, std::string> typos[] = {
        {"provider: {regoin: x}", "provider.regoin"},
        {"servce: x", "servce"},
        {"provider: {name: azure}", "provider.name"},
    };
    for (const auto& [yaml, field] : typos) {
        auto r = parse(yaml);
        ASSERT_FALSE(r) << yaml;
        EXPECT_EQ(r.error().field, field);
    }
}

// ${env:NAME} reads the environment given to the loader; a missing one names key and variable.
TEST(Config, EnvironmentVariablesInTheFile) {
    auto c = parse(
        "server: {publicUrl: '${env:PUBLIC, \"http://localhost\"}'}\n"
        "mail: {subject: '${env:SUBJECT}'}\n",
        {{"SUBJECT", "Your assignment"}});
    ASSERT_TRUE(c) << describe(c);
    EXPECT_EQ(c->server.public_url, "http://localhost");
    EXPECT_EQ(c->mail.subject, "Your assignment");

    auto missing = parse_stream("{arn: '${env:NOPE}'}");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().field, "functions.f.events[0].stream.arn");
    EXPECT_EQ(missing.error().message.rfind("${env:NOPE} is not set", 0), 0u);
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
        {"rules: [{assignment: '../x', when: {experience: {gt: 1}}}]", "rules[0].assignment"},
        {"rules: [{assignment: assignment1, when: {experience: {gt: x}}}]",
         "rules[0].when.experience.gt"},
        {"defaultAssignment: 'a b'", "defaultAssignment"},
        {"rules: [{assignment: assignment1}, {assignment: assignment2, when: {skills: {}}}]",
         "rules[1].when.skills.contains"},
        {"rules: [{assignment: assignment1, when: {skills: {contains: [java, [x]]}}}]",
         "rules[0].when.skills.contains"},
        {"rules: [{assignment: assignment1, when: {skills: {containsAny: [java]}}}]",
         "rules[0].when.skills.containsAny"},
        {"assignments: {a: {file: ../assignments/assignment1.zip, delivery: email}}",
         "assignments.a.delivery"},
        {"mail: {templates: {html: no-such-template.html}}", "mail.templates.html"},
        {"mail: {templates: {colour: red}}", "mail.templates.colour"},
        {"mail: {links: {secret: short}}", "mail.links.secret"},
        {"mail: {links: {ttlDays: 0}}", "mail.links.ttlDays"},
        {"server: {maxUploadBytes: 10}", "server.maxUploadBytes"},
        {"assignments: {a: {file: config/hirestream.yaml}}", "assignments.a.file"},
        {"mail: {from: 'not an address'}", "mail.from"},
        {"server: {listen: 'localhost'}", "server.listen"},
        {"functions: {f: {handler: 'python:x'}}", "functions.f.handler"},
        {"functions: {f: {handler: 'builtin:assignment', events: [{http: {path: x}}]}}",
         "functions.f.events[0].http"},
        {"functions: {f: {handler: 'builtin:assignment', events: [{stream: {batchSize: 0}}]}}",
         "functions.f.events[0].stream.batchSize"},
        {"provider: {accountId: '12'}", "provider.accountId"},
        {"mail: {retry: {maxAgeHours: 0}}", "mail.retry.maxAgeHours"},
        {"server: {publicUrl: 'ftp://x'}", "server.publicUrl"},
        {"mail: {from: 'Team <hiring@mail_host.example.com>'}", "mail.from"},
        {"mail: {retry: {initialBackoffMs: 500, maxBackoffMs: 100}}", "mail.retry.maxBackoffMs"},
        {"mail: {smtp: {authMechanism: CRAM-MD5}}", "mail.smtp.authMechanism"},
        {"mail: {rateLimit: {perSecond: -1}}", "mail.rateLimit.perSecond"},
        {"mail: {rateLimit: {per24Hours: 'lots'}}", "mail.rateLimit.per24Hours"},
        {"mail: {rateLimit: {perMinute: 3}}", "mail.rateLimit.perMinute"},
    };
    for (const auto& tc : cases) {
        auto c = parse(tc.yaml);
        ASSERT_FALSE(c) << tc.yaml;
        EXPECT_EQ(c.error().field, tc.field) << tc.yaml << " -> " << c.error().message;
    }
}

// Rules may name uploaded assignments, so existence is checked against what the caller knows
// (the store at start-up); a name nobody has is refused naming the rule.
TEST(Config, RuleAssignmentsAreCheckedAgainstDeclaredAndKnownOnes) {
    auto c = parse(
        "rules: [{assignment: uploaded, when: {experience: {gte: 0}, skills: {contains: Java}}}]\n"
        "defaultAssignment: assignment3\n");
    ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
    EXPECT_EQ(c->rules[0].skills.contains, std::vector<std::string>{"java"});
    EXPECT_TRUE(c->rules[0].skills.matches("Kotlin, JAVA"));
    EXPECT_FALSE(c->rules[0].skills.matches("go"));
    EXPECT_TRUE(check_rule_assignments(*c, [](const std::string& n) { return n == "uploaded"; }));
    auto missing = check_rule_assignments(*c, nullptr);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().field, "rules[0].assignment");
    EXPECT_EQ(missing.error().message, "names no assignment 'uploaded'");
    c->rules.clear();
    c->default_assignment = "gone";
    EXPECT_EQ(check_rule_assignments(*c, nullptr).error().field, "defaultAssignment");
}

// Without a config file the embedded defaults still give a complete, valid pipeline.
TEST(Config, EmptyFileGivesDefaults) {
    auto c = parse("");
    ASSERT_TRUE(c) << c.error().field << ": " << c.error().message;
    EXPECT_EQ(c->assignments.size(), 3u);
    EXPECT_EQ(c->default_assignment, "assignment3");
    EXPECT_EQ(c->functions.size(), 1u);
    EXPECT_EQ(c->functions[0].stream_events.at(0).table, "candidates-dev");
    EXPECT_EQ(c->candidates.spec.unique_attributes, std::vector<std::string>{"email"});
}

}  // namespace
}  // namespace hirestream::config

namespace hirestream::config {
namespace {

// The auth keys and CORS origins parse with their defaults; a short admin key (from the file or
// the environment) and a malformed origin are config errors naming the key.
TEST(Config, AuthKeysAndCorsOriginsParseAndValidate) {
    auto defaults = parse("");
    ASSERT_TRUE(defaults) << describe(defaults);
    EXPECT_TRUE(defaults->auth.admin_key.empty());
    EXPECT_FALSE(defaults->auth.metrics_require_key);
    EXPECT_EQ(defaults->auth.failures_per_minute, 5);
    EXPECT_TRUE(defaults->server.cors_origins.empty());

    auto set = parse(
        "auth: {adminKey: 'abcdefghijklmnopqrstuvwxyz', metricsRequireKey: true}\n"
        "server: {corsOrigins: ['https://app.example.com', 'http://localhost:5173']}\n");
    ASSERT_TRUE(set) << describe(set);
    EXPECT_EQ(set->auth.admin_key, "abcdefghijklmnopqrstuvwxyz");
    EXPECT_TRUE(set->auth.metrics_require_key);
    EXPECT_EQ(set->server.cors_origins,
              (std::vector<std::string>{"https://app.example.com", "http://localhost:5173"}));

    auto from_env = parse("", {{"HIRESTREAM_ADMIN_KEY", "0123456789abcdefghijklmnop"}});
    ASSERT_TRUE(from_env) << describe(from_env);
    EXPECT_EQ(from_env->auth.admin_key, "0123456789abcdefghijklmnop");

    EXPECT_EQ(parse("auth: {adminKey: short}\n").error().field, "auth.adminKey");
    EXPECT_EQ(parse("", {{"HIRESTREAM_ADMIN_KEY", "short"}}).error().field, "auth.adminKey");
    EXPECT_EQ(parse("server: {corsOrigins: ['https://a.example.com/app']}\n").error().field,
              "server.corsOrigins[0]");
    EXPECT_EQ(parse("auth: {adminkey: x}\n").error().field, "auth.adminkey");
}

}  // namespace
}  // namespace hirestream::config
