#include "mail/smtp_reply_capture.h"

#include <gtest/gtest.h>

#include <string>

namespace hirestream::mail {
namespace {

// A multi-line reply reads as one line with its code once, however the lines are handed over.
TEST(SmtpReplyCapture, JoinsMultiLineReply) {
    SmtpReplyCapture reply;
    reply.add("550-5.1.1 The email account does not exist\r\n");
    reply.add("550 5.1.1 Try again\r\n");
    EXPECT_EQ(reply.text(), "550 5.1.1 The email account does not exist 5.1.1 Try again");
    reply.add("250 2.0.0 Ok\r\n");
    EXPECT_EQ(reply.text(), "250 2.0.0 Ok");
}

// Control characters from the server never reach logs or the UI.
TEST(SmtpReplyCapture, ReplacesControlCharacters) {
    SmtpReplyCapture reply;
    reply.add(std::string("550 a\x1b[31mb\x7f", 12) + "\r\n");
    EXPECT_EQ(reply.text(), "550 a?[31mb?");
}

// Found writing fuzz_smtp_reply's bound check: each continuation line added a space past the
// bound, so a server sending endless "250-x" lines grew the kept reply without limit.
TEST(SmtpReplyCapture, StaysWithinBoundOverManyContinuationLines) {
    SmtpReplyCapture reply;
    for (int i = 0; i < 5000; ++i) reply.add("250-xy\r\n");
    EXPECT_LE(reply.text().size(), SmtpReplyCapture::kMaxReplyText);
}

}  // namespace
}  // namespace hirestream::mail
