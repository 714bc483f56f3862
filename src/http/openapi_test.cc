#include <filesystem>
#include <set>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/ids.h"
#include "http/api_context.h"
#include "http/handlers/handlers.h"
#include "http/openapi_document.h"
#include "store/sqlite/sqlite_store.h"

namespace hirestream::http {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The served document is OpenAPI 3.0 JSON, documents exactly the routes the service registers
// (both ways), marks open routes with `security: []`, and lists 401 and 403 on protected ones:
// a route added without documentation, or documentation of a route that is gone, fails here.
TEST(OpenApi, DocumentsEveryRegisteredRouteAndNothingElse) {
    boost::system::error_code ec;
    auto doc = json::parse(openapi_document(), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(doc.is_object());
    EXPECT_TRUE(std::string(doc.at("openapi").as_string()).starts_with("3.0."));
    ASSERT_TRUE(doc.at("components").at("securitySchemes").as_object().contains("apiKey"));
    EXPECT_EQ(doc.at("components").at("securitySchemes").at("apiKey").at("name"), "x-api-key");

    const auto dir = fs::temp_directory_path() / ("hirestream-openapi-test-" + random_hex(8));
    fs::create_directories(dir);
    ManualClock clock;
    auto store = store::SqliteStore::open({(dir / "h.db").string()}, clock).value();
    ApiContext ctx{*store, clock, "candidates-test", {}, 1, 64 * 1024, nullptr, nullptr,
                   1024, {}, {}, {}, nullptr, false, {}, "assignment1", {}, {}};
    Router router;
    add_api_routes(router, ctx);

    std::set<std::pair<std::string, std::string>> registered, documented;
    for (const auto& r : router.routes()) {
        registered.emplace(lower(r.method), r.pattern);
        const auto* path = doc.at("paths").as_object().if_contains(r.pattern);
        const auto* op = path ? path->as_object().if_contains(lower(r.method)) : nullptr;
        if (!op) continue;  // reported below
        const auto* security = op->as_object().if_contains("security");
        const auto& responses = op->at("responses").as_object();
        if (r.access == Access::open) {
            EXPECT_TRUE(security && security->as_array().empty())
                << r.method << " " << r.pattern << " is open: document security: []";
        } else {
            EXPECT_FALSE(security) << r.method << " " << r.pattern << " needs the default security";
            EXPECT_TRUE(responses.contains("401")) << r.method << " " << r.pattern;
            if (r.access == Access::admin) {
                EXPECT_TRUE(responses.contains("403")) << r.method << " " << r.pattern;
            }
        }
    }
    for (const auto& [path, item] : doc.at("paths").as_object()) {
        for (const auto& [method, op] : item.as_object()) {
            if (method == "parameters") continue;
            documented.emplace(std::string(method), std::string(path));
            EXPECT_TRUE(op.as_object().contains("responses")) << method << " " << path;
        }
    }
    for (const auto& r : registered) {
        EXPECT_TRUE(documented.count(r)) << "undocumented route: " << r.first << " " << r.second;
    }
    for (const auto& d : documented) {
        EXPECT_TRUE(registered.count(d)) << "documented but not served: " << d.first << " "
                                         << d.second;
    }
    store.reset();
    std::error_code rm;
    fs::remove_all(dir, rm);
}

}  // namespace
}  // namespace hirestream::http
