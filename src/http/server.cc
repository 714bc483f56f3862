#include "http/server.h"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/thread_name.h"
#include "http/error_response.h"
#include "http/request_target.h"

namespace hirestream::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// Malformed requests are logged at warn, at most once a second with how many more were refused
// meanwhile, so a flood of garbage cannot flood the log.
void log_refusal(const std::string& what) {
    static std::atomic<std::int64_t> last_ms{0};
    static std::atomic<std::uint64_t> suppressed{0};
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    auto last = last_ms.load();
    if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) {
        ++suppressed;
        return;
    }
    spdlog::warn("request refused reason=malformed error=\"{}\" also_refused_last_second={}", what,
                 suppressed.exchange(0));
}

class Session : public std::enable_shared_from_this<Session> {
public:
    Session(tcp::socket socket, const Router& router, const ServerOptions& options,
            std::atomic<int>& connections)
        : stream_(std::move(socket)),
          // The read buffer must hold the whole header block, or Beast stops at the buffer's
          // size ("buffer overflow") before it reaches header_limit; a little more so a body
          // that starts in the same segment fits too.
          buffer_(options.max_header_bytes + 8192),
          router_(router),
          options_(options),
          connections_(connections) {}

    ~Session() {
        if (body_stream_) body_stream_->cancel();
        --connections_;
    }

    void run() {
        asio::dispatch(stream_.get_executor(),
                       beast::bind_front_handler(&Session::read, shared_from_this()));
    }

private:
    void read() {
        parser_.emplace();
        // Unbounded only until the headers are in: Beast checks Content-Length against the
        // limit while parsing them, before on_header could pick the route's bound.
        parser_->body_limit(boost::none);
        body_limit_ = options_.max_body_bytes;
        parser_->header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
        // The idle timeout covers a keep-alive connection waiting for its next request and a
        // client that trickles its request (slowloris): either way the connection is closed.
        stream_.expires_after(std::chrono::seconds(
            first_request_ ? options_.request_timeout_seconds : options_.idle_timeout_seconds));
        // Headers first: the body bound depends on the route (an upload has its own).
        bhttp::async_read_header(
            stream_, buffer_, *parser_,
            beast::bind_front_handler(&Session::on_header, shared_from_this()));
    }

    void on_header(beast::error_code ec, std::size_t bytes) {
        if (ec) return on_read(ec, bytes);
        Request probe;
        if (parse_target(parser_->get().target(), probe)) {
            body_limit_ = router_.body_limit(parser_->get().method_string(), probe.path,
                                             options_.max_body_bytes);
        }
        parser_->body_limit(body_limit_);
        // Beast compares Content-Length with the limit only while parsing the headers, so a
        // declared length is checked here; chunked bodies are bounded by body_limit as read.
        if (auto length = parser_->content_length(); length && *length > body_limit_) {
            return on_read(bhttp::error::body_limit, 0);
        }
        bhttp::async_read(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&Session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t) {
        first_request_ = false;
        if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
            ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
            return close();
        }
        if (ec == bhttp::error::body_limit) {
            spdlog::warn("request refused reason=body_limit limit={}", body_limit_);
            return reply_and_close(error_response(
                Error(Errc::too_large, fmt::format("request body exceeds {} bytes", body_limit_))));
        }
        if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
            spdlog::warn("request refused reason=header_limit limit={}",
                         options_.max_header_bytes);
            auto r = error_response(Error(Errc::too_large, "request headers are too large"));
            r.status = 431;
            return reply_and_close(std::move(r));
        }
        if (ec) {
            log_refusal(ec.message());
            return reply_and_close(
                error_response(Error(Errc::invalid_argument, "malformed HTTP request")));
        }

        auto& req = parser_->get();
        Request request;
        request.method = std::string(req.method_string());
        if (!parse_target(req.target(), request)) {
            return reply_and_close(
                error_response(Error(Errc::invalid_argument, "malformed request target")));
        }
        for (const auto& field : req) {
            std::string name(field.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            request.headers.emplace_back(std::move(name), std::string(field.value()));
        }
        request.body = std::move(req.body());
        if (remote_address_.empty()) {
            // Once per connection: the peer of a TCP connection does not change, and asking
            // is a system call.
            beast::error_code peer_error;
            const auto peer = stream_.socket().remote_endpoint(peer_error);
            if (!peer_error) remote_address_ = peer.address().to_string();
        }
        request.remote_address = remote_address_;
        keep_alive_ = req.keep_alive();
        const unsigned version = req.version();
        const bool head = req.method() == bhttp::verb::head;
        write(router_.dispatch(request), version, head);
    }

    void write(Response response, unsigned version, bool head) {
        if (response.deferred) {
            auto later = std::move(response.deferred);
            return later([self = shared_from_this(), version, head](
                             std::function<Response()> make) {
                asio::post(self->stream_.get_executor(),
                           [self, make = std::move(make), version, head] {
                               self->write(make(), version, head);
                           });
            });
        }
        if (response.stream) return write_stream(std::move(response), version);
        response_.emplace();
        auto& res = *response_;
        res.version(version);
        res.result(static_cast<unsigned>(response.status));
        res.set(bhttp::field::server, "hirestream");
        if (!response.body.empty() || response.status != 204) {
            res.set(bhttp::field::content_type, response.content_type);
        }
        for (auto& [name, value] : response.headers) res.set(name, value);
        res.body() = std::move(response.body);
        res.keep_alive(keep_alive_);
        res.prepare_payload();
        if (head) res.body().clear();
        stream_.expires_after(std::chrono::seconds(options_.request_timeout_seconds));
        bhttp::async_write(stream_, res,
                           beast::bind_front_handler(&Session::on_write, shared_from_this()));
    }

    // A streamed body (Server-Sent Events): the headers now, then each chunk as the stream
    // delivers it, chunked on HTTP/1.1 and delimited by the close on HTTP/1.0. The connection
    // is not reused afterwards.
    void write_stream(Response response, unsigned version) {
        keep_alive_ = false;
        chunked_ = version >= 11;
        body_stream_ = std::move(response.stream);
        stream_head_.emplace();
        auto& res = *stream_head_;
        res.version(version);
        res.result(static_cast<unsigned>(response.status));
        res.set(bhttp::field::server, "hirestream");
        res.set(bhttp::field::content_type, response.content_type);
        for (auto& [name, value] : response.headers) res.set(name, value);
        res.keep_alive(false);
        if (chunked_) res.chunked(true);
        stream_serializer_.emplace(res);
        stream_.expires_after(std::chrono::seconds(options_.request_timeout_seconds));
        bhttp::async_write_header(stream_, *stream_serializer_,
                                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                      if (ec) return self->end_stream();
                                      self->watch_peer();
                                      self->pull();
                                  });
    }

    // A client that leaves an idle stream is noticed by its FIN now, not at the next write
    // (which the kernel would buffer): read on the socket itself (outside the stream's
    // timeouts, which bound the writes), discarding what little a client may send.
    void watch_peer() {
        peer_buffer_ = std::make_unique<std::array<char, 512>>();
        read_peer();
    }

    void read_peer() {
        stream_.socket().async_read_some(
            asio::buffer(*peer_buffer_),
            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                self->peer_bytes_ += n;
                if (ec || self->peer_bytes_ > 65536) return self->end_stream();
                self->read_peer();
            });
    }

    void pull() {
        if (!body_stream_) return;  // ended meanwhile: the peer left while a write completed
        // Waiting for the next chunk is not the client's doing: the stream bounds the wait
        // itself (keep-alive comments), and each write has the request timeout.
        stream_.expires_never();
        body_stream_->next([self = shared_from_this()](std::optional<std::string> chunk) {
            asio::post(self->stream_.get_executor(), [self, chunk = std::move(chunk)]() mutable {
                self->on_chunk(std::move(chunk));
            });
        });
    }

    void on_chunk(std::optional<std::string> chunk) {
        if (!body_stream_) return;  // the stream ended meanwhile (write error, cancel)
        auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec) return self->end_stream();
            self->pull();
        };
        stream_.expires_after(std::chrono::seconds(options_.request_timeout_seconds));
        if (!chunk) {
            if (!chunked_) return end_stream();
            return asio::async_write(stream_, bhttp::make_chunk_last(),
                                     [self = shared_from_this()](beast::error_code, std::size_t) {
                                         self->end_stream();
                                     });
        }
        chunk_ = std::move(*chunk);
        if (chunked_) {
            asio::async_write(stream_, bhttp::make_chunk(asio::buffer(chunk_)), std::move(done));
        } else {
            asio::async_write(stream_, asio::buffer(chunk_), std::move(done));
        }
    }

    void end_stream() {
        if (body_stream_) body_stream_->cancel();
        body_stream_.reset();
        close();
    }

    void reply_and_close(Response response) {
        keep_alive_ = false;
        write(std::move(response), 11, false);
    }

    void on_write(beast::error_code ec, std::size_t) {
        if (ec) return close();
        if (!keep_alive_) return drain_and_close();
        response_.reset();
        read();
    }

    // After refusing a request, the client may still be sending its body. Closing a socket with
    // unread data makes the kernel send RST, which can destroy our answer before the client
    // reads it; so stop sending, then read and discard briefly before closing (RFC 9112 9.6).
    void drain_and_close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
        stream_.expires_after(std::chrono::seconds(2));
        drain_budget_ = 4 * options_.max_body_bytes + 65536;
        // Allocated only here: a member array would cost every idle connection 8 KiB.
        drain_buffer_ = std::make_unique<std::array<char, 8192>>();
        drain();
    }

    void drain() {
        stream_.async_read_some(
            asio::buffer(*drain_buffer_),
            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                if (ec || n >= self->drain_budget_) return self->close();
                self->drain_budget_ -= n;
                self->drain();
            });
    }

    void close() {
        beast::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.socket().close(ec);
    }

    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::optional<bhttp::response<bhttp::string_body>> response_;
    // While streaming a body (write_stream): its head, serializer, source and current chunk.
    std::optional<bhttp::response<bhttp::empty_body>> stream_head_;
    std::optional<bhttp::response_serializer<bhttp::empty_body>> stream_serializer_;
    std::shared_ptr<BodyStream> body_stream_;
    std::string chunk_;
    bool chunked_ = false;
    std::unique_ptr<std::array<char, 512>> peer_buffer_;  // while streaming only
    std::size_t peer_bytes_ = 0;
    const Router& router_;
    const ServerOptions& options_;
    std::atomic<int>& connections_;
    bool keep_alive_ = false;
    bool first_request_ = true;
    std::size_t body_limit_ = 0;  // of the request being read
    std::string remote_address_;  // the peer's address, looked up at the first request
    std::unique_ptr<std::array<char, 8192>> drain_buffer_;  // while draining only
    std::size_t drain_budget_ = 0;
};

}  // namespace

struct HttpServer::Impl {
    Impl(ServerOptions o, const Router& r)
        : options(std::move(o)), router(r), io(options.threads), acceptor(asio::make_strand(io)) {}

    void accept() {
        acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec,
                                                            tcp::socket socket) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) {
                if (connections.load() >= options.max_connections) {
                    spdlog::warn("connection refused reason=max_connections limit={}",
                                 options.max_connections);
                    beast::error_code ignored;
                    socket.close(ignored);
                } else {
                    ++connections;
                    socket.set_option(tcp::no_delay(true), ec);
                    std::make_shared<Session>(std::move(socket), router, options, connections)
                        ->run();
                }
            } else {
                // Out of file descriptors (EMFILE) and the like: accepting again at once would
                // spin and flood the log, so wait a little; established connections go on.
                spdlog::warn("accept failed error=\"{}\" retry_in_ms=100", ec.message());
                accept_pause.expires_after(std::chrono::milliseconds(100));
                accept_pause.async_wait([this](beast::error_code wait_ec) {
                    if (!wait_ec) accept();
                });
                return;
            }
            accept();
        });
    }

    ServerOptions options;
    const Router& router;
    asio::io_context io;
    tcp::acceptor acceptor;
    asio::steady_timer accept_pause{acceptor.get_executor()};
    std::atomic<int> connections{0};
    std::vector<std::thread> threads;
    bool stopped = false;
};

HttpServer::HttpServer(ServerOptions options, const Router& router)
    : impl_(std::make_unique<Impl>(std::move(options), router)) {}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::start() {
    auto port = listen();
    if (port) serve();
    return port;
}

void HttpServer::serve() {
    impl_->accept();
    for (int i = 0; i < impl_->options.threads; ++i) {
        impl_->threads.emplace_back([this] {
            name_this_thread("hs-http");
            impl_->io.run();
        });
    }
}

Result<int> HttpServer::listen() {
    auto& o = impl_->options;
    // Each connection is a file descriptor: raise the soft limit to the hard one, and keep the
    // connection cap below it with room for the database, logs, mail and pipes, so a flood of
    // clients meets the cap (a clean refusal) before EMFILE does.
    constexpr rlim_t kReserve = 128;
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
        if (limit.rlim_cur < limit.rlim_max) {
            limit.rlim_cur = limit.rlim_max;
            setrlimit(RLIMIT_NOFILE, &limit);
            getrlimit(RLIMIT_NOFILE, &limit);
        }
        if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur > kReserve &&
            static_cast<rlim_t>(o.max_connections) > limit.rlim_cur - kReserve) {
            spdlog::warn("server.maxConnections lowered from {} to {} (open file limit {})",
                         o.max_connections, limit.rlim_cur - kReserve, limit.rlim_cur);
            o.max_connections = static_cast<int>(limit.rlim_cur - kReserve);
        }
    }
    beast::error_code ec;
    auto address = asio::ip::make_address(o.host, ec);
    if (ec) {
        // A host name such as "localhost": resolve it once.
        tcp::resolver resolver(impl_->io);
        auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
        if (ec || results.empty()) {
            return fail(Errc::unavailable, fmt::format("cannot resolve '{}'", o.host),
                        "server.listen");
        }
        address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
    auto& acceptor = impl_->acceptor;
    acceptor.open(endpoint.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(endpoint, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return fail(Errc::unavailable,
                    fmt::format("cannot listen on {}:{}: {}", o.host, o.port, ec.message()),
                    "server.listen");
    }
    return static_cast<int>(acceptor.local_endpoint().port());
}

void HttpServer::stop() {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    asio::post(impl_->acceptor.get_executor(), [this] {
        beast::error_code ec;
        impl_->acceptor.close(ec);
        impl_->accept_pause.cancel();
    });
    impl_->io.stop();
    for (auto& t : impl_->threads) {
        if (t.joinable()) t.join();
    }
}

}  // namespace hirestream::http
