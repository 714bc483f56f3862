#include "http/router.h"

#include <gtest/gtest.h>

namespace hirestream::http {
namespace {

Request request(std::string method, std::string path) {
    Request r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
}

// Path captures reach the handler; errors become the one JSON error shape.
TEST(Router, CapturesParamsAndMapsErrors) {
    Router router;
    router.add("GET", "/candidates/{id}", Access::open, [](Request& r) -> Result<Response> {
        if (r.param("id") == "missing") return fail(Errc::not_found, "no such candidate", "id");
        Response ok;
        ok.body = r.param("id");
        return ok;
    });
    auto found = request("GET", "/candidates/abc");
    EXPECT_EQ(router.dispatch(found).body, "abc");
    auto missing = request("GET", "/candidates/missing");
    auto res = router.dispatch(missing);
    EXPECT_EQ(res.status, 404);
    EXPECT_EQ(res.body,
              R"({"error":{"code":"not_found","message":"no such candidate","field":"id"}})");
}

// A known path with the wrong method is a 405 with Allow; an unknown one a 404.
TEST(Router, WrongMethodIs405AndUnknownPathIs404) {
    Router router;
    router.add("GET", "/candidates", Access::open, [](Request&) -> Result<Response> { return Response{}; });
    router.add("POST", "/candidates", Access::open, [](Request&) -> Result<Response> { return Response{}; });
    auto del = request("DELETE", "/candidates");
    auto res = router.dispatch(del);
    EXPECT_EQ(res.status, 405);
    ASSERT_EQ(res.headers.size(), 1u);
    EXPECT_EQ(res.headers[0].second, "GET, POST");
    auto unknown = request("GET", "/nope");
    EXPECT_EQ(router.dispatch(unknown).status, 404);
}

// A literal path registered before a capture owns that path: its methods alone serve it, so
// PATCH /candidates/changes is a 405 (Allow: GET), never the candidate named "changes".
TEST(Router, ALiteralPathIsNotTakenByALaterCapture) {
    Router router;
    auto named = [](const char* name) {
        return [name](Request&) -> Result<Response> {
            Response r;
            r.body = name;
            return r;
        };
    };
    router.add("GET", "/candidates/changes", Access::open, named("changes"));
    router.add("GET", "/candidates/{id}", Access::open, named("one"));
    router.add("PATCH", "/candidates/{id}", Access::open, named("patch"));
    auto get = request("GET", "/candidates/changes");
    EXPECT_EQ(router.dispatch(get).body, "changes");
    auto patch = request("PATCH", "/candidates/changes");
    auto res = router.dispatch(patch);
    EXPECT_EQ(res.status, 405);
    ASSERT_EQ(res.headers.size(), 1u);
    EXPECT_EQ(res.headers[0].second, "GET");
    auto other = request("PATCH", "/candidates/abc");
    EXPECT_EQ(router.dispatch(other).body, "patch");
}

// A handler that throws yields a 500 without its message, never a crash.
TEST(Router, ExceptionBecomesGeneric500) {
    Router router;
    router.add("GET", "/boom", Access::open, [](Request&) -> Result<Response> {
        throw std::runtime_error("secret detail");
    });
    auto r = request("GET", "/boom");
    auto res = router.dispatch(r);
    EXPECT_EQ(res.status, 500);
    EXPECT_EQ(res.body.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace hirestream::http
