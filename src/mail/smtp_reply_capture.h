#pragma once
// SmtpReplyCapture: the last reply an SMTP server sent, assembled from the reply lines libcurl
// hands its debug callback (CURLINFO_HEADER_IN, whole lines). A multi-line reply
// ("550-a", "550 b", RFC 5321 4.2.1) becomes "550 a b". Frozen once the client sends QUIT: after
// a refusal libcurl ends the session itself, and "221 Bye" would otherwise replace the reply
// that matters. Bounded to kMaxReplyText characters, and stripped of control characters (each
// becomes '?') since it ends up in logs and the UI.
// Not thread-safe: one per connection, used by the thread running its transfer.

#include <cstddef>
#include <string>
#include <string_view>

namespace hirestream::mail {

class SmtpReplyCapture {
public:
    // Longest reply text kept (SendOutcome::detail).
    static constexpr std::size_t kMaxReplyText = 512;

    // Forgets the reply and unfreezes: called before each transfer.
    void reset();
    // Ignores every later add() until reset().
    void freeze();
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
    bool frozen_ = false;
};

}  // namespace hirestream::mail
