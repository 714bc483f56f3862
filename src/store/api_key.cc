#include "store/api_key.h"

namespace hirestream::store {

std::string_view role_text(Role role) {
    switch (role) {
        case Role::recruiter: return "recruiter";
        case Role::admin: return "admin";
    }
    return "recruiter";
}

std::optional<Role> parse_role(std::string_view text) {
    if (text == "recruiter") return Role::recruiter;
    if (text == "admin") return Role::admin;
    return std::nullopt;
}

}  // namespace hirestream::store
