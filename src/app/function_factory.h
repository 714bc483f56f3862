#pragma once
// Builds a Function from its config: builtin:assignment, a webhook (http/https) or a process
// (exec:). Shared by `serve` and `invoke`, so both run the very same function.

#include <memory>

#include "common/clock.h"
#include "config/config.h"
#include "store/delivery_handoff.h"
#include "store/store.h"
#include "triggers/function.h"

namespace hirestream::app {

triggers::FunctionSpec function_spec(const config::FunctionConfig& fn);

// `store`, `clock` and `handoff` (the delivery engine's idle senders, for builtin:assignment;
// may be null) must outlive the function.
std::unique_ptr<triggers::Function> make_function(const config::FunctionConfig& fn,
                                                  const config::Config& config,
                                                  store::Store& store, const Clock& clock,
                                                  store::DeliveryHandoff* handoff = nullptr);

}  // namespace hirestream::app
