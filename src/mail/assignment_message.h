#pragma once
// The assignment email: what a candidate receives. AssignmentMessageBuilder renders the
// configured templates (message_templates.h) with the candidate's fields and, by the
// assignment's delivery mode, a signed download link (download_link.h), the zip attached, or
// both. build() is thread-safe. A zip's base64 body is encoded once and shared by every email
// carrying it (kept by the zip's SHA-256, a few at a time).

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mail/assignment_catalog.h"
#include "mail/download_link.h"
#include "mail/message.h"
#include "mail/message_templates.h"
#include "store/delivery.h"
#include "store/item.h"

namespace hirestream::mail {

struct SenderSettings {
    Mailbox from;
    std::vector<Mailbox> reply_to;
    std::string public_url;  // base of download links, without a trailing slash
};

// The download link of a signed token: <public_url>/d/<token>
std::string download_url(const std::string& public_url, const std::string& token);

// The template variables of one email: the candidate's fields (fullname, email, skills,
// experience, recruiterEmail), assignment, assignmentTitle, downloadUrl, downloadExpiresAt,
// downloadExpiresInDays, attached. `url` empty: no link (the download variables are empty).
TemplateValues assignment_values(const store::Delivery& delivery, const store::Item* candidate,
                                 const AssignmentInfo& assignment, const std::string& url,
                                 std::int64_t expires_s, std::int64_t ttl_s, bool attached);

class AssignmentMessageBuilder {
public:
    // The catalog and signer must outlive the builder. `link_ttl_s`: how long links work.
    AssignmentMessageBuilder(SenderSettings sender, MessageTemplates templates,
                             const AssignmentCatalog& catalog, const LinkSigner& signer,
                             std::int64_t link_ttl_s);

    // The message for a delivery; `candidate` is the candidate as now stored (null: use the
    // delivery's recorded name and address only). Fails with not_found when the assignment no
    // longer exists, unavailable when the store cannot be read, invalid_argument when the
    // templates render an invalid subject.
    Result<Message> build(const store::Delivery& delivery, const store::Item* candidate,
                          std::int64_t now_ms) const;

    const SenderSettings& sender() const { return sender_; }

private:
    SenderSettings sender_;
    MessageTemplates templates_;
    const AssignmentCatalog& catalog_;
    const LinkSigner& signer_;
    std::int64_t link_ttl_s_;

    // The zip's body as base64 lines, encoded on first use.
    std::shared_ptr<const std::string> encoded(const AssignmentZip& zip) const;
    static constexpr std::size_t kEncodedKept = 16;
    mutable std::mutex encoded_mutex_;
    mutable std::map<std::string, std::shared_ptr<const std::string>> encoded_;  // by sha256
};

}  // namespace hirestream::mail
