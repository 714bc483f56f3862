// filterPatterns from a config file, matched against a fixed INSERT record and against the
// input itself read as a record. Input: up to 5 patterns, one per line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "triggers/filter_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> patterns;
    for (std::size_t start = 0; start <= input.size() && patterns.size() < 6;) {
        const auto eol = input.find('\n', start);
        patterns.emplace_back(input.substr(start, eol - start));
        if (eol == std::string_view::npos) break;
        start = eol + 1;
    }
    auto criteria = hirestream::triggers::FilterCriteria::parse(patterns);
    if (!criteria) return 0;
    static const boost::json::value record = boost::json::parse(R"({
        "eventName": "INSERT", "eventSource": "aws:dynamodb",
        "dynamodb": {"Keys": {"id": {"S": "a"}},
                     "NewImage": {"id": {"S": "a"}, "experience": {"N": "12"},
                                  "skills": {"S": "java"}, "evaluated": {"BOOL": false},
                                  "tags": {"L": [{"M": {"k": {"S": "v"}}}, {"N": "1e308"}]}}}})");
    (void)criteria->matches(record);
    boost::system::error_code ec;
    const auto other = boost::json::parse(patterns.front(), ec);
    if (!ec) (void)criteria->matches(other);
    return 0;
}
