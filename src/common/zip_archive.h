#pragma once
// A structural check that bytes are a zip archive (PKWARE APPNOTE.TXT), without unpacking:
// the archive starts with a local file header (4.3.7) or, when empty, is only its end of
// central directory record (4.3.16), and that record sits where its own comment length says,
// with the central directory it points to inside the file. Pure function; thread-safe.

#include <string_view>

#include "common/result.h"

namespace hirestream {

// Fails with invalid_argument (message says what is wrong; field empty: callers name it).
Result<void> check_zip_archive(std::string_view bytes);

}  // namespace hirestream
