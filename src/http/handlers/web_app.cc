// The recruiter web app: static files embedded in the binary (web/, web_assets.h), served open
// (the app itself asks for an API key and sends it with every API call). Hash routing
// (#/candidates) keeps the server's side to these fixed paths.

#include "http/handlers/handlers.h"
#include "http/web_assets.h"

namespace hirestream::http {
namespace {

// No inline script or style, nothing from another origin: the app's own files and API only.
// Emails on the outbox page render in a sandboxed srcdoc iframe, which inherits this policy,
// so they cannot run script or load a remote image either. blob: lets attachments download.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-src 'self' blob:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

Response serve(const WebAsset& asset, const Request& req) {
    Response r;
    // no-cache: the browser revalidates each time (ETag), so a new binary's files are used at
    // once; the file names carry no version to cache them forever by.
    r.headers = {{"Cache-Control", "no-cache"},
                 {"ETag", std::string(asset.etag)},
                 {"Content-Security-Policy", kContentSecurityPolicy},
                 {"X-Content-Type-Options", "nosniff"},
                 {"Referrer-Policy", "no-referrer"}};
    if (auto tag = req.header("if-none-match"); tag && *tag == asset.etag) {
        r.status = 304;
        r.content_type.clear();
        return r;
    }
    r.content_type = std::string(asset.content_type);
    r.body = std::string(asset.body);
    return r;
}

}  // namespace

void add_web_app_routes(Router& router) {
    for (const auto& asset : web_assets()) {
        const std::string path = asset.path == "/index.html" ? "/" : std::string(asset.path);
        router.add("GET", path, Access::open,
                   [&asset](Request& r) -> Result<Response> { return serve(asset, r); });
    }
}

}  // namespace hirestream::http
