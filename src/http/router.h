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
    void add(std::string method, std::string pattern, Handler handler);
    Response dispatch(Request& request) const;
    // Every (method, pattern) registered, for documentation and tests.
    std::vector<std::pair<std::string, std::string>> routes() const;

private:
    struct Route {
        std::string method;
        std::string pattern;
        std::vector<std::string> segments;
        Handler handler;
    };
    std::vector<Route> routes_;
};

}  // namespace hirestream::http
