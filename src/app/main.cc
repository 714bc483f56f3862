// hirestream: recruiters submit candidates; every change lands in a durable change stream; a
// stream-triggered function emails each new candidate a coding assignment, exactly once.

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "app/api_client.h"
#include "app/function_factory.h"
#include "app/import_command.h"
#include "app/service.h"
#include "common/ids.h"
#include "common/log.h"
#include "config/config.h"
#include "http/api_keys.h"
#include "http/handlers/candidate_input.h"
#include "store/sqlite/sqlite_store.h"
#include "stream/stream_record.h"
#include "triggers/invocation_log.h"

#ifndef HIRESTREAM_VERSION
#define HIRESTREAM_VERSION "0.0.0"
#endif

namespace {

namespace json = boost::json;
using namespace hirestream;

constexpr int kExitConfig = 2;
constexpr int kExitFailure = 1;

struct CommonOptions {
    std::string config_path;
    std::string stage;
    std::string region;
};

void add_common(CLI::App* cmd, CommonOptions& o) {
    cmd->add_option("-c,--config", o.config_path,
                    "YAML config file (default: $HIRESTREAM_CONFIG, else built-in defaults)");
    cmd->add_option("--stage", o.stage, "Stage, as ${opt:stage} (default: provider.stage)");
    cmd->add_option("--region", o.region, "Region, as ${opt:region} (default: provider.region)");
}

// Loads the config or prints the error naming the key and returns nullopt.
std::optional<config::Config> load(const CommonOptions& o) {
    auto env = config::process_environment();
    config::ConfigSource source;
    source.path = o.config_path;
    if (source.path.empty()) {
        if (auto it = env.find("HIRESTREAM_CONFIG"); it != env.end()) source.path = it->second;
    }
    source.env = std::move(env);
    if (!o.stage.empty()) source.options["stage"] = o.stage;
    if (!o.region.empty()) source.options["region"] = o.region;
    auto config = config::load_config(source);
    if (!config) {
        const auto& e = config.error();
        std::cerr << "config error: " << (e.field.empty() ? "" : e.field + ": ") << e.message
                  << "\n";
        return std::nullopt;
    }
    return std::move(*config);
}

// Blocks SIGINT and SIGTERM in every thread started after this; returns the set to sigwait on.
sigset_t block_stop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    return signals;
}

int serve(const CommonOptions& o) {
    const sigset_t signals = block_stop_signals();
    signal(SIGPIPE, SIG_IGN);
    auto config = load(o);
    if (!config) return kExitConfig;
    init_logging(config->log_level, config->log_format);

    app::Service service(std::move(*config));
    auto started = service.start();
    if (!started) {
        const auto& e = started.error();
        // invalid_argument at start-up is still the config's fault (a template that does not
        // parse, a rule naming no assignment): reported as config errors, exit 2.
        std::cerr << (e.code == Errc::invalid_argument ? "config error: " : "start-up failed: ")
                  << (e.field.empty() ? "" : e.field + ": ") << e.message << "\n";
        service.stop();
        return e.code == Errc::invalid_argument ? kExitConfig : kExitFailure;
    }
    std::cout << "hirestream " << HIRESTREAM_VERSION << "\n";
    if (!started->first_admin_key.empty()) {
        // Once: only its hash is kept, so this is the one chance to copy it.
        std::cout << "admin key: " << started->first_admin_key << "\n";
    }
    std::cout << "api: " << started->api_url << "\n"
              << "mail: " << started->mail << "\n"
              << "data: " << started->database << "\n"
              << std::flush;
    spdlog::info("hirestream started api={} mail=\"{}\" data={}", started->api_url,
                 started->mail, started->database);
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("stopping signal={}", received);
    service.stop();
    spdlog::info("stopped");
    return 0;
}

// The key the CLI sends to a running hirestream: HIRESTREAM_API_KEY, else auth.adminKey.
std::string cli_api_key(const config::Config& c) {
    if (const char* key = std::getenv("HIRESTREAM_API_KEY"); key && *key) return key;
    return c.auth.admin_key;
}

std::string base_url(const config::Config& c, const std::string& url) {
    if (!url.empty()) return url;
    const std::string host = c.server.host == "0.0.0.0" ? "127.0.0.1" : c.server.host;
    return fmt::format("http://{}:{}", host, c.server.port);
}

int logs(const CommonOptions& o, const std::string& function, bool tail, const std::string& since) {
    auto config = load(o);
    if (!config) return kExitConfig;
    SystemClock clock;
    triggers::LogQuery query;
    query.dir = config->data_dir + "/logs";
    query.function = function;
    query.follow = tail;
    if (!since.empty()) {
        auto t = triggers::parse_since(since, clock);
        if (!t) {
            std::cerr << "--since: " << t.error().message << "\n";
            return kExitConfig;
        }
        query.since_ms = *t;
    }
    const sigset_t signals = block_stop_signals();
    std::stop_source stop;
    std::jthread waiter;
    if (tail) {
        waiter = std::jthread([&signals, &stop] {
            int received = 0;
            sigwait(&signals, &received);
            stop.request_stop();
        });
    }
    auto printed = triggers::print_logs(query, clock, std::cout, stop.get_token());
    if (tail && waiter.joinable()) {
        // print_logs returned (an error): wake the waiter so it can end.
        pthread_kill(waiter.native_handle(), SIGTERM);
    }
    if (!printed) {
        std::cerr << printed.error().message << "\n";
        return printed.error().code == Errc::not_found ? kExitFailure : kExitFailure;
    }
    return 0;
}

// The database of the config's data folder, for CLI commands that work on it directly
// (the server need not run). Prints why and returns nullptr when it cannot be opened.
std::unique_ptr<store::SqliteStore> open_store(const config::Config& config, const Clock& clock) {
    std::error_code fs_ec;
    std::filesystem::create_directories(config.data_dir, fs_ec);
    auto store = store::SqliteStore::open({config.data_dir + "/hirestream.db"}, clock);
    if (!store) {
        std::cerr << "data.dir: " << store.error().message << "\n";
        return nullptr;
    }
    return std::move(*store);
}

// `serverless invoke local`: one invocation with a given event, its log lines and its answer.
int invoke(const CommonOptions& o, const std::string& function, const std::string& path) {
    auto config = load(o);
    if (!config) return kExitConfig;
    init_logging("warn", config->log_format);
    const config::FunctionConfig* fn = nullptr;
    for (const auto& f : config->functions) {
        if (f.name == function) fn = &f;
    }
    if (!fn) {
        std::cerr << "no function " << function << " in the config\n";
        return kExitConfig;
    }
    std::stringstream text;
    if (path == "-") {
        text << std::cin.rdbuf();
    } else {
        std::ifstream in(path);
        if (!in) {
            std::cerr << "cannot read " << path << "\n";
            return kExitConfig;
        }
        text << in.rdbuf();
    }
    boost::system::error_code ec;
    auto event = json::parse(text.str(), ec);
    const auto* records = !ec && event.is_object() ? event.as_object().if_contains("Records")
                                                   : nullptr;
    if (!records || !records->is_array()) {
        std::cerr << path << ": the event must be {\"Records\": [...]} as a Lambda receives it\n";
        return kExitConfig;
    }
    SystemClock clock;
    auto store = open_store(*config, clock);
    if (!store) return kExitFailure;
    auto table = store->ensure_table(config->candidates.spec);
    if (!table) {
        std::cerr << "tables.candidates: " << table.error().message << "\n";
        return kExitFailure;
    }
    const stream::StreamIdentity identity{config->region, config->account_id,
                                          config->candidates.spec.name, table->stream_label};
    triggers::Batch batch{&identity, 0, {}};
    for (const auto& r : records->as_array()) {
        auto parsed = stream::parse_stream_record(r);
        if (!parsed) {
            std::cerr << path << ": " << parsed.error().field << ": " << parsed.error().message
                      << "\n";
            return kExitConfig;
        }
        batch.records.push_back(std::move(*parsed));
    }
    auto function_impl = app::make_function(*fn, *config, *store, clock);
    triggers::InvocationContext context;
    context.request_id = new_uuid();
    context.timeout = std::chrono::seconds(fn->timeout_seconds);
    context.log = [&](std::string_view line) {
        std::cout << iso8601_ms(clock.now_ms()) << "\t" << context.request_id << "\tINFO\t" << line
                  << "\n";
    };
    std::cout << "START RequestId: " << context.request_id << " Version: $LATEST\n";
    const auto started = std::chrono::steady_clock::now();
    auto result = function_impl->invoke(batch, context);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    std::cout << "END RequestId: " << context.request_id << "\n"
              << fmt::format("REPORT RequestId: {}\tDuration: {:.2f} ms\tMemory Size: {} MB\n",
                             context.request_id, ms, fn->memory_size_mb);
    if (!result.ok) {
        std::cout << json::serialize(json::object{{"errorType", "FunctionError"},
                                                  {"errorMessage", result.error}})
                  << "\n";
        return kExitFailure;
    }
    // The answer on one line: a handler's own trailing newline is not part of it.
    std::string_view answer = result.response;
    while (!answer.empty() && (answer.back() == '\n' || answer.back() == '\r')) {
        answer.remove_suffix(1);
    }
    std::cout << (answer.empty() ? std::string_view("null") : answer) << "\n";
    return 0;
}

// One API call for a CLI command: the answer when its status is `ok_status`, else nullopt after
// printing why.
std::optional<app::ApiResponse> call_api(app::ApiClient& client, const std::string& method,
                                         const std::string& path, int ok_status = 200,
                                         const std::string& body = {}) {
    auto r = client.request(method, path, body);
    if (!r) {
        std::cerr << r.error().message << "\n";
        return std::nullopt;
    }
    if (r->status != ok_status) {
        std::cerr << app::api_error_message(*r) << "\n";
        return std::nullopt;
    }
    return std::move(*r);
}

int functions(const CommonOptions& o, const std::string& url, const std::string& action,
              const std::string& name) {
    auto config = load(o);
    if (!config) return kExitConfig;
    app::ApiClient client(base_url(*config, url), cli_api_key(*config));
    auto r = action.empty()
                 ? call_api(client, "GET", "/functions")
                 : call_api(client, "PATCH", "/functions/" + name, 200,
                            action == "enable" ? R"({"enabled":true})" : R"({"enabled":false})");
    if (!r) return kExitFailure;
    auto v = json::parse(r->body);
    json::array list;
    if (action.empty()) {
        list = v.as_object().at("functions").as_array();
    } else {
        list.push_back(v);
    }
    std::cout << fmt::format("{:<20} {:<9} {:>11} {:>7} {:>8} {:>8} {:>12}  {}\n", "FUNCTION",
                             "STATE", "INVOCATIONS", "ERRORS", "BEHIND", "DEAD", "ITERATOR AGE",
                             "LAST RESULT");
    for (const auto& f : list) {
        const auto& m = f.as_object();
        std::cout << fmt::format(
            "{:<20} {:<9} {:>11} {:>7} {:>8} {:>8} {:>10}ms  {}\n",
            std::string(m.at("function").as_string()), std::string(m.at("state").as_string()),
            m.at("invocations").to_number<std::uint64_t>(), m.at("errors").to_number<std::uint64_t>(),
            fmt::format("{}{}", m.at("recordsBehind").to_number<std::uint64_t>(),
                        m.contains("recordsBehindCapped") &&
                                m.at("recordsBehindCapped").is_bool() &&
                                m.at("recordsBehindCapped").as_bool()
                            ? "+"
                            : ""),
            m.at("pendingDeadLetters").to_number<std::uint64_t>(),
            m.at("iteratorAgeMs").to_number<std::int64_t>(),
            std::string(m.at("lastProcessingResult").as_string()));
        if (m.at("lastError").is_string()) {
            std::cout << "  last error: " << m.at("lastError").as_string() << "\n";
        }
    }
    return 0;
}

int dead_letters(const CommonOptions& o, const std::string& url, const std::string& function,
                 std::int64_t show, std::int64_t redrive) {
    auto config = load(o);
    if (!config) return kExitConfig;
    app::ApiClient client(base_url(*config, url), cli_api_key(*config));
    const std::string base = "/functions/" + function + "/dead-letters";
    auto r = redrive > 0 ? call_api(client, "POST", fmt::format("{}/{}/redrive", base, redrive))
             : show > 0  ? call_api(client, "GET", fmt::format("{}/{}", base, show))
                         : call_api(client, "GET", base + "?limit=100");
    if (!r) return kExitFailure;
    if (show > 0 || redrive > 0) {
        std::cout << r->body << "\n";
        if (redrive > 0) std::cerr << "dead letter " << redrive << " redriven\n";
        return 0;
    }
    const auto letters = json::parse(r->body).as_object().at("deadLetters").as_array();
    std::cout << fmt::format("{:>6}  {:<24}  {:<24} {:>7}  {}\n", "ID", "CREATED", "CONDITION",
                             "RECORDS", "REDRIVEN");
    for (const auto& l : letters) {
        const auto& d = l.as_object();
        std::cout << fmt::format(
            "{:>6}  {:<24}  {:<24} {:>7}  {}\n", d.at("id").to_number<std::int64_t>(),
            iso8601_ms(d.at("createdAt").to_number<std::int64_t>()),
            std::string(d.at("condition").as_string()), d.at("recordCount").to_number<int>(),
            d.at("redrivenAt").is_null() ? "no"
                                         : iso8601_ms(d.at("redrivenAt").to_number<std::int64_t>()));
    }
    return 0;
}

// `hirestream emails [--state S] [--show ID | --retry ID]`: the tracked emails.
int emails(const CommonOptions& o, const std::string& url, const std::string& state,
           std::int64_t show, std::int64_t retry) {
    auto config = load(o);
    if (!config) return kExitConfig;
    app::ApiClient client(base_url(*config, url), cli_api_key(*config));
    if (show > 0 || retry > 0) {
        auto r = retry > 0 ? call_api(client, "POST", fmt::format("/emails/{}/retry", retry), 202)
                           : call_api(client, "GET", fmt::format("/emails/{}", show));
        if (!r) return kExitFailure;
        std::cout << r->body << "\n";
        if (retry > 0) std::cerr << "email " << retry << " queued again\n";
        return 0;
    }
    auto r = call_api(client, "GET", "/emails?limit=100" + (state.empty() ? "" : "&state=" + state));
    if (!r) return kExitFailure;
    std::cout << fmt::format("{:>6}  {:<10} {:>8}  {:<24}  {:<32}  {}\n", "ID", "STATE", "ATTEMPTS",
                             "UPDATED", "TO", "LAST REPLY");
    const auto body = json::parse(r->body);  // kept alive: the loop walks into it
    for (const auto& e : body.as_object().at("emails").as_array()) {
        const auto& m = e.as_object();
        std::cout << fmt::format("{:>6}  {:<10} {:>8}  {:<24}  {:<32}  {}\n",
                                 m.at("id").to_number<std::int64_t>(),
                                 std::string(m.at("state").as_string()),
                                 m.at("attempts").to_number<int>(),
                                 iso8601_ms(m.at("updatedAt").to_number<std::int64_t>()),
                                 std::string(m.at("to").as_string()),
                                 std::string(m.at("lastReply").as_string()));
    }
    return 0;
}

// `hirestream keys create|list|revoke`: works on the database directly, so it works with the
// server stopped or running (SQLite in WAL mode takes the second process; the server looks keys
// up on every request, so a new or revoked key counts at once).
int keys(const CommonOptions& o, const std::string& action, const std::string& role_text,
         const std::string& name, const std::string& id) {
    auto config = load(o);
    if (!config) return kExitConfig;
    init_logging("warn", config->log_format);
    SystemClock clock;
    auto store = open_store(*config, clock);
    if (!store) return kExitFailure;
    if (action == "create") {
        const auto role = store::parse_role(role_text);
        if (!role) {
            std::cerr << "--role: must be recruiter or admin\n";
            return kExitConfig;
        }
        auto issued = http::issue_api_key(*role, name, clock.now_ms());
        if (auto added = store->add_api_key(issued.key); !added) {
            std::cerr << added.error().message << "\n";
            return kExitFailure;
        }
        std::cerr << "created " << role_text << " key " << issued.key.id
                  << " (shown once: only its hash is kept)\n";
        std::cout << issued.secret << "\n";
        return 0;
    }
    if (action == "revoke") {
        auto revoked = store->revoke_api_key(id, clock.now_ms());
        if (!revoked) {
            std::cerr << revoked.error().message << "\n";
            return kExitFailure;
        }
        std::cerr << "key " << id << " revoked\n";
        return 0;
    }
    auto list = store->list_api_keys();
    if (!list) {
        std::cerr << list.error().message << "\n";
        return kExitFailure;
    }
    std::cout << fmt::format("{:<20}  {:<9}  {:<24}  {:<24}  {:<24}  {}\n", "ID", "ROLE", "CREATED",
                             "LAST USED", "REVOKED", "NAME");
    for (const auto& k : *list) {
        auto when = [](std::int64_t ms) { return ms != 0 ? iso8601_ms(ms) : std::string("-"); };
        std::cout << fmt::format("{:<20}  {:<9}  {:<24}  {:<24}  {:<24}  {}\n", k.id,
                                 store::role_text(k.role), when(k.created_ms),
                                 when(k.last_used_ms), when(k.revoked_ms), k.name);
    }
    return 0;
}

// `hirestream bulk-load --path FILE`: one POST /candidates body per line, each checked
// and stored exactly as the API does (parse_new_candidate, new_candidate_item, put_item
// create_only: the item and its INSERT change record in one transaction), 500 lines per
// transaction from each of `workers` threads. Works on the database directly, so
// it takes the data folder's lock: the server must be stopped. A line that is invalid or whose
// email is already on file is reported with its number and skipped; the exit status is then 1.
int bulk_load(const CommonOptions& o, const std::string& path, int workers) {
    auto config = load(o);
    if (!config) return kExitConfig;
    init_logging("warn", config->log_format);
    std::ifstream file;
    if (path != "-") {
        file.open(path);
        if (!file) {
            std::cerr << "cannot read " << path << "\n";
            return kExitConfig;
        }
    }
    std::istream& in = path == "-" ? std::cin : file;
    std::error_code fs_ec;
    std::filesystem::create_directories(config->data_dir, fs_ec);
    // The server's lock (app/service.cc): the server keeps no count of the writes of another
    // process and would not wake its functions for them.
    const auto lock_path = config->data_dir + "/hirestream.lock";
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        std::cerr << "data.dir: another hirestream is using '" << config->data_dir
                  << "': stop it first\n";
        if (lock_fd >= 0) ::close(lock_fd);
        return kExitFailure;
    }
    SystemClock clock;
    auto store = open_store(*config, clock);
    if (!store) return kExitFailure;
    if (auto table = store->ensure_table(config->candidates.spec); !table) {
        std::cerr << "tables.candidates: " << table.error().message << "\n";
        return kExitFailure;
    }
    const std::string& table = config->candidates.spec.name;
    std::mutex input_mutex;  // guards `in`, line_number and the error output
    std::uint64_t line_number = 0;
    std::atomic<std::uint64_t> imported{0}, failed{0};
    const auto started = std::chrono::steady_clock::now();
    // The caller holds input_mutex.
    auto report_locked = [&](std::uint64_t number, const Error& e) {
        failed.fetch_add(1, std::memory_order_relaxed);
        std::cerr << "line " << number << ": " << (e.field.empty() ? "" : e.field + ": ")
                  << e.message << "\n";
    };
    auto report = [&](std::uint64_t number, const Error& e) {
        std::lock_guard lock(input_mutex);
        report_locked(number, e);
    };
    // Each worker stores its lines 500 to a transaction (Store::put_items): one fsync and one
    // write of each touched page for the lot.
    constexpr std::size_t kBatch = 500;
    auto work = [&] {
        std::string line;
        for (;;) {
            std::vector<store::Item> items;
            std::vector<std::uint64_t> numbers;
            bool more = true;
            {
                std::lock_guard lock(input_mutex);
                while (items.size() < kBatch &&
                       (more = static_cast<bool>(std::getline(in, line)))) {
                    const auto number = ++line_number;
                    if (line.empty()) continue;
                    auto candidate = http::parse_new_candidate(line);
                    if (!candidate) {
                        report_locked(number, candidate.error());
                        continue;
                    }
                    const auto now = clock.now_ms();
                    items.push_back(http::new_candidate_item(
                        *candidate, new_time_ordered_uuid(now), now));
                    numbers.push_back(number);
                }
            }
            if (!items.empty()) {
                auto written = store->put_items(table, items, store::PutMode::create_only);
                for (std::size_t i = 0; i < items.size(); ++i) {
                    if (!written) {
                        report(numbers[i], written.error());
                    } else if ((*written)[i]) {
                        imported.fetch_add(1, std::memory_order_relaxed);
                    } else {
                        report(numbers[i], (*written)[i].error());
                    }
                }
            }
            if (!more) return;
        }
    };
    {
        // The server checkpoints the WAL from a background loop (automatic checkpoints are
        // off); so does the import, or a large one would grow the WAL to the database's size.
        std::mutex checkpoint_mutex;
        std::condition_variable_any checkpoint_cv;
        std::jthread checkpointer([&](std::stop_token stop) {
            std::unique_lock lock(checkpoint_mutex);
            for (;;) {
                checkpoint_cv.wait_for(lock, stop, std::chrono::seconds(1), [] { return false; });
                if (stop.stop_requested()) return;
                if (auto done = store->checkpoint(); !done) {
                    std::cerr << "checkpoint: " << done.error().message << "\n";
                }
            }
        });
        std::vector<std::jthread> threads;
        for (int i = 0; i < workers; ++i) threads.emplace_back(work);
        for (auto& t : threads) t.join();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cerr << fmt::format("imported {} candidates in {:.1f} s ({:.0f}/s), {} lines refused\n",
                             imported.load(), seconds, imported.load() / std::max(seconds, 1e-9),
                             failed.load());
    ::close(lock_fd);
    return failed.load() == 0 ? 0 : kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"hirestream: candidates, a change stream, and assignment emails in one binary"};
    cli.require_subcommand(1);
    CommonOptions common;

    auto* serve_cmd = cli.add_subcommand("serve", "Start the API, the stream functions and mail");
    add_common(serve_cmd, common);

    auto* check_cmd = cli.add_subcommand("check-config", "Validate the config and exit");
    add_common(check_cmd, common);

    std::string function, since, path = "-", url, action, name;
    bool tail = false;
    auto* logs_cmd = cli.add_subcommand("logs", "Print a function's invocation logs");
    add_common(logs_cmd, common);
    logs_cmd->add_option("-f,--function", function, "Function name")->required();
    logs_cmd->add_flag("-t,--tail", tail, "Keep printing new lines");
    logs_cmd->add_option("--since", since, "Only invocations since: 10m, 2h, 1d or ISO 8601");

    auto* invoke_cmd = cli.add_subcommand("invoke", "Invoke a function once with an event");
    add_common(invoke_cmd, common);
    invoke_cmd->add_option("-f,--function", function, "Function name")->required();
    invoke_cmd->add_option("-p,--path", path, "Event file ({\"Records\": [...]}); - for stdin");

    auto* functions_cmd =
        cli.add_subcommand("functions", "Show the functions' status, or enable/disable one");
    add_common(functions_cmd, common);
    functions_cmd->add_option("--url", url, "hirestream's URL (default: from the config)");
    functions_cmd->add_option("action", action, "enable | disable")
        ->check(CLI::IsMember({"enable", "disable"}));
    functions_cmd->add_option("name", name, "Function name (with enable/disable)");

    std::int64_t show = 0, redrive = 0;
    auto* dead_cmd = cli.add_subcommand("dead-letters", "List, show or redrive dead letters");
    add_common(dead_cmd, common);
    dead_cmd->add_option("--url", url, "hirestream's URL (default: from the config)");
    dead_cmd->add_option("-f,--function", function, "Function name")->required();
    dead_cmd->add_option("--show", show, "Print one dead letter with its records");
    dead_cmd->add_option("--redrive", redrive, "Invoke the function again with its records");

    std::string state;
    std::int64_t retry = 0;
    auto* emails_cmd = cli.add_subcommand("emails", "List, show or retry the tracked emails");
    add_common(emails_cmd, common);
    emails_cmd->add_option("--url", url, "hirestream's URL (default: from the config)");
    emails_cmd->add_option("--state", state, "Only emails in this state")
        ->check(CLI::IsMember({"PENDING", "SENDING", "SENT", "RETRY", "FAILED", "SUPPRESSED"}));
    emails_cmd->add_option("--show", show, "Print one email with its attempts");
    emails_cmd->add_option("--retry", retry, "Queue a FAILED or SUPPRESSED email again");

    auto* keys_cmd = cli.add_subcommand("keys", "Create, list or revoke API keys");
    keys_cmd->require_subcommand(1);
    std::string role, key_name, key_id;
    auto* keys_create = keys_cmd->add_subcommand("create", "Create a key and print it once");
    add_common(keys_create, common);
    keys_create->add_option("--role", role, "recruiter | admin")
        ->required()
        ->check(CLI::IsMember({"recruiter", "admin"}));
    keys_create->add_option("--name", key_name, "A label for the key");
    auto* keys_list = keys_cmd->add_subcommand("list", "List the keys (never their secrets)");
    add_common(keys_list, common);
    auto* keys_revoke = keys_cmd->add_subcommand("revoke", "Revoke a key by its id");
    add_common(keys_revoke, common);
    keys_revoke->add_option("id", key_id, "The key's id (key_...)")->required();

    app::ImportOptions import_options;
    auto* import_cmd =
        cli.add_subcommand("import", "Import candidates from a CSV file into a running hirestream");
    add_common(import_cmd, common);
    import_cmd->add_option("--url", url, "hirestream's URL (default: from the config)");
    import_cmd
        ->add_option("file", import_options.path,
                     "CSV with a header row: fullname, email, experience, skills, recruiterEmail")
        ->required();

    std::string import_path = "-";
    int import_workers = 2;
    auto* load_cmd = cli.add_subcommand(
        "bulk-load", "Store candidates from JSON lines, as POST /candidates would, into the database of a stopped hirestream (seeding benchmarks)");
    add_common(load_cmd, common);
    load_cmd->add_option("-p,--path", import_path,
                           "One POST /candidates body per line; - for stdin (the default)");
    load_cmd->add_option("--workers", import_workers,
                           "Concurrent writers, each storing 500 lines per commit (default 2)")
        ->check(CLI::Range(1, 1024));

    cli.add_subcommand("version", "Print the version");
    CLI11_PARSE(cli, argc, argv);

    if (cli.got_subcommand("version")) {
        std::cout << "hirestream " << HIRESTREAM_VERSION << "\n";
        return 0;
    }
    if (cli.got_subcommand("check-config")) {
        if (!load(common)) return kExitConfig;
        std::cout << "config ok\n";
        return 0;
    }
    if (cli.got_subcommand("logs")) return logs(common, function, tail, since);
    if (cli.got_subcommand("invoke")) return invoke(common, function, path);
    if (cli.got_subcommand("bulk-load")) {
        return bulk_load(common, import_path, import_workers);
    }
    if (cli.got_subcommand("functions")) {
        if (!action.empty() && name.empty()) {
            std::cerr << "functions " << action << ": name the function\n";
            return kExitConfig;
        }
        return functions(common, url, action, name);
    }
    if (cli.got_subcommand("dead-letters")) return dead_letters(common, url, function, show, redrive);
    if (cli.got_subcommand("emails")) return emails(common, url, state, show, retry);
    if (cli.got_subcommand("import")) {
        auto config = load(common);
        if (!config) return kExitConfig;
        app::ApiClient client(base_url(*config, url), cli_api_key(*config));
        import_options.progress = isatty(STDERR_FILENO) != 0;
        return app::import_candidates(client, import_options, std::cout, std::cerr);
    }
    if (cli.got_subcommand("keys")) {
        const std::string action = keys_create->parsed()   ? "create"
                                   : keys_revoke->parsed() ? "revoke"
                                                           : "list";
        return keys(common, action, role, key_name, key_id);
    }
    return serve(common);
}
