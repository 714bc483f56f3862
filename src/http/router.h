#pragma once
// Router: maps (method, path pattern) to handlers. Patterns are literal segments and {name}
// captures of one segment, e.g. "/candidates/{id}". Unknown paths answer 404, a known path with
// another method 405 with an Allow header; a handler's Error becomes its JSON error (one
// mapping, error_response.h); an exception becomes a logged 500.
// Built at start-up, then read-only: dispatch() is thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "common/result.h"
#include "http/message.h"

namespace hirestream::http {

using Handler = std::function<Result<Response>(Request&)>;

class Router {
public:
    // `max_body_bytes` > 0 gives the route its own body bound instead of the server's (e.g. a
    // zip upload); 0 keeps the server's.
    void add(std::string method, std::string pattern, Handler handler,
             std::size_t max_body_bytes = 0);
    // The body bound of the route a request would reach, or `fallback` when it has none of its
    // own (or no route matches). Asked by the server once the headers are read.
    std::size_t body_limit(std::string_view method, std::string_view path,
                           std::size_t fallback) const;
    Response dispatch(Request& request) const;
    // Every (method, pattern) registered, for documentation and tests.
    std::vector<std::pair<std::string, std::string>> routes() const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        Handler handler;
        std::size_t max_body_bytes = 0;
    };
    std::vector<Route> routes_;
};

}  // namespace hirestream::http
