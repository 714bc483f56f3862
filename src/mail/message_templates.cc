#include "mail/message_templates.h"

#include <kainjow/mustache.hpp>

namespace hirestream::mail {
namespace {

namespace mus = kainjow::mustache;

// Standalone section tags take their whole line (mustache spec), so the text reads as written.
const std::string kDefaultText =
    "Hello {{#fullname}}{{fullname}}{{/fullname}}{{^fullname}}there{{/fullname}},\n"
    "\n"
    "{{#downloadUrl}}\n"
    "please download your coding assignment \"{{assignmentTitle}}\" from:\n"
    "\n"
    "{{downloadUrl}}\n"
    "\n"
    "The link works until {{downloadExpiresAt}}.\n"
    "{{#attached}}\n"
    "The assignment is also attached to this email as {{assignment}}.zip.\n"
    "{{/attached}}\n"
    "{{/downloadUrl}}\n"
    "{{^downloadUrl}}\n"
    "your coding assignment \"{{assignmentTitle}}\" is attached to this email as "
    "{{assignment}}.zip.\n"
    "{{/downloadUrl}}\n"
    "\n"
    "Good luck!\n";

const std::string kDefaultHtml =
    "<!DOCTYPE html>\n"
    "<html><body>\n"
    "<p>Hello {{#fullname}}{{fullname}}{{/fullname}}{{^fullname}}there{{/fullname}},</p>\n"
    "{{#downloadUrl}}\n"
    "<p>please download your coding assignment &ldquo;{{assignmentTitle}}&rdquo;:</p>\n"
    "<p><a href=\"{{downloadUrl}}\">{{downloadUrl}}</a></p>\n"
    "<p>The link works until {{downloadExpiresAt}}.</p>\n"
    "{{#attached}}\n"
    "<p>The assignment is also attached to this email as {{assignment}}.zip.</p>\n"
    "{{/attached}}\n"
    "{{/downloadUrl}}\n"
    "{{^downloadUrl}}\n"
    "<p>your coding assignment &ldquo;{{assignmentTitle}}&rdquo; is attached to this email as "
    "{{assignment}}.zip.</p>\n"
    "{{/downloadUrl}}\n"
    "<p>Good luck!</p>\n"
    "</body></html>\n";

mus::data to_data(const TemplateValues& values) {
    mus::data d{mus::data::type::object};
    for (const auto& [name, value] : values) {
        if (const auto* s = std::get_if<std::string>(&value)) {
            // An empty string is falsy in a section, so {{#downloadUrl}} reads "has a link".
            if (s->empty()) {
                d.set(name, mus::data{false});
            } else {
                d.set(name, mus::data{*s});
            }
        } else {
            d.set(name, mus::data{std::get<bool>(value)});
        }
    }
    return d;
}

Result<std::string> render_one(const TemplateSource& source, const mus::data& data,
                               bool html) {
    if (source.text.empty()) return std::string();
    // Parsed per render: mustache::render is not const, templates are small and one email is
    // rendered at a time per thread; compile() already proved the text parses.
    mus::mustache tmpl(source.text);
    if (!html) tmpl.set_custom_escape([](const std::string& s) { return s; });
    auto out = tmpl.render(data);
    if (!tmpl.is_valid()) return fail(Errc::invalid_argument, tmpl.error_message(), source.key);
    return out;
}

}  // namespace

const std::string& MessageTemplates::default_text() { return kDefaultText; }
const std::string& MessageTemplates::default_html() { return kDefaultHtml; }

Result<MessageTemplates> MessageTemplates::compile(TemplateSet set) {
    for (const TemplateSource* source : {&set.subject, &set.text, &set.html}) {
        mus::mustache tmpl(source->text);
        if (!tmpl.is_valid()) {
            return fail(Errc::invalid_argument, tmpl.error_message(), source->key);
        }
    }
    if (set.subject.text.empty()) {
        return fail(Errc::invalid_argument, "the subject template is empty", set.subject.key);
    }
    if (set.text.text.empty()) {
        return fail(Errc::invalid_argument, "the text template is empty", set.text.key);
    }
    return MessageTemplates(std::move(set));
}

Result<RenderedMessage> MessageTemplates::render(const TemplateValues& values) const {
    const auto data = to_data(values);
    RenderedMessage m;
    auto subject = render_one(set_.subject, data, false);
    if (!subject) return fail(subject.error());
    // A template file usually ends with a newline; a subject is one line.
    while (!subject->empty() && (subject->back() == '\n' || subject->back() == '\r')) {
        subject->pop_back();
    }
    if (subject->find_first_of("\r\n") != std::string::npos) {
        return fail(Errc::invalid_argument, "the rendered subject spans more than one line",
                    set_.subject.key);
    }
    m.subject = std::move(*subject);
    auto text = render_one(set_.text, data, false);
    if (!text) return fail(text.error());
    m.text = std::move(*text);
    auto html = render_one(set_.html, data, true);
    if (!html) return fail(html.error());
    m.html = std::move(*html);
    return m;
}

}  // namespace hirestream::mail
