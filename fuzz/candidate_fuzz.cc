// POST and PATCH /candidates bodies, exactly as a client sends them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/handlers/candidate_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    if (auto c = hirestream::http::parse_new_candidate(body)) {
        // What passes is what the mail renderer and the store rely on.
        if (c->fullname.empty() || c->email.find('@') == std::string::npos ||
            c->experience.empty()) {
            std::abort();
        }
    } else if (c.error().code != hirestream::Errc::invalid_argument) {
        std::abort();
    }
    (void)hirestream::http::parse_candidate_update(body);
    return 0;
}
