#include "common/zip_archive.h"

#include <cstdint>

namespace hirestream {
namespace {

constexpr std::string_view kLocalHeader("PK\x03\x04", 4);
constexpr std::string_view kEndOfDirectory("PK\x05\x06", 4);
constexpr std::size_t kEndRecordSize = 22;
constexpr std::size_t kMaxComment = 0xffff;

std::uint32_t le(std::string_view bytes, std::size_t at, int width) {
    std::uint32_t v = 0;
    for (int i = width - 1; i >= 0; --i) {
        v = (v << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
    }
    return v;
}

}  // namespace

Result<void> check_zip_archive(std::string_view bytes) {
    auto refuse = [](const char* why) { return fail(Errc::invalid_argument, why); };
    if (bytes.size() < kEndRecordSize) return refuse("is not a zip archive: too short");
    const auto head = bytes.substr(0, 4);
    if (head != kLocalHeader && head != kEndOfDirectory) {
        return refuse("is not a zip archive: no zip signature at its start");
    }
    // The end record is the last 22 bytes plus a comment of up to 64 KiB: search backwards for
    // a signature whose comment length ends exactly at the end of the data.
    const std::size_t lowest =
        bytes.size() > kEndRecordSize + kMaxComment ? bytes.size() - kEndRecordSize - kMaxComment
                                                    : 0;
    for (std::size_t at = bytes.size() - kEndRecordSize + 1; at-- > lowest;) {
        if (bytes.substr(at, 4) != kEndOfDirectory) continue;
        if (at + kEndRecordSize + le(bytes, at + 20, 2) != bytes.size()) continue;
        const std::uint64_t dir_size = le(bytes, at + 12, 4);
        const std::uint64_t dir_offset = le(bytes, at + 16, 4);
        // ZIP64 archives put 0xFFFFFFFF here and the real values in a ZIP64 record before.
        if (dir_offset == 0xffffffffu || dir_size == 0xffffffffu) return {};
        if (dir_offset + dir_size > at) {
            return refuse("is not a zip archive: its central directory lies outside the file");
        }
        if (le(bytes, at + 10, 2) > 0 && bytes.substr(dir_offset, 4) != "PK\x01\x02") {
            return refuse("is not a zip archive: no central directory where the end record says");
        }
        return {};
    }
    return refuse("is not a zip archive: no end of central directory record");
}

}  // namespace hirestream
