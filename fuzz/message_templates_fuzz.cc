// A mustache template from the config (mail.templates), compiled and rendered.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mail/message_templates.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    hirestream::mail::TemplateSet set;
    set.subject = {text, "mail.templates.subject"};
    set.text = {text, "mail.templates.text"};
    set.html = {text, "mail.templates.html"};
    auto templates = hirestream::mail::MessageTemplates::compile(set);
    if (!templates) return 0;
    const hirestream::mail::TemplateValues values = {
        {"fullname", std::string("Ada <Lovelace>")}, {"link", std::string("https://x/d/t")},
        {"attached", true}, {"linked", false}};
    (void)templates->render(values);
    return 0;
}
