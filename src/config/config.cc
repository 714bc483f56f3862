#include "config/config.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/email_address.h"
#include "common/zip_archive.h"
#include "config/serverless_variables.h"

extern char** environ;

namespace hirestream::config {
namespace {

namespace fs = std::filesystem;

// A mapping key as text. YAML allows any node as a key ("? [a, b]: 1" is a list key); config
// keys are names, so anything but a scalar is refused, naming where it is (`path`).
Result<std::string> key_name(const YAML::Node& key, const std::string& path) {
    if (!key.IsScalar()) {
        return fail(Errc::invalid_argument, "keys must be plain names, not lists or mappings",
                    path);
    }
    return key.Scalar();
}

// Reads typed values out of a YAML mapping, naming the full key path in every error.
class Section {
  public:
    Section(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {}

    bool present() const { return node_.IsDefined() && !node_.IsNull(); }
    const std::string& path() const { return path_; }
    std::string key(const std::string& name) const {
        return path_.empty() ? name : path_ + "." + name;
    }

    // Fails when the node is not a mapping or holds a key outside `allowed`: a typo in a key
    // must not silently fall back to a default.
    Result<void> check(std::initializer_list<std::string_view> allowed) const {
        if (!present()) return {};
        if (!node_.IsMap()) return fail(Errc::invalid_argument, "must be a mapping", path_);
        for (const auto& entry : node_) {
            auto named = key_name(entry.first, path_);
            if (!named) return fail(named.error());
            const auto& name = *named;
            if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
                return fail(Errc::invalid_argument, "unknown key", key(name));
            }
        }
        return {};
    }

    Section child(const std::string& name) const {
        return Section(present() && node_.IsMap() ? node_[name] : YAML::Node(), key(name));
    }
    const YAML::Node& node() const { return node_; }

    Result<void> read(const std::string& name, std::string& out) const {
        auto n = field(name);
        if (!n) return {};
        if (!n->IsScalar()) return fail(Errc::invalid_argument, "must be a string", key(name));
        out = n->Scalar();
        return {};
    }

    Result<void> read(const std::string& name, bool& out) const {
        auto n = field(name);
        if (!n) return {};
        try {
            out = n->as<bool>();
        } catch (const YAML::Exception&) {
            return fail(Errc::invalid_argument, "must be true or false", key(name));
        }
        return {};
    }

    template <typename Int>
    Result<void> read_int(const std::string& name, Int& out, long long min, long long max) const {
        auto n = field(name);
        if (!n) return {};
        long long value = 0;
        try {
            value = n->as<long long>();
        } catch (const YAML::Exception&) {
            return fail(Errc::invalid_argument, "must be a whole number", key(name));
        }
        if (value < min || value > max) {
            return fail(Errc::invalid_argument,
                        fmt::format("must be between {} and {}, got {}", min, max, value),
                        key(name));
        }
        out = static_cast<Int>(value);
        return {};
    }

  private:
    std::optional<YAML::Node> field(const std::string& name) const {
        if (!present() || !node_.IsMap()) return std::nullopt;
        YAML::Node n = node_[name];
        if (!n.IsDefined() || n.IsNull()) return std::nullopt;
        return n;
    }

    YAML::Node node_;
    std::string path_;
};

#define HS_TRY(expr)                                        \
    do {                                                    \
        if (auto _r = (expr); !_r) return fail(_r.error()); \
    } while (0)

std::string resolve_path(const std::string& base_dir, const std::string& path) {
    if (path.empty()) return path;
    fs::path p(path);
    if (p.is_relative()) p = fs::path(base_dir) / p;
    return p.lexically_normal().string();
}


bool has_control(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// "Name <addr@host>" or "addr@host".
Result<void> parse_mailbox(const std::string& text, const std::string& key, std::string& name,
                           std::string& address) {
    if (has_control(text)) return fail(Errc::invalid_argument, "holds a control character", key);
    const auto lt = text.find('<');
    if (lt == std::string::npos) {
        name.clear();
        address = text;
    } else {
        const auto gt = text.find('>', lt);
        if (gt == std::string::npos || gt + 1 != text.size()) {
            return fail(Errc::invalid_argument, "must be \"Name <address>\" or an address", key);
        }
        name = text.substr(0, lt);
        while (!name.empty() && name.back() == ' ') name.pop_back();
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
        }
        address = text.substr(lt + 1, gt - lt - 1);
    }
    if (!is_valid_email_address(address)) {
        return fail(Errc::invalid_argument, fmt::format("'{}' is not an email address", address),
                    key);
    }
    return {};
}

Result<void> parse_listen(const std::string& text, const std::string& key, ServerConfig& server) {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
        return fail(Errc::invalid_argument, "must be host:port", key);
    }
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    int port = -1;
    try {
        std::size_t used = 0;
        port = std::stoi(text.substr(colon + 1), &used);
        if (used != text.size() - colon - 1) port = -1;
    } catch (const std::exception&) {
        port = -1;
    }
    if (port < 0 || port > 65535) {
        return fail(Errc::invalid_argument, "port must be a number from 0 to 65535", key);
    }
    server.host = host;
    server.port = port;
    return {};
}

Result<void> check_zip(const std::string& path, const std::string& key) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(Errc::invalid_argument, fmt::format("cannot read '{}'", path), key);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (auto zip = check_zip_archive(bytes.str()); !zip) {
        return fail(Errc::invalid_argument, fmt::format("'{}' {}", path, zip.error().message),
                    key);
    }
    return {};
}

Result<void> read_range(const Section& s, NumberRange& range) {
    HS_TRY(s.check({"gt", "gte", "lt", "lte"}));
    if (!s.present()) return {};
    auto read_bound = [&](const char* name, std::optional<double>& out) -> Result<void> {
        YAML::Node n = s.node()[name];
        if (!n.IsDefined() || n.IsNull()) return {};
        try {
            out = n.as<double>();
        } catch (const YAML::Exception&) {
            return fail(Errc::invalid_argument, "must be a number", s.key(name));
        }
        if (!std::isfinite(*out)) {
            return fail(Errc::invalid_argument, "must be a finite number", s.key(name));
        }
        return {};
    };
    HS_TRY(read_bound("gt", range.gt));
    HS_TRY(read_bound("gte", range.gte));
    HS_TRY(read_bound("lt", range.lt));
    HS_TRY(read_bound("lte", range.lte));
    if (range.gt && range.gte) {
        return fail(Errc::invalid_argument, "give gt or gte, not both", s.path());
    }
    if (range.lt && range.lte) {
        return fail(Errc::invalid_argument, "give lt or lte, not both", s.path());
    }
    return {};
}

// The shipped config/hirestream.yaml declares the same function; a test keeps them equal.
FunctionConfig default_function() {
    FunctionConfig fn;
    fn.name = "sendAssignment";
    fn.handler = "builtin:assignment";
    fn.description = "Email each new candidate the assignment for their experience";
    fn.timeout_seconds = 30;
    fn.memory_size_mb = 128;
    StreamEventConfig ev;
    ev.maximum_retry_attempts = 3;
    ev.maximum_record_age_seconds = 86'400;
    ev.bisect_batch_on_function_error = true;
    ev.report_batch_item_failures = true;
    ev.filter_patterns = {R"({"eventName":["INSERT"]})"};
    ev.on_failure = "deadletters";
    fn.stream_events = {ev};
    return fn;
}

void apply_defaults(Config& c, const std::string& base_dir) {
    c.data_dir = resolve_path(base_dir, "data");
    c.mail.outbox_dir = resolve_path(base_dir, "outbox");
    c.mail.from_name = "Hiring Team";
    c.mail.from_address = "hiring@example.com";
    c.mail.reply_to = {"recruiting@example.com"};
    c.candidates.spec.unique_attributes = {"email"};
    c.functions = {default_function()};
    const char* titles[] = {"Assignment 1: a command-line word counter",
                            "Assignment 2: a rate-limited HTTP client",
                            "Assignment 3: a replicated key-value store"};
    for (int i = 1; i <= 3; ++i) {
        const std::string name = fmt::format("assignment{}", i);
        c.assignments.push_back(
            {name, resolve_path(base_dir, "assignments/" + name + ".zip"), titles[i - 1],
             store::DeliveryMode::both});
    }
    c.rules = {Rule{"assignment1", NumberRange{std::nullopt, 0.0, std::nullopt, 5.0}, {}},
               Rule{"assignment2", NumberRange{5.0, std::nullopt, std::nullopt, 8.0}, {}},
               Rule{"assignment3", NumberRange{8.0, std::nullopt, std::nullopt, std::nullopt},
                    {}}};
    c.default_assignment = "assignment3";
}

// Names of functions and destinations: Lambda's function-name alphabet and length.
bool valid_name(std::string_view name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

constexpr const char* kHandlerKinds =
    "builtin:assignment, an http:// or https:// URL (a webhook) or exec:<command line>";

Result<void> check_handler(const std::string& handler, const std::string& key) {
    if (handler == "builtin:assignment") return {};
    if (handler.starts_with("http://") || handler.starts_with("https://")) {
        auto url = boost::urls::parse_absolute_uri(handler);
        if (url && url->has_authority() && !url->encoded_host().empty()) return {};
        return fail(Errc::invalid_argument, fmt::format("'{}' is not a valid URL", handler), key);
    }
    if (handler.starts_with("exec:")) {
        if (trim(std::string_view(handler).substr(5)).empty()) {
            return fail(Errc::invalid_argument,
                        "exec: needs a command line, e.g. exec:node handler.js", key);
        }
        return {};
    }
    if (handler.empty()) {
        return fail(Errc::invalid_argument, fmt::format("is required: {}", kHandlerKinds), key);
    }
    return fail(
        Errc::invalid_argument,
        fmt::format("'{}' is not a handler hirestream runs; use {}", handler, kHandlerKinds), key);
}

// `environment:` of the provider or a function: names as Lambda allows them, scalar values.
Result<void> read_environment(const Section& s, std::map<std::string, std::string>& out) {
    if (!s.present()) return {};
    if (!s.node().IsMap()) {
        return fail(Errc::invalid_argument, "must map variable names to values", s.path());
    }
    for (const auto& entry : s.node()) {
        auto named = key_name(entry.first, s.path());
        if (!named) return fail(named.error());
        const auto& name = *named;
        const bool valid = !name.empty() && std::isalpha(static_cast<unsigned char>(name[0])) &&
                           std::all_of(name.begin(), name.end(), [](char ch) {
                               return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
                           });
        if (!valid) {
            return fail(Errc::invalid_argument,
                        "variable names start with a letter and hold letters, digits and '_'",
                        s.key(name));
        }
        if (entry.second.IsNull()) {
            out[name].clear();
        } else if (entry.second.IsScalar()) {
            out[name] = entry.second.Scalar();
        } else {
            return fail(Errc::invalid_argument, "must be a single value", s.key(name));
        }
    }
    return {};
}

void append_json_string(std::string_view text, std::string& out) {
    out += '"';
    for (const char ch : text) {
        switch (ch) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(ch) < 0x20) {
                    out += fmt::format("\\u{:04x}", static_cast<unsigned char>(ch));
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

// A YAML value as JSON text. A plain (unquoted) scalar that reads as a JSON number, a YAML 1.2
// boolean or null becomes that JSON type, as js-yaml gives it to Serverless; a quoted one
// stays a string, so ['>', 5] is [">",5] and '5' is "5".
void append_json(const YAML::Node& node, std::string& out) {
    if (node.IsMap()) {
        out += '{';
        bool first = true;
        for (const auto& entry : node) {
            if (!first) out += ',';
            first = false;
            append_json_string(entry.first.Scalar(), out);
            out += ':';
            append_json(entry.second, out);
        }
        out += '}';
    } else if (node.IsSequence()) {
        out += '[';
        for (std::size_t i = 0; i < node.size(); ++i) {
            if (i) out += ',';
            append_json(node[i], out);
        }
        out += ']';
    } else if (!node.IsScalar()) {
        out += "null";
    } else {
        static const std::regex number(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
        const std::string& text = node.Scalar();
        const bool plain = node.Tag() == "?" || node.Tag().empty();
        if (plain && std::regex_match(text, number)) {
            out += text;
        } else if (plain && (text == "true" || text == "True" || text == "TRUE")) {
            out += "true";
        } else if (plain && (text == "false" || text == "False" || text == "FALSE")) {
            out += "false";
        } else if (plain && (text == "null" || text == "Null" || text == "NULL" || text == "~")) {
            out += "null";
        } else {
            append_json_string(text, out);
        }
    }
}

// AWS's filter grammar: nested mappings whose leaves are lists (of values or operator objects).
Result<void> check_pattern(const YAML::Node& node, const std::string& path) {
    if (node.size() == 0) return fail(Errc::invalid_argument, "must not be empty", path);
    for (const auto& entry : node) {
        auto named = key_name(entry.first, path);
        if (!named) return fail(named.error());
        const std::string key = path + "." + *named;
        if (entry.second.IsMap()) {
            HS_TRY(check_pattern(entry.second, key));
        } else if (!entry.second.IsSequence() || entry.second.size() == 0) {
            return fail(Errc::invalid_argument,
                        "must be a list of values or operators, e.g. [INSERT] or [{prefix: a}]",
                        key);
        }
    }
    return {};
}

// onFailure: a destination name, or an SQS queue or SNS topic ARN whose last segment is one.
Result<void> read_destination(const std::string& target, const std::string& key, std::string& out) {
    std::string name = target;
    if (target.starts_with("arn:")) {
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (std::size_t colon; (colon = target.find(':', start)) != std::string::npos;
             start = colon + 1) {
            parts.push_back(target.substr(start, colon - start));
        }
        parts.push_back(target.substr(start));
        if (parts.size() != 6 || (parts[2] != "sqs" && parts[2] != "sns")) {
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' is not an SQS or SNS ARN (arn:aws:sqs:<region>:"
                                    "<account>:<name>)",
                                    target),
                        key);
        }
        name = parts[5];
    }
    if (!valid_name(name)) {
        return fail(Errc::invalid_argument,
                    fmt::format("'{}' is not a destination name (letters, digits, '-' and '_', "
                                "at most 64)",
                                name),
                    key);
    }
    out = name;
    return {};
}

// The table a DynamoDB stream ARN names: arn:aws:dynamodb:<region>:<account>:table/<table>/
// stream/<label>. Account and label may be empty (the seed pasted them by hand); the label
// itself holds colons (2017-02-21T12:05:33.650), so only the first five colons split.
std::optional<std::string> stream_arn_table(std::string_view arn) {
    std::string_view parts[5];
    for (auto& part : parts) {
        const auto colon = arn.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        part = arn.substr(0, colon);
        arn.remove_prefix(colon + 1);
    }
    if (parts[0] != "arn" || !parts[1].starts_with("aws") || parts[2] != "dynamodb" ||
        parts[3].empty() || !arn.starts_with("table/")) {
        return std::nullopt;
    }
    arn.remove_prefix(6);
    const auto slash = arn.find('/');
    if (slash == 0 || slash == std::string_view::npos ||
        !arn.substr(slash).starts_with("/stream/")) {
        return std::nullopt;
    }
    return std::string(arn.substr(0, slash));
}

Result<void> read_stream_event(const YAML::Node& node, const std::string& path,
                               StreamEventConfig& sc) {
    if (node.IsScalar()) {  // a bare ARN, as in the seed
        sc.arn = node.Scalar();
        return {};
    }
    Section st(node, path);
    HS_TRY(st.check({"arn", "type", "batchSize", "batchWindow", "startingPosition",
                     "maximumRetryAttempts", "maximumRecordAgeInSeconds",
                     "bisectBatchOnFunctionError", "parallelizationFactor", "functionResponseType",
                     "filterPatterns", "destinations", "tumblingWindowInSeconds", "enabled"}));
    if (!st.present()) return {};
    const YAML::Node& n = st.node();
    if (n["arn"].IsDefined() && !n["arn"].IsNull() && !n["arn"].IsScalar()) {
        return fail(Errc::invalid_argument,
                    "must be a stream ARN string (CloudFormation functions such as Fn::GetAtt "
                    "are not evaluated)",
                    st.key("arn"));
    }
    HS_TRY(st.read("arn", sc.arn));
    std::string type;
    HS_TRY(st.read("type", type));
    if (!type.empty() && type != "dynamodb") {
        return fail(Errc::invalid_argument,
                    "must be dynamodb: hirestream's streams are DynamoDB streams", st.key("type"));
    }
    HS_TRY(st.read_int("batchSize", sc.batch_size, 1, 10'000));
    HS_TRY(st.read_int("batchWindow", sc.batch_window_seconds, 0, 300));
    std::string position = "TRIM_HORIZON";
    HS_TRY(st.read("startingPosition", position));
    if (position == "TRIM_HORIZON") {
        sc.starting_position = StartingPosition::trim_horizon;
    } else if (position == "LATEST") {
        sc.starting_position = StartingPosition::latest;
    } else {
        return fail(Errc::invalid_argument, "must be TRIM_HORIZON or LATEST",
                    st.key("startingPosition"));
    }
    HS_TRY(st.read_int("maximumRetryAttempts", sc.maximum_retry_attempts, -1, 10'000));
    HS_TRY(st.read_int("maximumRecordAgeInSeconds", sc.maximum_record_age_seconds, -1, 604'800));
    if (sc.maximum_record_age_seconds != -1 && sc.maximum_record_age_seconds < 60) {
        return fail(Errc::invalid_argument,
                    fmt::format("must be -1 or between 60 and 604800, got {}",
                                sc.maximum_record_age_seconds),
                    st.key("maximumRecordAgeInSeconds"));
    }
    HS_TRY(st.read("bisectBatchOnFunctionError", sc.bisect_batch_on_function_error));
    HS_TRY(st.read_int("parallelizationFactor", sc.parallelization_factor, 1, 10));
    std::string response_type;
    HS_TRY(st.read("functionResponseType", response_type));
    if (!response_type.empty() && response_type != "ReportBatchItemFailures") {
        return fail(Errc::invalid_argument, "must be ReportBatchItemFailures",
                    st.key("functionResponseType"));
    }
    sc.report_batch_item_failures = !response_type.empty();

    const YAML::Node patterns = n["filterPatterns"];
    if (patterns.IsDefined() && !patterns.IsNull()) {
        const std::string key = st.key("filterPatterns");
        if (!patterns.IsSequence()) {
            return fail(Errc::invalid_argument, "must be a list of patterns", key);
        }
        if (patterns.size() > 5) {
            return fail(Errc::invalid_argument,
                        fmt::format("at most 5 patterns, got {}", patterns.size()), key);
        }
        for (std::size_t i = 0; i < patterns.size(); ++i) {
            const std::string item = fmt::format("{}[{}]", key, i);
            if (!patterns[i].IsMap()) {
                return fail(Errc::invalid_argument, "must be a mapping, e.g. {eventName: [INSERT]}",
                            item);
            }
            HS_TRY(check_pattern(patterns[i], item));
            std::string json;
            append_json(patterns[i], json);
            sc.filter_patterns.push_back(std::move(json));
        }
    }

    Section destinations = st.child("destinations");
    HS_TRY(destinations.check({"onFailure"}));
    if (destinations.present() && destinations.node()["onFailure"].IsDefined() &&
        !destinations.node()["onFailure"].IsNull()) {
        const YAML::Node target = destinations.node()["onFailure"];
        Section on_failure(target, destinations.key("onFailure"));
        std::string value;
        if (target.IsScalar()) {
            value = target.Scalar();
        } else {
            HS_TRY(on_failure.check({"arn", "type"}));
            HS_TRY(on_failure.read("arn", value));
            std::string kind;
            HS_TRY(on_failure.read("type", kind));
            if (!kind.empty() && kind != "sqs" && kind != "sns") {
                return fail(Errc::invalid_argument, "must be sqs or sns", on_failure.key("type"));
            }
            if (value.empty()) {
                return fail(Errc::invalid_argument, "is required", on_failure.key("arn"));
            }
        }
        HS_TRY(read_destination(value, on_failure.path(), sc.on_failure));
    }
    HS_TRY(st.read_int("tumblingWindowInSeconds", sc.tumbling_window_seconds, 0, 900));
    HS_TRY(st.read("enabled", sc.enabled));
    return {};
}

// provider-wide function settings (Serverless: provider.timeout, memorySize, environment).
struct ProviderDefaults {
    std::optional<int> timeout_seconds;
    std::optional<int> memory_size_mb;
    std::map<std::string, std::string> environment;
};

Result<void> read_functions(const Section& s, const ProviderDefaults& provider, Config& c) {
    if (!s.present()) return {};
    if (!s.node().IsMap()) return fail(Errc::invalid_argument, "must be a mapping", s.path());
    c.functions.clear();
    for (const auto& entry : s.node()) {
        FunctionConfig fn;
        auto named = key_name(entry.first, s.path());
        if (!named) return fail(named.error());
        fn.name = *named;
        Section f(entry.second, s.key(fn.name));
        if (!valid_name(fn.name)) {
            return fail(Errc::invalid_argument,
                        "function names hold 1 to 64 letters, digits, '-' and '_'", f.path());
        }
        if (!f.present()) {
            return fail(Errc::invalid_argument, "must be a mapping with at least a handler",
                        f.path());
        }
        HS_TRY(
            f.check({"handler", "description", "timeout", "memorySize", "environment", "events"}));
        HS_TRY(f.read("handler", fn.handler));
        HS_TRY(check_handler(fn.handler, f.key("handler")));
        HS_TRY(f.read("description", fn.description));
        if (fn.description.size() > 256) {
            return fail(Errc::invalid_argument, "must be at most 256 characters",
                        f.key("description"));
        }
        fn.timeout_seconds = provider.timeout_seconds.value_or(fn.timeout_seconds);
        HS_TRY(f.read_int("timeout", fn.timeout_seconds, 1, 900));
        fn.memory_size_mb = provider.memory_size_mb.value_or(fn.memory_size_mb);
        HS_TRY(f.read_int("memorySize", fn.memory_size_mb, 128, 10'240));
        HS_TRY(read_environment(f.child("environment"), fn.environment));

        const YAML::Node events = f.node()["events"];
        if (events.IsDefined() && !events.IsNull()) {
            if (!events.IsSequence()) {
                return fail(Errc::invalid_argument, "must be a list", f.key("events"));
            }
            for (std::size_t i = 0; i < events.size(); ++i) {
                const std::string item = fmt::format("{}[{}]", f.key("events"), i);
                const YAML::Node event = events[i];
                if (!event.IsMap() || event.size() != 1) {
                    return fail(Errc::invalid_argument, "must be one event, e.g. - stream: <arn>",
                                item);
                }
                auto kind_named = key_name(event.begin()->first, item);
                if (!kind_named) return fail(kind_named.error());
                const auto& kind = *kind_named;
                if (kind != "stream") {
                    return fail(Errc::invalid_argument,
                                fmt::format("{} events are not supported: hirestream runs "
                                            "functions on its table's stream only (- stream: ...)",
                                            kind),
                                item + "." + kind);
                }
                const YAML::Node stream = event.begin()->second;
                const std::string stream_key = item + ".stream";
                StreamEventConfig sc;
                HS_TRY(read_stream_event(stream, stream_key, sc));
                sc.table = c.candidates.spec.name;
                if (!sc.arn.empty()) {
                    const std::string arn_key =
                        stream.IsScalar() ? stream_key : stream_key + ".arn";
                    auto table = stream_arn_table(sc.arn);
                    if (!table) {
                        return fail(Errc::invalid_argument,
                                    fmt::format("'{}' is not a DynamoDB stream ARN; expected "
                                                "arn:aws:dynamodb:<region>:<account>:table/"
                                                "<table>/stream/<label> (account and label may "
                                                "be empty)",
                                                sc.arn),
                                    arn_key);
                    }
                    if (*table != c.candidates.spec.name) {
                        return fail(Errc::invalid_argument,
                                    fmt::format("names table '{}', which hirestream does not "
                                                "have; its tables: {}",
                                                *table, c.candidates.spec.name),
                                    arn_key);
                    }
                }
                fn.stream_events.push_back(std::move(sc));
            }
        }
        c.functions.push_back(std::move(fn));
    }
    return {};
}

Result<void> read_mail(const Section& s, const std::string& base_dir, Config& c) {
    HS_TRY(s.check({"smtpUrl", "outboxDir", "from", "replyTo", "subject", "smtp", "retry",
                    "rateLimit", "templates", "links"}));
    MailConfig& m = c.mail;
    HS_TRY(s.read("smtpUrl", m.smtp_url));
    std::string outbox;
    HS_TRY(s.read("outboxDir", outbox));
    if (!outbox.empty()) m.outbox_dir = resolve_path(base_dir, outbox);
    std::string from;
    HS_TRY(s.read("from", from));
    if (!from.empty()) HS_TRY(parse_mailbox(from, s.key("from"), m.from_name, m.from_address));
    YAML::Node reply_to = s.present() ? s.node()["replyTo"] : YAML::Node();
    if (reply_to.IsDefined() && !reply_to.IsNull()) {
        m.reply_to.clear();
        if (reply_to.IsScalar()) {
            m.reply_to.push_back(reply_to.Scalar());
        } else if (reply_to.IsSequence()) {
            for (const auto& r : reply_to) m.reply_to.push_back(r.Scalar());
        } else {
            return fail(Errc::invalid_argument, "must be an address or a list of addresses",
                        s.key("replyTo"));
        }
        for (std::size_t i = 0; i < m.reply_to.size(); ++i) {
            if (!is_valid_email_address(m.reply_to[i])) {
                return fail(Errc::invalid_argument,
                            fmt::format("'{}' is not an email address", m.reply_to[i]),
                            fmt::format("{}[{}]", s.key("replyTo"), i));
            }
        }
    }
    HS_TRY(s.read("subject", m.subject));
    if (m.subject.empty() || has_control(m.subject)) {
        return fail(Errc::invalid_argument, "must be one non-empty line", s.key("subject"));
    }
    Section smtp = s.child("smtp");
    HS_TRY(smtp.check({"connectTimeoutMs", "responseTimeoutMs", "totalTimeoutMs", "caFile",
                       "verifyPeer", "poolSize", "authMechanism"}));
    HS_TRY(smtp.read_int("connectTimeoutMs", m.connect_timeout_ms, 1, 600'000));
    HS_TRY(smtp.read_int("responseTimeoutMs", m.response_timeout_ms, 1, 600'000));
    HS_TRY(smtp.read_int("totalTimeoutMs", m.total_timeout_ms, 1, 3'600'000));
    HS_TRY(smtp.read("caFile", m.ca_file));
    m.ca_file = resolve_path(base_dir, m.ca_file);
    HS_TRY(smtp.read("verifyPeer", m.verify_peer));
    HS_TRY(smtp.read_int("poolSize", m.pool_size, 1, 64));
    HS_TRY(smtp.read("authMechanism", m.auth_mechanism));
    if (!m.auth_mechanism.empty() && m.auth_mechanism != "PLAIN" && m.auth_mechanism != "LOGIN") {
        return fail(Errc::invalid_argument,
                    fmt::format("'{}' is not PLAIN, LOGIN or empty (the server's choice)",
                                m.auth_mechanism),
                    smtp.key("authMechanism"));
    }
    Section rate = s.child("rateLimit");
    HS_TRY(rate.check({"perSecond", "per24Hours"}));
    HS_TRY(rate.read_int("perSecond", m.rate_limit.per_second, 0, 100'000));
    HS_TRY(rate.read_int("per24Hours", m.rate_limit.per_24_hours, 0, 1'000'000'000));
    Section retry = s.child("retry");
    HS_TRY(retry.check({"initialBackoffMs", "maxBackoffMs", "maxAttempts", "maxAgeHours"}));
    HS_TRY(retry.read_int("initialBackoffMs", m.retry.initial_backoff_ms, 1, 86'400'000));
    HS_TRY(retry.read_int("maxBackoffMs", m.retry.max_backoff_ms, 1, 86'400'000));
    HS_TRY(retry.read_int("maxAttempts", m.retry.max_attempts, 0, 100'000));
    HS_TRY(retry.read_int("maxAgeHours", m.retry.max_age_hours, 1, 24 * 30));
    if (m.retry.max_backoff_ms < m.retry.initial_backoff_ms) {
        return fail(Errc::invalid_argument, "must not be below initialBackoffMs",
                    retry.key("maxBackoffMs"));
    }
    Section templates = s.child("templates");
    HS_TRY(templates.check({"subject", "text", "html"}));
    for (auto [key, path] : {std::pair{"subject", &m.templates.subject},
                             std::pair{"text", &m.templates.text},
                             std::pair{"html", &m.templates.html}}) {
        HS_TRY(templates.read(key, *path));
        if (path->empty()) continue;
        *path = resolve_path(base_dir, *path);
        if (!std::filesystem::is_regular_file(*path)) {
            return fail(Errc::invalid_argument, fmt::format("no template file '{}'", *path),
                        templates.key(key));
        }
    }
    Section links = s.child("links");
    HS_TRY(links.check({"secret", "ttlDays", "ttlSeconds"}));
    HS_TRY(links.read("secret", m.links.secret));
    HS_TRY(links.read_int("ttlDays", m.links.ttl_days, 1, 365));
    HS_TRY(links.read_int("ttlSeconds", m.links.ttl_seconds, 0, 365 * 86'400));
    return {};
}

Result<void> read_skills(const Section& s, SkillMatch& skills) {
    HS_TRY(s.check({"contains"}));
    if (!s.present()) return {};
    YAML::Node n = s.node()["contains"];
    const auto key = s.key("contains");
    if (!n.IsDefined() || n.IsNull()) {
        return fail(Errc::invalid_argument, "is required: a word or a list of words", key);
    }
    std::vector<std::string> words;
    if (n.IsScalar()) {
        words.push_back(n.Scalar());
    } else if (n.IsSequence() && n.size() > 0) {
        for (const auto& w : n) {
            if (!w.IsScalar()) {
                return fail(Errc::invalid_argument, "must be a word or a list of words", key);
            }
            words.push_back(w.Scalar());
        }
    } else {
        return fail(Errc::invalid_argument, "must be a word or a non-empty list of words", key);
    }
    for (auto& w : words) {
        if (w.empty() || has_control(w)) {
            return fail(Errc::invalid_argument, "a word must be non-empty and one line", key);
        }
        std::transform(w.begin(), w.end(), w.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    }
    skills.contains = std::move(words);
    return {};
}

Result<void> read_assignments_and_rules(const Section& root, const std::string& base_dir,
                                        Config& c) {
    Section as = root.child("assignments");
    if (as.present()) {
        if (!as.node().IsMap() || as.node().size() == 0) {
            return fail(Errc::invalid_argument, "must map assignment names to their files",
                        as.path());
        }
        c.assignments.clear();
        for (const auto& entry : as.node()) {
            Assignment a;
            auto named = key_name(entry.first, as.path());
            if (!named) return fail(named.error());
            a.name = *named;
            Section one(entry.second, as.key(a.name));
            HS_TRY(one.check({"file", "title", "delivery"}));
            HS_TRY(one.read("file", a.file));
            HS_TRY(one.read("title", a.title));
            std::string delivery;
            HS_TRY(one.read("delivery", delivery));
            if (!delivery.empty()) {
                auto mode = store::parse_delivery_mode(delivery);
                if (!mode) {
                    return fail(Errc::invalid_argument,
                                fmt::format("'{}' is not attach, link or both", delivery),
                                one.key("delivery"));
                }
                a.delivery = *mode;
            }
            if (a.file.empty()) return fail(Errc::invalid_argument, "is required", one.key("file"));
            a.file = resolve_path(base_dir, a.file);
            if (a.title.empty()) a.title = a.name;
            if (has_control(a.title)) {
                return fail(Errc::invalid_argument, "must be one line", one.key("title"));
            }
            c.assignments.push_back(std::move(a));
        }
    }
    Section rules = root.child("rules");
    if (rules.present()) {
        if (!rules.node().IsSequence()) {
            return fail(Errc::invalid_argument, "must be a list", rules.path());
        }
        c.rules.clear();
        for (std::size_t i = 0; i < rules.node().size(); ++i) {
            Section r(rules.node()[i], fmt::format("rules[{}]", i));
            HS_TRY(r.check({"assignment", "when"}));
            Rule rule;
            HS_TRY(r.read("assignment", rule.assignment));
            if (rule.assignment.empty()) {
                return fail(Errc::invalid_argument, "is required", r.key("assignment"));
            }
            Section when = r.child("when");
            HS_TRY(when.check({"experience", "skills"}));
            HS_TRY(read_range(when.child("experience"), rule.experience));
            HS_TRY(read_skills(when.child("skills"), rule.skills));
            c.rules.push_back(std::move(rule));
        }
    }
    HS_TRY(root.read("defaultAssignment", c.default_assignment));
    return {};
}

bool is_assignment_name(const std::string& name) {
    return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
    });
}

Result<void> validate(const Config& c) {
    for (const auto& a : c.assignments) {
        HS_TRY(check_zip(a.file, "assignments." + a.name + ".file"));
        if (!is_assignment_name(a.name)) {
            return fail(Errc::invalid_argument,
                        "assignment names may hold only letters, digits, '-' and '_'",
                        "assignments." + a.name);
        }
    }
    // Rules may name uploaded assignments, which only the store knows: their existence is
    // checked at start-up (check_rule_assignments); here only their form.
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
        if (!is_assignment_name(c.rules[i].assignment)) {
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' is not an assignment name", c.rules[i].assignment),
                        fmt::format("rules[{}].assignment", i));
        }
    }
    if (c.default_assignment.empty()) {
        return fail(Errc::invalid_argument, "a default assignment is required",
                    "defaultAssignment");
    }
    if (!is_assignment_name(c.default_assignment)) {
        return fail(Errc::invalid_argument,
                    fmt::format("'{}' is not an assignment name", c.default_assignment),
                    "defaultAssignment");
    }
    return {};
}

// Sections of a Serverless service file that hirestream has no use for: accepted, not read,
// and their variables resolved only where another value refers into them.
const std::set<std::string>& unread_sections() {
    static const std::set<std::string> keys = {"frameworkVersion",
                                               "plugins",
                                               "custom",
                                               "resources",
                                               "package",
                                               "useDotenv",
                                               "configValidationMode",
                                               "variablesResolutionMode",
                                               "params",
                                               "org",
                                               "app",
                                               "provider.runtime",
                                               "provider.iamRoleStatements",
                                               "provider.iam",
                                               "provider.deploymentBucket",
                                               "provider.stackName",
                                               "provider.apiGateway",
                                               "provider.logRetentionInDays",
                                               "provider.tracing"};
    return keys;
}

}  // namespace

bool NumberRange::contains(double value) const {
    if (gt && !(value > *gt)) return false;
    if (gte && !(value >= *gte)) return false;
    if (lt && !(value < *lt)) return false;
    if (lte && !(value <= *lte)) return false;
    return true;
}

bool SkillMatch::matches(std::string_view skills) const {
    if (contains.empty()) return true;
    std::string lower(skills);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return std::any_of(contains.begin(), contains.end(), [&](const std::string& word) {
        return lower.find(word) != std::string::npos;
    });
}

Result<void> check_rule_assignments(const Config& c,
                                    const std::function<bool(const std::string&)>& known) {
    auto exists = [&](const std::string& name) {
        return c.find_assignment(name) != nullptr || (known && known(name));
    };
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
        if (!exists(c.rules[i].assignment)) {
            return fail(Errc::invalid_argument,
                        fmt::format("names no assignment '{}'", c.rules[i].assignment),
                        fmt::format("rules[{}].assignment", i));
        }
    }
    if (!exists(c.default_assignment)) {
        return fail(Errc::invalid_argument,
                    fmt::format("names no assignment '{}'", c.default_assignment),
                    "defaultAssignment");
    }
    return {};
}

const Assignment* Config::find_assignment(const std::string& name) const {
    for (const auto& a : assignments) {
        if (a.name == name) return &a;
    }
    return nullptr;
}

Result<Config> parse_config(const std::string& yaml_text, const std::string& base_dir,
                            const std::map<std::string, std::string>& env,
                            const std::map<std::string, std::string>& options) {
    YAML::Node parsed;
    try {
        parsed = YAML::Load(yaml_text);
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_argument, fmt::format("not valid YAML: {}", e.what()), "");
    }
    auto root_node = resolve_variables(parsed, options, env, unread_sections());
    if (!root_node) return fail(root_node.error());
    Config c;
    apply_defaults(c, base_dir);
    Section root(*root_node, "");
    if (root.present()) {
        HS_TRY(root.check({"service", "provider", "server", "data", "log", "tables", "functions",
                           "mail", "assignments", "rules", "defaultAssignment", "auth",
                           // Serverless' own, ignored:
                           "frameworkVersion", "plugins", "custom", "resources", "package",
                           "useDotenv", "configValidationMode", "variablesResolutionMode", "params",
                           "org", "app"}));
    }
    HS_TRY(root.read("service", c.service));
    if (c.service.empty()) return fail(Errc::invalid_argument, "must not be empty", "service");
    Section provider = root.child("provider");
    HS_TRY(provider.check({"name", "runtime", "stage", "region", "accountId", "environment",
                           "iamRoleStatements", "iam", "memorySize", "timeout", "deploymentBucket",
                           "stackName", "apiGateway", "logRetentionInDays", "tracing"}));
    std::string provider_name;
    HS_TRY(provider.read("name", provider_name));
    if (!provider_name.empty() && provider_name != "aws") {
        return fail(Errc::invalid_argument, "must be aws: hirestream stands in for AWS services",
                    provider.key("name"));
    }
    HS_TRY(provider.read("stage", c.stage));
    HS_TRY(provider.read("region", c.region));
    // As `serverless --stage prod`: the option wins over the file.
    if (auto it = options.find("stage"); it != options.end() && !it->second.empty()) {
        c.stage = it->second;
    }
    if (auto it = options.find("region"); it != options.end() && !it->second.empty()) {
        c.region = it->second;
    }
    if (c.stage.empty()) return fail(Errc::invalid_argument, "must not be empty", "provider.stage");
    if (c.region.empty()) {
        return fail(Errc::invalid_argument, "must not be empty", "provider.region");
    }
    HS_TRY(provider.read("accountId", c.account_id));
    if (c.account_id.size() != 12 ||
        !std::all_of(c.account_id.begin(), c.account_id.end(), ::isdigit)) {
        return fail(Errc::invalid_argument, "must be 12 digits", "provider.accountId");
    }
    ProviderDefaults function_defaults;
    HS_TRY(read_environment(provider.child("environment"), function_defaults.environment));
    if (provider.present() && provider.node()["timeout"].IsDefined()) {
        int timeout = 6;
        HS_TRY(provider.read_int("timeout", timeout, 1, 900));
        function_defaults.timeout_seconds = timeout;
    }
    if (provider.present() && provider.node()["memorySize"].IsDefined()) {
        int memory = 1024;
        HS_TRY(provider.read_int("memorySize", memory, 128, 10'240));
        function_defaults.memory_size_mb = memory;
    }

    Section server = root.child("server");
    HS_TRY(server.check({"listen", "publicUrl", "maxBodyBytes", "maxUploadBytes",
                         "maxImportBytes", "maxEventStreams", "maxHeaderBytes", "threads", "idleTimeoutSeconds",
                         "requestTimeoutSeconds", "maxConnections", "corsOrigins"}));
    std::string listen;
    HS_TRY(server.read("listen", listen));
    if (!listen.empty()) HS_TRY(parse_listen(listen, server.key("listen"), c.server));
    HS_TRY(server.read("publicUrl", c.server.public_url));
    HS_TRY(server.read_int("maxBodyBytes", c.server.max_body_bytes, 1024, 64LL << 20));
    HS_TRY(server.read_int("maxUploadBytes", c.server.max_upload_bytes, 1024, 1LL << 30));
    HS_TRY(server.read_int("maxImportBytes", c.server.max_import_bytes, 1024, 1LL << 30));
    HS_TRY(server.read_int("maxEventStreams", c.server.max_event_streams, 1, 100'000));
    HS_TRY(server.read_int("maxHeaderBytes", c.server.max_header_bytes, 1024, 1 << 20));
    HS_TRY(server.read_int("threads", c.server.threads, 1, 64));
    HS_TRY(server.read_int("idleTimeoutSeconds", c.server.idle_timeout_seconds, 1, 3600));
    HS_TRY(server.read_int("requestTimeoutSeconds", c.server.request_timeout_seconds, 1, 3600));
    HS_TRY(server.read_int("maxConnections", c.server.max_connections, 1, 1'000'000));
    if (YAML::Node origins = server.present() ? server.node()["corsOrigins"] : YAML::Node();
        origins.IsDefined() && !origins.IsNull()) {
        if (!origins.IsSequence()) {
            return fail(Errc::invalid_argument, "must be a list of origins",
                        server.key("corsOrigins"));
        }
        for (std::size_t i = 0; i < origins.size(); ++i) {
            const auto key = fmt::format("{}[{}]", server.key("corsOrigins"), i);
            if (!origins[i].IsScalar()) {
                return fail(Errc::invalid_argument, "must be a string", key);
            }
            auto origin = origins[i].Scalar();
            // An origin is scheme://host[:port], exactly as browsers send it: no path, no slash.
            if (!(origin.starts_with("http://") || origin.starts_with("https://")) ||
                origin.find('/', origin.find("//") + 2) != std::string::npos) {
                return fail(Errc::invalid_argument,
                            "must be an origin such as https://app.example.com (no path)", key);
            }
            c.server.cors_origins.push_back(std::move(origin));
        }
    }

    Section auth = root.child("auth");
    HS_TRY(auth.check({"adminKey", "metricsRequireKey", "failuresPerMinute"}));
    HS_TRY(auth.read("adminKey", c.auth.admin_key));
    HS_TRY(auth.read("metricsRequireKey", c.auth.metrics_require_key));
    HS_TRY(auth.read_int("failuresPerMinute", c.auth.failures_per_minute, 1, 1000));

    Section data = root.child("data");
    HS_TRY(data.check({"dir"}));
    std::string data_dir;
    HS_TRY(data.read("dir", data_dir));
    if (!data_dir.empty()) c.data_dir = resolve_path(base_dir, data_dir);

    Section log = root.child("log");
    HS_TRY(log.check({"level", "format"}));
    HS_TRY(log.read("level", c.log_level));
    HS_TRY(log.read("format", c.log_format));

    Section tables = root.child("tables");
    HS_TRY(tables.check({"candidates"}));
    Section cand = tables.child("candidates");
    HS_TRY(cand.check({"name", "streamViewType", "shards", "streamRetentionHours"}));
    HS_TRY(cand.read("name", c.candidates.spec.name));
    std::string view = "NEW_AND_OLD_IMAGES";
    HS_TRY(cand.read("streamViewType", view));
    auto view_type = store::parse_view_type(view);
    if (!view_type) {
        return fail(Errc::invalid_argument,
                    "must be KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES",
                    cand.key("streamViewType"));
    }
    c.candidates.spec.view_type = *view_type;
    HS_TRY(cand.read_int("shards", c.candidates.spec.shard_count, 1, 64));
    HS_TRY(cand.read_int("streamRetentionHours", c.candidates.stream_retention_hours, 1, 24 * 365));
    // Before the functions: their stream ARNs must name this table.
    if (c.candidates.spec.name.empty()) c.candidates.spec.name = c.service + "-" + c.stage;

    HS_TRY(read_functions(root.child("functions"), function_defaults, c));
    for (auto& fn : c.functions) {
        // Serverless: provider.environment is every function's, the function's own wins.
        for (const auto& [name, value] : function_defaults.environment) {
            fn.environment.emplace(name, value);
        }
        for (auto& event : fn.stream_events) {
            if (event.table.empty()) event.table = c.candidates.spec.name;
        }
    }
    HS_TRY(read_mail(root.child("mail"), base_dir, c));
    HS_TRY(read_assignments_and_rules(root, base_dir, c));

    // Environment overrides win over the file; their relative paths are relative to the
    // working directory, as a shell user expects.
    const std::string cwd = fs::current_path().string();
    auto env_value = [&](const char* name) -> std::optional<std::string> {
        auto it = env.find(name);
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
    if (auto v = env_value("HIRESTREAM_LISTEN"); v && !v->empty()) {
        HS_TRY(parse_listen(*v, "HIRESTREAM_LISTEN", c.server));
    }
    if (auto v = env_value("HIRESTREAM_DATA"); v && !v->empty()) c.data_dir = resolve_path(cwd, *v);
    if (auto v = env_value("HIRESTREAM_SMTP_URL")) c.mail.smtp_url = *v;
    if (auto v = env_value("HIRESTREAM_OUTBOX"); v && !v->empty()) {
        c.mail.outbox_dir = resolve_path(cwd, *v);
    }
    if (auto v = env_value("HIRESTREAM_PUBLIC_URL")) c.server.public_url = *v;
    if (auto v = env_value("HIRESTREAM_LOG_LEVEL"); v && !v->empty()) c.log_level = *v;
    if (auto v = env_value("HIRESTREAM_LINK_SECRET"); v && !v->empty()) c.mail.links.secret = *v;
    if (auto v = env_value("HIRESTREAM_ADMIN_KEY"); v && !v->empty()) c.auth.admin_key = *v;

    static const std::set<std::string> levels = {"trace", "debug", "info", "warn", "error"};
    if (!levels.count(c.log_level)) {
        return fail(Errc::invalid_argument, "must be trace, debug, info, warn or error",
                    "log.level");
    }
    if (c.log_format != "text" && c.log_format != "json") {
        return fail(Errc::invalid_argument, "must be text or json", "log.format");
    }
    if (!c.server.public_url.empty() && !c.server.public_url.starts_with("http://") &&
        !c.server.public_url.starts_with("https://")) {
        return fail(Errc::invalid_argument, "must be an http:// or https:// URL",
                    "server.publicUrl");
    }
    while (!c.server.public_url.empty() && c.server.public_url.back() == '/') {
        c.server.public_url.pop_back();
    }
    if (!c.mail.links.secret.empty() && c.mail.links.secret.size() < 16) {
        return fail(Errc::invalid_argument,
                    "must be at least 16 characters (empty: generated and kept in the data folder)",
                    "mail.links.secret");
    }
    if (!c.auth.admin_key.empty()) {
        if (c.auth.admin_key.size() < 24) {
            return fail(Errc::invalid_argument,
                        "must be at least 24 characters (or HIRESTREAM_ADMIN_KEY)",
                        "auth.adminKey");
        }
        for (unsigned char ch : c.auth.admin_key) {
            if (ch < 0x21 || ch > 0x7e) {
                return fail(Errc::invalid_argument,
                            "must be printable ASCII without spaces (it travels in a header)",
                            "auth.adminKey");
            }
        }
    }
    HS_TRY(validate(c));
    return c;
}

Result<Config> load_config(const ConfigSource& source) {
    if (source.path.empty()) {
        return parse_config("", fs::current_path().string(), source.env, source.options);
    }
    std::ifstream in(source.path);
    if (!in) {
        return fail(Errc::not_found, fmt::format("cannot read config file '{}'", source.path),
                    source.path);
    }
    std::stringstream text;
    text << in.rdbuf();
    const std::string base = fs::absolute(source.path).parent_path().string();
    return parse_config(text.str(), base, source.env, source.options);
}

std::map<std::string, std::string> process_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return env;
}

}  // namespace hirestream::config
