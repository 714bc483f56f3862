#pragma once
// Config: everything hirestream reads at start-up, from one YAML file plus environment
// overrides. load_config() validates every key; an invalid config fails with invalid_argument
// whose `field` is the key's path (e.g. "rules[1].when.experience.gt"), so start-up can name it.
// Plain values; immutable after loading.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "store/assignment_record.h"
#include "store/table_spec.h"

namespace hirestream::config {

struct ServerConfig {
    std::string host = "127.0.0.1";
    int port = 8080;
    std::string public_url;  // empty: derived from the bound address at start-up
    std::size_t max_body_bytes = 64 * 1024;
    // PUT /assignments/{name} only: a zip may be far larger than a candidate (SES's cap).
    std::size_t max_upload_bytes = 10 * 1024 * 1024;
    // POST /candidates:import only (CSV; hirestream import sends a larger file in parts).
    std::size_t max_import_bytes = 32 * 1024 * 1024;
    // Live change streams (GET /candidates/changes) open at once.
    int max_event_streams = 256;
    std::size_t max_header_bytes = 16 * 1024;
    // I/O threads. POST /candidates does not hold one while its commit is pending (every open
    // connection's write can share one fsync); other writes (PATCH, DELETE, keys) wait on
    // theirs, so a few threads keep reads answering meanwhile. More threads cost context
    // switches: on 2 cores, 2 to 4 ingest fastest.
    int threads = 4;
    int idle_timeout_seconds = 60;
    int request_timeout_seconds = 30;
    int max_connections = 10'000;
    // Browser origins allowed to call the API (CORS), e.g. "https://app.example.com"; empty:
    // no CORS headers.
    std::vector<std::string> cors_origins;
};

// auth: API keys (x-api-key).
struct AuthConfig {
    // An admin key seeded at start (HIRESTREAM_ADMIN_KEY wins); at least 24 characters; empty:
    // none (a random admin key is created and printed once when the database has no key).
    std::string admin_key;
    bool metrics_require_key = false;  // GET /metrics needs an admin key
    int failures_per_minute = 5;       // bad keys from one address before it waits (429)
};

struct TableConfig {
    store::TableSpec spec;
    int stream_retention_hours = 24;
};

enum class StartingPosition { trim_horizon, latest };

// One `stream` event of a function, in the Serverless Framework's keys (the comments name them).
// The ranges are AWS Lambda's event-source-mapping limits; load_config() enforces them.
struct StreamEventConfig {
    std::string arn;       // arn, as resolved; empty = the candidates table's stream
    std::string table;     // the table the ARN names (always one of ours); set by load_config()
    int batch_size = 100;  // batchSize 1..10,000
    int batch_window_seconds = 0;                                         // batchWindow 0..300
    StartingPosition starting_position = StartingPosition::trim_horizon;  // startingPosition
    int maximum_retry_attempts = -1;              // maximumRetryAttempts -1 (until expiry)..10,000
    int maximum_record_age_seconds = -1;          // maximumRecordAgeInSeconds -1 or 60..604,800
    bool bisect_batch_on_function_error = false;  // bisectBatchOnFunctionError
    int parallelization_factor = 1;               // parallelizationFactor 1..10
    bool report_batch_item_failures = false;      // functionResponseType: ReportBatchItemFailures
    // filterPatterns: each pattern as compact JSON text, e.g. {"eventName":["INSERT"]}; at most 5.
    std::vector<std::string> filter_patterns;
    // destinations.onFailure: a destination name ([A-Za-z0-9_-]{1,64}); an SQS or SNS ARN in
    // the file gives its last segment. Empty = none.
    std::string on_failure;
    // tumblingWindowInSeconds 0..900: accepted and validated, not applied yet (no aggregation
    // state is carried between invocations).
    int tumbling_window_seconds = 0;
    bool enabled = true;  // enabled

    friend bool operator==(const StreamEventConfig&, const StreamEventConfig&) = default;
};

struct FunctionConfig {
    std::string name;  // e.g. "sendAssignment"; [A-Za-z0-9_-]{1,64}
    // "builtin:assignment" | "http://..." | "https://..." (a webhook) | "exec:<command line>"
    std::string handler;
    std::string description;
    int timeout_seconds = 6;  // timeout 1..900: the function's, else provider.timeout, else 6
    int memory_size_mb =
        1024;  // memorySize 128..10,240: the function's, else provider's, else 1024
    // provider.environment overlaid by the function's own `environment`.
    std::map<std::string, std::string> environment;
    std::vector<StreamEventConfig> stream_events;

    friend bool operator==(const FunctionConfig&, const FunctionConfig&) = default;
};

struct RetryConfig {
    int initial_backoff_ms = 1000;
    int max_backoff_ms = 300'000;
    // Transient failures (relay down, 4xx) are retried until maxAttempts (0: no limit) or until
    // the delivery is maxAgeHours old: an outage of hours loses nobody.
    int max_attempts = 0;
    int max_age_hours = 72;
};

// Sending limits, like SES's maximum send rate and 24-hour quota; 0 = no limit. Throttled
// emails wait as PENDING; none is dropped.
struct RateLimitConfig {
    int per_second = 0;
    std::int64_t per_24_hours = 0;
};

// mail.templates: each an absolute file path, or empty for the built-in template (the subject's
// built-in template is mail.subject).
struct TemplatesConfig {
    std::string subject;
    std::string text;
    std::string html;
};

// mail.links: signed download links.
struct LinksConfig {
    // HMAC key; empty: a random one generated once and kept in the data folder.
    std::string secret;
    int ttl_days = 7;     // as S3's longest pre-signed URLs
    int ttl_seconds = 0;  // when > 0, wins over ttl_days (short-lived links, tests)

    std::int64_t ttl_s() const { return ttl_seconds > 0 ? ttl_seconds : ttl_days * 86'400LL; }
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
    std::string auth_mechanism;  // empty: the best the server offers; PLAIN or LOGIN
    RetryConfig retry;
    RateLimitConfig rate_limit;
    TemplatesConfig templates;
    LinksConfig links;
};

struct Assignment {
    std::string name;   // e.g. "assignment1"
    std::string file;   // absolute path of the zip
    std::string title;  // shown in emails
    store::DeliveryMode delivery = store::DeliveryMode::both;
};

// A numeric range on experience; absent bounds are open.
struct NumberRange {
    std::optional<double> gt, gte, lt, lte;
    bool contains(double value) const;
};

// when.skills.contains: a word or a list of words; matches when the candidate's skills contain
// any of them, case-insensitively, as a substring. An empty list matches every candidate.
struct SkillMatch {
    std::vector<std::string> contains;  // lower-cased
    bool matches(std::string_view skills) const;
};

struct Rule {
    std::string assignment;
    NumberRange experience;
    SkillMatch skills = {};  // AND-ed with experience
};

struct Config {
    std::string service = "candidates";
    std::string stage = "dev";
    std::string region = "us-east-1";
    std::string account_id = "000000000000";
    ServerConfig server;
    AuthConfig auth;
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

// Checks that every rule and the default name an assignment that exists: declared in the config
// or, through `known`, elsewhere (uploaded ones). Fails with invalid_argument naming
// "rules[i].assignment" or "defaultAssignment".
Result<void> check_rule_assignments(const Config& config,
                                    const std::function<bool(const std::string&)>& known);

// Where the config comes from: a file (may be empty for built-in defaults), the process
// environment (passed in so tests can supply their own; HIRESTREAM_* overrides, and every
// variable for ${env:NAME}) and the command-line options (for ${opt:NAME}; "stage" and "region"
// also win over provider.stage and provider.region, as `serverless --stage` does).
struct ConfigSource {
    std::string path;
    std::map<std::string, std::string> env;
    std::map<std::string, std::string> options = {};  // e.g. {"stage", "prod"} from --stage
};

// Reads, resolves Serverless variables, overrides and validates. Fails with invalid_argument
// (field = the key, e.g. "functions.sendAssignment.events[0].stream.batchSize") or not_found
// (the file is missing; field = the path).
Result<Config> load_config(const ConfigSource& source);

// Parses YAML text as if read from a file in `base_dir` (relative paths resolve against it).
Result<Config> parse_config(const std::string& yaml_text, const std::string& base_dir,
                            const std::map<std::string, std::string>& env,
                            const std::map<std::string, std::string>& options = {});

// The environment of this process, as a map: every variable, since a config may name any of
// them with ${env:NAME}; the overrides read only the HIRESTREAM_* ones.
std::map<std::string, std::string> process_environment();

}  // namespace hirestream::config
