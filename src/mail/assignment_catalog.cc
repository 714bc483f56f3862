#include "mail/assignment_catalog.h"

#include <fmt/format.h>

#include "common/zip_archive.h"
#include "mail/download_link.h"

namespace hirestream::mail {
namespace {

AssignmentZip from_record(store::AssignmentRecord r) {
    return AssignmentZip{AssignmentInfo{r.name, r.title, r.delivery, r.size, r.sha256, "upload"},
                         std::move(r.bytes)};
}

}  // namespace

AssignmentCatalog::AssignmentCatalog(store::Store& store, std::vector<AssignmentZip> declared,
                                     std::vector<std::string> rule_names,
                                     std::string default_name)
    : store_(store),
      declared_(std::move(declared)),
      rule_names_(std::move(rule_names)),
      default_name_(std::move(default_name)) {}

bool AssignmentCatalog::is_declared(const std::string& name) const {
    for (const auto& a : declared_) {
        if (a.info.name == name) return true;
    }
    return false;
}

Result<std::optional<AssignmentZip>> AssignmentCatalog::find(const std::string& name) const {
    for (const auto& a : declared_) {
        if (a.info.name == name) return std::optional<AssignmentZip>(a);
    }
    auto stored = store_.get_assignment(name);
    if (!stored) return fail(stored.error());
    if (!*stored) return std::optional<AssignmentZip>();
    return std::optional<AssignmentZip>(from_record(std::move(**stored)));
}

Result<std::vector<AssignmentInfo>> AssignmentCatalog::list() const {
    std::vector<AssignmentInfo> out;
    for (const auto& a : declared_) out.push_back(a.info);
    auto stored = store_.list_assignments();
    if (!stored) return fail(stored.error());
    for (auto& r : *stored) out.push_back(from_record(std::move(r)).info);
    return out;
}

Result<bool> AssignmentCatalog::upload(const std::string& name, const std::string& title,
                                       store::DeliveryMode delivery, std::string bytes) {
    if (!is_plain_name(name, 64)) {
        return fail(Errc::invalid_argument,
                    "an assignment name is 1 to 64 letters, digits, '-' or '_'", "name");
    }
    if (is_declared(name)) {
        return fail(Errc::conflict,
                    fmt::format("'{}' is declared in the config and read-only here", name),
                    "assignments." + name);
    }
    if (title.size() > 200 || title.find_first_of(std::string_view("\r\n\0", 3)) !=
                                  std::string::npos) {
        return fail(Errc::invalid_argument, "must be one line of at most 200 characters",
                    "title");
    }
    if (auto zip = check_zip_archive(bytes); !zip) {
        return fail(Errc::invalid_argument, "the body " + zip.error().message, "body");
    }
    store::AssignmentRecord r;
    r.name = name;
    r.title = title.empty() ? name : title;
    r.delivery = delivery;
    r.bytes = std::move(bytes);
    return store_.put_assignment(r);
}

Result<void> AssignmentCatalog::remove(const std::string& name) {
    if (is_declared(name)) {
        return fail(Errc::conflict,
                    fmt::format("'{}' is declared in the config and read-only here", name),
                    "assignments." + name);
    }
    for (std::size_t i = 0; i < rule_names_.size(); ++i) {
        if (rule_names_[i] == name) {
            return fail(Errc::conflict, fmt::format("a rule hands out '{}'", name),
                        fmt::format("rules[{}].assignment", i));
        }
    }
    if (name == default_name_) {
        return fail(Errc::conflict, fmt::format("'{}' is the default assignment", name),
                    "defaultAssignment");
    }
    return store_.delete_assignment(name);
}

}  // namespace hirestream::mail
