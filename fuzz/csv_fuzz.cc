// CSV as POST /candidates:import and `hirestream import` read it. Beyond memory errors it checks
// the round trip the CLI relies on when it sends a file in parts: every record parsed, written
// back with format_csv_record and parsed again, has the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto records = hirestream::parse_csv(text, 10'000);
    if (!records) return 0;
    std::string again;
    for (const auto& r : *records) again += hirestream::format_csv_record(r.fields);
    auto reparsed = hirestream::parse_csv(again, 10'000);
    if (!reparsed || reparsed->size() != records->size()) std::abort();
    for (std::size_t i = 0; i < records->size(); ++i) {
        if ((*reparsed)[i].fields != (*records)[i].fields) std::abort();
    }
    return 0;
}
