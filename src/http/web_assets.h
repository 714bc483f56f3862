#pragma once
// The web app's static files (web/), embedded at build time by embed_web.cmake: the binary
// serves them itself and fetches nothing at run time. Immutable; thread-safe.

#include <span>
#include <string_view>

namespace hirestream::http {

struct WebAsset {
    std::string_view path;          // "/index.html", "/js/app.js", ...
    std::string_view content_type;  // "text/javascript; charset=utf-8", ...
    std::string_view body;
    std::string_view etag;          // a quoted hash of the body, e.g. "\"3f2a...\""
};

// Every file, by path.
std::span<const WebAsset> web_assets();

}  // namespace hirestream::http
