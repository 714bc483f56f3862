#pragma once
// InvocationLog: the functions' invocation logs, in AWS Lambda's shape, one file per function,
// as the seed's `serverless logs -f sendAssignment` printed them:
//
//   START RequestId: 27ff6c08-3ee6-4003-81ad-3db16958ab33 Version: $LATEST
//   2017-02-21T12:14:52.489Z<TAB>27ff6c08-...<TAB>INFO<TAB>Received Event...
//   END RequestId: 27ff6c08-3ee6-4003-81ad-3db16958ab33
//   REPORT RequestId: 27ff...<TAB>Duration: 12.34 ms<TAB>Billed Duration: 13 ms<TAB>Memory Size:
//   128 MB<TAB>Max Memory Used: 40 MB
//
// Files are exactly what Lambda prints (human-readable, greppable); nothing else is stored in
// them. Logs are not the source of truth: no fsync, and a failed write drops its lines.
//
// Files: `<dir>/<function>.log` is current; when a write would take it past `max_file_bytes` it
// is renamed to `<function>.log.1` (older ones shift to .2, .3 ...) and a new one is started;
// at most `max_files` files exist per function, the oldest is deleted. Disk use per function is
// at most max_files * max(max_file_bytes, kMaxLineBytes + 1).
//
// Threading: one InvocationLog per service, shared by all mappings; every member is thread-safe.
// Each call writes its whole lines with one write(2) on an O_APPEND descriptor while holding
// that function's mutex, so lines of concurrent invocations never interleave within a line
// (a line() call's lines stay together, too). Calls for different functions run in parallel.
// At most kMaxOpenFiles descriptors are kept open; the least recently used is closed.
//
// Reading (the CLI's `hirestream logs -f NAME [--tail] [--since 10m]`) is print_logs(), a free
// function that needs no InvocationLog: it reads the files, so it works from another process.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <stop_token>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace hirestream::triggers {

class InvocationLog {
  public:
    static constexpr std::size_t kDefaultMaxFileBytes = 10 * 1024 * 1024;
    static constexpr int kDefaultMaxFiles = 5;
    // Longest line written, without its newline; a longer one is cut and ends in kTruncated.
    static constexpr std::size_t kMaxLineBytes = 256 * 1024;
    static constexpr std::string_view kTruncated = " [truncated]";
    static constexpr std::size_t kMaxOpenFiles = 64;

    // `dir` is created on first write. Throws std::invalid_argument if max_file_bytes is 0 or
    // max_files < 1 (a start-up error). `clock` must outlive this object.
    InvocationLog(std::string dir, const Clock& clock,
                  std::size_t max_file_bytes = kDefaultMaxFileBytes,
                  int max_files = kDefaultMaxFiles);
    ~InvocationLog();
    InvocationLog(const InvocationLog&) = delete;
    InvocationLog& operator=(const InvocationLog&) = delete;

    // "START RequestId: <id> Version: $LATEST"
    void start(const std::string& function, const std::string& request_id);

    // "<ISO 8601 UTC ms>\t<id>\t<LEVEL>\t<text>" per line of `text` (split on '\n', a trailing
    // newline and a '\r' before a newline dropped), each with the current time from the clock.
    // `level` is upper-cased ("info" -> "INFO"). Tabs and newlines in the id or level become
    // spaces so the fields stay parseable.
    void line(const std::string& function, const std::string& request_id, std::string_view level,
              std::string_view text);

    // "END RequestId: <id>" then "REPORT RequestId: <id>\tDuration: 12.34 ms\tBilled Duration:
    // 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB". Billed duration is the duration
    // rounded up to the next whole millisecond, at least 1 ms (Lambda's 1 ms billing).
    void end(const std::string& function, const std::string& request_id, double duration_ms,
             int memory_size_mb, std::int64_t max_memory_used_mb);

    // How many write calls failed (disk full, unwritable dir, bad function name) since
    // construction; their lines were dropped. Failures never throw; a warning goes to spdlog at
    // most once a minute (by the clock).
    std::uint64_t write_errors() const { return write_errors_.load(); }

    // "<dir>/<function>.log"; `function` must be valid.
    std::string path_of(const std::string& function) const;

  private:
    struct File;

    void append(const std::string& function, std::string_view lines);
    std::shared_ptr<File> acquire(const std::string& function);
    bool write_locked(File& file, const std::string& function, std::string_view chunk);
    bool open_locked(File& file, const std::string& function);
    bool rotate_locked(File& file, const std::string& function);
    void record_error(const std::string& function, std::string_view what, int err);

    const std::string dir_;
    const Clock& clock_;
    const std::size_t max_file_bytes_;
    const int max_files_;

    std::mutex files_mu_;
    // Every function written to so far (bounded by the configured functions).
    std::unordered_map<std::string, std::shared_ptr<File>> files_;  // guarded by files_mu_
    // Functions whose descriptor may be open, most recently used first.
    std::list<std::string> open_lru_;  // guarded by files_mu_

    std::atomic<std::uint64_t> write_errors_{0};
    // Clock time of the last spdlog warning; kNever before the first.
    static constexpr std::int64_t kNever = INT64_MIN;
    std::atomic<std::int64_t> last_warning_ms_{kNever};
};

// True for a name that can be a log file's stem: 1-128 of [A-Za-z0-9_-].
bool is_valid_log_function_name(std::string_view function);

// Parses the CLI's --since into an absolute time, epoch milliseconds (what LogQuery takes):
//   "<N>s" | "<N>m" | "<N>h" | "<N>d"  -> clock.now() minus that age (N: 0-999999999);
//   ISO 8601: "2026-11-25", "2026-11-25T10:00", "2026-11-25T10:00:00", with optional fraction
//   ".123" and zone "Z" or "+02:00"/"-0500"; no zone means UTC.
// Fails with invalid_argument (field "since") for anything else.
Result<std::int64_t> parse_since(std::string_view text, const Clock& clock);

struct LogQuery {
    std::string dir;
    std::string function;
    // Epoch ms; only invocations at or after it are printed (see print_logs).
    std::optional<std::int64_t> since_ms;
    bool follow = false;
};

// Prints the function's log lines to `out`, unchanged: the rotated files oldest first
// (.N ... .1), then the current file. With `follow`, keeps printing what is appended to the
// current file (polling every ~200 ms, reopening it when it is rotated or truncated) until
// `stop` is requested, flushing `out` after each batch of lines.
//
// `since_ms` filters whole invocations (lines are grouped by their RequestId): an invocation's
// time is that of its first timestamped line; one that logged nothing takes the latest
// timestamp seen in the files before its REPORT (or before the end of the output), or
// clock.now() if none was seen. Lines of an invocation whose time is not yet known are held
// back until it is, so with `since` set the START of a running invocation may print late. Lines
// that name no known invocation are judged by the latest timestamp seen. Without `since_ms`,
// every line prints as soon as it is read.
//
// Fails with invalid_argument for a bad function name, not_found ("no logs for function X yet")
// when no log file exists, unavailable when a file cannot be read or `out` fails.
// Files are opened newest first and read oldest first, skipping a file already opened under
// another name, so a writer rotating meanwhile makes no line print twice or go missing (except
// lines in the oldest file, which that rotation deletes).
// Thread-safety: none needed; reads only files.
Result<void> print_logs(const LogQuery& query, const Clock& clock, std::ostream& out,
                        std::stop_token stop = {});

// Where a reader of a function's log stopped: the current file's inode and the byte offset just
// past the last line it read. As text (the API's cursor): "<inode>-<offset>".
struct LogCursor {
    std::uint64_t inode = 0;  // 0: no file existed yet
    std::uint64_t offset = 0;
};
std::string log_cursor_text(const LogCursor& cursor);
// Fails with invalid_argument (field "cursor") for text log_cursor_text did not make.
Result<LogCursor> parse_log_cursor(std::string_view text);

struct LogTail {
    std::vector<std::string> lines;  // complete lines, without their newline
    LogCursor next;                  // pass it back to read what is appended after them
};

// The tail of a function's log, for polling readers (the web app's live tail). Without a
// cursor: the last `max_lines` complete lines of the current file. With one: the lines written
// since it, at most `max_lines` and `max_bytes` (the cursor then points at the first line not
// returned); after a rotation, the rest of the rotated file (when <function>.log.1 is the file
// the cursor names) and then the current file from its start; after a truncation, from its
// start. A function that has logged nothing yet has no lines (and a cursor that picks up its
// first file). A line longer than max_bytes is skipped. Fails with invalid_argument for a bad
// function name, unavailable when a file cannot be read. Reads only files: thread-safe.
Result<LogTail> read_log_tail(const std::string& dir, const std::string& function,
                              const std::optional<LogCursor>& cursor, std::size_t max_lines,
                              std::size_t max_bytes = 1024 * 1024);

}  // namespace hirestream::triggers
