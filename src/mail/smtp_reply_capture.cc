#include "mail/smtp_reply_capture.h"

namespace hirestream::mail {

void SmtpReplyCapture::add(std::string_view data) {
    while (!data.empty()) {
        const std::size_t eol = data.find('\n');
        std::string_view line = data.substr(0, eol);
        data = eol == std::string_view::npos ? std::string_view() : data.substr(eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        add_line(line);
    }
}

// The first line of a reply sets its code; "NNN-" continues it, "NNN " or a short line ends it.
void SmtpReplyCapture::add_line(std::string_view line) {
    const bool continued = line.size() > 3 && line[3] == '-';
    if (complete_) {
        text_.clear();
        append(line.substr(0, 3));
    }
    // The separator counts against the bound too: a server sending endless "250-x" lines must
    // not grow the text one space at a time.
    if (line.size() > 4 && text_.size() < kMaxReplyText) {
        text_ += ' ';
        append(line.substr(4));
    }
    complete_ = !continued;
}

void SmtpReplyCapture::append(std::string_view text) {
    for (char c : text) {
        if (text_.size() >= kMaxReplyText) return;
        const auto u = static_cast<unsigned char>(c);
        text_.push_back(u >= 0x20 && u < 0x7f ? c : '?');
    }
}

}  // namespace hirestream::mail
