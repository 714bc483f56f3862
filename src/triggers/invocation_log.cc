#include "triggers/invocation_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <utility>
#include <vector>

#include "common/ids.h"

namespace hirestream::triggers {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kWarningIntervalMs = 60'000;
// Request ids and levels are UUIDs and words; the cap keeps a line's prefix far below
// kMaxLineBytes whatever a caller passes.
constexpr std::size_t kMaxFieldBytes = 256;

std::string sanitize_field(std::string_view text, bool upper) {
    std::string out(text.substr(0, kMaxFieldBytes));
    for (char& c : out) {
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
        if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    return out;
}

// Appends prefix + text + '\n', cutting text so the line fits kMaxLineBytes; the cut backs off
// to a UTF-8 character boundary so the marker never follows half a character.
void append_capped_line(std::string& out, std::string_view prefix, std::string_view text) {
    constexpr std::size_t kMax = InvocationLog::kMaxLineBytes;
    out += prefix;
    if (prefix.size() + text.size() <= kMax) {
        out += text;
    } else {
        std::size_t keep = kMax - prefix.size() - InvocationLog::kTruncated.size();
        while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
        out += text.substr(0, keep);
        out += InvocationLog::kTruncated;
    }
    out += '\n';
}

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

struct InvocationLog::File {
    std::mutex mu;
    int fd = -1;             // guarded by mu
    std::uint64_t size = 0;  // guarded by mu: bytes in the current file
    bool in_lru = false;     // guarded by InvocationLog::files_mu_
};

bool is_valid_log_function_name(std::string_view function) {
    if (function.empty() || function.size() > 128) return false;
    return std::all_of(function.begin(), function.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

InvocationLog::InvocationLog(std::string dir, const Clock& clock, std::size_t max_file_bytes,
                             int max_files)
    : dir_(std::move(dir)), clock_(clock), max_file_bytes_(max_file_bytes), max_files_(max_files) {
    if (max_file_bytes_ == 0) throw std::invalid_argument("InvocationLog: max_file_bytes is 0");
    if (max_files_ < 1) throw std::invalid_argument("InvocationLog: max_files < 1");
}

InvocationLog::~InvocationLog() {
    for (auto& [name, file] : files_) {
        if (file->fd >= 0) ::close(file->fd);
    }
}

std::string InvocationLog::path_of(const std::string& function) const {
    return (fs::path(dir_) / (function + ".log")).string();
}

void InvocationLog::start(const std::string& function, const std::string& request_id) {
    append(function, fmt::format("START RequestId: {} Version: $LATEST\n",
                                 sanitize_field(request_id, false)));
}

void InvocationLog::line(const std::string& function, const std::string& request_id,
                         std::string_view level, std::string_view text) {
    const std::string prefix =
        fmt::format("{}\t{}\t{}\t", iso8601_ms(clock_.now_ms()), sanitize_field(request_id, false),
                    sanitize_field(level, true));
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    std::string out;
    out.reserve(std::min(text.size(), kMaxLineBytes) + prefix.size() + 1);
    while (true) {
        const std::size_t nl = text.find('\n');
        std::string_view one = text.substr(0, nl);
        if (!one.empty() && one.back() == '\r') one.remove_suffix(1);
        append_capped_line(out, prefix, one);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    append(function, out);
}

void InvocationLog::end(const std::string& function, const std::string& request_id,
                        double duration_ms, int memory_size_mb, std::int64_t max_memory_used_mb) {
    // Clamp nonsense (NaN, negative, absurdly large) so the arithmetic below cannot overflow.
    const double d = std::isfinite(duration_ms) ? std::clamp(duration_ms, 0.0, 1e12) : 0.0;
    // Round to whole microseconds first so 2.0 computed as 2.0000000001 bills 2 ms, not 3.
    const std::int64_t micros = std::llround(d * 1000.0);
    const std::int64_t billed = std::max<std::int64_t>(1, (micros + 999) / 1000);
    const std::string id = sanitize_field(request_id, false);
    append(function, fmt::format("END RequestId: {}\n"
                                 "REPORT RequestId: {}\tDuration: {:.2f} ms\tBilled Duration: {} "
                                 "ms\tMemory Size: {} MB\tMax Memory Used: {} MB\n",
                                 id, id, d, billed, memory_size_mb, max_memory_used_mb));
}

void InvocationLog::append(const std::string& function, std::string_view lines) {
    if (!is_valid_log_function_name(function)) {
        record_error(function, "invalid function name", EINVAL);
        return;
    }
    std::shared_ptr<File> file = acquire(function);
    std::lock_guard<std::mutex> lock(file->mu);
    // Chunks of whole lines no larger than a file (a single longer line is its own chunk), each
    // one write(2), so rotation keeps every file near max_file_bytes_.
    while (!lines.empty()) {
        std::size_t len = lines.size();
        if (len > max_file_bytes_) {
            const std::size_t cut = lines.rfind('\n', max_file_bytes_ - 1);
            len = cut != std::string_view::npos ? cut + 1 : lines.find('\n') + 1;
            if (len == 0) len = lines.size();  // no newline at all; cannot happen from our calls
        }
        if (!write_locked(*file, function, lines.substr(0, len))) return;  // drop the rest
        lines.remove_prefix(len);
    }
}

std::shared_ptr<InvocationLog::File> InvocationLog::acquire(const std::string& function) {
    std::shared_ptr<File> file;
    std::shared_ptr<File> victim;
    {
        std::lock_guard<std::mutex> lock(files_mu_);
        auto& slot = files_[function];
        if (!slot) slot = std::make_shared<File>();
        file = slot;
        if (file->in_lru) {
            if (open_lru_.front() != function) {
                open_lru_.remove(function);
                open_lru_.push_front(function);
            }
        } else {
            file->in_lru = true;
            open_lru_.push_front(function);
            if (open_lru_.size() > kMaxOpenFiles) {
                victim = files_.at(open_lru_.back());
                victim->in_lru = false;
                open_lru_.pop_back();
            }
        }
    }
    // Closed outside files_mu_ so a slow close never stalls other functions; the victim's next
    // write reopens it.
    if (victim) {
        std::lock_guard<std::mutex> lock(victim->mu);
        if (victim->fd >= 0) {
            ::close(victim->fd);
            victim->fd = -1;
        }
    }
    return file;
}

bool InvocationLog::open_locked(File& file, const std::string& function) {
    std::error_code ec;
    fs::create_directories(dir_, ec);  // a failure shows as open's errno below
    const std::string path = path_of(function);
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        record_error(function, "open " + path, errno);
        return false;
    }
    struct stat st {};
    file.fd = fd;
    file.size = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    return true;
}

bool InvocationLog::rotate_locked(File& file, const std::string& function) {
    ::close(file.fd);
    file.fd = -1;
    const std::string base = path_of(function);
    auto numbered = [&](int k) { return base + "." + std::to_string(k); };
    auto failed = [&](const char* op, const std::string& path) {
        if (errno == ENOENT) return false;
        record_error(function, std::string(op) + " " + path, errno);
        return true;
    };
    // max_files_ files in all: the current one and .1 .. .(max_files_-1).
    if (max_files_ == 1) {
        if (::unlink(base.c_str()) != 0 && failed("unlink", base)) return false;
    } else {
        const std::string oldest = numbered(max_files_ - 1);
        if (::unlink(oldest.c_str()) != 0 && failed("unlink", oldest)) return false;
        for (int k = max_files_ - 2; k >= 1; --k) {
            const std::string from = numbered(k);
            if (::rename(from.c_str(), numbered(k + 1).c_str()) != 0 && failed("rename", from)) {
                return false;
            }
        }
        // If this fails the current file would grow without bound; dropping lines instead
        // keeps the disk bound.
        if (::rename(base.c_str(), numbered(1).c_str()) != 0 && failed("rename", base)) {
            return false;
        }
    }
    return open_locked(file, function);
}

bool InvocationLog::write_locked(File& file, const std::string& function, std::string_view chunk) {
    if (file.fd < 0 && !open_locked(file, function)) return false;
    if (file.size > 0 && file.size + chunk.size() > max_file_bytes_ &&
        !rotate_locked(file, function)) {
        return false;
    }
    const std::uint64_t size_before = file.size;
    std::size_t done = 0;
    while (done < chunk.size()) {
        const ssize_t n = ::write(file.fd, chunk.data() + done, chunk.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            // A short write before the failure (disk full) left half a line; cut it off so the
            // next line written does not continue it. Only this object writes the file, under
            // file.mu, so size_before is still its end.
            if (done > 0 && ::ftruncate(file.fd, static_cast<off_t>(size_before)) == 0) {
                file.size = size_before;
            }
            record_error(function, "write " + path_of(function), err);
            return false;
        }
        done += static_cast<std::size_t>(n);
        file.size += static_cast<std::uint64_t>(n);
    }
    return true;
}

void InvocationLog::record_error(const std::string& function, std::string_view what, int err) {
    const std::uint64_t count = ++write_errors_;
    const std::int64_t now = clock_.now_ms();
    std::int64_t last = last_warning_ms_.load();
    if (last != kNever && now - last < kWarningIntervalMs) return;
    if (!last_warning_ms_.compare_exchange_strong(last, now)) return;  // another thread warned
    spdlog::warn(
        "invocation log write failed, lines dropped function={} op=\"{}\" error=\"{}\" "
        "failed_writes={}",
        function.substr(0, kMaxFieldBytes), what, errno_text(err), count);
}

// ---- parse_since -------------------------------------------------------------------------

namespace {

// A cursor over the text being parsed.
struct Scanner {
    std::string_view s;
    std::size_t i = 0;

    bool done() const { return i == s.size(); }
    bool eat(char c) {
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    }
    // Exactly n digits.
    std::optional<int> digits(std::size_t n) {
        if (s.size() - i < n) return std::nullopt;
        int v = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const char c = s[i + k];
            if (c < '0' || c > '9') return std::nullopt;
            v = v * 10 + (c - '0');
        }
        i += n;
        return v;
    }
};

// ISO 8601: date, optional time (HH:MM[:SS[.frac]]), optional zone (Z, +HH:MM, +HHMM).
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) {
    using namespace std::chrono;
    Scanner sc{text};
    const auto y = sc.digits(4);
    if (!y || !sc.eat('-')) return std::nullopt;
    const auto mo = sc.digits(2);
    if (!mo || !sc.eat('-')) return std::nullopt;
    const auto d = sc.digits(2);
    if (!d) return std::nullopt;
    const year_month_day ymd{year{*y}, month{static_cast<unsigned>(*mo)},
                             day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    std::int64_t ms = duration_cast<milliseconds>(sys_days{ymd}.time_since_epoch()).count();
    if (sc.done()) return ms;

    if (!sc.eat('T') && !sc.eat('t') && !sc.eat(' ')) return std::nullopt;
    const auto hh = sc.digits(2);
    if (!hh || *hh > 23 || !sc.eat(':')) return std::nullopt;
    const auto mm = sc.digits(2);
    if (!mm || *mm > 59) return std::nullopt;
    int ss = 0;
    int frac_ms = 0;
    if (sc.eat(':')) {
        const auto s = sc.digits(2);
        if (!s || *s > 59) return std::nullopt;
        ss = *s;
        if (sc.eat('.') || sc.eat(',')) {
            std::size_t n = 0;
            while (!sc.done() && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9') {
                if (n < 3) frac_ms = frac_ms * 10 + (sc.s[sc.i] - '0');
                ++n;
                ++sc.i;
            }
            if (n == 0) return std::nullopt;
            for (; n < 3; ++n) frac_ms *= 10;
        }
    }
    ms += ((*hh * 60LL + *mm) * 60 + ss) * 1000 + frac_ms;
    if (sc.done() || sc.eat('Z') || sc.eat('z'))
        return sc.done() ? std::optional(ms) : std::nullopt;

    int sign = 0;
    if (sc.eat('+'))
        sign = 1;
    else if (sc.eat('-'))
        sign = -1;
    else
        return std::nullopt;
    const auto oh = sc.digits(2);
    if (!oh || *oh > 23) return std::nullopt;
    sc.eat(':');
    const auto om = sc.digits(2);
    if (!om || *om > 59 || !sc.done()) return std::nullopt;
    // "10:00+02:00" is 08:00 UTC.
    return ms - sign * (*oh * 60LL + *om) * 60'000;
}

}  // namespace

Result<std::int64_t> parse_since(std::string_view text, const Clock& clock) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    auto bad = [&] {
        return fail(Errc::invalid_argument,
                    fmt::format("--since \"{}\": expected an age like 30s, 10m, 2h, 1d or an ISO "
                                "8601 time like 2026-11-25T10:00:00Z",
                                text.substr(0, 64)),
                    "since");
    };
    if (text.size() >= 2 && text.size() <= 10 &&
        std::string_view("smhd").find(text.back()) != std::string_view::npos) {
        const std::string_view num = text.substr(0, text.size() - 1);
        if (!std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            return bad();
        }
        const std::int64_t n = std::stoll(std::string(num));  // at most 9 digits: no overflow
        std::int64_t unit = 1000;
        switch (text.back()) {
            case 'm':
                unit = 60'000;
                break;
            case 'h':
                unit = 3'600'000;
                break;
            case 'd':
                unit = 86'400'000;
                break;
            default:
                break;
        }
        return clock.now_ms() - n * unit;
    }
    if (auto ms = parse_iso8601_ms(text)) return *ms;
    return bad();
}

// ---- print_logs --------------------------------------------------------------------------

namespace {

enum class LineType { start, timed, end, report, other };

struct ParsedLine {
    LineType type = LineType::other;
    std::string_view request_id;
    std::int64_t time_ms = 0;  // for timed lines
};

std::string_view token_until(std::string_view s, std::string_view stops) {
    return s.substr(0, s.find_first_of(stops));
}

ParsedLine parse_line(std::string_view line) {
    constexpr std::string_view kStart = "START RequestId: ";
    constexpr std::string_view kEnd = "END RequestId: ";
    constexpr std::string_view kReport = "REPORT RequestId: ";
    if (line.starts_with(kStart)) {
        return {LineType::start, token_until(line.substr(kStart.size()), " \t")};
    }
    if (line.starts_with(kEnd))
        return {LineType::end, token_until(line.substr(kEnd.size()), " \t")};
    if (line.starts_with(kReport)) {
        return {LineType::report, token_until(line.substr(kReport.size()), " \t")};
    }
    const std::size_t tab = line.find('\t');
    if (tab != std::string_view::npos && tab >= 16) {  // a date and a time at least
        if (auto ms = parse_iso8601_ms(line.substr(0, tab))) {
            return {LineType::timed, token_until(line.substr(tab + 1), "\t"), *ms};
        }
    }
    return {};
}

// Groups lines by RequestId and lets through whole invocations at or after `since` (the rule is
// stated in the header). Without `since`, passes every line straight through.
class SinceFilter {
  public:
    SinceFilter(std::optional<std::int64_t> since, const Clock& clock)
        : since_(since), clock_(clock) {}

    void feed(std::string_view line, std::string& out) {
        if (!since_) return emit(out, line);
        const ParsedLine p = parse_line(line);
        if (p.type == LineType::timed)
            last_time_ = std::max(last_time_.value_or(p.time_ms), p.time_ms);
        const std::string id(p.request_id);
        auto it = p.type == LineType::other ? invocations_.end() : invocations_.find(id);
        switch (p.type) {
            case LineType::other:
                if (fallback_time() >= *since_) emit(out, line);
                return;
            case LineType::start:
                // A repeated START (a retried request id) begins a new invocation.
                invocations_[id] = Invocation{next_seq_++, false, false, {std::string(line)}};
                break;
            case LineType::timed:
                if (it == invocations_.end()) {
                    // Its START is in a file already deleted, or was never written.
                    it = invocations_.emplace(id, Invocation{next_seq_++, false, false, {}}).first;
                }
                if (!it->second.decided) decide(it->second, p.time_ms, out);
                if (it->second.include) emit(out, line);
                break;
            case LineType::end:
            case LineType::report:
                if (it == invocations_.end()) {
                    if (fallback_time() >= *since_) emit(out, line);
                    return;
                }
                if (it->second.decided) {
                    if (it->second.include) emit(out, line);
                } else {
                    it->second.held.emplace_back(line);
                }
                if (p.type == LineType::report) {
                    // It logged nothing with a timestamp: judge it by the latest one seen.
                    if (!it->second.decided) decide(it->second, fallback_time(), out);
                    invocations_.erase(it);
                }
                break;
        }
        // Invocations that never REPORT (a crash) would pile up; past the bound, settle them all.
        if (invocations_.size() > kMaxTracked) {
            finish(out);
            invocations_.clear();
        }
    }

    // Settles invocations still undecided at the end of the output, in the order they began.
    void finish(std::string& out) {
        std::vector<Invocation*> pending;
        for (auto& [id, inv] : invocations_) {
            if (!inv.decided) pending.push_back(&inv);
        }
        std::sort(pending.begin(), pending.end(),
                  [](const Invocation* a, const Invocation* b) { return a->seq < b->seq; });
        for (Invocation* inv : pending) decide(*inv, fallback_time(), out);
    }

  private:
    static constexpr std::size_t kMaxTracked = 4096;

    struct Invocation {
        std::uint64_t seq = 0;
        bool decided = false;
        bool include = false;
        std::vector<std::string> held;  // lines read before its time was known
    };

    static void emit(std::string& out, std::string_view line) {
        out += line;
        out += '\n';
    }

    std::int64_t fallback_time() const { return last_time_ ? *last_time_ : clock_.now_ms(); }

    void decide(Invocation& inv, std::int64_t time_ms, std::string& out) {
        inv.decided = true;
        inv.include = time_ms >= *since_;
        if (inv.include) {
            for (const std::string& held : inv.held) emit(out, held);
        }
        inv.held.clear();
        inv.held.shrink_to_fit();
    }

    const std::optional<std::int64_t> since_;
    const Clock& clock_;
    std::optional<std::int64_t> last_time_;
    std::uint64_t next_seq_ = 0;
    std::unordered_map<std::string, Invocation> invocations_;
};

// Reads one log file by descriptor, so it keeps reading the same file after a rename.
class LogFile {
  public:
    LogFile() = default;
    LogFile(const LogFile&) = delete;
    LogFile& operator=(const LogFile&) = delete;
    LogFile(LogFile&& other) noexcept { *this = std::move(other); }
    LogFile& operator=(LogFile&& other) noexcept {
        std::swap(fd_, other.fd_);
        std::swap(dev_, other.dev_);
        std::swap(ino_, other.ino_);
        std::swap(offset_, other.offset_);
        std::swap(carry_, other.carry_);
        return *this;
    }
    ~LogFile() { close(); }

    bool is_open() const { return fd_ >= 0; }

    // false when the file does not exist.
    Result<bool> open(const std::string& path) {
        close();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT) return false;
            return fail(Errc::unavailable, fmt::format("open {}: {}", path, errno_text(errno)));
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            const int err = errno;
            ::close(fd);
            return fail(Errc::unavailable, fmt::format("stat {}: {}", path, errno_text(err)));
        }
        fd_ = fd;
        dev_ = st.st_dev;
        ino_ = st.st_ino;
        offset_ = 0;
        carry_.clear();
        return true;
    }

    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
        carry_.clear();
    }

    bool same_file(const LogFile& other) const {
        return is_open() && other.is_open() && dev_ == other.dev_ && ino_ == other.ino_;
    }

    // True when `path` now names a different file than the one open (it was rotated).
    bool replaced_at(const std::string& path) const {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return false;  // not recreated yet
        return st.st_dev != dev_ || st.st_ino != ino_;
    }

    // True when the file is now shorter than what was read (it was truncated).
    bool shrunk() const {
        struct stat st {};
        return ::fstat(fd_, &st) == 0 && st.st_size < offset_;
    }

    void rewind() {
        offset_ = 0;
        carry_.clear();
    }

    // Reads to the current end, passing each complete line (without '\n'); a partial last line
    // waits for its end in carry_.
    Result<void> read_lines(const std::function<void(std::string_view)>& on_line) {
        std::string buf(64 * 1024, '\0');
        while (true) {
            const ssize_t n = ::pread(fd_, buf.data(), buf.size(), offset_);
            if (n < 0) {
                if (errno == EINTR) continue;
                return fail(Errc::unavailable, fmt::format("read log: {}", errno_text(errno)));
            }
            if (n == 0) return {};
            offset_ += n;
            std::string_view data(buf.data(), static_cast<std::size_t>(n));
            while (!data.empty()) {
                const std::size_t nl = data.find('\n');
                if (nl == std::string_view::npos) {
                    carry_ += data;
                    // Writers emit whole lines; a runaway partial one is passed on, not hoarded.
                    if (carry_.size() > 2 * InvocationLog::kMaxLineBytes) flush_partial(on_line);
                    break;
                }
                if (carry_.empty()) {
                    on_line(data.substr(0, nl));
                } else {
                    carry_ += data.substr(0, nl);
                    on_line(carry_);
                    carry_.clear();
                }
                data.remove_prefix(nl + 1);
            }
        }
    }

    // Passes on a last line that has no newline (a write cut short).
    void flush_partial(const std::function<void(std::string_view)>& on_line) {
        if (!carry_.empty()) on_line(carry_);
        carry_.clear();
    }

  private:
    int fd_ = -1;
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    off_t offset_ = 0;
    std::string carry_;
};

// The numbers N of "<function>.log.N" in dir, ascending.
std::vector<int> rotated_numbers(const std::string& dir, const std::string& function) {
    std::vector<int> numbers;
    const std::string prefix = function + ".log.";
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.starts_with(prefix)) continue;
        const std::string_view num = std::string_view(name).substr(prefix.size());
        if (num.empty() || num.size() > 6 ||
            !std::all_of(num.begin(), num.end(), [](char c) { return c >= '0' && c <= '9'; })) {
            continue;
        }
        numbers.push_back(std::stoi(std::string(num)));
    }
    std::sort(numbers.begin(), numbers.end());
    return numbers;
}

}  // namespace

Result<void> print_logs(const LogQuery& query, const Clock& clock, std::ostream& out,
                        std::stop_token stop) {
    if (!is_valid_log_function_name(query.function)) {
        return fail(Errc::invalid_argument,
                    fmt::format("invalid function name \"{}\"", query.function.substr(0, 128)),
                    "function");
    }
    const std::string base = (fs::path(query.dir) / (query.function + ".log")).string();

    SinceFilter filter(query.since_ms, clock);
    std::string pending;
    bool out_failed = false;
    auto write_out = [&](bool flush) {
        if (!pending.empty())
            out.write(pending.data(), static_cast<std::streamsize>(pending.size()));
        pending.clear();
        if (flush) out.flush();
        if (!out) out_failed = true;
    };
    const std::function<void(std::string_view)> on_line = [&](std::string_view line) {
        filter.feed(line, pending);
        if (pending.size() >= 64 * 1024) write_out(false);
    };
    auto out_result = [&]() -> Result<void> {
        if (out_failed) return fail(Errc::unavailable, "writing the logs failed (output closed)");
        return {};
    };

    // Newest first (see the header): a rotation meanwhile shows as the same file under two
    // names, which is then read once, in its older place.
    LogFile current;
    auto opened = current.open(base);
    if (!opened) return fail(opened.error());
    std::vector<LogFile> rotated;  // ascending N: newest first
    for (int n : rotated_numbers(query.dir, query.function)) {
        LogFile file;
        auto ok = file.open(base + "." + std::to_string(n));
        if (!ok) return fail(ok.error());
        if (!*ok) continue;  // deleted by a rotation meanwhile
        const bool seen = file.same_file(current) ||
                          std::any_of(rotated.begin(), rotated.end(),
                                      [&](const LogFile& f) { return f.same_file(file); });
        if (!seen) rotated.push_back(std::move(file));
    }
    if (!current.is_open() && rotated.empty()) {
        return fail(Errc::not_found, fmt::format("no logs for function {} yet", query.function),
                    "function");
    }

    for (auto it = rotated.rbegin(); it != rotated.rend(); ++it) {
        if (auto r = it->read_lines(on_line); !r) return r;
        it->flush_partial(on_line);
        if (out_failed) return out_result();
    }
    rotated.clear();
    if (current.is_open()) {
        if (auto r = current.read_lines(on_line); !r) return r;
    }

    if (query.follow) {
        write_out(true);
        std::mutex mu;
        std::condition_variable_any wake;  // nobody notifies it: a poll that stop can cut short
        while (!out_failed && !stop.stop_requested()) {
            {
                std::unique_lock<std::mutex> lock(mu);
                wake.wait_for(lock, stop, std::chrono::milliseconds(200), [] { return false; });
            }
            if (stop.stop_requested()) break;
            if (current.is_open()) {
                if (current.shrunk()) current.rewind();  // truncated in place: start over
                if (auto r = current.read_lines(on_line); !r) return r;
            }
            if (!current.is_open() || current.replaced_at(base)) {
                // Rotated: what was appended before the rename was just read; then the new one.
                current.flush_partial(on_line);
                auto r = current.open(base);
                if (!r) return fail(r.error());
                if (current.is_open()) {
                    if (auto rr = current.read_lines(on_line); !rr) return rr;
                }
            }
            write_out(true);
        }
    }
    if (current.is_open()) current.flush_partial(on_line);
    filter.finish(pending);
    write_out(true);
    return out_result();
}

// ---- tail for polling readers ------------------------------------------------------------------

namespace {

// An open log file: its descriptor, inode and size; fd < 0 when there is none.
struct OpenedLog {
    int fd = -1;
    std::uint64_t inode = 0;
    std::uint64_t size = 0;
    OpenedLog() = default;
    OpenedLog(const OpenedLog&) = delete;
    OpenedLog& operator=(const OpenedLog&) = delete;
    ~OpenedLog() {
        if (fd >= 0) ::close(fd);
    }
};

// Opens `path` for reading; a missing file is no error (fd stays -1).
Result<void> open_log(const std::string& path, OpenedLog& log) {
    log.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (log.fd < 0) {
        if (errno == ENOENT) return {};
        return fail(Errc::unavailable, fmt::format("cannot open {}: {}", path, errno_text(errno)));
    }
    struct stat st {};
    if (::fstat(log.fd, &st) != 0) {
        return fail(Errc::unavailable, fmt::format("cannot stat {}: {}", path, errno_text(errno)));
    }
    log.inode = static_cast<std::uint64_t>(st.st_ino);
    log.size = static_cast<std::uint64_t>(st.st_size);
    return {};
}

// Reads bytes [from, from + max) of the file (fewer at its end).
Result<std::string> read_range(const OpenedLog& log, std::uint64_t from, std::size_t max) {
    std::string out;
    if (from >= log.size) return out;
    out.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max, log.size - from)));
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::pread(log.fd, out.data() + got, out.size() - got,
                                  static_cast<off_t>(from + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(Errc::unavailable, "cannot read a log file: " + errno_text(errno));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

// Appends the complete lines of `chunk` (which starts at file offset `base`) to `tail`, at most
// `max_lines` in all, and moves tail.next past the last one taken. A chunk that holds not one
// whole line but is already max_bytes long is a line too long to return: skipped.
void take_lines(std::string_view chunk, std::uint64_t base, std::size_t max_lines,
                std::size_t max_bytes, std::uint64_t inode, LogTail& tail) {
    std::size_t start = 0;
    while (tail.lines.size() < max_lines) {
        const auto nl = chunk.find('\n', start);
        if (nl == std::string_view::npos) {
            if (start == 0 && chunk.size() >= max_bytes) tail.next = {inode, base + chunk.size()};
            return;
        }
        tail.lines.emplace_back(chunk.substr(start, nl - start));
        start = nl + 1;
        tail.next = {inode, base + start};
    }
}

}  // namespace

std::string log_cursor_text(const LogCursor& cursor) {
    return fmt::format("{}-{}", cursor.inode, cursor.offset);
}

Result<LogCursor> parse_log_cursor(std::string_view text) {
    LogCursor cursor;
    const auto dash = text.find('-');
    auto number = [](std::string_view digits, std::uint64_t& out) {
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
        return !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
    };
    if (dash == std::string_view::npos || !number(text.substr(0, dash), cursor.inode) ||
        !number(text.substr(dash + 1), cursor.offset)) {
        return fail(Errc::invalid_argument, "cursor is not one this service returned", "cursor");
    }
    return cursor;
}

Result<LogTail> read_log_tail(const std::string& dir, const std::string& function,
                              const std::optional<LogCursor>& cursor, std::size_t max_lines,
                              std::size_t max_bytes) {
    if (!is_valid_log_function_name(function)) {
        return fail(Errc::invalid_argument, fmt::format("'{}' is not a function name", function),
                    "function");
    }
    const std::string path = (fs::path(dir) / (function + ".log")).string();
    OpenedLog current;
    if (auto opened = open_log(path, current); !opened) return fail(opened.error());
    LogTail tail;
    if (current.fd < 0) return tail;  // nothing logged yet
    tail.next = {current.inode, 0};

    if (!cursor) {
        // The last lines: read the end of the file, drop the partial first line unless the
        // window reaches the file's start.
        const std::uint64_t from = current.size > max_bytes ? current.size - max_bytes : 0;
        auto chunk = read_range(current, from, max_bytes);
        if (!chunk) return fail(chunk.error());
        std::string_view view(*chunk);
        std::uint64_t base = from;
        if (from > 0) {
            const auto nl = view.find('\n');
            if (nl == std::string_view::npos) return tail;
            view.remove_prefix(nl + 1);
            base += nl + 1;
        }
        const auto end = view.rfind('\n');
        if (end == std::string_view::npos) return tail;
        view = view.substr(0, end + 1);
        std::size_t count = static_cast<std::size_t>(std::count(view.begin(), view.end(), '\n'));
        while (count > max_lines) {  // skip the oldest
            const auto nl = view.find('\n');
            view.remove_prefix(nl + 1);
            base += nl + 1;
            --count;
        }
        take_lines(view, base, max_lines, max_bytes, current.inode, tail);
        return tail;
    }

    std::uint64_t from = 0;
    if (cursor->inode == current.inode) {
        from = cursor->offset <= current.size ? cursor->offset : 0;  // truncated: from the start
    } else {
        // Rotated since: finish the file the cursor was in, when it is still .1.
        OpenedLog rotated;
        if (auto opened = open_log(path + ".1", rotated); !opened) return fail(opened.error());
        if (rotated.fd >= 0 && rotated.inode == cursor->inode && cursor->offset <= rotated.size) {
            auto chunk = read_range(rotated, cursor->offset, max_bytes);
            if (!chunk) return fail(chunk.error());
            tail.next = *cursor;
            take_lines(*chunk, cursor->offset, max_lines, max_bytes, rotated.inode, tail);
            // Not all of the rotated file's rest fitted: the cursor stays in it.
            if (tail.next.offset < rotated.size) return tail;
        }
        tail.next = {current.inode, 0};
    }
    if (tail.lines.size() >= max_lines) return tail;
    auto chunk = read_range(current, from, max_bytes);
    if (!chunk) return fail(chunk.error());
    tail.next = {current.inode, from};
    take_lines(*chunk, from, max_lines, max_bytes, current.inode, tail);
    return tail;
}

}  // namespace hirestream::triggers
