#include "http/router.h"

#include <algorithm>
#include <exception>

#include <spdlog/spdlog.h>

#include "http/error_response.h"

namespace hirestream::http {
namespace {

std::vector<std::string> split_path(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 1;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        out.emplace_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool match(const std::vector<std::string>& pattern, const std::vector<std::string>& segments,
           std::map<std::string, std::string>& params) {
    if (pattern.size() != segments.size()) return false;
    std::map<std::string, std::string> captured;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        const auto& p = pattern[i];
        if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
            if (segments[i].empty()) return false;
            captured[p.substr(1, p.size() - 2)] = segments[i];
        } else if (p != segments[i]) {
            return false;
        }
    }
    params = std::move(captured);
    return true;
}

}  // namespace

std::optional<std::string_view> Request::header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
        if (name == lower_name) return std::string_view(value);
    }
    return std::nullopt;
}

std::optional<std::string_view> Request::query_param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return std::string_view(it->second);
}

std::string_view access_text(Access access) {
    switch (access) {
        case Access::open: return "open";
        case Access::recruiter: return "recruiter";
        case Access::admin: return "admin";
    }
    return "admin";
}

void Router::add(std::string method, std::string pattern, Access access, Handler handler,
                 std::size_t max_body_bytes) {
    auto segments = split_path(pattern);
    routes_.push_back({std::move(method), std::move(pattern), std::move(segments), access,
                       std::move(handler), max_body_bytes});
}

bool Router::cors_allowed(std::string_view origin) const {
    return std::find(cors_origins_.begin(), cors_origins_.end(), origin) != cors_origins_.end();
}

std::size_t Router::body_limit(std::string_view method, std::string_view path,
                               std::size_t fallback) const {
    const auto segments = split_path(path);
    for (const auto& route : routes_) {
        std::map<std::string, std::string> params;
        if (route.method != method || !match(route.segments, segments, params)) continue;
        return route.max_body_bytes > 0 ? route.max_body_bytes : fallback;
    }
    return fallback;
}

std::vector<RouteInfo> Router::routes() const {
    std::vector<RouteInfo> out;
    for (const auto& r : routes_) out.push_back({r.method, r.pattern, r.access});
    return out;
}

Response answer(Result<Response> result, std::string_view method, std::string_view path) {
    if (result) return std::move(*result);
    if (result.error().code == Errc::internal || result.error().code == Errc::unavailable) {
        spdlog::error("request failed method={} path={} code={} error=\"{}\"", method, path,
                      errc_name(result.error().code), result.error().message);
    }
    return error_response(result.error());
}

const std::string* Router::path_pattern(const std::vector<std::string>& segments) const {
    for (const auto& r : routes_) {
        std::map<std::string, std::string> params;
        if (match(r.segments, segments, params)) return &r.pattern;
    }
    return nullptr;
}

Response Router::dispatch(Request& request) const {
    const auto origin = request.header("origin");
    const bool cors = origin && cors_allowed(*origin);
    // A browser's preflight (Fetch standard, CORS protocol): no credentials are sent with it,
    // so it is answered before any key check, with the methods this path has.
    if (cors && request.method == "OPTIONS" && request.header("access-control-request-method")) {
        std::string methods;
        if (const auto* pattern = path_pattern(split_path(request.path))) {
            for (const auto& r : routes_) {
                if (r.pattern == *pattern) methods += (methods.empty() ? "" : ", ") + r.method;
            }
        }
        if (!methods.empty()) {
            Response preflight;
            preflight.status = 204;
            preflight.content_type.clear();
            preflight.headers = {{"Access-Control-Allow-Origin", std::string(*origin)},
                                 {"Access-Control-Allow-Methods", methods},
                                 {"Access-Control-Allow-Headers",
                                  "x-api-key, content-type, idempotency-key"},
                                 {"Access-Control-Max-Age", "600"},
                                 {"Vary", "Origin"}};
            return preflight;
        }
    }
    auto response = route(request);
    if (cors) {
        auto add_cors = [allowed = std::string(*origin)](Response& r) {
            r.headers.emplace_back("Access-Control-Allow-Origin", allowed);
            r.headers.emplace_back("Access-Control-Expose-Headers", "Location, Retry-After");
            r.headers.emplace_back("Vary", "Origin");
        };
        if (response.deferred) {
            // The headers belong on the answer that comes later.
            response.deferred = [later = std::move(response.deferred), add_cors](auto reply) {
                later([reply = std::move(reply), add_cors](std::function<Response()> make) {
                    reply([make = std::move(make), add_cors] {
                        Response r = make();
                        add_cors(r);
                        return r;
                    });
                });
            };
        } else {
            add_cors(response);
        }
    }
    return response;
}

Response Router::route(Request& request) const {
    const auto segments = split_path(request.path);
    const auto* pattern = path_pattern(segments);
    std::string allowed;
    for (const auto& route : routes_) {
        std::map<std::string, std::string> params;
        if (!pattern || route.pattern != *pattern || !match(route.segments, segments, params)) {
            continue;
        }
        if (route.method != request.method &&
            !(request.method == "HEAD" && route.method == "GET")) {
            allowed += (allowed.empty() ? "" : ", ") + route.method;
            continue;
        }
        request.params = std::move(params);
        if (guard_) {
            if (auto refused = guard_(request, route.access)) return std::move(*refused);
        }
        try {
            return answer(route.handler(request), request.method, request.path);
        } catch (const std::exception& e) {
            spdlog::error("handler threw method={} path={} error=\"{}\"", request.method,
                          request.path, e.what());
            return error_response(Error(Errc::internal, "internal error"));
        }
    }
    if (!allowed.empty()) {
        auto r = error_response(Error(Errc::invalid_argument,
                                      "method " + request.method + " is not allowed here"));
        r.status = 405;
        r.headers.emplace_back("Allow", allowed);
        return r;
    }
    return error_response(Error(Errc::not_found, "no such resource: " + request.path));
}

}  // namespace hirestream::http
