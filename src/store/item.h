#pragma once
// Item: one table item in DynamoDB's attribute-value JSON form, e.g.
//   {"id": {"S": "..."}, "experience": {"N": "12"}, "tags": {"SS": ["a", "b"]}}
// Supported types: S, N (decimal string), B (base64), BOOL, NULL, L, M, SS, NS, BS.
// An Item built through from_json() or the setters is always valid. Plain value, not
// thread-safe for concurrent mutation.

#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "common/result.h"

namespace hirestream::store {

// Checks one attribute value (`{"S": "x"}` etc.); `path` names it in the error's field.
// Fails with invalid_argument.
Result<void> validate_attribute_value(const boost::json::value& value, const std::string& path);

// True when `text` is a number as DynamoDB's N accepts it: optional sign, digits, optional
// fraction and exponent, at most 38 significant digits.
bool is_dynamodb_number(std::string_view text);

class Item {
public:
    Item() = default;

    // Validates every attribute. Fails with invalid_argument naming the attribute.
    static Result<Item> from_json(const boost::json::value& value);
    // Parses and validates JSON text (as stored). Fails with invalid_argument.
    static Result<Item> parse(std::string_view json_text);

    const boost::json::object& attributes() const { return attrs_; }
    bool empty() const { return attrs_.empty(); }
    bool contains(std::string_view name) const { return attrs_.contains(name); }

    // The S value of `name`, or nullopt when absent or of another type.
    std::optional<std::string_view> string_attr(std::string_view name) const;
    // The N value (a decimal string) of `name`, or nullopt when absent or of another type.
    std::optional<std::string_view> number_attr(std::string_view name) const;
    std::optional<bool> bool_attr(std::string_view name) const;

    void set_string(std::string_view name, std::string_view value);
    // `decimal` must satisfy is_dynamodb_number (checked by callers that take user input).
    void set_number(std::string_view name, std::string_view decimal);
    void set_number(std::string_view name, std::int64_t value);
    void set_bool(std::string_view name, bool value);
    void set_null(std::string_view name);
    // Sets an already validated attribute value.
    void set_value(std::string_view name, boost::json::value value);
    void erase(std::string_view name);

    // Serialized DynamoDB JSON.
    std::string to_json_text() const;

private:
    explicit Item(boost::json::object attrs) : attrs_(std::move(attrs)) {}
    boost::json::object attrs_;
};

}  // namespace hirestream::store
