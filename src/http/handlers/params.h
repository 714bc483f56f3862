#pragma once
// Query and path parameters the handlers share, parsed one way: each failure is invalid_argument
// naming the parameter.

#include <cstdint>
#include <string_view>

#include "common/result.h"
#include "http/message.h"

namespace hirestream::http {

// `limit` from the query: a whole number 1..max, or `fallback` when absent.
Result<int> limit_param(const Request& req, int fallback, int max);

// A positive whole number (an id in a path or a cursor); `field` names it in the error.
Result<std::int64_t> positive_id(std::string_view text, const char* field);

}  // namespace hirestream::http
