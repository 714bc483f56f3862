// The request target of an HTTP request ("/candidates/{id}?limit=..."), then routing and the
// shared query parameters, as the server runs them on what a client sends.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/handlers/params.h"
#include "http/request_target.h"
#include "http/router.h"

namespace {

const hirestream::http::Router& router() {
    static const hirestream::http::Router r = [] {
        hirestream::http::Router r;
        auto ok = [](hirestream::http::Request& req) -> hirestream::Result<hirestream::http::Response> {
            if (auto limit = hirestream::http::limit_param(req, 20, 100); !limit) {
                return hirestream::fail(limit.error());
            }
            for (const auto& [name, value] : req.params) {
                (void)hirestream::http::positive_id(value, name.c_str());
            }
            return hirestream::http::Response{};
        };
        for (const char* pattern : {"/candidates", "/candidates/{id}", "/streams/{table}/records",
                                    "/d/{token}", "/functions/{name}/dead-letters/{id}/redrive"}) {
            r.add("GET", pattern, hirestream::http::Access::open, ok);
        }
        r.add("PUT", "/assignments/{name}", hirestream::http::Access::open, ok, 1024);
        return r;
    }();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view target(reinterpret_cast<const char*>(data), size);
    hirestream::http::Request request;
    request.method = size % 2 ? "GET" : "PUT";
    if (!hirestream::http::parse_target(target, request)) return 0;
    (void)router().body_limit(request.method, request.path, 64 * 1024);
    (void)router().dispatch(request);
    return 0;
}
