// GET /candidates/changes: the candidates table's change stream as Server-Sent Events, so a
// page (the web app's list) sees INSERT, MODIFY and REMOVE as they commit.
//
// Each event's id is the record's SequenceNumber; a client that reconnects with Last-Event-ID
// (or ?after=) continues right after it, missing nothing the stream still holds. Without one the
// stream starts at the present. A comment line every 15 s keeps proxies from closing an idle
// stream and lets the server notice a client that went away.

#include <atomic>
#include <mutex>

#include <boost/json.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "http/error_response.h"
#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

namespace json = boost::json;

constexpr std::chrono::milliseconds kKeepAlive{15'000};
constexpr int kPage = 100;

// One SSE event per change record.
std::string format_event(const store::ChangeRecord& r) {
    const auto sequence = stream::format_sequence_number(r.sequence);
    json::object data;
    data["eventName"] = store::event_name_text(r.event_name);
    data["sequenceNumber"] = sequence;
    const auto id = r.keys.if_contains("id");
    data["id"] = id ? plain(*id) : json::value(nullptr);
    data["candidate"] = r.new_image ? json::value(plain_attributes(*r.new_image))
                                    : json::value(nullptr);
    data["at"] = r.created_ms;
    // JSON text has no raw newlines, so it fits one data: line (the SSE field ends at one).
    return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", sequence,
                       store::event_name_text(r.event_name), json::serialize(data));
}

class CandidateChangeStream final : public BodyStream,
                                    public std::enable_shared_from_this<CandidateChangeStream> {
public:
    CandidateChangeStream(const ApiContext& ctx, std::uint64_t after)
        : ctx_(ctx), feed_(*ctx.change_feed), after_(after) {}
    ~CandidateChangeStream() override { feed_.release(); }

    void next(Deliver deliver) override {
        if (cancelled_) return deliver(std::nullopt);
        if (!greeted_) {
            // The reconnection delay, and a first chunk so the client knows it is connected.
            greeted_ = true;
            return deliver(std::string("retry: 2000\n: connected\n\n"));
        }
        const auto seen = feed_.version();
        auto records = ctx_.store.read_stream(ctx_.candidates_table, after_, kPage);
        if (!records) {
            // The client reconnects with its Last-Event-ID and loses nothing.
            spdlog::warn("change stream ended error=\"{}\"", records.error().message);
            return deliver(std::nullopt);
        }
        if (!records->empty()) {
            std::string text;
            for (const auto& r : *records) text += format_event(r);
            after_ = records->back().sequence;
            return deliver(std::move(text));
        }
        // Not under mutex_: the feed may call back at once, which runs next() again.
        const auto id = feed_.wait(
            seen, kKeepAlive, [self = shared_from_this(), deliver](ChangeFeed::Wake wake) mutable {
                switch (wake) {
                    case ChangeFeed::Wake::changed:
                        return self->next(std::move(deliver));
                    case ChangeFeed::Wake::timeout:
                        return deliver(std::string(": keep-alive\n\n"));
                    case ChangeFeed::Wake::stopped:
                        return deliver(std::nullopt);
                }
            });
        std::lock_guard lock(mutex_);
        waiting_ = id;
        if (cancelled_ && id != 0) feed_.cancel(id);  // cancelled meanwhile
    }

    void cancel() override {
        std::lock_guard lock(mutex_);
        cancelled_ = true;
        if (waiting_ != 0) feed_.cancel(waiting_);
    }

private:
    const ApiContext& ctx_;
    ChangeFeed& feed_;
    std::uint64_t after_;  // the last sequence sent; only next() touches it, one call at a time
    bool greeted_ = false;
    std::mutex mutex_;
    std::atomic<bool> cancelled_{false};
    std::uint64_t waiting_ = 0;  // guarded by mutex_
};

Result<Response> changes(const ApiContext& ctx, Request& req) {
    std::optional<std::uint64_t> after;
    auto from = [&](std::string_view text, const char* field) -> Result<void> {
        auto parsed = stream::parse_sequence_number(text);
        if (!parsed) {
            return fail(Errc::invalid_argument, "must be a SequenceNumber of this stream", field);
        }
        after = *parsed;
        return {};
    };
    if (auto id = req.header("last-event-id"); id && !id->empty()) {
        if (auto ok = from(*id, "Last-Event-ID"); !ok) return fail(ok.error());
    } else if (auto a = req.query_param("after"); a && !a->empty()) {
        if (auto ok = from(*a, "after"); !ok) return fail(ok.error());
    }
    if (!after) {
        std::uint64_t latest = 0;
        for (int shard = 0; shard < ctx.shard_count; ++shard) {
            auto l = ctx.store.latest_sequence(ctx.candidates_table, shard);
            if (!l) return fail(l.error());
            latest = std::max(latest, *l);
        }
        after = latest;
    }
    if (!ctx.change_feed || !ctx.change_feed->acquire()) {
        return fail(Errc::unavailable,
                    fmt::format("too many live change streams (at most {}); try again later",
                                ctx.change_feed ? ctx.change_feed->max_streams() : 0));
    }
    Response r;
    r.content_type = "text/event-stream";
    r.headers.emplace_back("Cache-Control", "no-store");
    r.headers.emplace_back("X-Accel-Buffering", "no");  // a proxy in front must not buffer it
    r.stream = std::make_shared<CandidateChangeStream>(ctx, *after);
    return r;
}

}  // namespace

void add_candidate_change_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/candidates/changes", Access::recruiter,
               [&ctx](Request& r) { return changes(ctx, r); });
}

}  // namespace hirestream::http
