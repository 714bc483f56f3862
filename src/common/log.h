#pragma once
// Logging set-up. Modules log through spdlog's default logger; lines carry key=value fields so
// they can be grepped and parsed. `format` "json" writes one JSON object per line instead.

#include <string>

namespace hirestream {

// Configures the default logger. level: trace|debug|info|warn|error. Call once at start-up.
void init_logging(const std::string& level, const std::string& format);

}  // namespace hirestream
