#pragma once
// HttpServer: an asynchronous HTTP/1.1 server (Boost.Beast on Asio) in front of a Router.
// Explicit bounds: header and body sizes, a timeout on every read and write, keep-alive with
// an idle timeout, and a cap on open connections. A body over the limit answers 413, oversized
// headers 431, malformed requests 400, all as JSON errors.
//
// Lifecycle: start() binds and launches `threads` I/O threads; stop() is idempotent, closes
// the listener and waits for the threads. Beast stays inside server.cc.

#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "http/router.h"

namespace hirestream::http {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0 picks a free port
    int threads = 2;
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    int idle_timeout_seconds = 60;
    int request_timeout_seconds = 30;
    int max_connections = 10'000;
};

class HttpServer {
public:
    HttpServer(ServerOptions options, const Router& router);
    ~HttpServer();

    // Binds and starts serving: listen() then serve(). Returns the bound port. Fails with
    // unavailable when the address cannot be bound (naming it).
    Result<int> start();
    // Binds the port (so its number is known, e.g. for links) without serving: connections
    // wait in the kernel's backlog until serve(), so no request meets a half-started service.
    Result<int> listen();
    void serve();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hirestream::http
