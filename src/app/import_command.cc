#include "app/import_command.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <vector>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/csv.h"

namespace hirestream::app {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxFileBytes = std::size_t{2} << 30;

void draw(std::ostream& err, std::size_t done, std::size_t total, std::size_t failed) {
    constexpr int kWidth = 30;
    const int filled = total == 0 ? kWidth : static_cast<int>(kWidth * done / total);
    err << fmt::format("\r[{}{}] {:3}% {}/{} rows, {} failed", std::string(filled, '#'),
                       std::string(kWidth - filled, ' '), total == 0 ? 100 : 100 * done / total,
                       done, total, failed)
        << std::flush;
}

}  // namespace

int import_candidates(ApiClient& client, const ImportOptions& options, std::ostream& out,
                      std::ostream& err) {
    std::ifstream file(options.path, std::ios::binary);
    std::error_code size_error;
    const auto size = std::filesystem::file_size(options.path, size_error);
    if (!file || size_error) {
        err << "cannot read " << options.path << "\n";
        return 1;
    }
    // Refused before it is read, so a huge file costs nothing.
    if (size > kMaxFileBytes) {
        err << options.path << " is over 2 GiB: split it\n";
        return 1;
    }
    std::string text(static_cast<std::size_t>(size), '\0');
    if (!file.read(text.data(), static_cast<std::streamsize>(text.size()))) {
        err << "cannot read " << options.path << "\n";
        return 1;
    }
    // Parsed here first: a file with broken quoting sends nothing at all.
    auto records = parse_csv(text, std::size_t{50'000'000});
    if (!records) {
        err << options.path << ": " << records.error().message << "\n";
        return 1;
    }
    if (records->empty()) {
        err << options.path << " is empty: it needs a header row\n";
        return 1;
    }
    const auto& header = records->front();
    const std::size_t total = records->size() - 1;
    std::size_t imported = 0;
    std::size_t failed = 0;
    std::size_t done = 0;
    if (options.progress) draw(err, 0, total, 0);
    for (std::size_t first = 1; first < records->size(); first += options.rows_per_request) {
        const std::size_t last = std::min(records->size(), first + options.rows_per_request);
        // The part as its own CSV file, and for each of its lines the line of the original file
        // (a quoted field may span lines, so count them).
        std::string body = format_csv_record(header.fields);
        std::vector<std::size_t> original_line{0, header.line};  // index: the part's line
        for (std::size_t r = first; r < last; ++r) {
            const auto& rec = (*records)[r];
            const auto formatted = format_csv_record(rec.fields);
            const auto lines = static_cast<std::size_t>(
                std::count(formatted.begin(), formatted.end(), '\n'));
            for (std::size_t l = 0; l < lines; ++l) original_line.push_back(rec.line + l);
            body += formatted;
        }
        auto r = client.request("POST", "/candidates:import", body, "text/csv");
        if (!r || r->status != 200) {
            if (options.progress) err << "\n";
            err << (r ? api_error_message(*r) : r.error().message) << "\n";
            err << fmt::format("stopped at line {} of {}: {} candidates imported before it\n",
                               (*records)[first].line, options.path, imported);
            return 1;
        }
        const auto answer = json::parse(r->body).as_object();
        imported += answer.at("imported").to_number<std::size_t>();
        failed += answer.at("failed").to_number<std::size_t>();
        for (const auto& e : answer.at("errors").as_array()) {
            const auto& o = e.as_object();
            const auto line = o.at("line").to_number<std::size_t>();
            const auto mapped = line < original_line.size() ? original_line[line] : line;
            const auto& field = o.at("field");
            out << fmt::format("line {}: {}{}\n", mapped,
                               field.is_string() ? std::string(field.as_string()) + ": " : "",
                               std::string(o.at("message").as_string()));
        }
        if (const auto omitted = answer.at("errorsOmitted").to_number<std::size_t>(); omitted) {
            out << fmt::format("({} more failed rows between lines {} and {} not listed)\n",
                               omitted, (*records)[first].line, (*records)[last - 1].line);
        }
        done = last - 1;
        if (options.progress) draw(err, done, total, failed);
    }
    if (options.progress) err << "\n";
    err << fmt::format("imported {} candidates from {}; {} rows failed\n", imported, options.path,
                       failed);
    return failed == 0 ? 0 : 1;
}

}  // namespace hirestream::app
