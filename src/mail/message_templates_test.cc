#include "mail/message_templates.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace hirestream::mail {
namespace {

TemplateSet set(std::string subject, std::string text, std::string html = {}) {
    return {{std::move(subject), "mail.templates.subject"},
            {std::move(text), "mail.templates.text"},
            {std::move(html), "mail.templates.html"}};
}

// Variables fill in; a variable nobody set renders empty rather than failing the email.
TEST(MessageTemplates, VariablesRenderAndMissingOnesAreEmpty) {
    auto t = MessageTemplates::compile(set("Round for {{fullname}}", "Hi {{fullname}}[{{nope}}]"));
    ASSERT_TRUE(t) << t.error().message;
    auto m = t->render({{"fullname", std::string("Ada")}});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->subject, "Round for Ada");
    EXPECT_EQ(m->text, "Hi Ada[]");
    EXPECT_EQ(m->html, "");
}

// HTML escapes what a candidate typed (a name is user input); text and subject keep it as is,
// and a URL's '&' survives in the text where a reader copies it.
TEST(MessageTemplates, HtmlEscapesAndTextDoesNot) {
    auto t = MessageTemplates::compile(
        set("{{fullname}}", "{{fullname}} {{downloadUrl}}", "<p>{{fullname}} {{downloadUrl}}</p>"));
    ASSERT_TRUE(t);
    auto m = t->render({{"fullname", std::string("<b>Tom & \"Jerry\"</b>")},
                        {"downloadUrl", std::string("http://x/d?a=1&b=2")}});
    ASSERT_TRUE(m);
    EXPECT_EQ(m->subject, "<b>Tom & \"Jerry\"</b>");
    EXPECT_EQ(m->text, "<b>Tom & \"Jerry\"</b> http://x/d?a=1&b=2");
    EXPECT_EQ(m->html, "<p>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt; http://x/d?a=1&amp;b=2</p>");
}

// Protects reuse of parsed templates: each render, in a row or from several threads at once,
// shows its own values and none of an earlier render's (sections included), and a copy of the
// templates renders as the original.
TEST(MessageTemplates, RendersAgainAndAtOnceEachWithItsOwnValues) {
    auto t = MessageTemplates::compile(set("For {{fullname}}", "{{#late}}late {{/late}}{{fullname}}",
                                           "<i>{{fullname}}</i>"));
    ASSERT_TRUE(t) << t.error().message;
    auto expect = [](const MessageTemplates& templates, const std::string& name, bool late) {
        auto m = templates.render({{"fullname", name}, {"late", late}});
        if (!m) return ::testing::AssertionFailure() << m.error().message;
        const std::string text = (late ? "late " : "") + name;
        if (m->subject != "For " + name || m->text != text || m->html != "<i>" + name + "</i>") {
            return ::testing::AssertionFailure()
                   << "got " << m->subject << " | " << m->text << " | " << m->html;
        }
        return ::testing::AssertionSuccess();
    };
    EXPECT_TRUE(expect(*t, "Ada", true));
    EXPECT_TRUE(expect(*t, "Bob", false));
    const MessageTemplates copy = *t;
    EXPECT_TRUE(expect(copy, "Cy", true));
    std::vector<std::thread> threads;
    std::vector<int> failures(4, 0);
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&, i] {
            for (int n = 0; n < 200; ++n) {
                if (!expect(*t, "n" + std::to_string(i * 1000 + n), n % 2 == 0)) ++failures[i];
            }
        });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(failures, std::vector<int>(4, 0));
}

// A template that does not parse is refused at compile time, naming its config key.
TEST(MessageTemplates, BadTemplateIsAnErrorNamingTheKey) {
    auto t = MessageTemplates::compile(set("ok", "fine", "<p>{{#attached}}</p>"));
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::invalid_argument);
    EXPECT_EQ(t.error().field, "mail.templates.html");
    auto s = MessageTemplates::compile(set("{{fullname", "fine"));
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().field, "mail.templates.subject");
}

// The built-in text: greeting, the link alone on its line, expiry, and the attachment line only
// when attached; without a link it says the zip is attached.
TEST(MessageTemplates, DefaultTextPutsTheLinkOnALineOfItsOwn) {
    auto t = MessageTemplates::compile(set("Coding Round", MessageTemplates::default_text(),
                                           MessageTemplates::default_html()));
    ASSERT_TRUE(t);
    TemplateValues v{{"fullname", std::string("Ada")},
                     {"assignment", std::string("a1")},
                     {"assignmentTitle", std::string("Word count")},
                     {"downloadUrl", std::string("http://h/d/tok")},
                     {"downloadExpiresAt", std::string("2026-01-08T00:00:00Z")},
                     {"attached", true}};
    auto m = t->render(v);
    ASSERT_TRUE(m);
    EXPECT_NE(m->text.find("Hello Ada,\n"), std::string::npos) << m->text;
    EXPECT_NE(m->text.find("\nhttp://h/d/tok\n"), std::string::npos) << m->text;
    EXPECT_NE(m->text.find("until 2026-01-08T00:00:00Z"), std::string::npos);
    EXPECT_NE(m->text.find("attached to this email as a1.zip"), std::string::npos);
    EXPECT_NE(m->html.find("<a href=\"http://h/d/tok\">"), std::string::npos) << m->html;

    v["attached"] = false;
    auto link_only = t->render(v);
    EXPECT_EQ(link_only->text.find("attached"), std::string::npos) << link_only->text;

    v["attached"] = true;
    v["downloadUrl"] = std::string();
    v["fullname"] = std::string();
    auto attach_only = t->render(v);
    EXPECT_EQ(attach_only->text.find("http"), std::string::npos) << attach_only->text;
    EXPECT_NE(attach_only->text.find("Hello there,"), std::string::npos);
    EXPECT_NE(attach_only->text.find("is attached to this email as a1.zip"), std::string::npos);
}

// A subject that renders to two lines would inject a header: refused.
TEST(MessageTemplates, SubjectRenderingToTwoLinesIsRefused) {
    auto t = MessageTemplates::compile(set("Round {{fullname}}\n", "x"));
    ASSERT_TRUE(t);
    EXPECT_EQ(t->render({{"fullname", std::string("Ada")}})->subject, "Round Ada");
    auto bad = t->render({{"fullname", std::string("Ada\r\nBcc: x@y")}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().field, "mail.templates.subject");
}

}  // namespace
}  // namespace hirestream::mail
