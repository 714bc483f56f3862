#pragma once
// CSV as RFC 4180 defines it, plus what spreadsheets write: records end at CRLF or LF, fields are
// separated by commas, a field in double quotes may hold commas, line breaks and "" for a quote.
// A UTF-8 byte order mark at the start is skipped, and blank lines are skipped. Pure functions;
// thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hirestream {

struct CsvRecord {
    std::size_t line = 0;  // 1-based line of the file on which the record starts
    std::vector<std::string> fields;
};

// Fails with invalid_argument, the message naming the line: field "body" for a quote left open
// at the end, text after a closing quote, a quote inside an unquoted field or a NUL byte; field
// "records" for more than `max_records` records.
Result<std::vector<CsvRecord>> parse_csv(std::string_view text, std::size_t max_records);

// One record as CSV text ending in CRLF, quoting the fields that need it.
std::string format_csv_record(const std::vector<std::string>& fields);

}  // namespace hirestream
