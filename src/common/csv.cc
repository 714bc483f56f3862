#include "common/csv.h"

#include <fmt/format.h>

namespace hirestream {

Result<std::vector<CsvRecord>> parse_csv(std::string_view text, std::size_t max_records) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    std::vector<CsvRecord> records;
    std::size_t line = 1;
    std::size_t i = 0;
    const std::size_t n = text.size();
    auto invalid = [&](std::size_t at, std::string_view what) {
        return fail(Errc::invalid_argument, fmt::format("line {}: {}", at, what), "body");
    };
    while (i < n) {
        // A blank line (LF or CRLF alone) is no record.
        if (text[i] == '\n') {
            ++line, ++i;
            continue;
        }
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') {
            ++line, i += 2;
            continue;
        }
        if (records.size() == max_records) {
            // Its own field, so a caller can tell the bound from broken text.
            return fail(Errc::invalid_argument,
                        fmt::format("line {}: more than {} records", line, max_records), "records");
        }
        CsvRecord record;
        record.line = line;
        bool end_of_record = false;
        while (!end_of_record) {
            std::string field;
            if (i < n && text[i] == '"') {
                const std::size_t opened = line;
                ++i;
                for (;;) {
                    if (i >= n) return invalid(opened, "a quoted field is not closed");
                    const char c = text[i];
                    if (c == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            field += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        break;
                    }
                    if (c == '\0') return invalid(line, "a NUL byte");
                    if (c == '\n') ++line;
                    field += c;
                    ++i;
                }
                if (i < n && text[i] != ',' && text[i] != '\n' &&
                    !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
                    return invalid(line, "text after a closing quote");
                }
            } else {
                while (i < n && text[i] != ',' && text[i] != '\n' &&
                       !(text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
                    if (text[i] == '"') return invalid(line, "a quote inside an unquoted field");
                    if (text[i] == '\0') return invalid(line, "a NUL byte");
                    field += text[i];
                    ++i;
                }
            }
            record.fields.push_back(std::move(field));
            if (i >= n) {
                end_of_record = true;
            } else if (text[i] == ',') {
                ++i;
            } else {
                i += text[i] == '\r' ? 2 : 1;
                ++line;
                end_of_record = true;
            }
        }
        records.push_back(std::move(record));
    }
    return records;
}

std::string format_csv_record(const std::vector<std::string>& fields) {
    // One empty field written bare would be a blank line, which is no record at all.
    if (fields.size() == 1 && fields[0].empty()) return "\"\"\r\n";
    std::string out;
    for (std::size_t f = 0; f < fields.size(); ++f) {
        if (f > 0) out += ',';
        const auto& v = fields[f];
        // A field that starts with a byte order mark is quoted: bare at the start of a file,
        // the reader would skip the mark as the file's own.
        if (v.find_first_of(",\"\r\n") == std::string::npos && v.rfind("\xEF\xBB\xBF", 0) != 0) {
            out += v;
            continue;
        }
        out += '"';
        for (char c : v) {
            if (c == '"') out += '"';
            out += c;
        }
        out += '"';
    }
    out += "\r\n";
    return out;
}

}  // namespace hirestream
