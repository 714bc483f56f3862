#pragma once
// Parsing of an HTTP request target (RFC 9112 3.2.1 origin-form, "/path?query"), the first
// thing the server reads from a client. Pure function, no socket: the server calls it, and so
// do the fuzz targets and tests. Thread-safe.

#include <string_view>

#include "http/message.h"

namespace hirestream::http {

// Fills `out.path` (percent-decoded, "/" when empty) and `out.query` (decoded; the last value
// of a repeated key wins) from `target`. Returns false, leaving `out` partly filled, when the
// target is not in origin form.
bool parse_target(std::string_view target, Request& out);

}  // namespace hirestream::http
