#pragma once
// Request and Response as handlers see them: plain values, free of the HTTP library, so handler
// files compile fast and can be tested without a socket.

#include <functional>
#include <map>
#include <memory>
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

// A response body written as it is produced (Server-Sent Events). The server sends the status
// and headers at once (chunked), then asks for chunks one at a time until the body ends, the
// client goes away or the server stops. Implementations must be thread-safe: next() is called
// on an I/O thread, `deliver` may be called from any thread.
class BodyStream {
public:
    using Deliver = std::function<void(std::optional<std::string> chunk)>;
    virtual ~BodyStream() = default;
    // Asks for the next chunk. The stream calls `deliver` exactly once, now or later: with the
    // bytes to send (never empty), or with nullopt when the body has ended. The server calls
    // next() again only after the previous chunk was written.
    virtual void next(Deliver deliver) = 0;
    // The client went away or the server is stopping: no further next(); a pending deliver may
    // still come and is ignored.
    virtual void cancel() = 0;
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Location
    // When set, `body` is ignored and the body is streamed (see BodyStream); the connection
    // closes when the stream ends.
    std::shared_ptr<BodyStream> stream;
    // When set, the answer comes later (e.g. once a write's commit is durable), and this value
    // only carries it: the server calls `deferred` once with a `reply` that may be called from
    // any thread. No I/O thread waits meanwhile. `reply` takes what makes the real response;
    // the server runs it on the connection's I/O thread, so building the answer (and freeing
    // what it was built from) costs the replying thread, e.g. the database's committer, nothing.
    std::function<void(std::function<void(std::function<Response()> make)> reply)> deferred;
};

}  // namespace hirestream::http
