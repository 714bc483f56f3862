#include "mail/message.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace hirestream::mail {
namespace {

// ---- Independent decoders: the test checks the wire format, not our encoder against itself.

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::string base64_decode(std::string_view text) {
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '\r' || c == '\n' || c == '=') continue;
        const int v = base64_value(c);
        EXPECT_GE(v, 0) << "not base64: " << static_cast<int>(c);
        if (v < 0) return out;
        buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 2045 6.7 decoding (upper-case hex only, as RFC 2045 requires of encoders).
std::string qp_decode(std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '=') {
            out.push_back(text[i]);
            continue;
        }
        if (text.substr(i + 1, 2) == "\r\n") {
            i += 2;  // soft line break
            continue;
        }
        const int hi = hex_value(text[i + 1]);
        const int lo = hex_value(text[i + 2]);
        EXPECT_TRUE(hi >= 0 && lo >= 0) << "bad =XX at " << i;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// Decodes the RFC 2047 B-encoded UTF-8 words of an unfolded header value; whitespace between
// adjacent encoded-words is dropped (RFC 2047 6.2). Also returns each word's decoded bytes.
std::string rfc2047_decode(std::string_view value, std::vector<std::string>* words = nullptr) {
    std::string out;
    std::size_t pos = 0;
    bool previous_was_word = false;
    while (pos < value.size()) {
        const std::size_t start = value.find("=?UTF-8?B?", pos);
        const std::string_view between = value.substr(pos, start - pos);
        const bool only_space =
            std::all_of(between.begin(), between.end(), [](char c) { return c == ' '; });
        if (!(previous_was_word && only_space)) out += between;
        if (start == std::string_view::npos) break;
        const std::size_t end = value.find("?=", start + 10);
        EXPECT_NE(end, std::string_view::npos);
        EXPECT_LE(end + 2 - start, 75u) << "encoded-word longer than 75 characters";
        const std::string decoded = base64_decode(value.substr(start + 10, end - start - 10));
        if (words != nullptr) words->push_back(decoded);
        out += decoded;
        pos = end + 2;
        previous_was_word = true;
    }
    return out;
}

bool is_valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        const std::size_t n = c < 0x80           ? 1
                              : (c >> 5) == 0x6  ? 2
                              : (c >> 4) == 0xe  ? 3
                              : (c >> 3) == 0x1e ? 4
                                                 : 0;
        if (n == 0 || i + n > text.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return false;
        }
        i += n;
    }
    return true;
}

std::vector<std::string> split_lines(std::string_view text) {
    std::vector<std::string> lines;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const std::size_t eol = text.find("\r\n", pos);
        lines.emplace_back(text.substr(pos, eol - pos));
        if (eol == std::string_view::npos) break;
        pos = eol + 2;
    }
    return lines;
}

std::string lower(std::string text) {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// A parsed MIME entity: unfolded headers by lower-case name, body, and sub-parts.
struct Entity {
    std::map<std::string, std::string> headers;
    std::string raw_headers;
    std::string body;
    std::vector<Entity> parts;

    std::string header(const std::string& name) const {
        const auto it = headers.find(lower(name));
        return it == headers.end() ? std::string() : it->second;
    }
};

Entity parse_entity(std::string_view text) {
    Entity entity;
    const std::size_t end = text.find("\r\n\r\n");
    EXPECT_NE(end, std::string_view::npos) << "no blank line after the headers";
    entity.raw_headers = std::string(text.substr(0, end + 2));
    entity.body = std::string(text.substr(end + 4));
    std::string name;
    for (const std::string& line : split_lines(entity.raw_headers)) {
        if (line.empty()) continue;
        if (line[0] == ' ' || line[0] == '\t') {  // RFC 5322 2.2.3 unfolding
            entity.headers[name] += line;
            continue;
        }
        const std::size_t colon = line.find(':');
        EXPECT_NE(colon, std::string::npos) << line;
        name = lower(line.substr(0, colon));
        EXPECT_EQ(entity.headers.count(name), 0u) << "duplicate header " << name;
        std::string value = line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        entity.headers[name] = value;
    }
    const std::string type = entity.header("Content-Type");
    if (type.starts_with("multipart/")) {
        const std::size_t b = type.find("boundary=\"");
        EXPECT_NE(b, std::string::npos);
        const std::string boundary = type.substr(b + 10, type.find('"', b + 10) - (b + 10));
        const std::string delimiter = "--" + boundary;
        const std::string& body = entity.body;
        EXPECT_TRUE(body.starts_with(delimiter + "\r\n")) << "body must open with a delimiter";
        std::size_t pos = delimiter.size() + 2;
        while (true) {
            const std::size_t next = body.find("\r\n" + delimiter, pos);
            EXPECT_NE(next, std::string::npos) << "unterminated multipart";
            if (next == std::string::npos) break;
            entity.parts.push_back(parse_entity(std::string_view(body).substr(pos, next - pos)));
            pos = next + 2 + delimiter.size();
            if (body.compare(pos, 2, "--") == 0) break;
            EXPECT_EQ(body.compare(pos, 2, "\r\n"), 0);
            pos += 2;
        }
        // The boundary occurs on delimiter lines only.
        std::size_t count = 0;
        for (std::size_t p = body.find(boundary); p != std::string::npos;
             p = body.find(boundary, p + 1)) {
            ++count;
        }
        EXPECT_EQ(count, entity.parts.size() + 1);
    }
    return entity;
}

std::string decoded_body(const Entity& entity) {
    const std::string encoding = lower(entity.header("Content-Transfer-Encoding"));
    if (encoding == "base64") return base64_decode(entity.body);
    if (encoding == "quoted-printable") return qp_decode(entity.body);
    return entity.body;
}

void expect_lines_within(const std::string& mime, std::size_t limit) {
    for (const std::string& line : split_lines(mime)) {
        ASSERT_LE(line.size(), limit) << line.substr(0, 80);
    }
}

void expect_crlf_only(const std::string& mime) {
    for (std::size_t i = 0; i < mime.size(); ++i) {
        if (mime[i] == '\n') {
            ASSERT_TRUE(i > 0 && mime[i - 1] == '\r') << "bare LF at " << i;
        }
        if (mime[i] == '\r') {
            ASSERT_TRUE(i + 1 < mime.size() && mime[i + 1] == '\n') << "bare CR at " << i;
        }
    }
}

Message sample_message() {
    Message m;
    m.from = {"Hirestream Recruiting", "jobs@example.com"};
    m.to = {"Ada Lovelace", "ada@example.org"};
    m.reply_to = {{"Grace Hopper", "grace@example.com"}, {"", "team@example.com"}};
    m.subject = "Your coding assignment";
    m.text_body = "Hello Ada,\nplease find the assignment attached.\n";
    m.message_id = "c0ffee.assignment1@hirestream";
    m.date_ms = 1'700'000'000'000;  // Tue, 14 Nov 2023 22:13:20 UTC
    return m;
}

std::string render(const Message& m) {
    auto mime = render_message(m);
    EXPECT_TRUE(mime.has_value()) << (mime ? "" : mime.error().message);
    return mime ? *mime : std::string();
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(byte(gen));
    out[0] = '\0';  // NUL bytes at the edges too
    out[n - 1] = '\0';
    return out;
}

// ---- Tests

// Protects the headers a mail client shows and threads on, in RFC 5322 form with CRLF endings.
TEST(RenderMessage, WritesTheStandardHeadersWithCrlfLineEndings) {
    const std::string mime = render(sample_message());
    expect_crlf_only(mime);
    const Entity e = parse_entity(mime);
    EXPECT_EQ(e.header("Date"), "Tue, 14 Nov 2023 22:13:20 +0000");
    EXPECT_EQ(e.header("From"), "\"Hirestream Recruiting\" <jobs@example.com>");
    EXPECT_EQ(e.header("To"), "\"Ada Lovelace\" <ada@example.org>");
    EXPECT_EQ(e.header("Reply-To"), "\"Grace Hopper\" <grace@example.com>, team@example.com");
    EXPECT_EQ(e.header("Subject"), "Your coding assignment");
    EXPECT_EQ(e.header("Message-ID"), "<c0ffee.assignment1@hirestream>");
    EXPECT_EQ(e.header("MIME-Version"), "1.0");
    EXPECT_EQ(e.header("Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(e.header("Content-Transfer-Encoding"), "7bit");
    EXPECT_EQ(e.body, "Hello Ada,\r\nplease find the assignment attached.\r\n");
    EXPECT_TRUE(mime.starts_with("Date: "));
}

// Protects against an empty Reply-To header, which some clients treat as "reply to nobody".
TEST(RenderMessage, OmitsReplyToWhenThereIsNone) {
    Message m = sample_message();
    m.reply_to.clear();
    EXPECT_EQ(render(m).find("Reply-To"), std::string::npos);
}

// Protects display names holding quotes or backslashes: they must stay one quoted-string.
TEST(RenderMessage, EscapesQuotesAndBackslashesInAsciiDisplayNames) {
    Message m = sample_message();
    m.to.name = R"(Ann "The Hammer" O\Brien)";
    EXPECT_EQ(parse_entity(render(m)).header("To"),
              R"("Ann \"The Hammer\" O\\Brien" <ada@example.org>)");
}

// Protects candidates with non-ASCII names: RFC 2047 words that decode to the exact UTF-8.
TEST(RenderMessage, EncodesNonAsciiNamesAndSubjectsAsDecodableRfc2047Words) {
    Message m = sample_message();
    m.to.name = "José Müller";
    m.subject = "Ihre Aufgabe, José — viel Erfolg ✓";
    const std::string mime = render(m);
    expect_lines_within(mime, 998);
    // RFC 2047 2: lines holding encoded-words stay within 76 characters.
    const Entity e = parse_entity(mime);
    for (const std::string& line : split_lines(e.raw_headers)) EXPECT_LE(line.size(), 76u);
    const std::string to = e.header("To");
    EXPECT_TRUE(to.ends_with(" <ada@example.org>")) << to;
    EXPECT_EQ(rfc2047_decode(to.substr(0, to.size() - 18)), "José Müller");
    EXPECT_EQ(rfc2047_decode(e.header("Subject")), m.subject);
    EXPECT_EQ(mime.find("José"), std::string::npos) << "raw UTF-8 leaked into a header";
}

// Protects long non-ASCII subjects: each encoded-word holds whole characters (RFC 2047 5).
TEST(RenderMessage, SplitsLongEncodedSubjectsOnCharacterBoundaries) {
    Message m = sample_message();
    m.subject.clear();
    for (int i = 0; i < 60; ++i) m.subject += "aé€😀";
    const Entity e = parse_entity(render(m));
    std::vector<std::string> words;
    EXPECT_EQ(rfc2047_decode(e.header("Subject"), &words), m.subject);
    EXPECT_GT(words.size(), 5u);
    for (const std::string& word : words) EXPECT_TRUE(is_valid_utf8(word));
}

// Protects long names from being cut inside a word: lenient decoders that keep the whitespace
// between encoded-words (Python's address parser) must not show "Hohenzo llern".
TEST(RenderMessage, SplitsLongEncodedDisplayNamesAfterSpaces) {
    Message m = sample_message();
    m.to.name = "Zoë Ångström-Østergaard von Hohenzollern-Sigmaringen";
    const std::string to = parse_entity(render(m)).header("To");
    std::vector<std::string> words;
    EXPECT_EQ(rfc2047_decode(to.substr(0, to.find(" <")), &words), m.to.name);
    ASSERT_GT(words.size(), 1u);
    for (std::size_t i = 0; i + 1 < words.size(); ++i) EXPECT_TRUE(words[i].ends_with(" "));
}

// Protects header injection: CR, LF or NUL in any header value is refused, naming the field.
TEST(RenderMessage, RefusesCrLfOrNulInHeaderValuesNamingTheField) {
    struct Case {
        const char* field;
        void (*mutate)(Message&);
    };
    const Case cases[] = {
        {"from", [](Message& m) { m.from.name = "Eve\r\nBcc: all@example.com"; }},
        {"from", [](Message& m) { m.from.address = "eve@example.com\r\nBcc: x@y.z"; }},
        {"to", [](Message& m) { m.to.name = "Ada\nBcc: all@example.com"; }},
        {"to", [](Message& m) { m.to.address = "ada@example.org\nBcc: x@y.z"; }},
        {"to", [](Message& m) { m.to.name = std::string("Ada\0x", 5); }},
        {"reply_to", [](Message& m) { m.reply_to[1].name = "x\rBcc: y@z.z"; }},
        {"subject", [](Message& m) { m.subject = "Hi\r\nBcc: all@example.com"; }},
        {"subject", [](Message& m) { m.subject = std::string("Hi\0", 3); }},
        {"message_id", [](Message& m) { m.message_id = "a@b\r\nBcc: x@y.z"; }},
        {"attachment",
         [](Message& m) {
             m.attachments.push_back({"a.zip\r\nX-Evil: 1", "application/zip", "x", nullptr});
         }},
    };
    for (const Case& c : cases) {
        Message m = sample_message();
        c.mutate(m);
        const auto mime = render_message(m);
        ASSERT_FALSE(mime.has_value()) << c.field;
        EXPECT_EQ(mime.error().code, Errc::invalid_argument);
        EXPECT_EQ(mime.error().field, c.field);
    }
}

// Protects the SMTP and header syntax from addresses that are not local@domain.
TEST(RenderMessage, RefusesMalformedAddresses) {
    for (const char* address : {"", "no-at-sign", "a b@example.com", "<a@example.com>",
                                "a@example.com,b@example.com", "@example.com", "a@", "a@b@c",
                                "jos\xc3\xa9@example.com", "a@exa mple.com", "a@.example.com"}) {
        Message m = sample_message();
        m.to.address = address;
        const auto mime = render_message(m);
        ASSERT_FALSE(mime.has_value()) << address;
        EXPECT_EQ(mime.error().field, "to") << address;
    }
    Message m = sample_message();
    m.to.address = "first.last+tag@sub.example.co.uk";
    EXPECT_TRUE(render_message(m).has_value());
}

// Protects the Message-ID the delivery layer deduplicates on: required and well-formed.
TEST(RenderMessage, RefusesAMissingOrMalformedMessageId) {
    for (const char* id : {"", "no-at-sign", "<a@b>", "a b@c"}) {
        Message m = sample_message();
        m.message_id = id;
        const auto mime = render_message(m);
        ASSERT_FALSE(mime.has_value()) << id;
        EXPECT_EQ(mime.error().field, "message_id");
    }
}

// Protects the assignment zip: the attachment decodes to the exact bytes, NULs included.
TEST(RenderMessage, AttachmentBytesRoundTripThroughBase64) {
    Message m = sample_message();
    const std::string zip = random_bytes(10'007, 42);
    m.attachments.push_back({"assignment1.zip", "application/zip", zip, nullptr});
    const std::string mime = render(m);
    const Entity e = parse_entity(mime);
    ASSERT_TRUE(e.header("Content-Type").starts_with("multipart/mixed;"));
    ASSERT_EQ(e.parts.size(), 2u);
    const Entity& attachment = e.parts[1];
    EXPECT_EQ(attachment.header("Content-Type"), "application/zip; name=\"assignment1.zip\"");
    EXPECT_EQ(attachment.header("Content-Disposition"), "attachment; filename=\"assignment1.zip\"");
    EXPECT_EQ(attachment.header("Content-Transfer-Encoding"), "base64");
    for (const std::string& line : split_lines(attachment.body)) EXPECT_LE(line.size(), 76u);
    const std::string decoded = decoded_body(attachment);
    ASSERT_EQ(decoded.size(), zip.size());
    EXPECT_TRUE(decoded == zip) << "attachment bytes differ";
    EXPECT_EQ(decoded_body(e.parts[0]), "Hello Ada,\r\nplease find the assignment attached.\r\n");
}

// Protects RFC 5322 2.1.1: no line over 998 octets, whatever the content's shape.
TEST(RenderMessage, KeepsEveryLineWithin998OctetsForVeryLongLines) {
    Message m = sample_message();
    m.text_body = std::string(5000, 'x');
    m.html_body = "<p>" + std::string(3000, 'y') + "</p>";
    m.subject = std::string(2000, 's');  // one ASCII word too long to fold
    m.to.name = std::string(1500, 'n');
    m.attachments.push_back({"a.zip", "application/zip", random_bytes(5000, 7), nullptr});
    const std::string mime = render(m);
    expect_crlf_only(mime);
    expect_lines_within(mime, 998);
    const Entity e = parse_entity(mime);
    EXPECT_EQ(rfc2047_decode(e.header("Subject")), m.subject);
    ASSERT_EQ(e.parts.size(), 2u);
    ASSERT_EQ(e.parts[0].parts.size(), 2u);
    const Entity& text = e.parts[0].parts[0];
    EXPECT_EQ(text.header("Content-Transfer-Encoding"), "quoted-printable");
    for (const std::string& line : split_lines(text.body)) EXPECT_LE(line.size(), 76u);
    EXPECT_EQ(decoded_body(text), m.text_body);
}

// Protects long ASCII subjects: folded at spaces, and unfolding gives back the exact text.
TEST(RenderMessage, FoldsLongAsciiSubjectsAtSpaces) {
    Message m = sample_message();
    m.subject.clear();
    for (int i = 0; i < 40; ++i) m.subject += "word" + std::to_string(i) + "  ";
    m.subject += "end";
    const Entity e = parse_entity(render(m));
    for (const std::string& line : split_lines(e.raw_headers)) EXPECT_LE(line.size(), 78u);
    EXPECT_EQ(e.header("Subject"), m.subject);
}

// Protects RFC 2045 6.7 details: "=", trailing white space, 8-bit bytes and CRLF breaks.
TEST(RenderMessage, QuotedPrintableBodiesDecodeToTheCanonicalText) {
    Message m = sample_message();
    m.text_body = "Grüße, José!\na = b \nTab at end\t\n\xe2\x9c\x93 done\r\nno newline at end";
    const Entity e = parse_entity(render(m));
    EXPECT_EQ(e.header("Content-Transfer-Encoding"), "quoted-printable");
    for (const std::string& line : split_lines(e.body)) {
        if (line.empty()) continue;
        EXPECT_TRUE(line.back() != ' ' && line.back() != '\t')
            << "trailing white space must be encoded: " << line;
    }
    // A single-part message always ends with CRLF (SMTP's DATA ends in CRLF "." CRLF).
    EXPECT_EQ(
        decoded_body(e),
        "Grüße, José!\r\na = b \r\nTab at end\t\r\n\xe2\x9c\x93 done\r\nno newline at end\r\n");
}

// Protects the structure clients rely on: mixed > (alternative > text, html), attachments after.
TEST(RenderMessage, NestsAlternativeInsideMixedWithHtmlAndAttachments) {
    Message m = sample_message();
    m.html_body = "<p>Hello <b>Ada</b></p>\n";
    m.attachments.push_back({"assignment1.zip", "application/zip", "PK\x03\x04zip", nullptr});
    m.attachments.push_back({"README.txt", "text/plain", "read me", nullptr});
    const Entity e = parse_entity(render(m));
    ASSERT_TRUE(e.header("Content-Type").starts_with("multipart/mixed;"));
    ASSERT_EQ(e.parts.size(), 3u);
    const Entity& alternative = e.parts[0];
    ASSERT_TRUE(alternative.header("Content-Type").starts_with("multipart/alternative;"));
    ASSERT_EQ(alternative.parts.size(), 2u);
    EXPECT_EQ(alternative.parts[0].header("Content-Type"), "text/plain; charset=UTF-8");
    EXPECT_EQ(alternative.parts[1].header("Content-Type"), "text/html; charset=UTF-8");
    EXPECT_EQ(decoded_body(alternative.parts[1]), "<p>Hello <b>Ada</b></p>\r\n");
    EXPECT_EQ(decoded_body(e.parts[1]), "PK\x03\x04zip");
    EXPECT_EQ(e.parts[2].header("Content-Type"), "text/plain; name=\"README.txt\"");
    EXPECT_EQ(decoded_body(e.parts[2]), "read me");
    EXPECT_NE(e.header("Content-Type"), alternative.header("Content-Type"));
}

// Protects the text-and-HTML message without attachments: alternative at the top level.
TEST(RenderMessage, UsesAlternativeAtTheTopWhenHtmlHasNoAttachments) {
    Message m = sample_message();
    m.html_body = "<p>Hi</p>";
    const Entity e = parse_entity(render(m));
    ASSERT_TRUE(e.header("Content-Type").starts_with("multipart/alternative;"));
    ASSERT_EQ(e.parts.size(), 2u);
    EXPECT_EQ(decoded_body(e.parts[1]), "<p>Hi</p>");
}

// Protects non-ASCII attachment names: RFC 2231 filename* that decodes to the UTF-8 name.
TEST(RenderMessage, EncodesNonAsciiAttachmentNamesPerRfc2231) {
    Message m = sample_message();
    const std::string name = "Aufgabe für José Müller — Übung 1 (final).zip";
    m.attachments.push_back({name, "application/zip", "zip", nullptr});
    const std::string mime = render(m);
    expect_lines_within(mime, 998);
    const Entity e = parse_entity(mime);
    ASSERT_EQ(e.parts.size(), 2u);
    const std::string disposition = e.parts[1].header("Content-Disposition");
    std::string encoded;
    for (std::size_t p = disposition.find("filename*"); p != std::string::npos;
         p = disposition.find("filename*", p + 1)) {
        const std::size_t eq = disposition.find('=', p);
        encoded += disposition.substr(eq + 1, disposition.find(';', eq) - eq - 1);
    }
    ASSERT_TRUE(encoded.starts_with("UTF-8''")) << disposition;
    std::string decoded;
    for (std::size_t i = 7; i < encoded.size(); ++i) {
        if (encoded[i] == '%') {
            decoded.push_back(
                static_cast<char>(hex_value(encoded[i + 1]) * 16 + hex_value(encoded[i + 2])));
            i += 2;
        } else {
            decoded.push_back(encoded[i]);
        }
    }
    EXPECT_EQ(decoded, name);
    const std::string type = e.parts[1].header("Content-Type");
    const std::size_t q = type.find("name=\"");
    EXPECT_EQ(rfc2047_decode(type.substr(q + 6, type.size() - q - 7)), name);
}

// Protects the encode_header_text contract: plain ASCII unchanged, anything else encoded.
TEST(EncodeHeaderText, LeavesPlainAsciiAloneAndEncodesEverythingElse) {
    EXPECT_EQ(encode_header_text("Your assignment"), "Your assignment");
    EXPECT_EQ(encode_header_text(""), "");
    EXPECT_EQ(encode_header_text("é"), "=?UTF-8?B?w6k=?=");
    // Literal "=?" would be misread as an encoded-word by a decoder.
    const std::string tricky = "=?UTF-8?B?SGk=?=";
    EXPECT_NE(encode_header_text(tricky), tricky);
    EXPECT_EQ(rfc2047_decode(encode_header_text(tricky)), tricky);
    const std::string folded = encode_header_text(std::string(100, 'a') + "ü");
    EXPECT_NE(folded.find("\r\n "), std::string::npos);
}

}  // namespace
}  // namespace hirestream::mail
