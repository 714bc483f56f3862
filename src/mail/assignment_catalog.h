#pragma once
// AssignmentCatalog: every assignment hirestream can hand out, from two sources:
// - declared in the config (`assignments.<name>`): read at start-up, read-only over the API;
// - uploaded over the API: kept in the store, so they survive restarts.
// A name is either one or the other: an upload may not shadow a declared one (conflict naming
// `assignments.<name>`). An assignment that a rule names cannot be deleted.
// Thread-safe: declared ones are immutable; uploaded ones are read from the store each time.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace hirestream::mail {

struct AssignmentInfo {
    std::string name;
    std::string title;
    store::DeliveryMode delivery = store::DeliveryMode::both;
    std::int64_t size = 0;
    std::string sha256;
    std::string source;  // "config" | "upload"
};

struct AssignmentZip {
    AssignmentInfo info;
    std::string bytes;
};

class AssignmentCatalog {
public:
    // `declared`: the config's, with their bytes. `rule_names[i]`: the assignment rules[i]
    // names; `default_name` the default's. The store must outlive the catalog.
    AssignmentCatalog(store::Store& store, std::vector<AssignmentZip> declared,
                      std::vector<std::string> rule_names, std::string default_name);

    // The assignment with its bytes, or nullopt. Fails with unavailable (store).
    Result<std::optional<AssignmentZip>> find(const std::string& name) const;
    // Declared ones (in config order), then uploaded ones by name.
    Result<std::vector<AssignmentInfo>> list() const;
    bool is_declared(const std::string& name) const;

    // Creates or replaces an uploaded assignment; returns true when created. Fails with
    // invalid_argument (field "name": not [A-Za-z0-9_-]{1,64}; "title": not one line of at
    // most 200 characters; "body": not a zip archive), conflict (declared in the config,
    // field "assignments.<name>"), unavailable.
    Result<bool> upload(const std::string& name, const std::string& title,
                        store::DeliveryMode delivery, std::string bytes);
    // Deletes an uploaded assignment. Fails with conflict (declared: "assignments.<name>";
    // named by a rule: "rules[i].assignment" or "defaultAssignment"), not_found, unavailable.
    Result<void> remove(const std::string& name);

private:
    store::Store& store_;
    std::vector<AssignmentZip> declared_;
    std::vector<std::string> rule_names_;
    std::string default_name_;
};

}  // namespace hirestream::mail
