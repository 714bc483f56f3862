// SMTP server replies: the reply text kept for logs and the UI, fed in chunks of any size (a
// hostile or broken server decides what a line is), and the bad-mailbox test on it.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/delivery_worker.h"
#include "mail/smtp_reply_capture.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)hirestream::mail::is_bad_mailbox_reply(input);
    hirestream::mail::SmtpReplyCapture capture;
    // The first byte picks the chunk size.
    const std::size_t chunk = size == 0 ? 1 : 1 + data[0] % 64;
    for (std::size_t at = 0; at < size; at += chunk) capture.add(input.substr(at, chunk));
    const auto& text = capture.text();
    if (text.size() > hirestream::mail::SmtpReplyCapture::kMaxReplyText) std::abort();
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f) std::abort();
    }
    (void)hirestream::mail::is_bad_mailbox_reply(text);
    return 0;
}
