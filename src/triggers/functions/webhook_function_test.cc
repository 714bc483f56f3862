#include "triggers/functions/webhook_function.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "common/ids.h"

namespace hirestream::triggers {
namespace {

using std::chrono::milliseconds;
namespace fs = std::filesystem;

const std::string kServerScript =
    std::string(HIRESTREAM_SOURCE_DIR) + "/src/triggers/functions/testdata/webhook_server.py";

const stream::StreamIdentity& identity() {
    static const stream::StreamIdentity id{"us-east-1", "123456789012", "candidates-dev",
                                           "2026-11-25T10:00:00.000"};
    return id;
}

Batch three_records() {
    Batch batch;
    batch.stream = &identity();
    int experience = 12;
    for (std::uint64_t seq = 1; seq <= 3; ++seq) {
        store::ChangeRecord r;
        r.sequence = seq;
        r.table = "candidates-dev";
        r.event_name = store::EventName::insert;
        r.event_id = random_hex(16);
        r.created_ms = 1'764'064'800'000;
        r.keys = boost::json::object{{"id", {{"S", "c" + std::to_string(seq)}}}};
        r.new_image =
            boost::json::object{{"id", {{"S", "c" + std::to_string(seq)}}},
                                {"email", {{"S", "c" + std::to_string(seq) + "@example.com"}}},
                                {"experience", {{"N", std::to_string(experience++)}}}};
        r.size_bytes = 100;
        batch.records.push_back(std::move(r));
    }
    return batch;
}

// The Python webhook endpoint, one per test suite.
class WebhookServer {
  public:
    WebhookServer() {
        char dir_template[] = "/tmp/hirestream-webhook-XXXXXX";
        record_dir_ = ::mkdtemp(dir_template);
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        const char* argv[] = {"/usr/bin/python3", kServerScript.c_str(), record_dir_.c_str(),
                              nullptr};
        const int rc =
            posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char* const*>(argv), environ);
        posix_spawn_file_actions_destroy(&actions);
        ::close(fds[1]);
        if (rc != 0) throw std::runtime_error("cannot start the webhook server");
        // Wait for "READY <port>" with a deadline instead of sleeping.
        std::string line;
        pollfd p{fds[0], POLLIN, 0};
        while (line.find('\n') == std::string::npos && ::poll(&p, 1, 10'000) == 1) {
            char buf[64];
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) break;
            line.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fds[0]);
        if (!line.starts_with("READY ")) throw std::runtime_error("server said: " + line);
        port_ = std::stoi(line.substr(6));
    }
    ~WebhookServer() {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        std::error_code ec;
        fs::remove_all(record_dir_, ec);
    }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(port_) + path;
    }
    int port() const { return port_; }

    // What the server received for `request_id`: {"path", "headers", "body"}.
    boost::json::object received(const std::string& request_id) const {
        std::ifstream in(fs::path(record_dir_) / (request_id + ".json"));
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return boost::json::parse(text).as_object();
    }

  private:
    pid_t pid_ = -1;
    int port_ = 0;
    std::string record_dir_;
};

class WebhookFunctionTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { server_ = new WebhookServer(); }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }

    static FunctionSpec spec_for(const std::string& url) {
        FunctionSpec spec;
        spec.name = "hook";
        spec.handler = url;
        return spec;
    }

    InvocationContext context(milliseconds timeout = milliseconds(5000)) {
        InvocationContext c;
        c.request_id = new_uuid();
        c.timeout = timeout;
        c.log = [this](std::string_view line) { log_.emplace_back(line); };
        return c;
    }

    static WebhookServer* server_;
    std::vector<std::string> log_;
};

WebhookServer* WebhookFunctionTest::server_ = nullptr;

// A 2xx answer is success, and the invocation leaves one log line with status and duration.
TEST_F(WebhookFunctionTest, SuccessfulPostIsOkAndLogsOneLine) {
    WebhookFunction fn(spec_for(server_->url("/ok")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.response, "");
    EXPECT_FALSE(result.retry_after);
    ASSERT_EQ(log_.size(), 1u);
    EXPECT_TRUE(std::regex_match(
        log_[0], std::regex("POST http://127\\.0\\.0\\.1:[0-9]+/ok -> 200 in [0-9]+ ms")))
        << log_[0];
}

// Endpoints written for Lambda get exactly Lambda's event, plus our identifying headers.
TEST_F(WebhookFunctionTest, PostedEventIsExactlyTheLambdaEvent) {
    WebhookFunction fn(spec_for(server_->url("/ok")));
    const auto batch = three_records();
    const auto ctx = context();
    ASSERT_TRUE(fn.invoke(batch, ctx).ok);

    const auto got = server_->received(ctx.request_id);
    const auto& headers = got.at("headers").as_object();
    EXPECT_EQ(headers.at("content-type"), "application/json");
    EXPECT_EQ(headers.at("user-agent"), "hirestream");
    EXPECT_EQ(headers.at("x-hirestream-request-id").as_string(), ctx.request_id);
    EXPECT_EQ(got.at("body").as_string(), render_event(batch));

    const auto event = boost::json::parse(got.at("body").as_string()).as_object();
    ASSERT_EQ(event.size(), 1u);
    const auto& records = event.at("Records").as_array();
    ASSERT_EQ(records.size(), 3u);
    const auto& first = records[0].as_object();
    EXPECT_EQ(first.at("eventName"), "INSERT");
    EXPECT_EQ(first.at("eventSource"), "aws:dynamodb");
    EXPECT_EQ(first.at("dynamodb").at("NewImage").at("experience").at("N"), "12");
    EXPECT_EQ(first.at("dynamodb").at("SequenceNumber"), "100000000000000000001");
}

// A ReportBatchItemFailures answer reaches the mapping untouched.
TEST_F(WebhookFunctionTest, PartialFailureAnswerIsPassedThrough) {
    WebhookFunction fn(spec_for(server_->url("/partial")));
    auto result = fn.invoke(three_records(), context());
    ASSERT_TRUE(result.ok) << result.error;
    auto failures = parse_batch_item_failures(result.response);
    ASSERT_TRUE(failures);
    EXPECT_EQ(*failures, std::vector<std::string>{"100000000000000000002"});
}

// A non-2xx status fails the batch with the status and the start of the body on one line.
TEST_F(WebhookFunctionTest, ServerErrorFailsWithTheStatusAndBody) {
    WebhookFunction fn(spec_for(server_->url("/fail")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "HTTP 500: boom second line");
}

// A redirect is an answer, not something to follow: the batch is not posted elsewhere.
TEST_F(WebhookFunctionTest, RedirectIsNotFollowed) {
    WebhookFunction fn(spec_for(server_->url("/redirect")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "HTTP 302");
}

// A slow endpoint is cut off at the function's timeout with Lambda's wording.
TEST_F(WebhookFunctionTest, SlowEndpointTimesOutLikeLambda) {
    WebhookFunction fn(spec_for(server_->url("/slow")));
    const auto start = std::chrono::steady_clock::now();
    auto result = fn.invoke(three_records(), context(milliseconds(500)));
    const auto took = std::chrono::steady_clock::now() - start;
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "Task timed out after 0.50 seconds");
    EXPECT_LT(took, milliseconds(1500));
}

// Whether an answer is acceptable JSON is the mapping's call, not the transport's.
TEST_F(WebhookFunctionTest, NonJsonSuccessIsOkWithTheTextAsResponse) {
    WebhookFunction fn(spec_for(server_->url("/notjson")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.response, "hello");
}

// An oversized answer is refused rather than buffered without bound.
TEST_F(WebhookFunctionTest, AnswerOverSixMebibytesIsAnError) {
    WebhookFunction fn(spec_for(server_->url("/big")));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.error, "answer exceeds 6 MiB");
}

// Retry-After in both RFC 9110 forms reaches the mapping, bounded to 15 minutes.
TEST_F(WebhookFunctionTest, RetryAfterIsParsedInBothFormsAndBounded) {
    WebhookFunction seconds(spec_for(server_->url("/retry")));
    auto r = seconds.invoke(three_records(), context());
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.error, "HTTP 503");
    EXPECT_EQ(r.retry_after, milliseconds(7000));

    WebhookFunction date(spec_for(server_->url("/retry-date")));
    EXPECT_EQ(date.invoke(three_records(), context()).retry_after, milliseconds(120'000));

    WebhookFunction long_wait(spec_for(server_->url("/retry-long")));
    EXPECT_EQ(long_wait.invoke(three_records(), context()).retry_after,
              milliseconds(15 * 60 * 1000));

    // Without a Date header the HTTP-date is measured against our clock.
    ManualClock clock((784'111'777 - 120) * 1000LL);  // 2 min before 06 Nov 1994 08:49:37 GMT
    WebhookFunction fixed(spec_for(server_->url("/retry-fixed")), clock);
    EXPECT_EQ(fixed.invoke(three_records(), context()).retry_after, milliseconds(120'000));
}

// Nobody listening is a function error with curl's reason, not a timeout.
TEST_F(WebhookFunctionTest, RefusedConnectionIsAnError) {
    // A bound socket that never listens: connecting to its port is refused, and holding it
    // keeps the port from being reused meanwhile.
    const int sock = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
    const auto url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/ok";

    WebhookFunction fn(spec_for(url));
    auto result = fn.invoke(three_records(), context());
    ::close(sock);
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("onnect"), std::string::npos) << result.error;
    ASSERT_EQ(log_.size(), 1u);
    EXPECT_NE(log_[0].find("failed"), std::string::npos) << log_[0];
}

// Credentials and query tokens in a webhook URL never reach the logs.
TEST_F(WebhookFunctionTest, LogLineHidesCredentialsAndQuery) {
    const auto url =
        "http://alice:s3cret@127.0.0.1:" + std::to_string(server_->port()) + "/ok?token=t0ken";
    WebhookFunction fn(spec_for(url));
    ASSERT_TRUE(fn.invoke(three_records(), context()).ok);
    ASSERT_EQ(log_.size(), 1u);
    EXPECT_EQ(log_[0].find("s3cret"), std::string::npos) << log_[0];
    EXPECT_EQ(log_[0].find("alice"), std::string::npos) << log_[0];
    EXPECT_EQ(log_[0].find("t0ken"), std::string::npos) << log_[0];
    EXPECT_NE(log_[0].find("/ok -> 200"), std::string::npos) << log_[0];
}

// Mappings with parallelizationFactor > 1 invoke one function from several threads.
TEST_F(WebhookFunctionTest, ConcurrentInvocationsAllSucceed) {
    WebhookFunction fn(spec_for(server_->url("/ok")));
    std::vector<std::thread> threads;
    threads.reserve(4);
    std::atomic<int> succeeded{0};
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

// A handler that is not an http(s) URL fails cleanly instead of reaching other protocols.
TEST_F(WebhookFunctionTest, NonHttpHandlerFails) {
    WebhookFunction fn(spec_for("file:///etc/passwd"));
    auto result = fn.invoke(three_records(), context());
    EXPECT_FALSE(result.ok);
    EXPECT_EQ(result.response, "");
}

}  // namespace
}  // namespace hirestream::triggers
