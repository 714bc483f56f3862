#include <set>

#include <gtest/gtest.h>

#include "http/handlers/handlers.h"
#include "http/web_assets.h"

namespace hirestream::http {
namespace {

std::string header_of(const Response& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
        if (k == name) return v;
    }
    return {};
}

Response get(const Router& router, const std::string& path,
             std::vector<std::pair<std::string, std::string>> headers = {}) {
    Request req;
    req.method = "GET";
    req.path = path;
    req.headers = std::move(headers);
    return router.dispatch(req);
}

// The web app is served by the binary itself: index.html at /, every file with its type, a
// Content-Security-Policy that allows no inline script and nothing from elsewhere, and an ETag
// the browser revalidates with (304).
TEST(WebApp, ServesEveryFileWithItsTypeAStrictPolicyAndRevalidation) {
    Router router;
    add_web_app_routes(router);
    ASSERT_GE(web_assets().size(), 4u);
    auto index = get(router, "/");
    EXPECT_EQ(index.status, 200);
    EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
    EXPECT_NE(index.body.find("<script type=\"module\" src=\"/js/app.js\">"), std::string::npos);
    for (const auto& asset : web_assets()) {
        const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
        auto r = get(router, path);
        EXPECT_EQ(r.status, 200) << path;
        EXPECT_EQ(r.body, asset.body) << path;
        EXPECT_FALSE(r.body.empty()) << path;
        EXPECT_EQ(r.content_type, asset.content_type) << path;
        const auto csp = header_of(r, "Content-Security-Policy");
        EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
        EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
        EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << csp;
        EXPECT_EQ(header_of(r, "Cache-Control"), "no-cache") << path;
        EXPECT_EQ(header_of(r, "X-Content-Type-Options"), "nosniff") << path;
        auto again = get(router, path, {{"if-none-match", header_of(r, "ETag")}});
        EXPECT_EQ(again.status, 304) << path;
        EXPECT_TRUE(again.body.empty()) << path;
    }
    EXPECT_EQ(get(router, "/js/nope.js").status, 404);
    EXPECT_EQ(get(router, "/README.md").status, 404);  // only the app's own file types
}

// The app's paths and the API's never overlap, so neither can shadow the other whatever the
// order they are registered in.
TEST(WebApp, PathsStayClearOfTheApi) {
    Router api;
    Router web;
    add_openapi_routes(api);
    add_web_app_routes(web);
    std::set<std::string> first_segments = {"candidates", "streams", "d", "assignments", "rules",
                                            "functions", "emails", "suppressions", "outbox",
                                            "keys", "healthz", "metrics", "openapi.json"};
    for (const auto& r : web.routes()) {
        EXPECT_EQ(r.access, Access::open) << r.pattern;
        const auto first = r.pattern.substr(1, r.pattern.find('/', 1) - 1);
        EXPECT_FALSE(first_segments.count(first)) << r.pattern;
    }
}

}  // namespace
}  // namespace hirestream::http
