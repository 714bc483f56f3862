#include "store/item.h"

#include <cstdint>
#include <string>
#include <unordered_set>
#include <utility>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace hirestream::store {
namespace {

namespace json = boost::json;

// DynamoDB caps document nesting at 32 levels; the bound also keeps the recursion below shallow.
constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxSignificantDigits = 38;
// DynamoDB's N range: magnitudes from 1E-130 to 9.99...E+125 (and zero).
constexpr std::int64_t kMinScientificExponent = -130;
constexpr std::int64_t kMaxScientificExponent = 125;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A decimal reduced to sign, significant digits and the power of ten of the last digit, so that
// numbers which differ only in notation ("1.0", "10e-1") compare equal.
struct Decimal {
    bool negative = false;
    std::string digits;  // no leading or trailing zeros; empty for zero
    std::int64_t exponent = 0;

    std::string canonical() const {
        if (digits.empty()) return "0";
        return (negative ? "-" : "") + digits + "e" + std::to_string(exponent);
    }
};

std::optional<Decimal> parse_decimal(std::string_view text) {
    Decimal out;
    std::size_t i = 0;
    if (i < text.size() && text[i] == '-') {
        out.negative = true;
        ++i;
    }
    std::string all_digits;
    std::int64_t fraction_digits = 0;
    bool seen_point = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (is_digit(c)) {
            all_digits.push_back(c);
            if (seen_point) ++fraction_digits;
        } else if (c == '.' && !seen_point) {
            seen_point = true;
        } else {
            break;
        }
    }
    if (all_digits.empty()) return std::nullopt;

    std::int64_t exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool negative_exponent = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
            negative_exponent = text[i] == '-';
            ++i;
        }
        const std::size_t exponent_start = i;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            // Saturate well past the valid range instead of overflowing; the range check below
            // rejects such numbers anyway.
            if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[i] - '0');
        }
        if (i == exponent_start) return std::nullopt;
        if (negative_exponent) exponent = -exponent;
    }
    if (i != text.size()) return std::nullopt;

    const std::size_t first = all_digits.find_first_not_of('0');
    if (first == std::string::npos) return out;  // zero, in any notation
    const std::size_t last = all_digits.find_last_not_of('0');
    const auto trailing_zeros = static_cast<std::int64_t>(all_digits.size() - 1 - last);
    out.digits = all_digits.substr(first, last - first + 1);
    out.exponent = exponent - fraction_digits + trailing_zeros;
    return out;
}

bool is_base64(std::string_view text) {
    if (text.size() % 4 != 0) return false;
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        const char c = text[i];
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) ||
                        c == '+' || c == '/';
        if (!ok) return false;
    }
    return true;
}

tl::unexpected<Error> invalid(const std::string& path, const std::string& what) {
    return fail(Errc::invalid_argument, path + " " + what, path);
}

std::string element_path(const std::string& path, std::size_t index) {
    return path + "[" + std::to_string(index) + "]";
}

Result<void> validate_set(const json::value& body, const std::string& path, std::string_view type) {
    if (!body.is_array() || body.as_array().empty()) {
        return invalid(path, std::string(type) + " must be a non-empty array of unique strings");
    }
    std::unordered_set<std::string> seen;
    const json::array& elements = body.as_array();
    for (std::size_t i = 0; i < elements.size(); ++i) {
        const std::string at = element_path(path, i);
        if (!elements[i].is_string()) return invalid(at, "must be a string");
        const std::string_view text = elements[i].as_string();
        std::string identity(text);
        if (type == "NS") {
            if (!is_dynamodb_number(text)) return invalid(at, "must be a number");
            identity = parse_decimal(text)->canonical();
        } else if (type == "BS" && !is_base64(text)) {
            return invalid(at, "must be base64");
        }
        if (!seen.insert(std::move(identity)).second) {
            return invalid(at, "duplicates an earlier element of the set");
        }
    }
    return {};
}

Result<void> validate_value(const json::value& value, const std::string& path, int depth) {
    if (depth > kMaxDepth) return invalid(path, "is nested more than 32 levels deep");
    if (!value.is_object() || value.as_object().size() != 1) {
        return invalid(path,
                       "must be an attribute value with exactly one type, e.g. {\"S\": \"x\"}");
    }
    const auto& [type_key, body] = *value.as_object().begin();
    const std::string_view type = type_key;

    if (type == "S") {
        if (!body.is_string()) return invalid(path, "S must be a string");
    } else if (type == "N") {
        if (!body.is_string() || !is_dynamodb_number(body.as_string())) {
            return invalid(path, "N must be a number in a string, e.g. \"12\" or \"-3.5\"");
        }
    } else if (type == "B") {
        if (!body.is_string() || !is_base64(body.as_string())) {
            return invalid(path, "B must be a base64 string");
        }
    } else if (type == "BOOL") {
        if (!body.is_bool()) return invalid(path, "BOOL must be true or false");
    } else if (type == "NULL") {
        // DynamoDB only accepts {"NULL": true}.
        if (!body.is_bool() || !body.as_bool()) return invalid(path, "NULL must be true");
    } else if (type == "L") {
        if (!body.is_array()) return invalid(path, "L must be an array of attribute values");
        const json::array& elements = body.as_array();
        for (std::size_t i = 0; i < elements.size(); ++i) {
            auto ok = validate_value(elements[i], element_path(path, i), depth + 1);
            if (!ok) return ok;
        }
    } else if (type == "M") {
        if (!body.is_object()) return invalid(path, "M must be an object of attribute values");
        for (const auto& [name, member] : body.as_object()) {
            if (name.empty()) return invalid(path, "M must not have an empty attribute name");
            auto ok = validate_value(member, path + "." + std::string(name), depth + 1);
            if (!ok) return ok;
        }
    } else if (type == "SS" || type == "NS" || type == "BS") {
        return validate_set(body, path, type);
    } else {
        return invalid(path, "has unknown type " + std::string(type) +
                                 " (expected S, N, B, BOOL, NULL, L, M, SS, NS or BS)");
    }
    return {};
}

std::optional<std::string_view> typed_string(const json::object& attrs, std::string_view name,
                                             std::string_view type) {
    const auto* value = attrs.if_contains(name);
    if (value == nullptr || !value->is_object()) return std::nullopt;
    const auto* body = value->as_object().if_contains(type);
    if (body == nullptr || !body->is_string()) return std::nullopt;
    return std::string_view(body->as_string());
}

}  // namespace

bool is_dynamodb_number(std::string_view text) {
    const auto number = parse_decimal(text);
    if (!number) return false;
    if (number->digits.empty()) return true;
    if (number->digits.size() > kMaxSignificantDigits) return false;
    const std::int64_t scientific =
        number->exponent + static_cast<std::int64_t>(number->digits.size()) - 1;
    return scientific >= kMinScientificExponent && scientific <= kMaxScientificExponent;
}

Result<void> validate_attribute_value(const boost::json::value& value, const std::string& path) {
    return validate_value(value, path, 1);
}

Result<Item> Item::from_json(const boost::json::value& value) {
    if (!value.is_object()) {
        return fail(Errc::invalid_argument, "an item must be a JSON object of attribute values");
    }
    for (const auto& [name, attribute] : value.as_object()) {
        if (name.empty()) return fail(Errc::invalid_argument, "attribute names must not be empty");
        auto ok = validate_attribute_value(attribute, std::string(name));
        if (!ok) return fail(std::move(ok.error()));
    }
    return Item(value.as_object());
}

Result<Item> Item::parse(std::string_view json_text) {
    boost::system::error_code ec;
    json::value value = json::parse(json::string_view(json_text.data(), json_text.size()), ec);
    if (ec) return fail(Errc::invalid_argument, "item is not valid JSON: " + ec.message());
    return from_json(value);
}

std::optional<std::string_view> Item::string_attr(std::string_view name) const {
    return typed_string(attrs_, name, "S");
}

std::optional<std::string_view> Item::number_attr(std::string_view name) const {
    return typed_string(attrs_, name, "N");
}

std::optional<bool> Item::bool_attr(std::string_view name) const {
    const auto* value = attrs_.if_contains(name);
    if (value == nullptr || !value->is_object()) return std::nullopt;
    const auto* body = value->as_object().if_contains("BOOL");
    if (body == nullptr || !body->is_bool()) return std::nullopt;
    return body->as_bool();
}

void Item::set_string(std::string_view name, std::string_view value) {
    set_value(name, json::object{{"S", value}});
}

void Item::set_number(std::string_view name, std::string_view decimal) {
    set_value(name, json::object{{"N", decimal}});
}

void Item::set_number(std::string_view name, std::int64_t value) {
    set_value(name, json::object{{"N", std::to_string(value)}});
}

void Item::set_bool(std::string_view name, bool value) {
    set_value(name, json::object{{"BOOL", value}});
}

void Item::set_null(std::string_view name) { set_value(name, json::object{{"NULL", true}}); }

void Item::set_value(std::string_view name, boost::json::value value) {
    // operator[] replaces an existing attribute in place, so attribute order stays stable.
    attrs_[name] = std::move(value);
}

void Item::erase(std::string_view name) {
    // object::erase moves the last attribute into the hole; stable_erase keeps insertion order.
    attrs_.stable_erase(name);
}

std::string Item::to_json_text() const { return json::serialize(attrs_); }

}  // namespace hirestream::store
