#pragma once
// The assignment email: what a candidate receives. Built from a delivery, the sender settings
// and the assignment's zip. Plain values; thread-safe.

#include <map>
#include <string>
#include <vector>

#include "mail/message.h"
#include "store/delivery.h"

namespace hirestream::mail {

struct AssignmentFile {
    std::string name;   // "assignment1"
    std::string title;  // "Assignment 1: ..."
    std::string bytes;  // the zip
};

struct SenderSettings {
    Mailbox from;
    std::vector<Mailbox> reply_to;
    std::string subject = "Coding Round";
    std::string public_url;  // base of download links, without a trailing slash
};

// The download link of an assignment: <public_url>/assignments/<name>.zip
std::string assignment_url(const std::string& public_url, const std::string& assignment);

// The message: to the candidate, greeting them by name, with the link and the zip attached.
Message build_assignment_message(const store::Delivery& delivery, const SenderSettings& sender,
                                 const AssignmentFile& assignment, std::int64_t now_ms);

}  // namespace hirestream::mail
