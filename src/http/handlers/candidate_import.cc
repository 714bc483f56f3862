// POST /candidates:import: many candidates from one CSV file (a header row naming the columns,
// then a candidate per row), each checked exactly as POST /candidates checks one, stored in
// batches of a few hundred per transaction and mailed through the normal pipeline (each is an
// INSERT on the change stream like any other). Rows that fail come back with their line
// numbers; the valid rows are stored regardless.

#include <algorithm>
#include <cctype>
#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "common/csv.h"
#include "common/ids.h"
#include "common/text.h"
#include "http/error_response.h"
#include "http/handlers/candidate_input.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxRows = 200'000;
constexpr std::size_t kBatch = 500;
constexpr std::size_t kMaxErrorsListed = 1000;
const std::vector<std::string> kColumns{"fullname", "email", "skills", "experience",
                                        "recruiterEmail"};


// The header row: which known column each field is, by name, case-insensitively.
Result<std::vector<std::string>> read_header(const CsvRecord& header) {
    std::vector<std::string> columns;
    for (const auto& raw : header.fields) {
        const auto name = ascii_lower(trim_blanks(raw));
        auto known = std::find_if(kColumns.begin(), kColumns.end(),
                                  [&](const std::string& c) { return ascii_lower(c) == name; });
        if (known == kColumns.end()) {
            return fail(Errc::invalid_argument,
                        fmt::format("line {}: unknown column '{}'; the columns are fullname, "
                                    "email, skills, experience, recruiterEmail",
                                    header.line, trim_blanks(raw)),
                        "header");
        }
        if (std::find(columns.begin(), columns.end(), *known) != columns.end()) {
            return fail(Errc::invalid_argument,
                        fmt::format("line {}: column '{}' appears twice", header.line, *known),
                        "header");
        }
        columns.push_back(*known);
    }
    for (const char* required : {"fullname", "email", "experience"}) {
        if (std::find(columns.begin(), columns.end(), required) == columns.end()) {
            return fail(Errc::invalid_argument,
                        fmt::format("line {}: the header has no {} column", header.line, required),
                        required);
        }
    }
    return columns;
}

// A row as the JSON body POST /candidates takes, so it meets the very same checks. An empty
// optional cell is an absent field; experience is a number when it reads as one.
std::string row_body(const std::vector<std::string>& columns, const CsvRecord& row) {
    json::object body;
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto value = trim_blanks(row.fields[i]);
        const auto& column = columns[i];
        if (value.empty() && (column == "skills" || column == "recruiterEmail")) continue;
        if (column == "experience") {
            double number = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
            if (!value.empty() && ec == std::errc() && p == value.data() + value.size()) {
                body[column] = number;
                continue;
            }
        }
        body[column] = value;
    }
    return json::serialize(body);
}

struct RowError {
    std::size_t line;
    std::string field;
    std::string message;
};

Result<Response> import(const ApiContext& ctx, Request& req) {
    const auto type = ascii_lower(req.header("content-type").value_or(""));
    if (type.rfind("text/csv", 0) != 0 && type.rfind("application/csv", 0) != 0) {
        auto r = error_response(Error(Errc::invalid_argument,
                                      "the body must be CSV (Content-Type: text/csv)",
                                      "Content-Type"));
        r.status = 415;
        return r;
    }
    auto records = parse_csv(req.body, kMaxRows + 1);  // the header row and the rows
    if (!records) {
        if (records.error().field == "records") {
            return fail(Errc::invalid_argument,
                        fmt::format("at most {} rows per import; split the file (hirestream "
                                    "import does)",
                                    kMaxRows),
                        "body");
        }
        return fail(records.error());
    }
    if (records->empty()) {
        return fail(Errc::invalid_argument, "the file is empty: it needs a header row", "body");
    }
    auto columns = read_header(records->front());
    if (!columns) return fail(columns.error());

    std::size_t imported = 0;
    std::size_t failed = 0;
    std::vector<RowError> errors;
    auto row_failed = [&](std::size_t line, const Error& e) {
        ++failed;
        if (errors.size() < kMaxErrorsListed) errors.push_back({line, e.field, e.message});
    };
    std::vector<store::Item> batch;
    std::vector<std::size_t> batch_lines;
    auto flush = [&]() -> Result<void> {
        if (batch.empty()) return {};
        auto written = ctx.store.put_items(ctx.candidates_table, batch, store::PutMode::create_only);
        if (!written) {
            return fail(Errc::unavailable,
                        fmt::format("stopped before line {}: {}; the {} rows before it were stored",
                                    batch_lines.front(), written.error().message, imported));
        }
        for (std::size_t i = 0; i < written->size(); ++i) {
            const auto& one = (*written)[i];
            if (one) {
                ++imported;
            } else if (one.error().code == Errc::conflict && one.error().field == "email") {
                row_failed(batch_lines[i],
                           Error(Errc::conflict,
                                 fmt::format("a candidate with email {} is already on file",
                                             batch[i].string_attr("email").value_or("")),
                                 "email"));
            } else {
                row_failed(batch_lines[i], one.error());
            }
        }
        count_candidate_writes(ctx, "INSERT", std::count_if(written->begin(), written->end(),
                                                            [](const auto& w) { return w.has_value(); }));
        batch.clear();
        batch_lines.clear();
        return {};
    };
    const auto now = ctx.clock.now_ms();
    for (std::size_t r = 1; r < records->size(); ++r) {
        const auto& row = (*records)[r];
        if (row.fields.size() != columns->size()) {
            row_failed(row.line, Error(Errc::invalid_argument,
                                       fmt::format("the row has {} fields, the header {}",
                                                   row.fields.size(), columns->size())));
            continue;
        }
        auto candidate = parse_new_candidate(row_body(*columns, row));
        if (!candidate) {
            row_failed(row.line, candidate.error());
            continue;
        }
        batch.push_back(new_candidate_item(*candidate, new_time_ordered_uuid(now), now));
        batch_lines.push_back(row.line);
        if (batch.size() == kBatch) {
            if (auto ok = flush(); !ok) return fail(ok.error());
        }
    }
    if (auto ok = flush(); !ok) return fail(ok.error());

    json::array listed;
    for (const auto& e : errors) {
        json::object o{{"line", e.line}, {"message", e.message}};
        o["field"] = e.field.empty() ? json::value(nullptr) : json::value(e.field);
        listed.push_back(std::move(o));
    }
    json::object out{{"imported", imported},
                     {"failed", failed},
                     {"errors", std::move(listed)},
                     {"errorsOmitted", failed - errors.size()}};
    return json_response(200, json::serialize(out));
}

}  // namespace

void add_candidate_import_routes(Router& router, const ApiContext& ctx) {
    router.add("POST", "/candidates:import", Access::recruiter,
               [&ctx](Request& r) { return import(ctx, r); }, ctx.max_import_bytes);
}

}  // namespace hirestream::http
