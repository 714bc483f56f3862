#pragma once
// FilterCriteria: AWS Lambda event filtering (an event-source mapping's FilterCriteria) for
// DynamoDB Streams records. A record passes when it matches at least one of up to 5 patterns;
// records that match none are dropped and the checkpoint moves past them.
//
// Pattern syntax (AWS's "filter rule syntax", the EventBridge pattern language):
//   - A pattern is a JSON object. Its keys AND together. A nested object descends into the
//     record's object at that key (at most 10 object levels). A leaf is a non-empty array of
//     matchers, OR'ed.
//   - Matchers: a string, number, boolean or null (equality; "" matches the empty string),
//     {"prefix": "s"}, {"suffix": "s"}, {"equals-ignore-case": "s"} (ASCII case folding),
//     {"anything-but": v | [v, ...] | {"prefix": "s"} | {"suffix": "s"}} (v a string or number),
//     {"numeric": ["<op>", n]} with op one of = < <= > >=, or
//     {"numeric": [">" | ">=", low, "<" | "<=", high]} with low < high, and
//     {"exists": true | false}.
//
// Record-side rules:
//   - DynamoDB carries numbers as decimal strings ({"N": "12"}). Numeric matchers, and equality
//     or anything-but with a number, also accept a string that is a decimal number and compare
//     it numerically (5 matches 5.0, "5" and "5.0"); a non-numeric string never matches them.
//     AWS itself only compares JSON numbers numerically; this is hirestream's extension so that
//     the seed's experience ranges can be expressed as filters. Numbers compare as doubles.
//   - When the record's value at a leaf is an array, the leaf matches if any element matches.
//     When a nested pattern object meets an array, it matches if any object element matches
//     the whole nested pattern (so DynamoDB "L" lists of maps can be filtered).
//   - A key missing from the record fails every matcher except {"exists": false}; anything-but
//     does not match a missing key. {"exists": true} matches a key that is present with any
//     value, including null or an object such as {"S": "..."}; a missing parent object counts
//     as missing keys below it, so {"exists": false} matches there too.
//
// Lifecycle: parse() compiles the patterns once; matches() walks the compiled tree and neither
// parses JSON nor allocates. Thread-safety: immutable after parse(); matches() may run on any
// number of threads at once. Copies share the compiled tree.

#include <boost/json/value.hpp>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"

namespace hirestream::triggers {

class FilterCriteria {
  public:
    // Parses up to 5 patterns (AWS's limit), each the JSON text of one pattern object, e.g.
    // {"eventName": ["INSERT"]}. Fails with Errc::invalid_argument; Error::field is
    // "filterPatterns[i]" and the message says what is wrong and where (the key path).
    // Each pattern text is at most 4096 characters (Lambda API Filter.Pattern); a sixth
    // pattern is reported as filterPatterns[5].
    static Result<FilterCriteria> parse(const std::vector<std::string>& patterns);
    FilterCriteria() = default;  // no patterns
    bool empty() const;  // no patterns: every record passes
    // True when the record (a DynamoDB Streams record as JSON, the exact shape Lambda sees)
    // matches at least one pattern.
    bool matches(const boost::json::value& record) const;

  private:
    struct Compiled;
    explicit FilterCriteria(std::shared_ptr<const Compiled> compiled);

    std::shared_ptr<const Compiled> compiled_;  // null when there are no patterns
};

}  // namespace hirestream::triggers
