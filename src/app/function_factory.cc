#include "app/function_factory.h"

#include "triggers/functions/assignment_function.h"
#include "triggers/functions/process_function.h"
#include "triggers/functions/webhook_function.h"

namespace hirestream::app {
namespace {

std::string domain_of(const std::string& address) {
    const auto at = address.rfind('@');
    return at == std::string::npos ? "hirestream.local" : address.substr(at + 1);
}

}  // namespace

triggers::FunctionSpec function_spec(const config::FunctionConfig& fn) {
    triggers::FunctionSpec spec;
    spec.name = fn.name;
    spec.handler = fn.handler;
    spec.timeout = std::chrono::seconds(fn.timeout_seconds);
    spec.memory_size_mb = fn.memory_size_mb;
    spec.environment = fn.environment;
    return spec;
}

std::unique_ptr<triggers::Function> make_function(const config::FunctionConfig& fn,
                                                  const config::Config& config,
                                                  store::Store& store, const Clock& clock,
                                                  store::DeliveryHandoff* handoff) {
    auto spec = function_spec(fn);
    // The config has checked the handler is one of the three kinds.
    if (fn.handler == "builtin:assignment") {
        return std::make_unique<triggers::AssignmentFunction>(
            spec, store, clock, triggers::AssignmentRules(config.rules, config.default_assignment),
            domain_of(config.mail.from_address), handoff);
    }
    if (fn.handler.starts_with("exec:")) return std::make_unique<triggers::ProcessFunction>(spec);
    return std::make_unique<triggers::WebhookFunction>(spec, clock);
}

}  // namespace hirestream::app
