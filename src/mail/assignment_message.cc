#include "mail/assignment_message.h"

#include <fmt/format.h>

namespace hirestream::mail {

std::string assignment_url(const std::string& public_url, const std::string& assignment) {
    return fmt::format("{}/assignments/{}.zip", public_url, assignment);
}

Message build_assignment_message(const store::Delivery& delivery, const SenderSettings& sender,
                                 const AssignmentFile& assignment, std::int64_t now_ms) {
    Message m;
    m.from = sender.from;
    m.to = Mailbox{delivery.recipient_name, delivery.recipient};
    m.reply_to = sender.reply_to;
    m.subject = sender.subject;
    const auto url = assignment_url(sender.public_url, assignment.name);
    // The link stands on a line of its own: short enough that no transfer encoding folds it,
    // so it stays clickable even in a client that shows the raw text.
    m.text_body = fmt::format(
        "Hello {},\r\n"
        "\r\n"
        "please download your coding assignment \"{}\" from:\r\n"
        "\r\n"
        "{}\r\n"
        "\r\n"
        "The assignment is also attached to this email as {}.zip.\r\n"
        "\r\n"
        "Good luck!\r\n",
        delivery.recipient_name.empty() ? "there" : delivery.recipient_name, assignment.title,
        url, assignment.name);
    m.attachments.push_back(Attachment{assignment.name + ".zip", "application/zip",
                                       assignment.bytes});
    m.message_id = delivery.message_id;
    m.date_ms = now_ms;
    return m;
}

}  // namespace hirestream::mail
