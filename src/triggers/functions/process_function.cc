#include "triggers/functions/process_function.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

extern char** environ;

namespace hirestream::triggers {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr std::string_view kPrefix = "exec:";
constexpr std::size_t kMaxAnswerBytes = std::size_t{6} * 1024 * 1024;  // Lambda's payload limit
constexpr std::size_t kMaxLogLineBytes = std::size_t{256} * 1024;
constexpr std::size_t kMaxLogBytes = std::size_t{4} * 1024 * 1024;
constexpr std::size_t kLastLineBytes = 200;
constexpr std::size_t kIoChunk = std::size_t{64} * 1024;
// Reads per stream per poll round: a child flooding stderr must not keep us from checking the
// deadline and the memory cap.
constexpr int kMaxReadsPerRound = 16;
constexpr milliseconds kMemorySampleInterval{10};
constexpr std::size_t kMaxSampledProcesses = 256;

// An owned file descriptor.
class Fd {
  public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            fd_ = std::exchange(other.fd_, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    void reset() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

  private:
    int fd_ = -1;
};

struct Pipe {
    Fd read;
    Fd write;
};

// O_CLOEXEC on both ends: a process another thread spawns at the same moment must not inherit
// our ends, or our child would never see EOF on stdin. posix_spawn's dup2 onto 0-2 clears the
// flag on the child's copies only.
std::optional<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
    return Pipe{Fd(fds[0]), Fd(fds[1])};
}

// Only our ends are non-blocking: the child gets ordinary blocking pipes, which is what
// programs reading stdin expect.
void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string errno_text(int err) { return std::strerror(err); }

std::string timed_out_message(milliseconds timeout) {
    return fmt::format("Task timed out after {:.2f} seconds",
                       static_cast<double>(timeout.count()) / 1000.0);
}

// Writing to a pipe whose reader has gone raises SIGPIPE, which kills the whole service unless
// someone ignores it. SIGPIPE from a write is sent to the writing thread, so blocking it here
// and swallowing the one our write raised leaves the rest of the process untouched.
class SigpipeGuard {
  public:
    SigpipeGuard() {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &set, &old_);
    }
    SigpipeGuard(const SigpipeGuard&) = delete;
    SigpipeGuard& operator=(const SigpipeGuard&) = delete;
    void note_epipe() { raised_ = true; }
    ~SigpipeGuard() {
        if (raised_) {
            sigset_t set;
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            const timespec zero{};
            while (sigtimedwait(&set, nullptr, &zero) == SIGPIPE) {
            }
        }
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

  private:
    sigset_t old_;
    bool raised_ = false;
};

// Splits stderr into lines for context.log, with the per-line and per-invocation bounds.
class LogLines {
  public:
    explicit LogLines(const std::function<void(std::string_view)>& log) : log_(log) {}

    void feed(std::string_view data) {
        while (!data.empty()) {
            const auto nl = data.find('\n');
            const auto piece = data.substr(0, nl);
            // partial_ never exceeds the line bound, so room is never negative.
            const auto room = kMaxLogLineBytes - partial_.size();
            if (piece.size() > room) truncated_ = true;
            partial_.append(piece.substr(0, room));
            if (nl == std::string_view::npos) return;
            emit();
            data.remove_prefix(nl + 1);
        }
    }

    // Emits a last line that had no newline.
    void finish() {
        if (!partial_.empty()) emit();
    }

    // The last non-empty line, cut to kLastLineBytes, control characters blanked.
    const std::string& last_line() const { return last_; }

  private:
    void emit() {
        std::string_view line = partial_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!line.empty()) {
            last_.assign(line.substr(0, kLastLineBytes));
            for (char& c : last_) {
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
            }
        }
        if (logged_ + line.size() > kMaxLogBytes) {
            if (!dropped_ && log_) {
                log_("[hirestream] over 4 MiB of log in this invocation; the rest is dropped");
            }
            dropped_ = true;
        } else if (!dropped_) {
            logged_ += line.size();
            if (log_) {
                if (truncated_) {
                    log_(std::string(line) + " [line cut at 256 KiB]");
                } else {
                    log_(line);
                }
            }
        }
        partial_.clear();
        truncated_ = false;
    }

    const std::function<void(std::string_view)>& log_;
    std::string partial_;
    bool truncated_ = false;
    std::size_t logged_ = 0;
    bool dropped_ = false;
    std::string last_;
};

// One "Name:   123 kB" field of /proc/<pid>/status, in kB.
std::optional<std::int64_t> status_field_kb(const std::string& status, std::string_view field) {
    std::size_t pos = 0;
    while (pos < status.size()) {
        const auto end = status.find('\n', pos);
        std::string_view line(status.data() + pos,
                              (end == std::string::npos ? status.size() : end) - pos);
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
            return std::strtoll(std::string(line.substr(field.size() + 1)).c_str(), nullptr, 10);
        }
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return std::nullopt;
}

std::string read_small_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) return {};
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct MemorySample {
    std::int64_t rss_kb = 0;  // summed over the tree now
    std::int64_t hwm_kb = 0;  // the largest single process's peak
};

// Resident memory of the process and its descendants. The leader is usually /bin/sh, which
// either execs the command (dash does for a simple one) or waits for it, so the tree, not the
// leader, is what holds the memory. Descendants come from /proc/<pid>/task/<tid>/children
// (CONFIG_PROC_CHILDREN); without it only the leader is measured.
MemorySample sample_memory(pid_t leader) {
    MemorySample sample;
    std::vector<pid_t> pending{leader};
    std::size_t visited = 0;
    while (!pending.empty() && visited < kMaxSampledProcesses) {
        const pid_t pid = pending.back();
        pending.pop_back();
        ++visited;
        const auto base = "/proc/" + std::to_string(pid);
        const auto status = read_small_file(base + "/status");
        sample.rss_kb += status_field_kb(status, "VmRSS").value_or(0);
        sample.hwm_kb = std::max(sample.hwm_kb, status_field_kb(status, "VmHWM").value_or(0));
        DIR* tasks = ::opendir((base + "/task").c_str());
        if (!tasks) continue;
        while (const dirent* entry = ::readdir(tasks)) {
            if (entry->d_name[0] == '.') continue;
            const auto children = read_small_file(base + "/task/" + entry->d_name + "/children");
            const char* p = children.c_str();
            char* end = nullptr;
            for (long child = std::strtol(p, &end, 10); end != p;
                 child = std::strtol(p, &end, 10)) {
                pending.push_back(static_cast<pid_t>(child));
                p = end;
            }
        }
        ::closedir(tasks);
    }
    return sample;
}

std::int64_t kb_to_mb_rounded_up(std::int64_t kb) { return (kb + 1023) / 1024; }

std::string signal_name(int sig) {
    // sigdescr_np is thread-safe, unlike strsignal. Lower-cased, as Go's os/exec (and so
    // Lambda's runtime errors) print it: "signal: segmentation fault".
    const char* description = sigdescr_np(sig);
    if (!description) return fmt::format("signal {}", sig);
    std::string name(description);
    if (!name.empty())
        name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
    return name;
}

std::vector<std::string> child_environment(const FunctionSpec& spec, const Batch& batch,
                                           const InvocationContext& context) {
    std::map<std::string, std::string> env;
    for (const char* name : {"PATH", "HOME", "LANG"}) {
        if (const char* value = std::getenv(name)) env[name] = value;
    }
    for (const auto& [name, value] : spec.environment) {
        if (name.empty() || name.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
            value.find('\0') != std::string::npos) {
            continue;
        }
        env[name] = value;
    }
    const auto timeout_s = (std::max<std::int64_t>(context.timeout.count(), 0) + 999) / 1000;
    env["AWS_LAMBDA_FUNCTION_NAME"] = spec.name;
    env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = std::to_string(spec.memory_size_mb);
    env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = std::to_string(timeout_s);
    env["AWS_LAMBDA_FUNCTION_VERSION"] = "$LATEST";
    env["AWS_REQUEST_ID"] = context.request_id;
    if (batch.stream) {
        env["AWS_REGION"] = batch.stream->region;
        env["AWS_DEFAULT_REGION"] = batch.stream->region;
    }
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [name, value] : env) out.push_back(fmt::format("{}={}", name, value));
    return out;
}

// Shell words that cannot follow `exec`: reserved words and builtins with no program behind
// them.
constexpr std::string_view kNotExecutable[] = {
    "!",        "{",        "}",      "[[",    "case",   "for",     "function", "if",
    "select",   "until",    "while",  ".",     "alias",  "break",   "cd",       "command",
    "continue", "eval",     "exec",   "exit",  "export", "getopts", "hash",     "local",
    "read",     "readonly", "return", "set",   "shift",  "source",  "times",    "trap",
    "type",     "ulimit",   "umask",  "unset", "wait"};

// dash, unlike bash, does not exec the last command of `sh -c`: it forks and waits, and then
// reports a crash as exit status 128+n and keeps a shell between us and the program. For a
// simple command (no ; | && || & ( ) or newline, which also rules out these inside quotes:
// conservative) we prepend `exec`, so the program replaces the shell and its own exit status,
// signal and memory are what we see. Redirections (`2>&1`) and expansions work after `exec`.
std::string shell_command(std::string_view command) {
    for (std::size_t i = 0; i < command.size(); ++i) {
        const char c = command[i];
        if (c == ';' || c == '|' || c == '(' || c == ')' || c == '\n') return std::string(command);
        if (c == '&' && (i == 0 || (command[i - 1] != '>' && command[i - 1] != '<'))) {
            return std::string(command);
        }
    }
    const auto begin = command.find_first_not_of(" \t");
    if (begin == std::string_view::npos) return std::string(command);
    const auto end = command.find_first_of(" \t", begin);
    const auto first = command.substr(begin, end == std::string_view::npos ? end : end - begin);
    // A leading assignment (`FOO=1 node x.js`) would be taken by exec as the program name.
    if (first.find('=') != std::string_view::npos) return std::string(command);
    for (const auto word : kNotExecutable) {
        if (first == word) return std::string(command);
    }
    return "exec " + std::string(command);
}

enum class KillReason { none, timeout, memory, answer_too_large };

}  // namespace

ProcessFunction::ProcessFunction(FunctionSpec spec) : spec_(std::move(spec)) {}

InvokeResult ProcessFunction::invoke(const Batch& batch, const InvocationContext& context) {
    InvokeResult result;
    auto failed = [&](std::string error) {
        result.ok = false;
        result.error = std::move(error);
        return result;
    };
    const std::string_view handler = spec_.handler;
    if (!handler.starts_with(kPrefix) || handler.size() == kPrefix.size()) {
        return failed("handler is not \"exec:<command line>\"");
    }
    const std::string command = shell_command(handler.substr(kPrefix.size()));
    const std::string event = render_event(batch);
    const milliseconds timeout = std::max(context.timeout, milliseconds(1));
    const std::int64_t cap_kb =
        spec_.memory_size_mb > 0 ? std::int64_t{spec_.memory_size_mb} * 1024 : 0;

    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();
    if (!in || !out || !err) return failed("cannot start process: " + errno_text(errno));

    const auto env_strings = child_environment(spec_, batch, context);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (const auto& s : env_strings) envp.push_back(const_cast<char*>(s.c_str()));
    envp.push_back(nullptr);
    const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};

    // posix_spawn instead of fork: glibc's uses clone(CLONE_VM | CLONE_VFORK), so nothing
    // between the fork and the exec can touch a lock another thread holds.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in->read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out->write.get(), STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err->write.get(), STDERR_FILENO);
    // Ours are O_CLOEXEC, but libraries in other threads may open descriptors without it; the
    // function gets exactly its three.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Its own process group (pgid = its pid), so a timeout can kill everything it started.
    posix_spawnattr_setpgroup(&attr, 0);
    // The child must not inherit this thread's blocked SIGPIPE or a SIG_IGN the service may
    // have set for SIGPIPE/SIGCHLD: both change how ordinary programs behave.
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attr, &empty);
    sigset_t all;
    sigfillset(&all);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    SigpipeGuard sigpipe;
    pid_t pid = -1;
    const auto started = steady_clock::now();
    const int spawn_error =
        posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (spawn_error != 0) return failed("cannot start process: " + errno_text(spawn_error));

    // The child's ends must be closed here, or we would never see EOF on stdout/stderr.
    in->read.reset();
    out->write.reset();
    err->write.reset();
    Fd stdin_fd = std::move(in->write);
    Fd stdout_fd = std::move(out->read);
    Fd stderr_fd = std::move(err->read);
    set_nonblocking(stdin_fd.get());
    set_nonblocking(stdout_fd.get());
    set_nonblocking(stderr_fd.get());
    if (event.empty()) stdin_fd.reset();

    // steady_clock, not the Clock seam: this bounds a real process's run time, which a manual
    // clock cannot stand in for.
    const auto deadline = started + timeout;
    std::string answer;
    LogLines log_lines(context.log);
    std::size_t written = 0;
    KillReason kill_reason = KillReason::none;
    bool exited = false;
    bool lost = false;  // someone else reaped it (SIGCHLD ignored process-wide)
    std::int64_t peak_kb = 0;
    auto next_sample = started;
    std::array<char, kIoChunk> buffer;

    // Reads what is there now, at most max_reads chunks; closes fd at EOF or on an error.
    auto drain = [&](Fd& fd, bool is_stdout, int max_reads) {
        for (int i = 0; i < max_reads && fd.valid(); ++i) {
            const ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
            if (n > 0) {
                if (is_stdout) {
                    if (answer.size() + static_cast<std::size_t>(n) > kMaxAnswerBytes) {
                        kill_reason = KillReason::answer_too_large;
                        return;
                    }
                    answer.append(buffer.data(), static_cast<std::size_t>(n));
                } else {
                    log_lines.feed(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
                }
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
            fd.reset();  // EOF or a read error
        }
    };

    while (kill_reason == KillReason::none) {
        // WNOWAIT leaves the child a zombie, so its pid, and with it the process group id,
        // cannot be reused before the killpg below.
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) continue;
            lost = true;
            break;
        }
        if (info.si_pid == pid) {
            exited = true;
            break;
        }
        auto now = steady_clock::now();
        if (now >= deadline) {
            kill_reason = KillReason::timeout;
            break;
        }
        if (now >= next_sample) {
            const auto sample = sample_memory(pid);
            peak_kb = std::max({peak_kb, sample.rss_kb, sample.hwm_kb});
            if (cap_kb > 0 && std::max(sample.rss_kb, sample.hwm_kb) > cap_kb) {
                kill_reason = KillReason::memory;
                break;
            }
            next_sample = now + kMemorySampleInterval;
        }

        std::array<pollfd, 3> fds{};
        nfds_t count = 0;
        int in_index = -1, out_index = -1, err_index = -1;
        if (stdin_fd.valid()) {
            in_index = static_cast<int>(count);
            fds[count++] = pollfd{stdin_fd.get(), POLLOUT, 0};
        }
        if (stdout_fd.valid()) {
            out_index = static_cast<int>(count);
            fds[count++] = pollfd{stdout_fd.get(), POLLIN, 0};
        }
        if (stderr_fd.valid()) {
            err_index = static_cast<int>(count);
            fds[count++] = pollfd{stderr_fd.get(), POLLIN, 0};
        }
        const auto wake = std::min(deadline, next_sample);
        const auto wait_ms = std::chrono::ceil<milliseconds>(wake - now).count();
        const int ready =
            ::poll(fds.data(), count, static_cast<int>(std::max<long long>(wait_ms, 1)));
        if (ready < 0) {
            if (errno == EINTR) continue;
            break;  // cannot happen with valid descriptors; the kill below cleans up
        }
        if (in_index >= 0 && fds[static_cast<std::size_t>(in_index)].revents != 0) {
            const auto remaining = event.size() - written;
            const ssize_t n =
                ::write(stdin_fd.get(), event.data() + written, std::min(remaining, kIoChunk));
            if (n > 0) {
                written += static_cast<std::size_t>(n);
                if (written == event.size()) stdin_fd.reset();  // EOF tells it the event is whole
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                // EPIPE: it closed stdin without reading everything; its choice.
                if (errno == EPIPE) sigpipe.note_epipe();
                stdin_fd.reset();
            }
        }
        if (out_index >= 0 && fds[static_cast<std::size_t>(out_index)].revents != 0) {
            drain(stdout_fd, true, kMaxReadsPerRound);
        }
        if (err_index >= 0 && fds[static_cast<std::size_t>(err_index)].revents != 0) {
            drain(stderr_fd, false, kMaxReadsPerRound);
        }
    }
    if (exited) {
        // What it wrote before exiting is in the pipes; descendants still holding them must
        // not keep us waiting, so read only what is there now.
        drain(stdout_fd, true, static_cast<int>(kMaxAnswerBytes / kIoChunk) + 2);
        drain(stderr_fd, false, static_cast<int>(kMaxLogBytes / kIoChunk) + 2);
    }
    log_lines.finish();

    // Always: on a kill reason it stops the function; after a normal exit it stops whatever
    // the function left running in its group. Descendants that left the group (setsid) are
    // beyond reach without cgroups.
    ::killpg(pid, SIGKILL);
    int status = 0;
    rusage usage{};
    if (!lost) {
        while (::wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
        }
    }
    // ru_maxrss (kB) is the kernel's peak for the child and the descendants it waited for:
    // catches a spike between two samples.
    peak_kb = std::max<std::int64_t>(peak_kb, usage.ru_maxrss);
    result.max_memory_used_mb = kb_to_mb_rounded_up(peak_kb);

    if (kill_reason == KillReason::timeout) return failed(timed_out_message(timeout));
    if (kill_reason == KillReason::memory || (cap_kb > 0 && peak_kb > cap_kb)) {
        return failed(fmt::format("Runtime exited with error: memory limit of {} MB exceeded",
                                  spec_.memory_size_mb));
    }
    if (kill_reason == KillReason::answer_too_large) return failed("answer exceeds 6 MiB");
    if (lost) return failed("Runtime exited with error: exit status unknown");
    if (WIFEXITED(status)) {
        const int code = WEXITSTATUS(status);
        if (code == 0) {
            result.response = std::move(answer);
            return result;
        }
        auto message = fmt::format("Runtime exited with error: exit status {}", code);
        if (!log_lines.last_line().empty()) message += "; stderr: " + log_lines.last_line();
        return failed(std::move(message));
    }
    if (WIFSIGNALED(status)) {
        auto message =
            fmt::format("Runtime exited with error: signal: {}", signal_name(WTERMSIG(status)));
        if (WCOREDUMP(status)) message += " (core dumped)";
        return failed(std::move(message));
    }
    return failed("Runtime exited with error: unknown status");
}

}  // namespace hirestream::triggers
