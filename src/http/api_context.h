#pragma once
// ApiContext: what the HTTP handlers need from the rest of the service, wired by app.
// References must outlive the server. Read-only after start-up; thread-safe.

#include <functional>
#include <map>
#include <string>

#include "common/clock.h"
#include "common/metrics.h"
#include "config/config.h"
#include "http/change_feed.h"
#include "mail/assignment_catalog.h"
#include "mail/download_link.h"
#include "store/store.h"
#include "stream/stream_record.h"
#include "triggers/event_source_mapping.h"

namespace hirestream::http {

struct ApiContext {
    store::Store& store;
    const Clock& clock;
    std::string candidates_table;
    stream::StreamIdentity candidates_stream;
    int shard_count = 1;
    std::size_t max_body_bytes = 64 * 1024;
    mail::AssignmentCatalog* assignments = nullptr;     // declared and uploaded zips
    const mail::LinkSigner* links = nullptr;            // verifies download links
    std::size_t max_upload_bytes = 10 * 1024 * 1024;    // PUT /assignments/{name}
    std::function<std::string()> metrics_text;           // Prometheus exposition
    std::vector<triggers::EventSourceMapping*> mappings;  // one per function stream event
    std::function<std::string()> health_problem;         // empty when healthy
    MetricsRegistry* metrics = nullptr;                   // optional: per-table write counters
    bool metrics_require_key = false;                     // auth.metricsRequireKey
    std::vector<config::Rule> rules{};                    // first match wins (GET /rules)
    std::string default_assignment{};
    std::string outbox_dir{};  // where mail is written (GET /outbox); empty when it goes to SMTP
    std::string log_dir{};     // the functions' invocation logs (GET /functions/{name}/logs)
    ChangeFeed* change_feed = nullptr;                    // GET /candidates/changes; 503 when absent
    std::size_t max_import_bytes = 32 * 1024 * 1024;      // POST /candidates:import
};

}  // namespace hirestream::http
