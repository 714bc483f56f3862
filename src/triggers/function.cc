#include "triggers/function.h"

#include <boost/json.hpp>

namespace hirestream::triggers {

std::string render_event(const Batch& batch) {
    boost::json::array records;
    records.reserve(batch.records.size());
    for (const auto& r : batch.records) records.push_back(stream::to_stream_record(r, *batch.stream));
    return boost::json::serialize(boost::json::object{{"Records", std::move(records)}});
}

Result<std::vector<std::string>> parse_batch_item_failures(std::string_view response) {
    std::vector<std::string> ids;
    if (response.find_first_not_of(" \t\r\n") == std::string_view::npos) return ids;
    boost::system::error_code ec;
    auto value = boost::json::parse(response, ec);
    if (ec) return fail(Errc::invalid_argument, "the function's answer is not JSON");
    if (value.is_null()) return ids;
    if (!value.is_object()) {
        return fail(Errc::invalid_argument, "the function's answer is not a JSON object");
    }
    const auto& o = value.as_object();
    auto it = o.find("batchItemFailures");
    if (it == o.end() || it->value().is_null()) return ids;
    if (!it->value().is_array()) {
        return fail(Errc::invalid_argument, "batchItemFailures is not a list");
    }
    for (const auto& entry : it->value().as_array()) {
        const auto* e = entry.if_object();
        const auto* id = e ? e->if_contains("itemIdentifier") : nullptr;
        if (!id || !id->is_string() || id->as_string().empty()) {
            return fail(Errc::invalid_argument,
                        "each batchItemFailures entry needs a non-empty itemIdentifier");
        }
        ids.emplace_back(id->as_string());
    }
    return ids;
}

}  // namespace hirestream::triggers
