#pragma once
// Router: maps (method, path pattern) to handlers. Patterns are literal segments and {name}
// captures of one segment, e.g. "/candidates/{id}". A path belongs to the first pattern
// registered that matches it (register "/candidates/changes" before "/candidates/{id}"); only
// that pattern's methods serve it, so PATCH /candidates/changes is a 405, not a lookup of the
// candidate "changes". Unknown paths answer 404, a known path with
// another method 405 with an Allow header; a handler's Error becomes its JSON error (one
// mapping, error_response.h); an exception becomes a logged 500.
// Each route declares who may call it (Access); before a handler runs, the guard (set by app)
// decides, so no handler checks credentials itself. CORS: requests from an allowed Origin get
// the CORS headers, and their preflight OPTIONS is answered here.
// Built at start-up, then read-only: dispatch() is thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/message.h"

namespace hirestream::http {

using Handler = std::function<Result<Response>(Request&)>;

// A handler's result as the client gets it: the response, or its error as the one JSON error
// (error_response.h), logged when it is internal or unavailable. For answers that come later
// (Response::deferred), so they are mapped exactly as the router maps immediate ones.
Response answer(Result<Response> result, std::string_view method, std::string_view path);

// Who may call a route: anyone, or a valid API key of at least that role.
enum class Access { open, recruiter, admin };
std::string_view access_text(Access access);  // "open" | "recruiter" | "admin"

// Decides whether the request may reach a route of that access: nullopt lets it through (the
// guard may fill Request::api_key_id), a Response refuses it (401, 403, 429). Called for every
// matched route, open ones included. Must be thread-safe.
using Guard = std::function<std::optional<Response>(Request&, Access)>;

struct RouteInfo {
    std::string method;
    std::string pattern;
    Access access = Access::open;
};

class Router {
public:
    // `max_body_bytes` > 0 gives the route its own body bound instead of the server's (e.g. a
    // zip upload); 0 keeps the server's.
    void add(std::string method, std::string pattern, Access access, Handler handler,
             std::size_t max_body_bytes = 0);
    // Set before serving; without one every route is open.
    void set_guard(Guard guard) { guard_ = std::move(guard); }
    // Origins (e.g. "https://app.example.com") allowed to call the API from a browser; empty:
    // no CORS headers at all.
    void set_cors_origins(std::vector<std::string> origins) { cors_origins_ = std::move(origins); }
    // The body bound of the route a request would reach, or `fallback` when it has none of its
    // own (or no route matches). Asked by the server once the headers are read.
    std::size_t body_limit(std::string_view method, std::string_view path,
                           std::size_t fallback) const;
    Response dispatch(Request& request) const;
    // Every route registered, in registration order, for documentation and tests.
    std::vector<RouteInfo> routes() const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        Access access = Access::open;
        Handler handler;
        std::size_t max_body_bytes = 0;
    };
    Response route(Request& request) const;
    // The pattern of the first route matching the path, whatever its method; null when none.
    const std::string* path_pattern(const std::vector<std::string>& segments) const;
    bool cors_allowed(std::string_view origin) const;

    std::vector<Route> routes_;
    Guard guard_;
    std::vector<std::string> cors_origins_;
};

}  // namespace hirestream::http
