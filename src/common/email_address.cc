#include "common/email_address.h"

#include <algorithm>

namespace hirestream {

bool is_valid_email_address(std::string_view address) {
    constexpr std::size_t kMaxLocalPart = 64;
    constexpr std::size_t kMaxAddress = 254;
    if (address.empty() || address.size() > kMaxAddress) return false;
    if (!std::all_of(address.begin(), address.end(), [](char c) { return c > ' ' && c < 127; })) {
        return false;
    }
    if (address.find_first_of("<>,;:\"()\\") != std::string_view::npos) return false;
    const std::size_t at = address.find('@');
    if (at == std::string_view::npos || address.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    const std::string_view local = address.substr(0, at);
    const std::string_view domain = address.substr(at + 1);
    if (local.empty() || local.size() > kMaxLocalPart || domain.empty()) return false;
    if (domain.front() == '[') {
        return domain.size() > 2 && domain.back() == ']' &&
               domain.find_first_of("[]", 1) == domain.size() - 1;
    }
    if (domain.front() == '.' || domain.back() == '.' ||
        domain.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(domain.begin(), domain.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
    });
}

}  // namespace hirestream
