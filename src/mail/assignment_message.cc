#include "mail/assignment_message.h"

#include <fmt/format.h>

#include "common/ids.h"

namespace hirestream::mail {

std::string download_url(const std::string& public_url, const std::string& token) {
    return fmt::format("{}/d/{}", public_url, token);
}

TemplateValues assignment_values(const store::Delivery& d, const store::Item* candidate,
                                 const AssignmentInfo& assignment, const std::string& url,
                                 std::int64_t expires_s, std::int64_t ttl_s, bool attached) {
    TemplateValues v;
    v["fullname"] = d.recipient_name;
    v["email"] = d.recipient;
    if (candidate != nullptr) {
        v["skills"] = std::string(candidate->string_attr("skills").value_or(""));
        v["experience"] = std::string(candidate->number_attr("experience").value_or(""));
        v["recruiterEmail"] = std::string(candidate->string_attr("recruiterEmail").value_or(""));
    }
    v["assignment"] = assignment.name;
    v["assignmentTitle"] = assignment.title;
    v["downloadUrl"] = url;
    if (!url.empty()) {
        // Seconds precision: the link's expiry is whole seconds.
        auto at = iso8601_ms(expires_s * 1000);
        if (at.size() > 5 && at.ends_with(".000Z")) at = at.substr(0, at.size() - 5) + "Z";
        v["downloadExpiresAt"] = at;
    } else {
        v["downloadExpiresAt"] = std::string();
    }
    v["downloadExpiresInDays"] = url.empty() ? std::string() : std::to_string(ttl_s / 86'400);
    v["attached"] = attached;
    return v;
}

AssignmentMessageBuilder::AssignmentMessageBuilder(SenderSettings sender,
                                                   MessageTemplates templates,
                                                   const AssignmentCatalog& catalog,
                                                   const LinkSigner& signer,
                                                   std::int64_t link_ttl_s)
    : sender_(std::move(sender)),
      templates_(std::move(templates)),
      catalog_(catalog),
      signer_(signer),
      link_ttl_s_(link_ttl_s) {}

std::shared_ptr<const std::string> AssignmentMessageBuilder::encoded(
    const AssignmentZip& zip) const {
    // An uploaded zip replaced under the same name has another digest; one without a digest
    // is encoded each time.
    if (zip.info.sha256.empty()) return nullptr;
    {
        std::lock_guard lock(encoded_mutex_);
        if (auto it = encoded_.find(zip.info.sha256); it != encoded_.end()) return it->second;
    }
    auto body = std::make_shared<const std::string>(base64_body_lines(zip.bytes));
    std::lock_guard lock(encoded_mutex_);
    if (encoded_.size() >= kEncodedKept) encoded_.clear();  // bounded; rebuilt on use
    encoded_.emplace(zip.info.sha256, body);
    return body;
}

Result<Message> AssignmentMessageBuilder::build(const store::Delivery& d,
                                                const store::Item* candidate,
                                                std::int64_t now_ms) const {
    auto found = catalog_.find(d.assignment);
    if (!found) return fail(found.error());
    if (!*found) {
        return fail(Errc::not_found, fmt::format("assignment '{}' no longer exists", d.assignment),
                    "assignment");
    }
    auto& zip = **found;  // the catalog's copy: its bytes move into the attachment
    const bool link = zip.info.delivery != store::DeliveryMode::attach;
    const bool attach = zip.info.delivery != store::DeliveryMode::link;
    std::string url;
    // The link's lifetime starts when the email is sent, not when the delivery was queued.
    const std::int64_t expires_s = now_ms / 1000 + link_ttl_s_;
    if (link) {
        url = download_url(sender_.public_url,
                           signer_.sign(LinkClaims{d.candidate_id, d.assignment, expires_s}));
    }
    auto rendered = templates_.render(
        assignment_values(d, candidate, zip.info, url, expires_s, link_ttl_s_, attach));
    if (!rendered) return fail(rendered.error());

    Message m;
    m.from = sender_.from;
    m.to = Mailbox{d.recipient_name, d.recipient};
    m.reply_to = sender_.reply_to;
    m.subject = std::move(rendered->subject);
    m.text_body = std::move(rendered->text);
    m.html_body = std::move(rendered->html);
    if (attach) {
        auto body = encoded(zip);
        m.attachments.push_back(Attachment{zip.info.name + ".zip", "application/zip",
                                           std::move(zip.bytes), std::move(body)});
    }
    m.message_id = d.message_id;
    m.date_ms = now_ms;
    return m;
}

}  // namespace hirestream::mail
