// The token of a signed download link (GET /d/{token}), anyone on the internet can send one.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/clock.h"
#include "mail/download_link.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const hirestream::ManualClock clock;
    static const hirestream::mail::LinkSigner signer("fuzzing-secret-0123456789", clock);
    const std::string_view token(reinterpret_cast<const char*>(data), size);
    auto claims = signer.verify(token);
    // Only a token this signer made verifies, and it is the one it would make again.
    if (claims && signer.sign(*claims) != token) std::abort();
    return 0;
}
