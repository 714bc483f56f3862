// The structural zip check run on every uploaded assignment (PUT /assignments/{name}).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/zip_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    (void)hirestream::check_zip_archive(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
