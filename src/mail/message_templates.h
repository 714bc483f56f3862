#pragma once
// MessageTemplates: the subject, text and HTML of the assignment email as mustache templates
// (kainjow/mustache, Debian's libkainjow-mustache-dev). The HTML body HTML-escapes {{x}}; the
// subject and text bodies do not escape at all (they are not HTML). A variable that is not set
// renders empty. An empty HTML template means a text-only message.
// Immutable after compile(); render() is thread-safe.

#include <map>
#include <memory>
#include <string>
#include <variant>

#include "common/result.h"

namespace hirestream::mail {

struct TemplateSource {
    std::string text;  // the template
    std::string key;   // the config key it came from, named by errors ("mail.templates.html")
};

struct TemplateSet {
    TemplateSource subject;
    TemplateSource text;
    TemplateSource html;
};

// A variable's value: text, or a flag for {{#x}}...{{/x}} and {{^x}}...{{/x}} sections.
using TemplateValue = std::variant<std::string, bool>;
using TemplateValues = std::map<std::string, TemplateValue>;

struct RenderedMessage {
    std::string subject;
    std::string text;
    std::string html;  // empty when there is no HTML template
};

class MessageTemplates {
public:
    // Parses the three templates. Fails with invalid_argument whose field is the key of the
    // first template that does not parse, and whose message is the parser's.
    static Result<MessageTemplates> compile(TemplateSet set);

    // The built-in templates, which reproduce the seed's message (see the .cc).
    static const std::string& default_text();
    static const std::string& default_html();

    // Renders all three. Fails with invalid_argument (field: the template's key) only when a
    // rendered subject holds a line break, which no header may. Not on a moved-from object.
    Result<RenderedMessage> render(const TemplateValues& values) const;

    // Parsed templates kept for the next render (one pool per template, shared by copies).
    class ParsedPool;

private:
    MessageTemplates(TemplateSet set, std::shared_ptr<ParsedPool> subject,
                     std::shared_ptr<ParsedPool> text, std::shared_ptr<ParsedPool> html);
    TemplateSet set_;
    std::shared_ptr<ParsedPool> subject_;
    std::shared_ptr<ParsedPool> text_;
    std::shared_ptr<ParsedPool> html_;
};

}  // namespace hirestream::mail
