#pragma once
// Result<T> and Error: expected failures as values (tl::expected, the C++23 std::expected API).
// Thread-safety: plain values.

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace hirestream {

// The small set of failure kinds every module reports. Exactly one place (http/error_mapping)
// turns them into HTTP statuses.
enum class Errc {
    not_found,
    invalid_argument,
    conflict,
    unavailable,  // transient: retry later (disk full, database locked, server down)
    deadline,     // a timeout expired
    too_large,    // a body or value over its bound
    forbidden,    // a credential (e.g. a signed link, an API key's role) that does not grant access
    unauthenticated,  // no credential, or one that is unknown or revoked
    rate_limited,     // too many attempts from one client: try again later
    internal,
};

std::string_view errc_name(Errc errc);

struct Error {
    Errc code = Errc::internal;
    std::string message;
    // The input field or config key the error is about; empty when it is about none.
    std::string field;

    Error() = default;
    Error(Errc c, std::string msg, std::string fld = {})
        : code(c), message(std::move(msg)), field(std::move(fld)) {}
};

template <typename T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(Errc code, std::string message, std::string field = {}) {
    return tl::unexpected<Error>(Error(code, std::move(message), std::move(field)));
}

inline tl::unexpected<Error> fail(Error error) { return tl::unexpected<Error>(std::move(error)); }

}  // namespace hirestream
