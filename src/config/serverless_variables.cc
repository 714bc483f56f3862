#include "config/serverless_variables.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string_view>
#include <vector>

namespace hirestream::config {
namespace {

using Strings = std::map<std::string, std::string>;
using Found = std::optional<YAML::Node>;

#define HS_TRY(expr)                                        \
    do {                                                    \
        if (auto _r = (expr); !_r) return fail(_r.error()); \
    } while (0)

std::string child_key(const std::string& parent, const std::string& key) {
    return parent.empty() ? key : parent + "." + key;
}

std::string child_index(const std::string& parent, std::size_t i) {
    return fmt::format("{}[{}]", parent, i);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool has_variable(std::string_view s) { return s.find("${") != std::string_view::npos; }

bool is_number(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    if (s.empty()) return false;
    const auto dot = s.find('.');
    auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c));
        });
    };
    if (dot == std::string_view::npos) return digits(s);
    return digits(s.substr(0, dot)) && digits(s.substr(dot + 1));
}

// Index of the '}' that closes the "${" at `open`, or npos. Quoted strings and nested "${...}"
// inside are skipped, so `${opt:a, '}'}` and `${opt:a, ${env:B}}` close where they should.
std::size_t closing_brace(std::string_view text, std::size_t open) {
    int depth = 0;
    char quote = 0;
    for (std::size_t i = open; i < text.size(); ++i) {
        const char ch = text[i];
        if (quote) {
            if (ch == quote) quote = 0;
        } else if (ch == '$' && i + 1 < text.size() && text[i + 1] == '{') {
            ++depth;
            ++i;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '}' && --depth == 0) {
            return i;
        }
    }
    return std::string_view::npos;
}

// The comma-separated sources of one variable's body, split only at its own level.
std::vector<std::string_view> split_sources(std::string_view body) {
    std::vector<std::string_view> parts;
    int depth = 0;
    char quote = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char ch = body[i];
        if (quote) {
            if (ch == quote) quote = 0;
        } else if (ch == '$' && i + 1 < body.size() && body[i + 1] == '{') {
            ++depth;
            ++i;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '}') {
            --depth;
        } else if (ch == ',' && depth == 0) {
            parts.push_back(trim(body.substr(start, i - start)));
            start = i + 1;
        }
    }
    parts.push_back(trim(body.substr(start)));
    return parts;
}

YAML::Node scalar(std::string_view text, const char* tag = "") {
    YAML::Node node{std::string(text)};
    if (*tag) node.SetTag(tag);
    return node;
}

// Resolves in place, on the resolver's own copy of the document. yaml-cpp nodes are handles:
// `a = b` on a Node rewrites the node `a` refers to, so handles are rebound with reset() and
// only assigned where a value in the tree is meant to change.
class Resolver {
  public:
    Resolver(YAML::Node root, const Strings& options, const Strings& env,
             const std::set<std::string>& unread)
        : root_(std::move(root)), options_(options), env_(env), unread_(unread) {}

    Result<void> resolve_tree(YAML::Node node, const std::string& path, bool honor_unread) {
        if (done_.count(path)) return {};
        if (honor_unread && unread_.count(path)) return {};
        if (node.IsScalar()) {
            if (has_variable(node.Scalar())) return resolve_scalar(node, path);
        } else if (node.IsMap()) {
            for (auto it = node.begin(); it != node.end(); ++it) {
                if (!it->first.IsScalar()) continue;
                HS_TRY(resolve_tree(it->second, child_key(path, it->first.Scalar()), honor_unread));
            }
        } else if (node.IsSequence()) {
            for (std::size_t i = 0; i < node.size(); ++i) {
                HS_TRY(resolve_tree(node[i], child_index(path, i), honor_unread));
            }
        }
        return {};
    }

  private:
    Result<void> resolve_scalar(YAML::Node node, const std::string& path) {
        if (auto at = std::find(resolving_.begin(), resolving_.end(), path);
            at != resolving_.end()) {
            std::string chain;
            for (; at != resolving_.end(); ++at) chain += *at + " -> ";
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' refers back to itself: {}{}", node.Scalar(), chain, path),
                        path);
        }
        resolving_.push_back(path);
        auto value = interpolate(node.Scalar(), path);
        resolving_.pop_back();
        if (!value) return fail(value.error());
        if (value->IsScalar()) {
            // Written quoted, the result is a string. Written plain, a referenced scalar keeps its
            // own quoting and a fresh one (opt, env, interpolation) reads as plain.
            const std::string tag =
                node.Tag() == "!" || value->Tag().empty() ? node.Tag() : value->Tag();
            node = value->Scalar();
            node.SetTag(tag);
        } else {
            node = *value;
        }
        done_.insert(path);
        return {};
    }

    // The value of `text`, which holds at least one variable.
    Result<YAML::Node> interpolate(std::string_view text, const std::string& path) {
        std::size_t open = text.find("${");
        std::size_t close = closing_brace(text, open);
        if (close == std::string_view::npos) {
            return fail(Errc::invalid_argument,
                        fmt::format("'{}' has a variable without its closing '}}'", text), path);
        }
        if (open == 0 && close + 1 == text.size()) return variable(text, path);
        std::string out;
        std::size_t pos = 0;
        while ((open = text.find("${", pos)) != std::string_view::npos) {
            out.append(text.substr(pos, open - pos));
            close = closing_brace(text, open);
            if (close == std::string_view::npos) {
                return fail(Errc::invalid_argument,
                            fmt::format("'{}' has a variable without its closing '}}'", text),
                            path);
            }
            const auto var = text.substr(open, close - open + 1);
            auto value = variable(var, path);
            if (!value) return fail(value.error());
            if (value->IsScalar()) {
                out += value->Scalar();
            } else if (!value->IsNull()) {
                return fail(Errc::invalid_argument,
                            fmt::format("{} is a {}; only a single value can be part of a string",
                                        var, value->IsMap() ? "mapping" : "list"),
                            path);
            }
            pos = close + 1;
        }
        out.append(text.substr(pos));
        return scalar(out);
    }

    // One whole variable, "${...}"; fails when none of its sources has a value.
    Result<YAML::Node> variable(std::string_view text, const std::string& path) {
        std::vector<std::string> missing;
        auto found = evaluate(text.substr(2, text.size() - 3), text, path, missing);
        if (!found) return fail(found.error());
        if (*found) return **found;
        std::string why;
        for (const auto& m : missing) why += (why.empty() ? "" : "; ") + m;
        return fail(Errc::invalid_argument, fmt::format("{} is not set ({})", text, why), path);
    }

    Result<Found> evaluate(std::string_view body, std::string_view text, const std::string& path,
                           std::vector<std::string>& missing) {
        for (const auto part : split_sources(body)) {
            if (part.empty()) {
                return fail(Errc::invalid_argument, fmt::format("{} has an empty source", text),
                            path);
            }
            auto value = source(part, text, path, missing);
            if (!value) return value;
            if (*value) return value;
        }
        return Found{};
    }

    Result<Found> source(std::string_view part, std::string_view text, const std::string& path,
                         std::vector<std::string>& missing) {
        if (part.front() == '\'' || part.front() == '"') {
            if (part.size() < 2 || part.back() != part.front()) {
                return fail(Errc::invalid_argument,
                            fmt::format("{} has an unterminated string {}", text, part), path);
            }
            return Found{scalar(part.substr(1, part.size() - 2), "!")};
        }
        if (is_number(part) || part == "true" || part == "false") return Found{scalar(part)};
        if (part.starts_with("${")) {
            if (closing_brace(part, 0) + 1 == part.size()) {
                return evaluate(part.substr(2, part.size() - 3), text, path, missing);
            }
            auto value = interpolate(part, path);
            if (!value) return fail(value.error());
            return Found{*value};
        }
        const auto colon = part.find(':');
        if (colon == std::string_view::npos) {
            return fail(Errc::invalid_argument,
                        fmt::format("{}: '{}' is neither a variable (source:address) nor a quoted "
                                    "string",
                                    text, part),
                        path);
        }
        const std::string kind(trim(part.substr(0, colon)));
        std::string address(trim(part.substr(colon + 1)));
        if (has_variable(address)) {
            auto resolved = interpolate(address, path);
            if (!resolved) return fail(resolved.error());
            if (!resolved->IsScalar()) {
                return fail(Errc::invalid_argument,
                            fmt::format("{}: the address '{}' must resolve to a single value", text,
                                        address),
                            path);
            }
            address = resolved->Scalar();
        }
        if (address.empty()) {
            return fail(Errc::invalid_argument,
                        fmt::format("{}: '{}' needs an address after the colon", text, part), path);
        }
        if (kind == "self") return self(address, missing);
        if (kind == "opt") {
            if (auto it = options_.find(address); it != options_.end()) {
                return Found{scalar(it->second)};
            }
            missing.push_back(fmt::format("no --{} option", address));
            return Found{};
        }
        if (kind == "env") {
            if (auto it = env_.find(address); it != env_.end()) return Found{scalar(it->second)};
            missing.push_back(fmt::format("no environment variable {}", address));
            return Found{};
        }
        if (kind == "sls" && address == "stage") return stage();
        return fail(Errc::invalid_argument,
                    fmt::format("{}: the source '{}' is not supported (hirestream resolves self, "
                                "opt, env and sls:stage)",
                                text, kind),
                    path);
    }

    // ${self:a.b.0.c}: the value at that path, with its own variables resolved first.
    Result<Found> self(const std::string& address, std::vector<std::string>& missing) {
        YAML::Node cur = root_;
        std::string cur_path;
        std::size_t start = 0;
        while (start <= address.size()) {
            auto end = address.find('.', start);
            if (end == std::string::npos) end = address.size();
            const std::string segment = address.substr(start, end - start);
            start = end + 1;
            // A step may pass through a value that is itself a variable (custom: ${self:x}).
            if (cur.IsScalar() && has_variable(cur.Scalar()) && !done_.count(cur_path)) {
                HS_TRY(resolve_scalar(cur, cur_path));
            }
            const YAML::Node& view = cur;
            // A missing key gives an invalid node that throws on reset(): construct, test, then
            // rebind.
            std::optional<YAML::Node> next;
            if (view.IsMap()) {
                next.emplace(view[segment]);
                cur_path = child_key(cur_path, segment);
            } else if (view.IsSequence() && !segment.empty() && segment.size() <= 9 &&
                       segment.find_first_not_of("0123456789") == std::string::npos &&
                       std::stoul(segment) < view.size()) {
                const auto i = static_cast<std::size_t>(std::stoul(segment));
                next.emplace(view[i]);
                cur_path = child_index(cur_path, i);
            }
            if (!next || !next->IsDefined()) {
                missing.push_back(fmt::format("nothing at self:{} in the file", address));
                return Found{};
            }
            cur.reset(*next);
        }
        HS_TRY(resolve_tree(cur, cur_path, false));
        return Found{YAML::Clone(cur)};
    }

    // ${sls:stage}: the stage Serverless deploys to.
    Result<Found> stage() {
        if (auto it = options_.find("stage"); it != options_.end()) {
            return Found{scalar(it->second)};
        }
        std::vector<std::string> ignored;
        auto configured = self("provider.stage", ignored);
        if (!configured) return configured;
        if (*configured && (*configured)->IsScalar()) return configured;
        return Found{scalar("dev")};
    }

    YAML::Node root_;
    const Strings& options_;
    const Strings& env_;
    const std::set<std::string>& unread_;
    std::vector<std::string> resolving_;  // key paths of the values being resolved, outermost first
    std::set<std::string> done_;          // key paths already resolved (never resolved twice)
};

}  // namespace

Result<YAML::Node> resolve_variables(const YAML::Node& root,
                                     const std::map<std::string, std::string>& options,
                                     const std::map<std::string, std::string>& env,
                                     const std::set<std::string>& unread) {
    try {
        YAML::Node copy = YAML::Clone(root);
        Resolver resolver(copy, options, env, unread);
        HS_TRY(resolver.resolve_tree(copy, "", true));
        return copy;
    } catch (const YAML::Exception& e) {
        return fail(Errc::invalid_argument, fmt::format("cannot resolve variables: {}", e.what()),
                    "");
    }
}

}  // namespace hirestream::config
