#include "app/service.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/function_factory.h"
#include "common/ids.h"
#include "common/metrics.h"
#include "http/api_context.h"
#include "http/api_key_guard.h"
#include "http/api_keys.h"
#include "http/handlers/handlers.h"
#include "http/server.h"
#include "mail/delivery_worker.h"
#include "mail/outbox_transport.h"
#include "mail/smtp_transport.h"
#include "store/sqlite/sqlite_store.h"
#include "stream/retention.h"
#include "triggers/event_source_mapping.h"
#include "triggers/invocation_log.h"

namespace hirestream::app {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_file(const std::string& path, const std::string& key) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(Errc::invalid_argument, fmt::format("cannot read '{}'", path), key);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// The link secret: the configured one, else one generated at the first start and kept in the
// data folder (0600), so links in emails already sent keep working after a restart.
Result<std::string> link_secret(const config::Config& c) {
    if (!c.mail.links.secret.empty()) return c.mail.links.secret;
    const auto path = (fs::path(c.data_dir) / "link-secret").string();
    if (auto existing = read_file(path, "data.dir")) {
        if (existing->size() != 32) {
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' holds {} bytes, not a 32-byte link secret", path,
                                    existing->size()),
                        "mail.links.secret");
        }
        return *existing;
    }
    const auto secret = mail::random_secret();
    const auto temp = path + ".tmp";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    const bool written = fd >= 0 &&
                         ::write(fd, secret.data(), secret.size()) ==
                             static_cast<ssize_t>(secret.size()) &&
                         ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    // Renamed into place only once complete: a crash never leaves a short secret behind.
    if (!written || ::rename(temp.c_str(), path.c_str()) != 0) {
        return fail(Errc::unavailable, fmt::format("cannot write the link secret '{}'", path),
                    "data.dir");
    }
    return secret;
}

// The three templates: a file named by mail.templates.<part>, else the built-in one (the
// subject's is mail.subject).
Result<mail::MessageTemplates> load_templates(const config::Config& c) {
    mail::TemplateSet set{{c.mail.subject, "mail.subject"},
                          {mail::MessageTemplates::default_text(), "mail.templates.text"},
                          {mail::MessageTemplates::default_html(), "mail.templates.html"}};
    for (auto [path, source, key] :
         {std::tuple{&c.mail.templates.subject, &set.subject, "mail.templates.subject"},
          std::tuple{&c.mail.templates.text, &set.text, "mail.templates.text"},
          std::tuple{&c.mail.templates.html, &set.html, "mail.templates.html"}}) {
        if (path->empty()) continue;
        auto text = read_file(*path, key);
        if (!text) return fail(text.error());
        *source = mail::TemplateSource{std::move(*text), key};
    }
    return mail::MessageTemplates::compile(std::move(set));
}


// auth.adminKey is seeded as an admin key (kept across starts: a key revoked over the API stays
// revoked); then, when the database holds no key at all, a random admin key is created and its
// secret returned to be printed once.
Result<std::string> seed_api_keys(const config::Config& c, store::Store& store,
                                  const Clock& clock) {
    if (!c.auth.admin_key.empty()) {
        auto key = http::configured_api_key(c.auth.admin_key, store::Role::admin,
                                            "auth.adminKey", clock.now_ms());
        auto found = store.find_api_key_by_hash(key.hash);
        if (!found) return fail(found.error());
        if (!*found) {
            if (auto added = store.add_api_key(key); !added) return fail(added.error());
        } else if ((*found)->revoked_ms != 0) {
            spdlog::warn("auth.adminKey names key {}, which was revoked: it stays refused",
                         (*found)->id);
        }
    }
    auto issued = http::issue_api_key(store::Role::admin, "first start", clock.now_ms());
    auto added = store.add_first_api_key(issued.key);
    if (!added) return fail(added.error());
    if (!*added) return std::string();
    spdlog::info("created admin key {} at first start", issued.key.id);
    return issued.secret;
}

}  // namespace

struct Service::Impl {
    explicit Impl(config::Config c) : config(std::move(c)) {}
    ~Impl() {
        if (lock_fd >= 0) ::close(lock_fd);
    }

    config::Config config;
    SystemClock clock;
    MetricsRegistry metrics;  // first: the store and the worker keep metrics of it
    int lock_fd = -1;
    std::unique_ptr<store::SqliteStore> store;
    std::unique_ptr<mail::Transport> transport;
    std::unique_ptr<mail::LinkSigner> links;
    std::unique_ptr<mail::AssignmentCatalog> catalog;
    std::unique_ptr<mail::AssignmentMessageBuilder> messages;
    std::unique_ptr<mail::DeliveryWorker> worker;
    std::unique_ptr<triggers::InvocationLog> invocation_log;
    std::vector<std::unique_ptr<triggers::Function>> functions;
    std::vector<std::unique_ptr<triggers::EventSourceMapping>> mappings;
    std::unique_ptr<stream::Retention> retention;
    std::unique_ptr<http::ChangeFeed> change_feed;  // before server: streams hold it
    std::unique_ptr<http::ApiContext> api;
    std::unique_ptr<http::ApiKeyGuard> guard;
    http::Router router;
    std::unique_ptr<http::HttpServer> server;

    // Per shard, the highest sequence every enabled function has handled: retention keeps
    // what is above it. A disabled function does not hold records back (as in AWS, its records
    // expire after the retention).
    Result<std::vector<std::uint64_t>> handled_up_to(int shards) {
        std::vector<std::uint64_t> bounds(static_cast<std::size_t>(shards),
                                          std::numeric_limits<std::uint64_t>::max());
        for (const auto& m : mappings) {
            if (!m->status().enabled) continue;
            for (int shard = 0; shard < shards; ++shard) {
                auto checkpoint = store->load_checkpoint(m->consumer(), config.candidates.spec.name,
                                                         shard);
                if (!checkpoint) return fail(checkpoint.error());
                auto& b = bounds[static_cast<std::size_t>(shard)];
                b = std::min(b, checkpoint->value_or(0));
            }
        }
        return bounds;
    }
};

Service::Service(config::Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Service::~Service() { stop(); }

Result<StartInfo> Service::start() {
    auto& c = impl_->config;
    auto& s = *impl_;

    std::error_code ec;
    fs::create_directories(c.data_dir, ec);
    if (ec) {
        return fail(Errc::unavailable,
                    fmt::format("cannot create data folder '{}': {}", c.data_dir, ec.message()),
                    "data.dir");
    }
    // One process per data folder: a second one would requeue the first one's in-flight sends
    // and mail them twice. The lock dies with the process, also on SIGKILL.
    const auto lock_path = (fs::path(c.data_dir) / "hirestream.lock").string();
    s.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s.lock_fd < 0) {
        // E.g. a read-only file system: not another hirestream, and saying so would mislead.
        return fail(
            Errc::unavailable,
            fmt::format("cannot open the lock file '{}': {}", lock_path, std::strerror(errno)),
            "data.dir");
    }
    if (::flock(s.lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return fail(Errc::unavailable,
                    fmt::format("another hirestream is already using the data folder '{}'",
                                c.data_dir),
                    "data.dir");
    }
    const auto db_path = (fs::path(c.data_dir) / "hirestream.db").string();
    store::SqliteOptions store_options{db_path};
    store_options.metrics = &s.metrics;
    auto opened = store::SqliteStore::open(store_options, s.clock);
    if (!opened) {
        auto e = opened.error();
        e.field = "data.dir";
        return fail(e);
    }
    s.store = std::move(*opened);
    auto table = s.store->ensure_table(c.candidates.spec);
    if (!table) {
        auto e = table.error();
        e.field = "tables.candidates." + (e.field.empty() ? std::string("name") : e.field);
        return fail(e);
    }
    const stream::StreamIdentity identity{c.region, c.account_id, c.candidates.spec.name,
                                          table->stream_label};
    auto first_admin_key = seed_api_keys(c, *s.store, s.clock);
    if (!first_admin_key) {
        auto e = first_admin_key.error();
        if (e.field.empty()) e.field = "auth.adminKey";
        return fail(e);
    }

    std::vector<mail::AssignmentZip> declared;
    for (const auto& a : c.assignments) {
        auto bytes = read_file(a.file, "assignments." + a.name + ".file");
        if (!bytes) return fail(bytes.error());
        declared.push_back(mail::AssignmentZip{
            {a.name, a.title, a.delivery, static_cast<std::int64_t>(bytes->size()),
             sha256_hex(*bytes), "config"},
            std::move(*bytes)});
    }
    std::vector<std::string> rule_names;
    for (const auto& r : c.rules) rule_names.push_back(r.assignment);
    s.catalog = std::make_unique<mail::AssignmentCatalog>(*s.store, std::move(declared),
                                                          std::move(rule_names),
                                                          c.default_assignment);
    // Rules may name uploaded assignments: checked against the store before anything runs.
    std::optional<Error> store_error;
    auto rules_ok = config::check_rule_assignments(c, [&](const std::string& name) {
        auto found = s.catalog->find(name);
        if (!found) store_error = found.error();
        return found && found->has_value();
    });
    if (store_error) return fail(*store_error);
    if (!rules_ok) return fail(rules_ok.error());
    auto templates = load_templates(c);
    if (!templates) return fail(templates.error());
    auto secret = link_secret(c);
    if (!secret) return fail(secret.error());
    s.links = std::make_unique<mail::LinkSigner>(std::move(*secret), s.clock);

    // HTTP first binds the port, so the public URL of links can name the real one; it serves
    // once everything else is up.
    s.api = std::make_unique<http::ApiContext>(http::ApiContext{
        *s.store, s.clock, c.candidates.spec.name, identity, c.candidates.spec.shard_count,
        c.server.max_body_bytes, s.catalog.get(), s.links.get(), c.server.max_upload_bytes,
        [&s] { return s.metrics.render(); }, {},
        [&s]() -> std::string {
            if (auto e = s.store->write_problem()) {
                return "the database cannot be written: " + e->message;
            }
            if (!s.retention) return {};
            auto e = s.retention->last_error();
            return e ? e->message : std::string();
        },
        &s.metrics, c.auth.metrics_require_key});
    s.api->rules = c.rules;
    s.api->default_assignment = c.default_assignment;
    s.api->outbox_dir = c.mail.smtp_url.empty() ? c.mail.outbox_dir : std::string();
    s.api->log_dir = (fs::path(c.data_dir) / "logs").string();
    s.change_feed = std::make_unique<http::ChangeFeed>(
        s.store->stream_signal(), static_cast<std::size_t>(c.server.max_event_streams));
    s.change_feed->start();
    s.api->change_feed = s.change_feed.get();
    s.api->max_import_bytes = c.server.max_import_bytes;
    http::add_api_routes(s.router, *s.api);
    http::add_web_app_routes(s.router);
    s.guard = std::make_unique<http::ApiKeyGuard>(*s.store, s.clock, c.auth.failures_per_minute);
    s.router.set_guard([&s](http::Request& r, http::Access a) { return s.guard->check(r, a); });
    s.router.set_cors_origins(c.server.cors_origins);
    http::ServerOptions so;
    so.host = c.server.host;
    so.port = c.server.port;
    so.threads = c.server.threads;
    so.max_body_bytes = c.server.max_body_bytes;
    so.max_header_bytes = c.server.max_header_bytes;
    so.idle_timeout_seconds = c.server.idle_timeout_seconds;
    so.request_timeout_seconds = c.server.request_timeout_seconds;
    so.max_connections = c.server.max_connections;
    s.server = std::make_unique<http::HttpServer>(so, s.router);
    auto port = s.server->listen();
    if (!port) return fail(port.error());
    const std::string host = c.server.host == "0.0.0.0" || c.server.host == "::"
                                 ? "localhost"
                                 : (c.server.host.find(':') != std::string::npos
                                        ? "[" + c.server.host + "]"
                                        : c.server.host);
    const std::string api_url = fmt::format("http://{}:{}", host, *port);
    const std::string public_url = c.server.public_url.empty() ? api_url : c.server.public_url;
    if (c.server.public_url.empty() && !c.mail.smtp_url.empty()) {
        spdlog::warn("links in emails point at {}, which candidates elsewhere cannot reach: set "
                     "server.publicUrl (or HIRESTREAM_PUBLIC_URL) to the address they can",
                     api_url);
    }

    if (c.mail.smtp_url.empty()) {
        try {
            s.transport = std::make_unique<mail::OutboxTransport>(c.mail.outbox_dir);
        } catch (const std::exception& e) {
            return fail(Errc::unavailable, e.what(), "mail.outboxDir");
        }
    } else {
        auto smtp = mail::parse_smtp_url(c.mail.smtp_url);
        if (!smtp) return fail(Errc::invalid_argument, smtp.error().message, "mail.smtpUrl");
        smtp->connect_timeout_ms = c.mail.connect_timeout_ms;
        smtp->response_timeout_ms = c.mail.response_timeout_ms;
        smtp->total_timeout_ms = c.mail.total_timeout_ms;
        smtp->ca_file = c.mail.ca_file;
        smtp->verify_peer = c.mail.verify_peer;
        smtp->pool_size = c.mail.pool_size;
        smtp->auth_mechanism = c.mail.auth_mechanism;
        s.transport = std::make_unique<mail::SmtpTransport>(*smtp);
    }

    mail::SenderSettings sender;
    sender.from = mail::Mailbox{c.mail.from_name, c.mail.from_address};
    for (const auto& r : c.mail.reply_to) sender.reply_to.push_back(mail::Mailbox{"", r});
    sender.public_url = public_url;
    s.messages = std::make_unique<mail::AssignmentMessageBuilder>(
        std::move(sender), std::move(*templates), *s.catalog, *s.links, c.mail.links.ttl_s());
    mail::DeliveryWorkerOptions wo;
    wo.messages = s.messages.get();
    wo.candidates_table = c.candidates.spec.name;
    wo.metrics = &s.metrics;
    // Four times the SMTP sessions: each email waits for durable commits (claim it as SENDING
    // unless the function handed it over claimed, record its outcome) besides its SMTP
    // transaction, so while some threads send, others wait for their commits, which then share
    // fsyncs. At most poolSize emails are in an SMTP transaction at once, so the crash window is
    // unchanged. Measured here (6,000 emails with a 40 KiB zip to smtp-sink, pool of 2, back to
    // back): 552-659/s with 4 threads, 741-989/s with 8, 522-878/s with 12 and 16.
    wo.threads = 4 * c.mail.pool_size;
    wo.max_attempts = c.mail.retry.max_attempts;
    wo.give_up_after = std::chrono::hours(c.mail.retry.max_age_hours);
    wo.initial_backoff = std::chrono::milliseconds(c.mail.retry.initial_backoff_ms);
    wo.max_backoff = std::chrono::milliseconds(c.mail.retry.max_backoff_ms);
    wo.rate_limits = {c.mail.rate_limit.per_second, c.mail.rate_limit.per_24_hours};
    s.worker = std::make_unique<mail::DeliveryWorker>(*s.store, *s.transport, s.clock, wo);
    if (auto started = s.worker->start(); !started) return fail(started.error());

    s.invocation_log = std::make_unique<triggers::InvocationLog>(s.api->log_dir, s.clock);
    for (const auto& fn : c.functions) {
        s.functions.push_back(make_function(fn, c, *s.store, s.clock, s.worker.get()));
        for (std::size_t i = 0; i < fn.stream_events.size(); ++i) {
            const auto& event = fn.stream_events[i];
            auto filters = triggers::FilterCriteria::parse(event.filter_patterns);
            if (!filters) {
                auto e = filters.error();
                e.field = fmt::format("functions.{}.events[{}].stream.{}", fn.name, i, e.field);
                return fail(e);
            }
            triggers::MappingOptions mo;
            mo.event = event;
            mo.retention = std::chrono::hours(c.candidates.stream_retention_hours);
            s.mappings.push_back(std::make_unique<triggers::EventSourceMapping>(
                *s.store, s.clock, identity, c.candidates.spec.shard_count, *s.functions.back(),
                std::move(*filters), mo,
                triggers::MappingServices{s.invocation_log.get(), &s.metrics}));
            s.api->mappings.push_back(s.mappings.back().get());
        }
    }
    for (auto& m : s.mappings) m->start();

    s.retention = std::make_unique<stream::Retention>(
        *s.store, s.clock,
        std::vector<stream::RetentionPolicy>{
            {c.candidates.spec.name, std::chrono::hours(c.candidates.stream_retention_hours),
             [&s, shards = c.candidates.spec.shard_count] { return s.handled_up_to(shards); }}},
        // Each second: the WAL's checkpoint must keep up with sustained writes (at 10 s it did
        // not, and the WAL grew by gigabytes); a pass with nothing to do costs a few reads.
        std::chrono::seconds(1), [&s] { return s.store->checkpoint(); });
    s.retention->start();

    // Serving only now: a request that came early waited in the backlog instead of meeting
    // functions and mappings still being set up (a 404 for a function, a data race on them).
    s.server->serve();
    return StartInfo{api_url, s.transport->describe(), db_path, std::move(*first_admin_key)};
}

void Service::stop() {
    auto& s = *impl_;
    // Stop taking requests first (live change streams end cleanly), then the producers of
    // work, then the consumers.
    if (s.change_feed) s.change_feed->stop();
    if (s.server) s.server->stop();
    for (auto& m : s.mappings) m->stop();
    if (s.worker) s.worker->stop();
    if (s.retention) s.retention->stop();
    // Last: answers to POSTs still committing are handed to the server's (stopped but not yet
    // destroyed) I/O context, never to a freed one.
    if (s.store) s.store->close_writes();
}

}  // namespace hirestream::app
