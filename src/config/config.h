#pragma once
// Config: everything hirestream reads at start-up, from one YAML file plus environment
// overrides. load_config() validates every key; an invalid config fails with invalid_argument
// whose `field` is the key's path (e.g. "rules[1].when.experience.gt"), so start-up can name it.
// Plain values; immutable after loading.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/table_spec.h"

namespace hirestream::config {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string public_url;  // empty: derived from the bound address at start-up
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_header_bytes = 16 * 1024;
    int threads = 2;
    int idle_timeout_seconds = 60;
    int request_timeout_seconds = 30;
    int max_connections = 10'000;
};

struct TableConfig {
    store::TableSpec spec;
    int stream_retention_hours = 24;
};

enum class StartingPosition { trim_horizon, latest };

// One `stream` event of a function, in the Serverless Framework's keys.
struct StreamEventConfig {
    int batch_size = 100;  // 1..10,000
    StartingPosition starting_position = StartingPosition::trim_horizon;
    bool enabled = true;
};

struct FunctionConfig {
    std::string name;     // e.g. "sendAssignment"
    std::string handler;  // "builtin:assignment"
    std::vector<StreamEventConfig> stream_events;
};

struct RetryConfig {
    int initial_backoff_ms = 1000;
    int max_backoff_ms = 300'000;
    int max_attempts = 12;
};

struct MailConfig {
    std::string smtp_url;  // empty: outbox folder
    std::string outbox_dir;
    std::string from_name;
    std::string from_address;
    std::vector<std::string> reply_to;
    std::string subject = "Coding Round";
    int connect_timeout_ms = 10'000;
    int response_timeout_ms = 30'000;
    int total_timeout_ms = 120'000;
    std::string ca_file;
    bool verify_peer = true;
    int pool_size = 2;
    RetryConfig retry;
};

struct Assignment {
    std::string name;   // e.g. "assignment1"
    std::string file;   // absolute path of the zip
    std::string title;  // shown in emails
};

// A numeric range on experience; absent bounds are open.
struct NumberRange {
    std::optional<double> gt, gte, lt, lte;
    bool contains(double value) const;
};

struct Rule {
    std::string assignment;
    NumberRange experience;
};

struct Config {
    std::string service = "candidates";
    std::string stage = "dev";
    std::string region = "us-east-1";
    std::string account_id = "000000000000";
    ServerConfig server;
    std::string data_dir;  // absolute
    std::string log_level = "info";
    std::string log_format = "text";
    TableConfig candidates;
    std::vector<FunctionConfig> functions;
    MailConfig mail;
    std::vector<Assignment> assignments;  // in declaration order
    std::vector<Rule> rules;              // first match wins
    std::string default_assignment;

    const Assignment* find_assignment(const std::string& name) const;
};

// Where the config comes from: a file (may be empty for built-in defaults) and the process
// environment (passed in so tests can supply their own).
struct ConfigSource {
    std::string path;
    std::map<std::string, std::string> env;
};

// Reads, overrides and validates. Fails with invalid_argument (field = the key) or not_found
// (the file is missing; field = the path).
Result<Config> load_config(const ConfigSource& source);

// Parses YAML text as if read from a file in `base_dir` (relative paths resolve against it).
Result<Config> parse_config(const std::string& yaml_text, const std::string& base_dir,
                            const std::map<std::string, std::string>& env);

// The environment of this process, as a map (only HIRESTREAM_* variables).
std::map<std::string, std::string> process_environment();

}  // namespace hirestream::config
