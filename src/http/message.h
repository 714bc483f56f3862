#pragma once
// Request and Response as handlers see them: plain values, free of the HTTP library, so handler
// files compile fast and can be tested without a socket.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hirestream::http {

struct Request {
    std::string method;  // "GET", "POST", ...
    std::string path;    // percent-decoded path, without the query
    std::map<std::string, std::string> query;  // decoded; last value wins
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;
    std::map<std::string, std::string> params;  // from the route pattern, e.g. {id}
    std::string remote_address;                 // the peer's IP address, e.g. "127.0.0.1"
    std::string api_key_id;  // the id of the API key that authenticated it; empty when none did

    // The first header of that (lower-case) name, or nullopt.
    std::optional<std::string_view> header(std::string_view lower_name) const;
    std::optional<std::string_view> query_param(const std::string& name) const;
    const std::string& param(const std::string& name) const { return params.at(name); }
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Location
};

}  // namespace hirestream::http
