#include "mail/message_templates.h"

#include <kainjow/mustache.hpp>

#include <mutex>
#include <optional>
#include <utility>
#include <vector>

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

}  // namespace

// Parsing the three templates for every email was a tenth of the senders' CPU at 1,000 emails/s.
// mustache::render is not const, so a render borrows a parsed copy of its own: at most one per
// sender rendering at the same time is ever parsed, and each is reused afterwards.
class MessageTemplates::ParsedPool {
public:
    ParsedPool(std::string text, bool html) : text_(std::move(text)), html_(html) {}

    // Parses the template once, keeping the parse for the first render; the parser's message
    // when it does not parse.
    std::optional<std::string> parse_error() {
        auto tmpl = parse();
        if (!tmpl->is_valid()) return tmpl->error_message();
        std::lock_guard lock(mutex_);
        parsed_.push_back(std::move(tmpl));
        return std::nullopt;
    }

    Result<std::string> render(const mus::data& data, const std::string& key) {
        if (text_.empty()) return std::string();
        std::unique_ptr<mus::mustache> tmpl;
        {
            std::lock_guard lock(mutex_);
            if (!parsed_.empty()) {
                tmpl = std::move(parsed_.back());
                parsed_.pop_back();
            }
        }
        if (!tmpl) tmpl = parse();
        auto out = tmpl->render(data);
        // One that reported an error keeps it: it is dropped, not reused.
        if (!tmpl->is_valid()) return fail(Errc::invalid_argument, tmpl->error_message(), key);
        std::lock_guard lock(mutex_);
        if (parsed_.size() < kKept) parsed_.push_back(std::move(tmpl));
        return out;
    }

private:
    std::unique_ptr<mus::mustache> parse() const {
        auto tmpl = std::make_unique<mus::mustache>(text_);
        if (!html_) tmpl->set_custom_escape([](const std::string& s) { return s; });
        return tmpl;
    }

    static constexpr std::size_t kKept = 64;  // more senders than this parse again
    const std::string text_;
    const bool html_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<mus::mustache>> parsed_;  // guarded by mutex_
};

MessageTemplates::MessageTemplates(TemplateSet set, std::shared_ptr<ParsedPool> subject,
                                   std::shared_ptr<ParsedPool> text,
                                   std::shared_ptr<ParsedPool> html)
    : set_(std::move(set)),
      subject_(std::move(subject)),
      text_(std::move(text)),
      html_(std::move(html)) {}

const std::string& MessageTemplates::default_text() { return kDefaultText; }
const std::string& MessageTemplates::default_html() { return kDefaultHtml; }

Result<MessageTemplates> MessageTemplates::compile(TemplateSet set) {
    auto subject = std::make_shared<ParsedPool>(set.subject.text, false);
    auto text = std::make_shared<ParsedPool>(set.text.text, false);
    auto html = std::make_shared<ParsedPool>(set.html.text, true);
    for (auto [pool, source] : {std::pair{subject.get(), &set.subject},
                                std::pair{text.get(), &set.text}, std::pair{html.get(), &set.html}}) {
        if (auto error = pool->parse_error()) {
            return fail(Errc::invalid_argument, *error, source->key);
        }
    }
    if (set.subject.text.empty()) {
        return fail(Errc::invalid_argument, "the subject template is empty", set.subject.key);
    }
    if (set.text.text.empty()) {
        return fail(Errc::invalid_argument, "the text template is empty", set.text.key);
    }
    return MessageTemplates(std::move(set), std::move(subject), std::move(text), std::move(html));
}

Result<RenderedMessage> MessageTemplates::render(const TemplateValues& values) const {
    const auto data = to_data(values);
    RenderedMessage m;
    auto subject = subject_->render(data, set_.subject.key);
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
    auto text = text_->render(data, set_.text.key);
    if (!text) return fail(text.error());
    m.text = std::move(*text);
    auto html = html_->render(data, set_.html.key);
    if (!html) return fail(html.error());
    m.html = std::move(*html);
    return m;
}

}  // namespace hirestream::mail
