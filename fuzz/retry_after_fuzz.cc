// A webhook answer's Retry-After and Date headers. Input: "<Retry-After>\n<Date>".
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "triggers/functions/webhook_function.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const hirestream::ManualClock clock;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto eol = input.find('\n');
    const std::string value(input.substr(0, eol));
    std::optional<std::string> date;
    if (eol != std::string_view::npos) date = std::string(input.substr(eol + 1));
    const auto delay = hirestream::triggers::parse_retry_after(value, date, clock);
    if (delay && (*delay < std::chrono::milliseconds(0) || *delay > std::chrono::minutes(15))) {
        std::abort();
    }
    return 0;
}
