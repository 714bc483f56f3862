#include "triggers/filter_pattern.h"

#include <fmt/format.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace hirestream::triggers {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxPatterns = 5;         // Lambda: at most 5 filters per mapping
constexpr std::size_t kMaxPatternChars = 4096;  // Lambda API reference, Filter.Pattern
constexpr int kMaxDepth = 10;                   // object levels in one pattern

// One value a pattern compares against: the operand of equality and anything-but.
struct Scalar {
    enum class Type { string, number, boolean, null };
    Type type = Type::null;
    std::string text;
    double number = 0;
    bool boolean = false;
};

struct Equals {
    Scalar value;
};
struct Prefix {
    std::string text;
};
struct Suffix {
    std::string text;
};
struct EqualsIgnoreCase {
    std::string text;
};
struct AnythingBut {
    std::vector<Scalar> values;
};
struct AnythingButPrefix {
    std::string text;
};
struct AnythingButSuffix {
    std::string text;
};
struct Numeric {
    bool has_low = false;
    bool low_inclusive = false;
    double low = 0;
    bool has_high = false;
    bool high_inclusive = false;
    double high = 0;
};
struct Exists {
    bool present = true;
};

using Matcher = std::variant<Equals, Prefix, Suffix, EqualsIgnoreCase, AnythingBut,
                             AnythingButPrefix, AnythingButSuffix, Numeric, Exists>;

struct Node;

// One key of a pattern object: either a nested pattern (child) or a leaf (matchers).
struct Field {
    std::string key;
    std::unique_ptr<Node> child;
    std::vector<Matcher> matchers;
    // Whether this field is satisfied when the record has no value here; precomputed so that
    // a missing subtree is decided without walking it.
    bool matches_absent = false;
};

struct Node {
    std::vector<Field> fields;
    bool matches_absent = true;  // every field matches an absent value
};

// ---- Record side: no allocation, no JSON parsing. ----

// A DynamoDB "N" is a decimal string; std::from_chars alone would also take "inf", "nan" and
// hex forms, so the grammar is checked first: -?digits[.digits][(e|E)[+-]digits].
std::optional<double> parse_decimal(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    std::size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++digits;
    }
    if (digits == 0) return std::nullopt;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t exponent_digits = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exponent_digits;
        if (exponent_digits == 0) return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    double out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;  // out of range
    return out;
}

std::optional<double> number_of(const json::value& v) {
    switch (v.kind()) {
        case json::kind::int64:
            return static_cast<double>(v.get_int64());
        case json::kind::uint64:
            return static_cast<double>(v.get_uint64());
        case json::kind::double_:
            return v.get_double();
        case json::kind::string:
            return parse_decimal(v.get_string());
        default:
            return std::nullopt;
    }
}

bool is_scalar(const json::value& v) { return !v.is_object() && !v.is_array(); }

bool scalar_equals(const Scalar& s, const json::value& v) {
    switch (s.type) {
        case Scalar::Type::string:
            return v.is_string() && std::string_view(v.get_string()) == s.text;
        case Scalar::Type::number: {
            auto n = number_of(v);
            return n && *n == s.number;
        }
        case Scalar::Type::boolean:
            return v.is_bool() && v.get_bool() == s.boolean;
        case Scalar::Type::null:
            return v.is_null();
    }
    return false;
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool equals_ignore_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

std::optional<std::string_view> string_of(const json::value& v) {
    if (!v.is_string()) return std::nullopt;
    return std::string_view(v.get_string());
}

bool in_range(const Numeric& m, double n) {
    if (m.has_low && (m.low_inclusive ? n < m.low : n <= m.low)) return false;
    if (m.has_high && (m.high_inclusive ? n > m.high : n >= m.high)) return false;
    return true;
}

// Matches one non-array value present in the record. Objects are not leaf values: only
// "exists" (handled by the caller) says anything about them.
bool scalar_matches(const Matcher& matcher, const json::value& v) {
    if (!is_scalar(v)) return false;
    return std::visit(
        [&v](const auto& m) -> bool {
            using M = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<M, Equals>) {
                return scalar_equals(m.value, v);
            } else if constexpr (std::is_same_v<M, Prefix>) {
                auto s = string_of(v);
                return s && s->starts_with(m.text);
            } else if constexpr (std::is_same_v<M, Suffix>) {
                auto s = string_of(v);
                return s && s->ends_with(m.text);
            } else if constexpr (std::is_same_v<M, EqualsIgnoreCase>) {
                auto s = string_of(v);
                return s && equals_ignore_case(*s, m.text);
            } else if constexpr (std::is_same_v<M, AnythingBut>) {
                for (const auto& excluded : m.values) {
                    if (scalar_equals(excluded, v)) return false;
                }
                return true;
            } else if constexpr (std::is_same_v<M, AnythingButPrefix>) {
                auto s = string_of(v);
                return !s || !s->starts_with(m.text);
            } else if constexpr (std::is_same_v<M, AnythingButSuffix>) {
                auto s = string_of(v);
                return !s || !s->ends_with(m.text);
            } else if constexpr (std::is_same_v<M, Numeric>) {
                auto n = number_of(v);
                return n && in_range(m, *n);
            } else {
                return false;  // Exists is decided on presence by leaf_matches
            }
        },
        matcher);
}

// EventBridge array semantics: a leaf matches an array value when any element matches.
bool value_matches(const Matcher& matcher, const json::value& v) {
    if (const auto* array = v.if_array()) {
        for (const auto& element : *array) {
            if (value_matches(matcher, element)) return true;
        }
        return false;
    }
    return scalar_matches(matcher, v);
}

bool leaf_matches(const Field& field, const json::value* v) {
    if (v == nullptr) return field.matches_absent;
    for (const auto& matcher : field.matchers) {
        if (const auto* exists = std::get_if<Exists>(&matcher)) {
            if (exists->present) return true;
            continue;
        }
        if (value_matches(matcher, *v)) return true;
    }
    return false;
}

bool node_matches(const Node& node, const json::object& object);

// A nested pattern against whatever the record holds at that key. Anything but an object (or
// an array holding one) has no keys, so the nested pattern sees them all as missing.
bool subtree_matches(const Node& node, const json::value* v) {
    if (v == nullptr) return node.matches_absent;
    if (const auto* object = v->if_object()) return node_matches(node, *object);
    if (const auto* array = v->if_array()) {
        if (array->empty()) return node.matches_absent;
        for (const auto& element : *array) {
            if (subtree_matches(node, &element)) return true;
        }
        return false;
    }
    return node.matches_absent;
}

bool node_matches(const Node& node, const json::object& object) {
    for (const auto& field : node.fields) {
        auto it = object.find(field.key);
        const json::value* v = it == object.end() ? nullptr : &it->value();
        bool ok = field.child ? subtree_matches(*field.child, v) : leaf_matches(field, v);
        if (!ok) return false;
    }
    return true;
}

// ---- Pattern side: compile once, with errors that name the key path. ----

std::string join_path(const std::vector<std::string_view>& path) {
    std::string out;
    for (const auto& part : path) {
        if (!out.empty()) out += '.';
        out += part;
    }
    return out.empty() ? std::string("(top level)") : out;
}

// Errors carry only the message here; parse() adds the field.
using Compile = tl::expected<void, std::string>;

std::string at(const std::vector<std::string_view>& path, std::string_view what) {
    return fmt::format("at \"{}\": {}", join_path(path), what);
}

bool is_number(const json::value& v) { return v.is_int64() || v.is_uint64() || v.is_double(); }

std::optional<Scalar> scalar_of(const json::value& v) {
    Scalar s;
    switch (v.kind()) {
        case json::kind::string:
            s.type = Scalar::Type::string;
            s.text = std::string(v.get_string());
            return s;
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            s.type = Scalar::Type::number;
            s.number = v.to_number<double>();
            return s;
        case json::kind::bool_:
            s.type = Scalar::Type::boolean;
            s.boolean = v.get_bool();
            return s;
        case json::kind::null:
            s.type = Scalar::Type::null;
            return s;
        default:
            return std::nullopt;
    }
}

tl::expected<Numeric, std::string> compile_numeric(const json::value& v,
                                                   const std::vector<std::string_view>& path) {
    const auto* array = v.if_array();
    if (array == nullptr || (array->size() != 2 && array->size() != 4)) {
        return tl::unexpected(at(path,
                                 "\"numeric\" must be an array of one or two "
                                 "[operator, number] pairs, e.g. [\">\", 5, \"<=\", 8]"));
    }
    Numeric out;
    for (std::size_t i = 0; i < array->size(); i += 2) {
        const auto* op = (*array)[i].if_string();
        if (op == nullptr) {
            return tl::unexpected(at(path, fmt::format("\"numeric\" operator {} is not a string",
                                                       json::serialize((*array)[i]))));
        }
        if (!is_number((*array)[i + 1])) {
            return tl::unexpected(
                at(path, fmt::format("\"numeric\" operand after \"{}\" must be "
                                     "a number, got {}",
                                     std::string_view(*op), json::serialize((*array)[i + 1]))));
        }
        double n = (*array)[i + 1].to_number<double>();
        bool first = i == 0;
        bool single = array->size() == 2;
        if (*op == "=" && single) {
            out.has_low = out.has_high = true;
            out.low_inclusive = out.high_inclusive = true;
            out.low = out.high = n;
        } else if ((*op == ">" || *op == ">=") && first) {
            out.has_low = true;
            out.low_inclusive = *op == ">=";
            out.low = n;
        } else if ((*op == "<" || *op == "<=") && (single || !first)) {
            out.has_high = true;
            out.high_inclusive = *op == "<=";
            out.high = n;
        } else if (*op == "=" || *op == "<" || *op == "<=" || *op == ">" || *op == ">=") {
            return tl::unexpected(at(path, fmt::format("\"numeric\" operator \"{}\" is out of "
                                                       "place: a range is a lower bound (> or "
                                                       ">=) then an upper bound (< or <=)",
                                                       std::string_view(*op))));
        } else {
            return tl::unexpected(at(path, fmt::format("unknown \"numeric\" operator \"{}\" "
                                                       "(use =, <, <=, >, >=)",
                                                       std::string_view(*op))));
        }
    }
    if (out.has_low && out.has_high && array->size() == 4 && !(out.low < out.high)) {
        return tl::unexpected(at(path, fmt::format("\"numeric\" range is empty: lower bound {} "
                                                   "is not below upper bound {}",
                                                   out.low, out.high)));
    }
    return out;
}

tl::expected<std::string, std::string> string_operand(std::string_view op, const json::value& v,
                                                      const std::vector<std::string_view>& path) {
    if (!v.is_string()) {
        return tl::unexpected(
            at(path, fmt::format("\"{}\" must be a string, got {}", op, json::serialize(v))));
    }
    return std::string(v.get_string());
}

tl::expected<Matcher, std::string> compile_anything_but(const json::value& v,
                                                        const std::vector<std::string_view>& path) {
    auto listed = [&](const json::value& e) -> tl::expected<Scalar, std::string> {
        if (!e.is_string() && !is_number(e)) {
            return tl::unexpected(at(path, fmt::format("\"anything-but\" values must be strings "
                                                       "or numbers, got {}",
                                                       json::serialize(e))));
        }
        return *scalar_of(e);
    };
    if (const auto* array = v.if_array()) {
        if (array->empty()) return tl::unexpected(at(path, "\"anything-but\" list is empty"));
        AnythingBut out;
        for (const auto& e : *array) {
            auto s = listed(e);
            if (!s) return tl::unexpected(s.error());
            out.values.push_back(std::move(*s));
        }
        return out;
    }
    if (const auto* object = v.if_object()) {
        if (object->size() == 1) {
            const auto& [key, operand] = *object->begin();
            if (key == "prefix" || key == "suffix") {
                auto text = string_operand(fmt::format("anything-but.{}", std::string_view(key)),
                                           operand, path);
                if (!text) return tl::unexpected(text.error());
                if (key == "prefix") return AnythingButPrefix{std::move(*text)};
                return AnythingButSuffix{std::move(*text)};
            }
        }
        return tl::unexpected(at(path, fmt::format("\"anything-but\" object must be "
                                                   "{{\"prefix\": ...}} or {{\"suffix\": ...}}, "
                                                   "got {}",
                                                   json::serialize(v))));
    }
    auto s = listed(v);
    if (!s) return tl::unexpected(s.error());
    return AnythingBut{{std::move(*s)}};
}

tl::expected<Matcher, std::string> compile_operator(const json::object& object,
                                                    const std::vector<std::string_view>& path) {
    if (object.size() != 1) {
        return tl::unexpected(at(path, fmt::format("a matcher object must hold exactly one "
                                                   "operator, got {}",
                                                   json::serialize(object))));
    }
    const auto& [key, operand] = *object.begin();
    std::string_view op = key;
    if (op == "prefix" || op == "suffix" || op == "equals-ignore-case") {
        auto text = string_operand(op, operand, path);
        if (!text) return tl::unexpected(text.error());
        if (op == "prefix") return Prefix{std::move(*text)};
        if (op == "suffix") return Suffix{std::move(*text)};
        return EqualsIgnoreCase{std::move(*text)};
    }
    if (op == "anything-but") return compile_anything_but(operand, path);
    if (op == "numeric") {
        auto numeric = compile_numeric(operand, path);
        if (!numeric) return tl::unexpected(numeric.error());
        return *numeric;
    }
    if (op == "exists") {
        if (!operand.is_bool()) {
            return tl::unexpected(at(path, fmt::format("\"exists\" must be true or false, got {}",
                                                       json::serialize(operand))));
        }
        return Exists{operand.get_bool()};
    }
    return tl::unexpected(at(path, fmt::format("unknown operator \"{}\" (supported: prefix, "
                                               "suffix, equals-ignore-case, anything-but, "
                                               "numeric, exists)",
                                               op)));
}

Compile compile_leaf(const json::array& array, const std::vector<std::string_view>& path,
                     Field& field) {
    if (array.empty()) return tl::unexpected(at(path, "the list of matchers is empty"));
    for (const auto& element : array) {
        if (const auto* object = element.if_object()) {
            auto matcher = compile_operator(*object, path);
            if (!matcher) return tl::unexpected(matcher.error());
            field.matchers.push_back(std::move(*matcher));
        } else if (auto scalar = scalar_of(element)) {
            field.matchers.push_back(Equals{std::move(*scalar)});
        } else {
            return tl::unexpected(at(path, "a matcher list may not contain another array"));
        }
    }
    for (const auto& matcher : field.matchers) {
        if (const auto* exists = std::get_if<Exists>(&matcher); exists && !exists->present) {
            field.matches_absent = true;
        }
    }
    return {};
}

Compile compile_node(const json::object& object, std::vector<std::string_view>& path, int depth,
                     Node& node) {
    if (depth > kMaxDepth) {
        return tl::unexpected(
            at(path, fmt::format("pattern is nested deeper than {} levels", kMaxDepth)));
    }
    if (object.empty()) return tl::unexpected(at(path, "pattern object is empty"));
    for (const auto& [key, value] : object) {
        path.push_back(key);
        Field field;
        field.key = std::string(key);
        if (key == "$or") {
            return tl::unexpected(at(path,
                                     "\"$or\" is not supported; use several patterns "
                                     "instead (a record passes when any matches)"));
        }
        if (const auto* child = value.if_object()) {
            field.child = std::make_unique<Node>();
            auto ok = compile_node(*child, path, depth + 1, *field.child);
            if (!ok) return ok;
            field.matches_absent = field.child->matches_absent;
        } else if (const auto* array = value.if_array()) {
            auto ok = compile_leaf(*array, path, field);
            if (!ok) return ok;
        } else {
            return tl::unexpected(at(path, fmt::format("a value must be an array of matchers or "
                                                       "a nested object, got {0} (did you mean "
                                                       "[{0}]?)",
                                                       json::serialize(value))));
        }
        node.matches_absent = node.matches_absent && field.matches_absent;
        node.fields.push_back(std::move(field));
        path.pop_back();
    }
    return {};
}

}  // namespace

struct FilterCriteria::Compiled {
    std::vector<Node> patterns;
};

FilterCriteria::FilterCriteria(std::shared_ptr<const Compiled> compiled)
    : compiled_(std::move(compiled)) {}

Result<FilterCriteria> FilterCriteria::parse(const std::vector<std::string>& patterns) {
    if (patterns.size() > kMaxPatterns) {
        return fail(Errc::invalid_argument,
                    fmt::format("at most {} filter patterns are allowed, got {}", kMaxPatterns,
                                patterns.size()),
                    fmt::format("filterPatterns[{}]", kMaxPatterns));
    }
    if (patterns.empty()) return FilterCriteria(nullptr);
    auto compiled = std::make_shared<Compiled>();
    for (std::size_t i = 0; i < patterns.size(); ++i) {
        std::string field = fmt::format("filterPatterns[{}]", i);
        const std::string& text = patterns[i];
        if (text.size() > kMaxPatternChars) {
            return fail(Errc::invalid_argument,
                        fmt::format("pattern is {} characters; at most {} are allowed", text.size(),
                                    kMaxPatternChars),
                        field);
        }
        std::error_code ec;
        json::value parsed = json::parse(text, ec);
        if (ec) {
            return fail(Errc::invalid_argument,
                        fmt::format("pattern is not valid JSON: {}", ec.message()), field);
        }
        const auto* object = parsed.if_object();
        if (object == nullptr) {
            return fail(
                Errc::invalid_argument,
                fmt::format("pattern must be a JSON object, got {}", json::serialize(parsed)),
                field);
        }
        Node root;
        std::vector<std::string_view> path;
        if (auto ok = compile_node(*object, path, 1, root); !ok) {
            return fail(Errc::invalid_argument, ok.error(), field);
        }
        compiled->patterns.push_back(std::move(root));
    }
    return FilterCriteria(std::move(compiled));
}

bool FilterCriteria::empty() const { return compiled_ == nullptr; }

bool FilterCriteria::matches(const json::value& record) const {
    if (compiled_ == nullptr) return true;
    for (const auto& pattern : compiled_->patterns) {
        if (subtree_matches(pattern, &record)) return true;
    }
    return false;
}

}  // namespace hirestream::triggers
