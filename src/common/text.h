#pragma once
// Small text helpers shared by parsers of header-like input (CSV columns, mail headers).
// Pure functions.

#include <string>
#include <string_view>

namespace hirestream {

// `s` with ASCII letters lower-cased (other bytes unchanged).
std::string ascii_lower(std::string_view s);
// `s` without leading and trailing spaces and tabs (and a trailing CR when `cr` is set).
std::string trim_blanks(std::string_view s, bool cr = false);

}  // namespace hirestream
