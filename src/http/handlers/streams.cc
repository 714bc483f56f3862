// Reading a table's change stream over HTTP, in DynamoDB Streams' record format: the records a
// function receives, for users and tests to inspect.

#include <algorithm>
#include <charconv>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

Result<Response> records(const ApiContext& ctx, Request& req) {
    if (req.param("table") != ctx.candidates_table) {
        return fail(Errc::not_found, fmt::format("no table {}", req.param("table")), "table");
    }
    std::uint64_t after = 0;
    if (auto a = req.query_param("after"); a && !a->empty()) {
        auto parsed = stream::parse_sequence_number(*a);
        if (!parsed) {
            return fail(Errc::invalid_argument, "must be a SequenceNumber from this stream",
                        "after");
        }
        after = *parsed;
    }
    int limit = 100;
    if (auto l = req.query_param("limit")) {
        auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
        if (ec != std::errc() || p != l->data() + l->size() || limit < 1 || limit > 1000) {
            return fail(Errc::invalid_argument, "must be a whole number from 1 to 1000", "limit");
        }
    }
    auto records = ctx.store.read_stream(ctx.candidates_table, after, limit);
    if (!records) return fail(records.error());
    json::array out;
    for (const auto& r : *records) out.push_back(stream::to_stream_record(r, ctx.candidates_stream));
    return json_response(200, json::serialize(json::object{{"Records", std::move(out)}}));
}

}  // namespace

void add_stream_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/streams/{table}/records", Access::admin, [&ctx](Request& r) { return records(ctx, r); });
}

}  // namespace hirestream::http
