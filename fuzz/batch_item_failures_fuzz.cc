// A webhook's or process handler's answer, read for batchItemFailures.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "triggers/function.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)hirestream::triggers::parse_batch_item_failures(
        std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
