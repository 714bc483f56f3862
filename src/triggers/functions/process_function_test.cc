#include "triggers/functions/process_function.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/ids.h"

namespace hirestream::triggers {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

const std::string kTestdata =
    std::string(HIRESTREAM_SOURCE_DIR) + "/src/triggers/functions/testdata";

std::string python_handler(const std::string& mode) {
    return "exec:/usr/bin/python3 " + kTestdata + "/process_handler.py " + mode;
}

const stream::StreamIdentity& identity() {
    static const stream::StreamIdentity id{"eu-west-1", "123456789012", "candidates-dev",
                                           "2026-11-25T10:00:00.000"};
    return id;
}

// Three INSERTs with experience 12, 13 and 14; `padding` bytes of extra text in each image.
Batch three_records(std::size_t padding = 0) {
    Batch batch;
    batch.stream = &identity();
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        store::ChangeRecord r;
        r.sequence = seq;
        r.table = "candidates-dev";
        r.event_name = store::EventName::insert;
        r.event_id = random_hex(16);
        r.created_ms = 1'764'064'800'000;
        r.keys = boost::json::object{{"id", {{"S", "c" + std::to_string(seq)}}}};
        r.new_image = boost::json::object{{"id", {{"S", "c" + std::to_string(seq)}}},
                                          {"experience", {{"N", std::to_string(11 + seq)}}},
                                          {"notes", {{"S", std::string(padding, 'n')}}}};
        r.size_bytes = 100 + padding;
        batch.records.push_back(std::move(r));
    }
    return batch;
}

// True once `pid` no longer runs (gone, or a zombie nobody has reaped yet), waiting up to
// `within` for it.
bool stops_running(pid_t pid, milliseconds within) {
    const auto deadline = steady_clock::now() + within;
    for (;;) {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        const auto paren = text.rfind(')');
        if (paren != std::string::npos && paren + 2 < text.size() && text[paren + 2] == 'Z') {
            return true;
        }
        if (steady_clock::now() >= deadline) return false;
        std::this_thread::yield();
    }
}

class ProcessFunctionTest : public ::testing::Test {
  protected:
    static FunctionSpec spec_for(const std::string& handler) {
        FunctionSpec spec;
        spec.name = "candidateHandler";
        spec.handler = handler;
        spec.memory_size_mb = 256;
        return spec;
    }

    InvocationContext context(milliseconds timeout = milliseconds(5000)) {
        InvocationContext c;
        c.request_id = new_uuid();
        c.timeout = timeout;
        c.log = [this](std::string_view line) { log_.emplace_back(line); };
        return c;
    }

    std::vector<std::string> log_;
};

// Exit status 0 answers with stdout, and the peak memory is reported for the REPORT line.
TEST_F(ProcessFunctionTest, SuccessfulExitAnswersWithStdout) {
    ProcessFunction fn(spec_for(python_handler("echo")));
    auto result = fn.invoke(three_records(), context());
    ASSERT_TRUE(result.ok) << result.error;
    const auto answer = boost::json::parse(result.response).as_object();
    EXPECT_EQ(answer.at("records"), 3);
    EXPECT_EQ(answer.at("first_sequence"), "100000000000000000001");
    EXPECT_GT(result.max_memory_used_mb, 0);
}

// stderr is the function's log: every line arrives, in order, the last even without a newline.
TEST_F(ProcessFunctionTest, StderrLinesReachTheLogInOrder) {
    ProcessFunction fn(spec_for(python_handler("log")));
    auto result = fn.invoke(three_records(), context());
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.response, "{}\n");
    EXPECT_EQ(log_, (std::vector<std::string>{"line 1", "line 2", "line 3", "no newline"}));
}

// A handler written for Lambda in Node.js runs unchanged and reports its failed records.
TEST_F(ProcessFunctionTest, NodeHandlerReportsBatchItemFailures) {
    if (std::system("command -v node >/dev/null 2>&1") != 0) {
        GTEST_SKIP() << "node is not installed";
    }
    ProcessFunction fn(spec_for("exec:node " + kTestdata + "/handler.js"));
    auto result = fn.invoke(three_records(), context());
    ASSERT_TRUE(result.ok) << result.error;
    auto failures = parse_batch_item_failures(result.response);
    ASSERT_TRUE(failures) << result.response;
    EXPECT_EQ(*failures, std::vector<std::string>{"100000000000000000002"});
    EXPECT_EQ(log_, (std::vector<std::string>{"INSERT 100000000000000000001 experience=12",
                                              "INSERT 100000000000000000002 experience=13",
                                              "INSERT 100000000000000000003 experience=14"}));
}

// A non-zero exit fails the batch, naming the status and the last thing the function said.
TEST_F(ProcessFunctionTest, NonZeroExitIsAnErrorWithTheLastStderrLine) {
    ProcessFunction fn(spec_for(python_handler("fail")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "Runtime exited with error: exit status 3; stderr: about to fail");
}

// A crash fails the batch and says which signal killed the function.
TEST_F(ProcessFunctionTest, CrashBySignalNamesTheSignal) {
    ProcessFunction segv(spec_for("exec:kill -SEGV $$"));
    auto result = segv.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(result.error.starts_with("Runtime exited with error: signal: segmentation fault"))
        << result.error;

    ProcessFunction abort(spec_for(python_handler("abort")));
    result = abort.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_TRUE(result.error.starts_with("Runtime exited with error: signal: aborted"))
        << result.error;
}

// A timeout kills the whole tree the function started, promptly, with Lambda's wording.
TEST_F(ProcessFunctionTest, TimeoutKillsTheWholeProcessGroup) {
    ProcessFunction fn(spec_for("exec:echo $$ >&2; sleep 5 & echo $! >&2; wait"));
    const auto start = steady_clock::now();
    auto result = fn.invoke(three_records(), context(milliseconds(500)));
    const auto took = steady_clock::now() - start;
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "Task timed out after 0.50 seconds");
    EXPECT_LT(took, milliseconds(1000));
    ASSERT_EQ(log_.size(), 2u);
    for (const auto& line : log_) {
        EXPECT_TRUE(stops_running(static_cast<pid_t>(std::stoi(line)), milliseconds(2000)))
            << "pid " << line << " still runs";
    }
}

// A function over its memorySize is killed instead of starving the host.
TEST_F(ProcessFunctionTest, MemoryCapKillsTheProcess) {
    auto spec = spec_for(python_handler("allocate"));
    spec.memory_size_mb = 64;
    ProcessFunction fn(spec);
    const auto start = steady_clock::now();
    auto result = fn.invoke(three_records(), context(milliseconds(8000)));
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "Runtime exited with error: memory limit of 64 MB exceeded");
    EXPECT_GE(result.max_memory_used_mb, 64);
    EXPECT_LT(steady_clock::now() - start, milliseconds(5000));
}

// A child that fills stderr before reading stdin must not deadlock against our write.
TEST_F(ProcessFunctionTest, StderrFloodBeforeReadingStdinDoesNotDeadlock) {
    ProcessFunction fn(spec_for(python_handler("flood")));
    const auto batch =
        three_records(std::size_t{400} * 1024);  // > 1 MiB event: more than a pipe holds
    auto result = fn.invoke(batch, context(milliseconds(10'000)));
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.response, std::to_string(render_event(batch).size()) + "\n");
    EXPECT_EQ(log_.size(), 1024u);
}

// A child that exits without reading its event is its business; it must not kill us (SIGPIPE).
TEST_F(ProcessFunctionTest, ChildIgnoringStdinDoesNotHurtUs) {
    ProcessFunction fn(spec_for("exec:exec 0<&-; echo done"));
    auto result = fn.invoke(three_records(std::size_t{400} * 1024), context());
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.response, "done\n");
}

// The function sees its configured environment and Lambda's variables, not our secrets.
TEST_F(ProcessFunctionTest, EnvironmentFromSpecIsVisible) {
    ::setenv("SECRET_OF_PARENT", "x", 1);
    auto spec = spec_for(python_handler("env"));
    spec.environment = {{"GREETING", "hello world"}, {"AWS_LAMBDA_FUNCTION_NAME", "spoofed"}};
    ProcessFunction fn(spec);
    auto ctx = context(milliseconds(2500));
    auto result = fn.invoke(three_records(), ctx);
    ::unsetenv("SECRET_OF_PARENT");
    ASSERT_TRUE(result.ok) << result.error;
    const auto env = boost::json::parse(result.response).as_object();
    EXPECT_EQ(env.at("GREETING"), "hello world");
    EXPECT_EQ(env.at("AWS_LAMBDA_FUNCTION_NAME"), "candidateHandler");
    EXPECT_EQ(env.at("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), "256");
    EXPECT_EQ(env.at("AWS_LAMBDA_FUNCTION_TIMEOUT"), "3");
    EXPECT_EQ(env.at("AWS_REQUEST_ID").as_string(), ctx.request_id);
    EXPECT_EQ(env.at("AWS_REGION"), "eu-west-1");
    EXPECT_TRUE(env.at("PATH").is_string());
    EXPECT_TRUE(env.at("SECRET_OF_PARENT").is_null());
}

// An answer over Lambda's payload limit is refused, not buffered without bound.
TEST_F(ProcessFunctionTest, AnswerOverSixMebibytesIsAnError) {
    ProcessFunction fn(spec_for("exec:head -c 7000000 /dev/zero"));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "answer exceeds 6 MiB");
}

// Mappings with parallelizationFactor > 1 invoke one function from several threads.
TEST_F(ProcessFunctionTest, ConcurrentInvocationsAllSucceed) {
    ProcessFunction fn(spec_for(python_handler("echo")));
    std::atomic<int> succeeded{0};
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            InvocationContext c;
            c.request_id = new_uuid();
            c.timeout = milliseconds(5000);
            if (fn.invoke(three_records(), c).ok) ++succeeded;
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(succeeded.load(), 4);
}

}  // namespace
}  // namespace hirestream::triggers
