#include "triggers/functions/assignment_function.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/ids.h"

namespace hirestream::triggers {
namespace {

std::optional<std::string_view> attr(const boost::json::object& image, std::string_view name,
                                     std::string_view type) {
    auto it = image.find(name);
    if (it == image.end() || !it->value().is_object()) return std::nullopt;
    const auto& av = it->value().as_object();
    auto v = av.find(type);
    if (v == av.end() || !v->value().is_string()) return std::nullopt;
    return std::string_view(v->value().as_string());
}

}  // namespace

std::string assignment_message_id(const std::string& candidate_id, const std::string& assignment,
                                  const std::string& domain) {
    return sha256_hex(candidate_id + "/" + assignment).substr(0, 32) + "@" + domain;
}

AssignmentFunction::AssignmentFunction(FunctionSpec spec, store::Store& store, const Clock& clock,
                                       AssignmentRules rules, std::string message_id_domain,
                                       store::DeliveryHandoff* handoff)
    : spec_(std::move(spec)),
      store_(store),
      clock_(clock),
      rules_(std::move(rules)),
      message_id_domain_(std::move(message_id_domain)),
      handoff_(handoff) {}

InvokeResult AssignmentFunction::invoke(const Batch& batch, const InvocationContext& context) {
    auto log = [&](const std::string& line) {
        if (context.log) context.log(line);
    };
    std::vector<store::Delivery> deliveries;
    int sendable = 0;
    for (const auto& record : batch.records) {
        // Only new candidates get an assignment; MODIFY (e.g. evaluated, build status) and
        // REMOVE records are skipped, as the seed's filter did.
        if (record.event_name != store::EventName::insert) continue;
        auto key = attr(record.keys, "id", "S");
        if (!key) continue;
        store::Delivery& d = deliveries.emplace_back();
        d.candidate_id = std::string(*key);
        d.created_ms = d.updated_ms = d.next_attempt_ms = clock_.now_ms();
        if (!record.new_image) {
            d.state = store::DeliveryState::failed;
            d.last_reply = "the stream's view type carries no new image";
            continue;
        }
        const auto& image = *record.new_image;
        d.recipient = std::string(attr(image, "email", "S").value_or(""));
        d.recipient_name = std::string(attr(image, "fullname", "S").value_or(""));
        auto chosen = rules_.choose(attr(image, "experience", "N"),
                                    attr(image, "skills", "S").value_or(""));
        if (!chosen) {
            d.state = store::DeliveryState::failed;
            d.last_reply = "no assignment chosen: " + chosen.error().message;
        } else if (d.recipient.empty()) {
            d.assignment = *chosen;
            d.state = store::DeliveryState::failed;
            d.last_reply = "the candidate has no email attribute";
        } else {
            d.assignment = *chosen;
            d.message_id = assignment_message_id(d.candidate_id, d.assignment,
                                                 message_id_domain_);
            ++sendable;
        }
    }
    // Idle senders take the first ones straight from this commit: claimed (SENDING, the first
    // attempt begun) in the transaction that adds them.
    // (Built above as PENDING or FAILED only, so SENDING below means claimed here.)
    int reserved = handoff_ != nullptr && sendable > 0 ? handoff_->reserve(sendable) : 0;
    for (std::size_t i = 0, n = 0; i < deliveries.size() && static_cast<int>(n) < reserved; ++i) {
        if (deliveries[i].state != store::DeliveryState::pending) continue;
        deliveries[i].state = store::DeliveryState::sending;
        deliveries[i].attempts = 1;
        ++n;
    }
    std::vector<std::optional<store::Delivery>> added;
    if (!deliveries.empty()) {
        auto written = store_.add_deliveries(deliveries);
        if (!written) {
            if (reserved > 0) handoff_->cancel(reserved);
            InvokeResult failed;
            failed.ok = false;
            failed.error = "cannot record the delivery: " + written.error().message;
            return failed;
        }
        added = std::move(*written);
    }
    // Hand over first (nothing here throws before every reservation is given or returned), then
    // wake senders for the PENDING ones: woken earlier, the reserved senders would claim those
    // from the store and leave the claimed ones waiting.
    int unused = 0;
    bool pending = false;
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
        const bool claimed = deliveries[i].state == store::DeliveryState::sending;
        if (!added[i]) {
            if (claimed) ++unused;
        } else if (claimed) {
            handoff_->give(*added[i]);
        } else {
            pending = pending || added[i]->state == store::DeliveryState::pending;
        }
    }
    if (unused > 0) handoff_->cancel(unused);
    if (pending) store_.delivery_signal().notify();
    for (std::size_t i = 0; i < deliveries.size(); ++i) {
        const auto& d = deliveries[i];
        if (!added[i]) {
            log(fmt::format("candidate {} already has its assignment email; skipped",
                            d.candidate_id));
        } else if (d.state == store::DeliveryState::failed) {
            log(fmt::format("candidate {}: no email will be sent: {}", d.candidate_id,
                            d.last_reply));
            spdlog::warn("assignment not sent candidate={} reason=\"{}\"", d.candidate_id,
                         d.last_reply);
        } else {
            log(fmt::format("candidate {}: {} queued for {}", d.candidate_id, d.assignment,
                            d.recipient));
            spdlog::info("assignment queued candidate={} assignment={}", d.candidate_id,
                         d.assignment);
        }
    }
    log(fmt::format("{} record(s), {} INSERT(s)", batch.records.size(), deliveries.size()));
    return {};
}

}  // namespace hirestream::triggers
