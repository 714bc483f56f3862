#pragma once
// Message: an email to send, and its rendering as RFC 5322 / MIME text. Plain value.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hirestream::mail {

struct Mailbox {
    std::string name;     // display name, may be empty or non-ASCII (RFC 2047-encoded)
    std::string address;  // addr-spec, ASCII
};

struct Attachment {
    std::string filename;  // e.g. "assignment1.zip"
    std::string content_type = "application/zip";
    std::string bytes;
    // The same bytes as base64_body_lines(bytes), when the sender keeps one file for many
    // messages: rendering then copies them instead of encoding again. Null: encoded here.
    std::shared_ptr<const std::string> encoded;
};

struct Message {
    Mailbox from;
    Mailbox to;
    std::vector<Mailbox> reply_to;
    std::string subject;    // may be non-ASCII (RFC 2047-encoded)
    std::string text_body;  // UTF-8
    std::string html_body;  // UTF-8; empty means text only
    std::vector<Attachment> attachments;
    std::string message_id;  // without angle brackets, e.g. "abc@hirestream"
    std::int64_t date_ms = 0;
};

// Renders the message with CRLF line endings: headers (Date, From, To, Reply-To, Subject,
// Message-ID, MIME-Version) and a body that is text/plain, or multipart/alternative when there
// is an HTML body, wrapped in multipart/mixed when there are attachments (base64). No line
// exceeds 998 octets (RFC 5322 2.1.1). Fails with invalid_argument, naming the field ("to",
// "subject", ...), when a header value holds CR, LF or NUL or an address is malformed: nothing
// from a candidate can inject a header.
Result<std::string> render_message(const Message& message);

// `bytes` in base64 (RFC 2045 6.8) as an attachment's body: lines of 76 characters joined by
// CRLF.
std::string base64_body_lines(std::string_view bytes);
// `bytes` in base64 on one unbroken line (SMTP AUTH's responses, RFC 4954 4).
std::string base64_line(std::string_view bytes);

// RFC 2047 encoded-word ("=?UTF-8?B?...?=", split to keep each under 75 characters) when `text`
// is not plain printable ASCII; otherwise `text` unchanged.
std::string encode_header_text(const std::string& text);

}  // namespace hirestream::mail
