#include <filesystem>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/ids.h"
#include "http/api_key_guard.h"
#include "http/api_keys.h"
#include "http/auth_failure_limiter.h"
#include "http/idempotency.h"
#include "http/router.h"
#include "store/sqlite/sqlite_store.h"

namespace hirestream::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A real store in a temporary folder, a manual clock and a router guarded by ApiKeyGuard.
class AuthTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("hirestream-auth-test-" + random_hex(8));
        fs::create_directories(dir_);
        store_ = std::move(store::SqliteStore::open({(dir_ / "h.db").string()}, clock_).value());
        guard_ = std::make_unique<ApiKeyGuard>(*store_, clock_, 5);
        router_.set_guard([this](Request& r, Access a) { return guard_->check(r, a); });
        for (auto [path, access] : {std::pair{"/open", Access::open},
                                    std::pair{"/candidates", Access::recruiter},
                                    std::pair{"/admin", Access::admin}}) {
            router_.add("GET", path, access, [](Request& r) -> Result<Response> {
                Response ok;
                ok.body = r.api_key_id;
                return ok;
            });
        }
    }
    void TearDown() override {
        guard_.reset();
        store_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    std::string add_key(store::Role role) {
        auto issued = issue_api_key(role, "test", clock_.now_ms());
        EXPECT_TRUE(store_->add_api_key(issued.key));
        return issued.secret;
    }

    Response get(const std::string& path, const std::string& key = {},
                 const std::string& client = "192.0.2.1") {
        Request r;
        r.method = "GET";
        r.path = path;
        r.remote_address = client;
        if (!key.empty()) r.headers.emplace_back("x-api-key", key);
        return router_.dispatch(r);
    }

    fs::path dir_;
    ManualClock clock_{1'780'000'000'000};
    std::unique_ptr<store::SqliteStore> store_;
    std::unique_ptr<ApiKeyGuard> guard_;
    Router router_;
};

// Open routes need no key; protected ones answer 401 without a valid key, 403 for a recruiter
// key on an admin route; a valid key reaches the handler, which learns the key's id.
TEST_F(AuthTest, RoutesAnswerByTheirAccessAndTheKeysRole) {
    const auto recruiter = add_key(store::Role::recruiter);
    const auto admin = add_key(store::Role::admin);
    EXPECT_EQ(get("/open").status, 200);
    auto missing = get("/candidates");
    EXPECT_EQ(missing.status, 401);
    EXPECT_NE(missing.body.find("\"code\":\"unauthenticated\""), std::string::npos);
    EXPECT_EQ(get("/candidates", "hs_not-a-key").status, 401);
    auto ok = get("/candidates", recruiter);
    EXPECT_EQ(ok.status, 200);
    EXPECT_TRUE(ok.body.starts_with("key_")) << ok.body;
    auto forbidden = get("/admin", recruiter);
    EXPECT_EQ(forbidden.status, 403);
    EXPECT_NE(forbidden.body.find("\"code\":\"forbidden\""), std::string::npos);
    EXPECT_EQ(get("/admin", admin).status, 200);
    EXPECT_EQ(get("/candidates", admin).status, 200);
}

// A revoked key is refused at once (the guard reads the store, which another process may have
// written); a use is recorded at most once a minute.
TEST_F(AuthTest, RevokedKeyIsRefusedAndUseIsRecorded) {
    auto issued = issue_api_key(store::Role::recruiter, "r", clock_.now_ms());
    ASSERT_TRUE(store_->add_api_key(issued.key));
    EXPECT_EQ(get("/candidates", issued.secret).status, 200);
    EXPECT_EQ(store_->list_api_keys().value()[0].last_used_ms, clock_.now_ms());
    ASSERT_TRUE(store_->revoke_api_key(issued.key.id, clock_.now_ms()));
    EXPECT_EQ(get("/candidates", issued.secret).status, 401);
}

// After 5 bad keys in a minute an address gets 429 with Retry-After, even with a good key;
// other addresses are not affected; the window ends.
TEST_F(AuthTest, RepeatedBadKeysFromOneAddressAreSlowedDown) {
    const auto good = add_key(store::Role::recruiter);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(get("/candidates", "bad" + std::to_string(i)).status, 401);
    auto limited = get("/candidates", good);
    EXPECT_EQ(limited.status, 429);
    bool retry_after = false;
    for (const auto& [name, value] : limited.headers) {
        if (name == "Retry-After") retry_after = value == "60";
    }
    EXPECT_TRUE(retry_after);
    EXPECT_EQ(get("/candidates", good, "192.0.2.99").status, 200);
    clock_.advance(61s);
    EXPECT_EQ(get("/candidates", good).status, 200);
}

// The limiter's memory is bounded: the least recently seen address is forgotten first.
TEST(AuthFailureLimiter, KeepsAtMostMaxClients) {
    ManualClock clock;
    AuthFailureLimiter limiter(clock, 1, 60s, 2);
    limiter.record_failure("a");
    limiter.record_failure("b");
    limiter.record_failure("a");
    limiter.record_failure("c");  // forgets b
    EXPECT_EQ(limiter.tracked(), 2u);
    EXPECT_GT(limiter.blocked_for_ms("a"), 0);
    EXPECT_EQ(limiter.blocked_for_ms("b"), 0);
    EXPECT_GT(limiter.blocked_for_ms("c"), 0);
}

// Secrets are hs_ + 43 base64url characters, different each time; configured keys get a stable
// id that is not a prefix of their hash.
TEST(ApiKeys, IssuedSecretsAreRandomAndConfiguredIdsStable) {
    auto a = issue_api_key(store::Role::admin, "a", 1);
    auto b = issue_api_key(store::Role::admin, "b", 1);
    EXPECT_EQ(a.secret.size(), 3u + 43u);
    EXPECT_TRUE(a.secret.starts_with("hs_"));
    EXPECT_NE(a.secret, b.secret);
    EXPECT_EQ(a.key.hash, api_key_hash(a.secret));
    auto c1 = configured_api_key("a-configured-secret-of-24+", store::Role::admin, "c", 1);
    auto c2 = configured_api_key("a-configured-secret-of-24+", store::Role::admin, "c", 2);
    EXPECT_EQ(c1.id, c2.id);
    EXPECT_EQ(c1.id.find(c1.hash.substr(0, 8)), std::string::npos);
}

// A retry with the same Idempotency-Key and body replays the first answer without running the
// handler; another body is a 409 naming the header; without the header every call runs.
TEST_F(AuthTest, IdempotencyKeyReplaysTheFirstAnswer) {
    int runs = 0;
    auto handler = [&runs](Request&) -> Result<Response> {
        ++runs;
        Response r;
        r.status = 201;
        r.body = "{\"n\":" + std::to_string(runs) + "}";
        r.headers.emplace_back("Location", "/candidates/" + std::to_string(runs));
        return r;
    };
    auto post = [&](const std::string& body, const std::string& key) {
        Request r;
        r.method = "POST";
        r.path = "/candidates";
        r.body = body;
        r.api_key_id = "key_1";
        if (!key.empty()) r.headers.emplace_back("idempotency-key", key);
        return run_idempotent(*store_, clock_, r, handler);
    };
    auto first = post("{}", "abc");
    ASSERT_TRUE(first);
    auto again = post("{}", "abc");
    ASSERT_TRUE(again);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(again->status, 201);
    EXPECT_EQ(again->body, first->body);
    EXPECT_EQ(again->headers[0], first->headers[0]);
    auto other = post("{\"x\":1}", "abc");
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().code, Errc::conflict);
    EXPECT_EQ(other.error().field, "Idempotency-Key");
    EXPECT_EQ(post("{}", "bad key").error().code, Errc::invalid_argument);
    ASSERT_TRUE(post("{}", ""));
    EXPECT_EQ(runs, 2);
    clock_.advance(25h);
    ASSERT_TRUE(post("{}", "abc"));
    EXPECT_EQ(runs, 3);
}

// CORS: an allowed origin's preflight is answered with the path's methods and the key header,
// without a key; other origins get no CORS headers.
TEST_F(AuthTest, CorsPreflightForAllowedOriginsOnly) {
    router_.set_cors_origins({"https://app.example.com"});
    Request pre;
    pre.method = "OPTIONS";
    pre.path = "/candidates";
    pre.headers = {{"origin", "https://app.example.com"},
                   {"access-control-request-method", "GET"}};
    auto r = router_.dispatch(pre);
    EXPECT_EQ(r.status, 204);
    std::map<std::string, std::string> h(r.headers.begin(), r.headers.end());
    EXPECT_EQ(h["Access-Control-Allow-Origin"], "https://app.example.com");
    EXPECT_EQ(h["Access-Control-Allow-Methods"], "GET");
    EXPECT_NE(h["Access-Control-Allow-Headers"].find("x-api-key"), std::string::npos);
    pre.headers[0].second = "https://evil.example.com";
    auto refused = router_.dispatch(pre);
    EXPECT_NE(refused.status, 204);
    for (const auto& [name, value] : refused.headers) {
        EXPECT_NE(name, "Access-Control-Allow-Origin");
    }
}

}  // namespace
}  // namespace hirestream::http
