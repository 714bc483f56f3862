#include "mail/message.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

#include "common/email_address.h"
#include "common/ids.h"

namespace hirestream::mail {
namespace {

constexpr std::string_view kCrlf = "\r\n";

// RFC 2047 2: a line holding an encoded-word is at most 76 characters. We fold every header to
// that width when its tokens allow it (RFC 5322 2.1.1 recommends 78).
constexpr std::size_t kFoldWidth = 76;
// Text bytes per encoded-word: 39 bytes become 52 base64 characters, 64 with "=?UTF-8?B?" and
// "?=". That keeps each word under RFC 2047's 75, and "Reply-To: " plus one word under 76.
constexpr std::size_t kEncodedWordBytes = 39;
// RFC 2045 6.8: base64 lines at most 76 characters; 6.7 rule 5: quoted-printable likewise.
constexpr std::size_t kBase64LineChars = 76;
constexpr std::size_t kQpLineChars = 76;
// RFC 5322 2.1.1: a line MUST NOT exceed 998 octets (excluding CRLF).
constexpr std::size_t kMaxLineOctets = 998;
// A printable ASCII display name longer than this is RFC 2047-encoded instead of quoted so it can
// be folded: a quoted-string cannot be broken without changing its value.
constexpr std::size_t kMaxQuotedName = 256;
// An unstructured ASCII word (a run without spaces) longer than this cannot be folded under
// 998 octets together with its header name; such a subject is encoded instead.
constexpr std::size_t kMaxUnfoldableWord = 900;
// RFC 5321 4.5.3.1: local part <= 64 octets, path <= 256 including the angle brackets.
constexpr std::size_t kMaxMessageId = 254;
constexpr std::size_t kMaxFilename = 255;

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUpperHex[] = "0123456789ABCDEF";

bool has_crlf_or_nul(std::string_view text) {
    return text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

bool is_printable_ascii(std::string_view text) {
    for (unsigned char c : text) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

// Base64 (RFC 2045 6.8). `line_chars` 0 means one unbroken line; otherwise lines are joined by
// CRLF with no CRLF after the last one.
std::string base64(std::string_view in, std::size_t line_chars) {
    std::string out;
    const std::size_t encoded = (in.size() + 2) / 3 * 4;
    out.reserve(encoded + (line_chars ? encoded / line_chars * 2 : 0));
    std::size_t line = 0;
    auto put = [&](char c) {
        if (line_chars != 0 && line == line_chars) {
            out += kCrlf;
            line = 0;
        }
        out.push_back(c);
        ++line;
    };
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const auto b0 = static_cast<unsigned char>(in[i]);
        const auto b1 = static_cast<unsigned char>(in[i + 1]);
        const auto b2 = static_cast<unsigned char>(in[i + 2]);
        put(kBase64Alphabet[b0 >> 2]);
        put(kBase64Alphabet[((b0 & 0x03) << 4) | (b1 >> 4)]);
        put(kBase64Alphabet[((b1 & 0x0f) << 2) | (b2 >> 6)]);
        put(kBase64Alphabet[b2 & 0x3f]);
    }
    if (const std::size_t rest = in.size() - i; rest > 0) {
        const auto b0 = static_cast<unsigned char>(in[i]);
        const auto b1 = rest == 2 ? static_cast<unsigned char>(in[i + 1]) : 0;
        put(kBase64Alphabet[b0 >> 2]);
        put(kBase64Alphabet[((b0 & 0x03) << 4) | (b1 >> 4)]);
        put(rest == 2 ? kBase64Alphabet[(b1 & 0x0f) << 2] : '=');
        put('=');
    }
    return out;
}

// RFC 2047 encoded-words ("B" encoding, UTF-8), joined by CRLF SP. Whitespace between adjacent
// encoded-words is ignored when decoding (RFC 2047 6.2), so the split points carry no meaning;
// each word still holds whole characters (RFC 2047 5 (3)).
std::string encoded_words(std::string_view text) {
    std::string out;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = std::min(pos + kEncodedWordBytes, text.size());
        const std::size_t space = end < text.size() ? text.rfind(' ', end - 1) : text.npos;
        if (space != std::string_view::npos && space > pos) {
            // Split after a space of the text when there is one: decoders that wrongly keep the
            // folding whitespace between words (Python's address parser does) then show a
            // doubled space instead of breaking a word apart.
            end = space + 1;
        } else if (end < text.size()) {
            // Back up over UTF-8 continuation bytes (10xxxxxx), at most 3, to a character start.
            std::size_t cut = end;
            while (cut > pos && end - cut < 3 &&
                   (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) {
                --cut;
            }
            // Invalid UTF-8 (a longer run of continuation bytes) is cut where it falls.
            if (cut > pos && (static_cast<unsigned char>(text[cut]) & 0xc0) != 0x80) end = cut;
        }
        if (!out.empty()) out += "\r\n ";
        out += "=?UTF-8?B?";
        out += base64(text.substr(pos, end - pos), 0);
        out += "?=";
        pos = end;
    }
    return out;
}

// RFC 5322 3.2.4 quoted-string; only `\` and `"` need a quoted-pair in printable ASCII.
std::string quoted_string(std::string_view text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\\' || c == '"') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

// One header field, folded (RFC 5322 2.2.3: a CRLF inserted before whitespace) between tokens
// whenever the next token would push the current line past kFoldWidth.
class HeaderField {
  public:
    explicit HeaderField(std::string_view name) : text_(name) { text_ += ':'; }

    // Appends " token", folding before the space when the line would get too long.
    void add(std::string_view token) { add_chunk(" ", token); }

    // Appends `chunk`, which starts with its own whitespace (unstructured text keeps its exact
    // spacing), folding before it when needed. The first chunk gets a space after the colon.
    void add_unstructured(std::string_view chunk) {
        if (empty_) {
            add_chunk(" ", chunk);
        } else {
            add_chunk("", chunk);
        }
    }

    std::string finish() && {
        text_ += kCrlf;
        return std::move(text_);
    }

  private:
    void add_chunk(std::string_view separator, std::string_view token) {
        const std::size_t line_start = text_.rfind(kCrlf);
        const std::size_t line_len =
            line_start == std::string::npos ? text_.size() : text_.size() - line_start - 2;
        const std::size_t first_line = std::min(token.find(kCrlf), token.size());
        // Never fold right after the field name: a first line holding only "Name:" confuses
        // some parsers and gains nothing.
        if (!empty_ && line_len + separator.size() + first_line > kFoldWidth) {
            text_ += kCrlf;
            if (separator.empty()) {
                text_ += token;  // the token's leading whitespace is the folding WSP
            } else {
                text_ += ' ';
                text_ += token;
            }
        } else {
            text_ += separator;
            text_ += token;
        }
        empty_ = false;
    }

    std::string text_;
    bool empty_ = true;
};

// RFC 5322 3.3 date-time, always in UTC.
std::string rfc5322_date(std::int64_t epoch_ms) {
    static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                         "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> kMonths = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::int64_t secs = epoch_ms / 1000;
    if (epoch_ms % 1000 < 0) --secs;  // floor, so times before 1970 round down
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} +0000", kDays.at(tm.tm_wday),
                       tm.tm_mday, kMonths.at(tm.tm_mon), tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                       tm.tm_sec);
}

Result<void> validate_mailbox(const Mailbox& mailbox, const char* field) {
    if (has_crlf_or_nul(mailbox.name)) {
        return fail(Errc::invalid_argument, "display name must not contain CR, LF or NUL", field);
    }
    if (!is_valid_email_address(mailbox.address)) {
        return fail(Errc::invalid_argument, "address must look like local@domain", field);
    }
    return {};
}

// Appends `mailbox` (RFC 5322 3.4) to `header`; `suffix` is "," inside a list.
void add_mailbox(HeaderField& header, const Mailbox& mailbox, std::string_view suffix = {}) {
    if (mailbox.name.empty()) {
        header.add(std::string(mailbox.address) + std::string(suffix));
        return;
    }
    if (is_printable_ascii(mailbox.name) && mailbox.name.size() <= kMaxQuotedName) {
        header.add(quoted_string(mailbox.name));
    } else {
        // RFC 2047 5 (3): encoded-words may stand in for words of a phrase (the display name).
        header.add(encoded_words(mailbox.name));
    }
    header.add("<" + mailbox.address + ">" + std::string(suffix));
}

// Unstructured text (Subject) as folding chunks: each chunk is its leading whitespace plus one
// word, so a fold never leaves a line of whitespace only (RFC 5322 3.2.2). Empty when a word is
// too long to fold under 998 octets.
std::vector<std::string_view> unstructured_chunks(std::string_view text) {
    std::vector<std::string_view> chunks;
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t word = text.find_first_not_of(' ', pos);
        if (word == std::string_view::npos) {
            // Trailing spaces stay with the previous chunk.
            if (chunks.empty()) {
                chunks.push_back(text.substr(pos));
            } else {
                const char* start = chunks.back().data();
                chunks.back() = text.substr(static_cast<std::size_t>(start - text.data()));
            }
            break;
        }
        std::size_t end = text.find(' ', word);
        if (end == std::string_view::npos) end = text.size();
        if (end - word > kMaxUnfoldableWord) return {};
        chunks.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return chunks;
}

// Text normalized to CRLF line breaks: RFC 2046 4.1.1 requires CRLF as the line break of
// text/* bodies in canonical form, whatever the template used.
std::string canonical_lines(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\r') {
            out += kCrlf;
            if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
        } else if (c == '\n') {
            out += kCrlf;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// RFC 2045 2.7: 7bit data is US-ASCII without NUL, CR and LF only as CRLF, lines <= 998 octets.
// We send 7bit only when additionally free of other control characters (TAB aside), so the
// common ASCII template stays readable in the raw message.
bool fits_7bit(std::string_view crlf_text) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < crlf_text.size(); ++i) {
        const auto c = static_cast<unsigned char>(crlf_text[i]);
        if (c == '\r') {  // always followed by '\n' after canonical_lines()
            line = 0;
            ++i;
            continue;
        }
        if (c >= 0x80 || (c < 0x20 && c != '\t') || c == 0x7f) return false;
        if (++line > kMaxLineOctets) return false;
    }
    return true;
}

// RFC 2045 6.7 quoted-printable of CRLF text. Hard line breaks stay CRLF (rule 4); "=", 8-bit
// and control octets become =XX (rules 1, 2); a space or tab before a hard break is encoded
// (rule 3); lines are soft-broken with a trailing "=" to stay within 76 characters (rule 5),
// never inside an =XX triplet.
std::string quoted_printable(std::string_view crlf_text) {
    std::string out;
    out.reserve(crlf_text.size() + crlf_text.size() / 8);
    std::size_t pos = 0;
    while (true) {
        std::size_t eol = crlf_text.find(kCrlf, pos);
        const bool last_line = eol == std::string_view::npos;
        if (last_line) eol = crlf_text.size();
        const std::string_view line = crlf_text.substr(pos, eol - pos);
        std::size_t width = 0;
        for (std::size_t i = 0; i < line.size(); ++i) {
            const auto c = static_cast<unsigned char>(line[i]);
            const bool line_end = i + 1 == line.size();
            char encoded[3];
            std::size_t n = 1;
            const bool literal =
                ((c == ' ' || c == '\t') && !line_end) || (c >= 33 && c <= 126 && c != '=');
            if (literal) {
                encoded[0] = static_cast<char>(c);
            } else {
                encoded[0] = '=';
                encoded[1] = kUpperHex[c >> 4];
                encoded[2] = kUpperHex[c & 0x0f];
                n = 3;
            }
            // Room for the soft break's "=" unless this is the line's last character.
            const std::size_t limit = line_end ? kQpLineChars : kQpLineChars - 1;
            if (width + n > limit) {
                out += "=\r\n";
                width = 0;
            }
            out.append(encoded, n);
            width += n;
        }
        if (last_line) break;
        out += kCrlf;
        pos = eol + 2;
    }
    return out;
}

// One MIME entity: its header lines (each ending in CRLF) and its body (no trailing CRLF: the
// CRLF before a boundary delimiter belongs to the delimiter, RFC 2046 5.1.1).
struct Entity {
    std::string headers;
    std::string body;
};

Entity text_entity(std::string_view subtype, std::string_view text) {
    const std::string canonical = canonical_lines(text);
    Entity entity;
    entity.headers = fmt::format("Content-Type: text/{}; charset=UTF-8\r\n", subtype);
    if (fits_7bit(canonical)) {
        entity.headers += "Content-Transfer-Encoding: 7bit\r\n";
        entity.body = canonical;
    } else {
        entity.headers += "Content-Transfer-Encoding: quoted-printable\r\n";
        entity.body = quoted_printable(canonical);
    }
    return entity;
}

// RFC 2045 5.1: type "/" subtype, each a token (no space, control or tspecial).
bool is_valid_content_type(std::string_view type) {
    const std::size_t slash = type.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == type.size()) return false;
    for (std::size_t i = 0; i < type.size(); ++i) {
        if (i == slash) continue;
        const auto c = static_cast<unsigned char>(type[i]);
        if (c <= 0x20 || c >= 0x7f) return false;
        if (std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) !=
            std::string_view::npos) {
            return false;
        }
    }
    return true;
}

// RFC 2231 4 ext-value percent-encoding: attribute-chars stay, everything else becomes %XX.
std::string rfc2231_percent(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        const bool attribute_char =
            c > 0x20 && c < 0x7f &&
            std::string_view("*'%()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) ==
                std::string_view::npos;
        if (attribute_char) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kUpperHex[c >> 4]);
            out.push_back(kUpperHex[c & 0x0f]);
        }
    }
    return out;
}

Result<Entity> attachment_entity(const Attachment& attachment) {
    if (attachment.filename.empty() || attachment.filename.size() > kMaxFilename ||
        has_crlf_or_nul(attachment.filename)) {
        return fail(Errc::invalid_argument,
                    "attachment filename must be 1-255 bytes without CR, LF or NUL", "attachment");
    }
    const std::string type =
        attachment.content_type.empty() ? "application/octet-stream" : attachment.content_type;
    if (!is_valid_content_type(type)) {
        return fail(Errc::invalid_argument, "attachment content type must be type/subtype",
                    "attachment");
    }
    Entity entity;
    if (is_printable_ascii(attachment.filename)) {
        const std::string quoted = quoted_string(attachment.filename);
        entity.headers = fmt::format(
            "Content-Type: {}; name={}\r\n"
            "Content-Disposition: attachment; filename={}\r\n",
            type, quoted, quoted);
    } else {
        // The standard form is RFC 2231 (filename*, split into continuations to keep lines
        // short); the RFC 2047 words in name= are what older clients read. RFC 2047 5 forbids
        // encoded-words in quoted strings, but that form is the de facto fallback.
        std::string words = encoded_words(attachment.filename);
        for (std::size_t p = words.find("\r\n "); p != std::string::npos;
             p = words.find("\r\n ", p)) {
            words.erase(p, 2);
        }
        const std::string encoded = rfc2231_percent(attachment.filename);
        std::string disposition = "Content-Disposition: attachment";
        constexpr std::size_t kSection = 60;
        std::size_t pos = 0;
        for (int index = 0; pos < encoded.size(); ++index) {
            std::size_t end = std::min(pos + kSection, encoded.size());
            // Never split a %XX triplet between sections.
            if (end < encoded.size()) {
                if (encoded[end - 1] == '%') {
                    end -= 1;
                } else if (end >= 2 && encoded[end - 2] == '%') {
                    end -= 2;
                }
            }
            disposition +=
                fmt::format(";\r\n filename*{}*={}{}", index, index == 0 ? "UTF-8''" : "",
                            std::string_view(encoded).substr(pos, end - pos));
            pos = end;
        }
        entity.headers =
            fmt::format("Content-Type: {}; name=\"{}\"\r\n{}\r\n", type, words, disposition);
    }
    entity.headers += "Content-Transfer-Encoding: base64\r\n";
    entity.body = attachment.encoded ? *attachment.encoded : base64_body_lines(attachment.bytes);
    return entity;
}

// A multipart entity (RFC 2046 5.1) around `parts`. The boundary is random and checked against
// the content so no line inside can be mistaken for a delimiter; "=_" cannot occur in
// quoted-printable or base64 output at all.
Entity multipart_entity(std::string_view subtype, const std::vector<Entity>& parts) {
    std::string boundary;
    for (;;) {
        boundary = "=_hs_" + random_hex(16);
        bool clash = false;
        for (const Entity& part : parts) {
            if (part.headers.find(boundary) != std::string::npos ||
                part.body.find(boundary) != std::string::npos) {
                clash = true;
                break;
            }
        }
        if (!clash) break;
    }
    Entity entity;
    entity.headers =
        fmt::format("Content-Type: multipart/{};\r\n boundary=\"{}\"\r\n", subtype, boundary);
    std::size_t size = boundary.size() + 8;
    for (const Entity& part : parts) {
        size += part.headers.size() + part.body.size() + boundary.size() + 8;
    }
    entity.body.reserve(size);  // one allocation: an attachment makes this tens of KiB
    for (const Entity& part : parts) {
        if (!entity.body.empty()) entity.body += kCrlf;
        entity.body += "--";
        entity.body += boundary;
        entity.body += kCrlf;
        entity.body += part.headers;
        entity.body += kCrlf;
        entity.body += part.body;
    }
    entity.body += "\r\n--";
    entity.body += boundary;
    entity.body += "--";
    return entity;
}

}  // namespace

std::string encode_header_text(const std::string& text) {
    // Printable ASCII passes through, unless it contains "=?": a decoder would otherwise take
    // literal text such as "=?UTF-8?B?...?=" for an encoded-word and show something else.
    if (is_printable_ascii(text) && text.find("=?") == std::string::npos) return text;
    return encoded_words(text);
}

std::string base64_body_lines(std::string_view bytes) { return base64(bytes, kBase64LineChars); }
std::string base64_line(std::string_view bytes) { return base64(bytes, 0); }

Result<std::string> render_message(const Message& message) {
    if (auto ok = validate_mailbox(message.from, "from"); !ok) return fail(ok.error());
    if (auto ok = validate_mailbox(message.to, "to"); !ok) return fail(ok.error());
    for (const Mailbox& mailbox : message.reply_to) {
        if (auto ok = validate_mailbox(mailbox, "reply_to"); !ok) return fail(ok.error());
    }
    if (has_crlf_or_nul(message.subject)) {
        return fail(Errc::invalid_argument, "subject must not contain CR, LF or NUL", "subject");
    }
    // RFC 5322 3.6.4: msg-id is "<" id-left "@" id-right ">"; without brackets here.
    if (message.message_id.empty() || message.message_id.size() > kMaxMessageId ||
        !is_printable_ascii(message.message_id) ||
        message.message_id.find_first_of(" <>") != std::string::npos ||
        message.message_id.find('@') == std::string::npos) {
        return fail(Errc::invalid_argument,
                    "message id must be printable ASCII of the form left@right", "message_id");
    }

    std::string out;
    out += "Date: " + rfc5322_date(message.date_ms) + "\r\n";
    {
        HeaderField from("From");
        add_mailbox(from, message.from);
        out += std::move(from).finish();
    }
    {
        HeaderField to("To");
        add_mailbox(to, message.to);
        out += std::move(to).finish();
    }
    if (!message.reply_to.empty()) {
        HeaderField reply_to("Reply-To");
        for (std::size_t i = 0; i < message.reply_to.size(); ++i) {
            add_mailbox(reply_to, message.reply_to[i], i + 1 < message.reply_to.size() ? "," : "");
        }
        out += std::move(reply_to).finish();
    }
    {
        HeaderField subject("Subject");
        const std::string encoded = encode_header_text(message.subject);
        std::vector<std::string_view> chunks;
        if (encoded == message.subject) chunks = unstructured_chunks(message.subject);
        if (!chunks.empty() || message.subject.empty()) {
            for (std::string_view chunk : chunks) subject.add_unstructured(chunk);
        } else {
            // Non-ASCII, or an ASCII word too long to fold: encoded-words can split anywhere.
            subject.add(encoded == message.subject ? encoded_words(message.subject) : encoded);
        }
        out += std::move(subject).finish();
    }
    out += "Message-ID: <" + message.message_id + ">\r\n";
    out += "MIME-Version: 1.0\r\n";

    Entity body = text_entity("plain", message.text_body);
    if (!message.html_body.empty()) {
        std::vector<Entity> alternatives;
        alternatives.push_back(std::move(body));
        alternatives.push_back(text_entity("html", message.html_body));
        body = multipart_entity("alternative", alternatives);
    }
    if (!message.attachments.empty()) {
        std::vector<Entity> parts;
        parts.reserve(message.attachments.size() + 1);
        parts.push_back(std::move(body));
        for (const Attachment& attachment : message.attachments) {
            auto part = attachment_entity(attachment);
            if (!part) return fail(part.error());
            parts.push_back(std::move(*part));
        }
        body = multipart_entity("mixed", parts);
    }
    out.reserve(out.size() + body.headers.size() + body.body.size() + 4);
    out += body.headers;
    out += kCrlf;
    out += body.body;
    if (out.size() < 2 || out.compare(out.size() - 2, 2, kCrlf) != 0) out += kCrlf;
    return out;
}

}  // namespace hirestream::mail
