#pragma once
// The validation of a candidate as a recruiter sends it (POST and PATCH /candidates bodies):
// pure functions of the body text, with no store, clock or socket, so the handlers, the unit
// tests and the fuzz targets run the very same checks. Thread-safe.
//
// Every failure is invalid_argument naming the field (field empty for a body that is not a JSON
// object, or a PATCH with nothing to change); the first failing field, in the order below, is
// the one reported.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "store/store.h"

namespace hirestream::http {

// A new candidate, normalized: text trimmed of spaces and tabs, emails lower-cased, experience
// as DynamoDB's N text ("12" for whole numbers, the shortest round trip otherwise).
struct CandidateInput {
    std::string fullname;
    std::string email;
    std::optional<std::string> skills;
    std::string experience;
    std::optional<std::string> recruiter_email;
};

// A POST body: `{fullname, email, experience, skills?, recruiterEmail?}` and nothing else.
// Checks, in order: JSON object, no unknown field, the required fields present, then fullname,
// email, experience, skills, recruiterEmail. Limits: fullname 1-256 bytes, email 254, skills
// 2048, experience a number 0-80, no control characters anywhere.
Result<CandidateInput> parse_new_candidate(std::string_view body);

// The item a new candidate is stored as: `id`, the input's fields, `evaluated` false and
// `submittedAt` = `updatedAt` = now_ms. What POST /candidates writes, and `hirestream
// bulk-load` too, so that an imported database holds exactly what the API would store.
store::Item new_candidate_item(const CandidateInput& candidate, const std::string& id,
                               std::int64_t now_ms);

// A PATCH body: the fields to change (fullname, email, skills, experience, recruiterEmail,
// evaluated), each as DynamoDB attribute values in `set`; `skills` or `recruiterEmail` null
// removes it. `id`, `submittedAt` and `updatedAt` "cannot be changed"; the caller adds
// updatedAt itself.
Result<store::ItemUpdate> parse_candidate_update(std::string_view body);

}  // namespace hirestream::http
