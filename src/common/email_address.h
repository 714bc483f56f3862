#pragma once
// The one rule for what counts as an email address anywhere in hirestream: config (From,
// Reply-To), the API (candidate and recruiter emails) and the mail renderer all use it, so an
// address accepted at the door can always be mailed. Pure function; thread-safe.

#include <string_view>

namespace hirestream {

// An addr-spec (RFC 5322 3.4.1) of printable ASCII without the characters that would change a
// header's structure (specials that start a group, comment, quoted-string or list), one "@", a
// local part of 1-64 octets, and a domain of dot-separated labels (letters, digits, '-') or a
// bracketed literal; at most 254 octets in all (RFC 5321 4.5.3.1). Quoted local parts are
// refused on purpose: rare, and each is an injection risk in a header.
bool is_valid_email_address(std::string_view address);

}  // namespace hirestream
