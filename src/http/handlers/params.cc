#include "http/handlers/params.h"

#include <charconv>

#include <fmt/format.h>

namespace hirestream::http {

Result<int> limit_param(const Request& req, int fallback, int max) {
    auto l = req.query_param("limit");
    if (!l) return fallback;
    int limit = 0;
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || p != l->data() + l->size() || limit < 1 || limit > max) {
        return fail(Errc::invalid_argument, fmt::format("must be a whole number from 1 to {}", max),
                    "limit");
    }
    return limit;
}

Result<std::int64_t> positive_id(std::string_view text, const char* field) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size() || id < 1) {
        return fail(Errc::invalid_argument, "must be a positive whole number", field);
    }
    return id;
}

}  // namespace hirestream::http
