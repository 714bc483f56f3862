#pragma once
// AssignmentFunction ("builtin:assignment", the seed's sendAssignment): keeps the INSERT records
// of a batch, picks each candidate's assignment and records one tracked delivery per candidate
// in the store. The delivery engine (mail) sends it. Adding a delivery is idempotent per
// candidate, so a retried batch or a replayed stream never mails anyone twice. A candidate whose
// record cannot be mailed (no valid experience or email) gets a FAILED delivery with the reason.
// A batch's deliveries are added in one transaction; with a DeliveryHandoff, as many as there
// are idle senders are added already claimed and handed to them.
// Thread-safe.

#include <string>

#include "common/clock.h"
#include "store/delivery_handoff.h"
#include "store/store.h"
#include "triggers/function.h"
#include "triggers/functions/assignment_rules.h"

namespace hirestream::triggers {

class AssignmentFunction final : public Function {
public:
    // `message_id_domain` is the right-hand side of generated Message-IDs (the sender's domain).
    // `handoff` (optional, must outlive the function): the delivery engine's idle senders.
    AssignmentFunction(FunctionSpec spec, store::Store& store, const Clock& clock,
                       AssignmentRules rules, std::string message_id_domain,
                       store::DeliveryHandoff* handoff = nullptr);

    const FunctionSpec& spec() const override { return spec_; }
    InvokeResult invoke(const Batch& batch, const InvocationContext& context) override;

private:
    FunctionSpec spec_;
    store::Store& store_;
    const Clock& clock_;
    AssignmentRules rules_;
    std::string message_id_domain_;
    store::DeliveryHandoff* handoff_;
};

// The Message-ID of a candidate's assignment email, without angle brackets: the same for the
// same (candidate, assignment), so a receiver can drop a duplicate sent in SMTP's one unclosable
// window (a crash after the server accepted and before we recorded it).
std::string assignment_message_id(const std::string& candidate_id, const std::string& assignment,
                                  const std::string& domain);

}  // namespace hirestream::triggers
