#pragma once
// SmtpReplyCapture: an SMTP server's reply as one line of text, assembled from its reply lines.
// A multi-line reply ("550-a", "550 b", RFC 5321 4.2.1) becomes "550 a b". Bounded to
// kMaxReplyText characters, and stripped of control characters (each becomes '?') since it ends
// up in logs and the UI. SmtpSession reads every reply through one.
// Not thread-safe: one per reply being read.

#include <cstddef>
#include <string>
#include <string_view>

namespace hirestream::mail {

class SmtpReplyCapture {
  public:
    // Longest reply text kept (SendOutcome::detail).
    static constexpr std::size_t kMaxReplyText = 512;

    // Feeds server bytes: one or more whole lines, CRLF or LF ended (text after the last line
    // end counts as a line of its own); empty lines are skipped.
    void add(std::string_view data);
    // The last complete (or, mid-reply, the current) reply: "<code> <text> <text>...".
    const std::string& text() const { return text_; }

  private:
    void add_line(std::string_view line);
    void append(std::string_view text);

    std::string text_;
    bool complete_ = true;
};

}  // namespace hirestream::mail
