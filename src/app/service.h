#pragma once
// Service: the whole of hirestream wired together from a Config: store, stream retention,
// function mappings, the delivery engine and the HTTP server. The only place modules meet.
//
// Lifecycle: start() brings every part up in dependency order and fails (naming the config key
// where there is one) without leaving threads behind; stop() is idempotent and takes them down
// in reverse order.

#include <memory>
#include <string>

#include "common/result.h"
#include "config/config.h"

namespace hirestream::app {

struct StartInfo {
    std::string api_url;
    std::string mail;
    std::string database;
    // The secret of the admin key created at this start because the database had no key:
    // printed once, never stored; empty on every later start.
    std::string first_admin_key;
};

class Service {
public:
    explicit Service(config::Config config);
    ~Service();

    Result<StartInfo> start();
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace hirestream::app
