#include "triggers/invocation_log.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>
#include <streambuf>
#include <thread>
#include <vector>

#include "common/ids.h"

namespace hirestream::triggers {
namespace {

namespace fs = std::filesystem;

// 2017-02-21T12:14:52.489Z, the reference's example line.
constexpr std::int64_t kT0 = 1487679292489;

class TempDir {
  public:
    TempDir() : path_(fs::temp_directory_path() / ("invocation_log_test_" + random_hex(8))) {
        fs::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    std::string str() const { return path_.string(); }
    fs::path path() const { return path_; }

  private:
    fs::path path_;
};

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

std::string print(const LogQuery& query, const Clock& clock) {
    std::ostringstream out;
    auto result = print_logs(query, clock, out);
    EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
    return out.str();
}

// An output stream target that a follow thread writes while the test waits on its contents.
class SharedOutput : public std::streambuf {
  public:
    bool wait_for(std::string_view needle, std::chrono::milliseconds deadline) {
        std::unique_lock<std::mutex> lock(mu_);
        return cv_.wait_for(lock, deadline,
                            [&] { return text_.find(needle) != std::string::npos; });
    }
    std::string text() {
        std::lock_guard<std::mutex> lock(mu_);
        return text_;
    }

  protected:
    int_type overflow(int_type c) override {
        if (c != traits_type::eof()) {
            char ch = traits_type::to_char_type(c);
            xsputn(&ch, 1);
        }
        return c;
    }
    std::streamsize xsputn(const char* data, std::streamsize n) override {
        std::lock_guard<std::mutex> lock(mu_);
        text_.append(data, static_cast<std::size_t>(n));
        cv_.notify_all();
        return n;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::string text_;
};

constexpr auto kDeadline = std::chrono::seconds(5);

// The file must read exactly as Lambda prints an invocation, tabs and all.
TEST(InvocationLog, WritesStartLineEndAndReportInLambdasExactFormat) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    const std::string id = "27ff6c08-3ee6-4003-81ad-3db16958ab33";
    log.start("sendAssignment", id);
    log.line("sendAssignment", id, "info", "Received Event...");
    log.end("sendAssignment", id, 12.34, 128, 40);

    EXPECT_EQ(read_file(dir.path() / "sendAssignment.log"),
              "START RequestId: 27ff6c08-3ee6-4003-81ad-3db16958ab33 Version: $LATEST\n"
              "2017-02-21T12:14:52.489Z\t27ff6c08-3ee6-4003-81ad-3db16958ab33\tINFO\t"
              "Received Event...\n"
              "END RequestId: 27ff6c08-3ee6-4003-81ad-3db16958ab33\n"
              "REPORT RequestId: 27ff6c08-3ee6-4003-81ad-3db16958ab33\tDuration: 12.34 ms\t"
              "Billed Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\n");
    EXPECT_EQ(log.write_errors(), 0u);
}

// Billed Duration is the duration rounded up to a whole millisecond, at least 1 ms.
TEST(InvocationLog, BilledDurationRoundsUpToTheNextMillisecond) {
    TempDir dir;
    ManualClock clock;
    InvocationLog log(dir.str(), clock);
    const std::vector<std::pair<double, std::string>> cases = {
        {12.0, "Duration: 12.00 ms\tBilled Duration: 12 ms"},
        {12.001, "Duration: 12.00 ms\tBilled Duration: 13 ms"},
        {0.2, "Duration: 0.20 ms\tBilled Duration: 1 ms"},
        {0.0, "Duration: 0.00 ms\tBilled Duration: 1 ms"},
        {0.1 + 0.2 + 1.7, "Duration: 2.00 ms\tBilled Duration: 2 ms"},  // 2.0000000000000004
        {999.999, "Duration: 1000.00 ms\tBilled Duration: 1000 ms"},
    };
    for (const auto& [duration, expected] : cases) log.end("f", "id", duration, 128, 40);
    const auto lines = split_lines(read_file(dir.path() / "f.log"));
    ASSERT_EQ(lines.size(), cases.size() * 2);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        EXPECT_NE(lines[2 * i + 1].find(cases[i].second), std::string::npos)
            << lines[2 * i + 1] << " for " << cases[i].first;
    }
}

// Each line of a multi-line message gets its own prefix, so every file line stays parseable.
TEST(InvocationLog, MultiLineTextBecomesOnePrefixedLinePerLine) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    log.line("f", "req-1", "ERROR", "Error: boom\r\n    at handler (index.js:3)\n\nlast\n");
    EXPECT_EQ(read_file(dir.path() / "f.log"),
              "2017-02-21T12:14:52.489Z\treq-1\tERROR\tError: boom\n"
              "2017-02-21T12:14:52.489Z\treq-1\tERROR\t    at handler (index.js:3)\n"
              "2017-02-21T12:14:52.489Z\treq-1\tERROR\t\n"
              "2017-02-21T12:14:52.489Z\treq-1\tERROR\tlast\n");
}

// A huge line is cut to the cap and marked, so one runaway log call cannot fill a file.
TEST(InvocationLog, OverlongLineIsCutAndMarkedTruncated) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    log.line("f", "req-1", "INFO", std::string(300 * 1024, 'x') + "\nshort");
    const auto lines = split_lines(read_file(dir.path() / "f.log"));
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].size(), InvocationLog::kMaxLineBytes);
    EXPECT_TRUE(lines[0].ends_with("x [truncated]"));
    EXPECT_EQ(lines[1], "2017-02-21T12:14:52.489Z\treq-1\tINFO\tshort");
}

// Invocations running at once on 8 threads must never mix bytes within a line or lose one.
TEST(InvocationLog, ConcurrentWritersNeverInterleaveWithinALine) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    constexpr int kThreads = 8;
    constexpr int kPerThread = 200;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&log, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const std::string id = fmt::format("req-{}-{}", t, i);
                log.start("f", id);
                // Two lines in one call, long enough that a torn write would show.
                log.line("f", id, "INFO",
                         fmt::format("{}:{}\n{}", id, std::string(2000, 'a' + t), id));
                log.end("f", id, 1.5, 128, 40);
            }
        });
    }
    for (auto& th : threads) th.join();

    const std::regex start(R"(START RequestId: (req-\d-\d+) Version: \$LATEST)");
    const std::regex timed(R"(2017-02-21T12:14:52\.489Z\t(req-(\d)-\d+)\tINFO\t(.*))");
    const std::regex end(R"(END RequestId: (req-\d-\d+))");
    const std::regex report(R"(REPORT RequestId: (req-\d-\d+)\tDuration: 1\.50 ms\tBilled )"
                            R"(Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB)");
    std::map<std::string, int> stage;  // per request id: how many of its lines were seen
    const auto lines = split_lines(read_file(dir.path() / "f.log"));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kPerThread * 5));
    for (std::size_t n = 0; n < lines.size(); ++n) {
        const std::string& line = lines[n];
        std::smatch m;
        if (std::regex_match(line, m, start)) {
            EXPECT_EQ(stage[m[1]]++, 0) << line;
        } else if (std::regex_match(line, m, timed)) {
            const std::string id = m[1];
            const char fill = static_cast<char>('a' + std::stoi(m[2]));
            const int at = stage[id]++;
            if (at == 1) {
                EXPECT_EQ(m[3].str(), id + ":" + std::string(2000, fill)) << "line " << n;
                // The call's second line follows directly: one write per call.
                ASSERT_LT(n + 1, lines.size());
                EXPECT_TRUE(lines[n + 1].ends_with("\t" + id)) << lines[n + 1];
            } else {
                EXPECT_EQ(at, 2);
                EXPECT_EQ(m[3].str(), id);
            }
        } else if (std::regex_match(line, m, end)) {
            EXPECT_EQ(stage[m[1]]++, 3) << line;
        } else if (std::regex_match(line, m, report)) {
            EXPECT_EQ(stage[m[1]]++, 4) << line;
        } else {
            ADD_FAILURE() << "torn or unknown line " << n << ": " << line.substr(0, 120);
        }
    }
    EXPECT_EQ(stage.size(), static_cast<std::size_t>(kThreads * kPerThread));
}

void write_numbered_lines(InvocationLog& log, const std::string& function, int count) {
    for (int i = 0; i < count; ++i) {
        log.line(function, "req", "INFO", fmt::format("line {:04} {}", i, std::string(60, '.')));
    }
}

// Disk use stays bounded: at most max_files files, none much past max_file_bytes.
TEST(InvocationLog, RotationKeepsAtMostMaxFilesAndBoundsTheirSize) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock, 4096, 3);
    write_numbered_lines(log, "f", 500);  // ~56 KB: many rotations

    std::vector<std::string> names;
    std::uintmax_t total = 0;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
        names.push_back(entry.path().filename().string());
        EXPECT_LE(entry.file_size(), 4096u) << names.back();
        total += entry.file_size();
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"f.log", "f.log.1", "f.log.2"}));
    EXPECT_LE(total, 3u * 4096u);
    EXPECT_NE(read_file(dir.path() / "f.log").find("line 0499"), std::string::npos);
    EXPECT_EQ(log.write_errors(), 0u);
}

// `logs -f` shows the kept lines in the order written: rotated files oldest first, then current.
TEST(InvocationLog, PrintLogsPrintsRotatedFilesOldestFirstThenTheCurrentOne) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock, 4096, 3);
    write_numbered_lines(log, "f", 500);

    const auto lines = split_lines(print(LogQuery{dir.str(), "f", std::nullopt, false}, clock));
    ASSERT_GT(lines.size(), 60u);  // about three files' worth survived
    const std::regex numbered(R"(.*\tline (\d{4}) \.+)");
    int previous = -1;
    for (const auto& line : lines) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, numbered)) << line;
        const int n = std::stoi(m[1]);
        if (previous >= 0) {
            EXPECT_EQ(n, previous + 1) << "gap or reorder at " << line;
        }
        previous = n;
    }
    EXPECT_EQ(previous, 499);
}

// --since keeps whole invocations that began at or after it, even when they interleave with
// older ones, and judges an invocation that logged nothing by the latest earlier timestamp.
TEST(InvocationLog, SinceKeepsWholeInvocationsAtOrAfterTheTime) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    log.start("f", "old");
    log.start("f", "new");
    log.line("f", "old", "INFO", "old line");
    clock.advance(std::chrono::minutes(10));
    log.line("f", "new", "INFO", "new line");
    log.end("f", "old", 1, 128, 40);
    log.end("f", "new", 1, 128, 40);
    log.start("f", "quiet");  // logs nothing: judged by "new line"'s time
    log.end("f", "quiet", 1, 128, 40);

    const std::string text = print(LogQuery{dir.str(), "f", kT0 + 5 * 60'000, false}, clock);
    const auto lines = split_lines(text);
    ASSERT_EQ(lines.size(), 7u) << text;
    EXPECT_EQ(lines[0], "START RequestId: new Version: $LATEST");
    EXPECT_EQ(lines[1], "2017-02-21T12:24:52.489Z\tnew\tINFO\tnew line");
    EXPECT_EQ(lines[2], "END RequestId: new");
    EXPECT_TRUE(lines[3].starts_with("REPORT RequestId: new\t"));
    EXPECT_EQ(lines[4], "START RequestId: quiet Version: $LATEST");
    EXPECT_EQ(lines[5], "END RequestId: quiet");
    EXPECT_TRUE(lines[6].starts_with("REPORT RequestId: quiet\t"));
    EXPECT_EQ(text.find(" old"), std::string::npos);
    EXPECT_EQ(text.find("\told\t"), std::string::npos);

    // Everything is later than a time before the first line; nothing is later than the future.
    EXPECT_EQ(split_lines(print(LogQuery{dir.str(), "f", kT0, false}, clock)).size(), 11u);
    EXPECT_EQ(print(LogQuery{dir.str(), "f", kT0 + 3'600'000, false}, clock), "");
}

// `logs -f NAME --tail` keeps printing what functions log after it started.
TEST(InvocationLog, FollowPrintsLinesAppendedAfterItStarted) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    log.line("f", "req-1", "INFO", "before follow");

    SharedOutput buffer;
    std::ostream out(&buffer);
    Result<void> result;
    std::jthread follower([&](std::stop_token stop) {
        result = print_logs(LogQuery{dir.str(), "f", std::nullopt, true}, clock, out, stop);
    });
    ASSERT_TRUE(buffer.wait_for("before follow", kDeadline));
    log.start("f", "req-2");
    log.line("f", "req-2", "INFO", "after follow");
    log.end("f", "req-2", 3, 128, 40);
    EXPECT_TRUE(buffer.wait_for("REPORT RequestId: req-2\t", kDeadline)) << buffer.text();
    follower.request_stop();
    follower.join();
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto lines = split_lines(buffer.text());
    ASSERT_EQ(lines.size(), 5u) << buffer.text();
    EXPECT_TRUE(lines[2].ends_with("\tafter follow"));
}

// Following survives rotation: lines written to the old file and to the new one all show, once.
TEST(InvocationLog, FollowContinuesAcrossRotation) {
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock, 4096, 3);
    write_numbered_lines(log, "f", 10);

    SharedOutput buffer;
    std::ostream out(&buffer);
    Result<void> result;
    std::jthread follower([&](std::stop_token stop) {
        result = print_logs(LogQuery{dir.str(), "f", std::nullopt, true}, clock, out, stop);
    });
    ASSERT_TRUE(buffer.wait_for("line 0009", kDeadline));
    // 50 more lines (~5 KB) force exactly one rotation.
    for (int i = 10; i < 60; ++i) {
        log.line("f", "req", "INFO", fmt::format("line {:04} {}", i, std::string(60, '.')));
    }
    ASSERT_TRUE(fs::exists(dir.path() / "f.log.1"));
    ASSERT_FALSE(fs::exists(dir.path() / "f.log.2"));  // one rotation: nothing was deleted
    EXPECT_TRUE(buffer.wait_for("line 0059", kDeadline)) << buffer.text();
    follower.request_stop();
    follower.join();
    ASSERT_TRUE(result.has_value()) << result.error().message;
    const auto lines = split_lines(buffer.text());
    ASSERT_EQ(lines.size(), 60u);
    for (int i = 0; i < 60; ++i) {
        EXPECT_NE(lines[static_cast<std::size_t>(i)].find(fmt::format("line {:04}", i)),
                  std::string::npos);
    }
}

// A function that never ran has no file: the CLI gets a clear not_found, not an empty output.
TEST(InvocationLog, PrintLogsOfAFunctionWithoutLogsIsNotFound) {
    TempDir dir;
    ManualClock clock;
    std::ostringstream out;
    auto result =
        print_logs(LogQuery{dir.str(), "sendAssignment", std::nullopt, false}, clock, out);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, Errc::not_found);
    EXPECT_EQ(result.error().message, "no logs for function sendAssignment yet");

    auto missing_dir =
        print_logs(LogQuery{dir.str() + "/nope", "f", std::nullopt, true}, clock, out);
    ASSERT_FALSE(missing_dir.has_value());
    EXPECT_EQ(missing_dir.error().code, Errc::not_found);
}

// A name that is not a plain file stem never reaches the file system, for writes or reads.
TEST(InvocationLog, FunctionNameThatIsNotAFileStemIsRefused) {
    TempDir dir;
    ManualClock clock;
    InvocationLog log((dir.path() / "logs").string(), clock);
    log.start("../escape", "req");
    log.line("a/b", "req", "INFO", "x");
    EXPECT_EQ(log.write_errors(), 2u);
    EXPECT_FALSE(fs::exists(dir.path() / "escape.log"));
    EXPECT_FALSE(fs::exists(dir.path() / "logs"));

    std::ostringstream out;
    auto result = print_logs(LogQuery{dir.str(), "../escape", std::nullopt, false}, clock, out);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, Errc::invalid_argument);
}

// A full disk drops lines and counts them; it must never throw into the invoking mapping.
TEST(InvocationLog, WriteFailureIsCountedAndNeverThrows) {
    TempDir dir;
    ManualClock clock;
    fs::create_symlink("/dev/full", dir.path() / "f.log");  // every write fails with ENOSPC
    InvocationLog log(dir.str(), clock);
    EXPECT_NO_THROW({
        log.start("f", "req");
        log.line("f", "req", "INFO", "dropped");
        log.end("f", "req", 1, 128, 40);
    });
    EXPECT_EQ(log.write_errors(), 3u);
    log.line("g", "req", "INFO", "other functions still log");
    EXPECT_EQ(log.write_errors(), 3u);
    EXPECT_TRUE(fs::exists(dir.path() / "g.log"));
}

// A disk that stays full must not flood the service log: one warning a minute, all counted.
TEST(InvocationLog, WriteFailuresWarnAtMostOnceAMinute) {
    TempDir dir;
    ManualClock clock;
    fs::create_symlink("/dev/full", dir.path() / "f.log");
    InvocationLog log(dir.str(), clock);
    std::ostringstream warnings;
    auto previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(warnings)));
    for (int i = 0; i < 5; ++i) log.line("f", "req", "INFO", "dropped");
    clock.advance(std::chrono::seconds(59));
    log.line("f", "req", "INFO", "dropped");
    const std::string within_a_minute = warnings.str();
    clock.advance(std::chrono::seconds(1));
    log.line("f", "req", "INFO", "dropped");
    spdlog::set_default_logger(previous);

    EXPECT_EQ(split_lines(within_a_minute).size(), 1u) << within_a_minute;
    const auto all = split_lines(warnings.str());
    ASSERT_EQ(all.size(), 2u) << warnings.str();
    EXPECT_NE(all[1].find("failed_writes=7"), std::string::npos) << all[1];
    EXPECT_EQ(log.write_errors(), 7u);
}

// Many functions must not exhaust descriptors: only a bounded number stay open, and a function
// whose descriptor was closed still logs.
TEST(InvocationLog, OpenDescriptorsStayBoundedAcrossManyFunctions) {
    auto open_fds = [] {
        return std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{});
    };
    TempDir dir;
    ManualClock clock(kT0);
    InvocationLog log(dir.str(), clock);
    const auto before = open_fds();
    for (int round = 0; round < 2; ++round) {
        for (int f = 0; f < 100; ++f) log.line(fmt::format("fn{}", f), "req", "INFO", "hi");
    }
    EXPECT_LE(open_fds() - before, static_cast<long>(InvocationLog::kMaxOpenFiles));
    EXPECT_EQ(split_lines(read_file(dir.path() / "fn0.log")).size(), 2u);
    EXPECT_EQ(split_lines(read_file(dir.path() / "fn99.log")).size(), 2u);
    EXPECT_EQ(log.write_errors(), 0u);
}

// The numbers of the "line NNNN" lines in a tail, in order.
std::vector<int> line_numbers(const LogTail& tail) {
    std::vector<int> out;
    for (const auto& l : tail.lines) {
        const auto at = l.find("line ");
        if (at != std::string::npos) out.push_back(std::stoi(l.substr(at + 5, 4)));
    }
    return out;
}

std::vector<int> range(int from, int to) {
    std::vector<int> out;
    for (int i = from; i < to; ++i) out.push_back(i);
    return out;
}

// The web app's live tail: the last lines first, then exactly the lines appended since the
// cursor, also across a rotation (the rest of .1, then the new file), none twice or lost.
TEST(ReadLogTail, LastLinesThenWhatWasAppendedAcrossRotation) {
    TempDir dir;
    ManualClock clock(kT0);
    auto empty = read_log_tail(dir.str(), "f", std::nullopt, 10);
    ASSERT_TRUE(empty) << empty.error().message;
    EXPECT_TRUE(empty->lines.empty());

    InvocationLog log(dir.str(), clock, 4096, 3);
    write_numbered_lines(log, "f", 20);
    auto first = read_log_tail(dir.str(), "f", std::nullopt, 5);
    ASSERT_TRUE(first);
    EXPECT_EQ(line_numbers(*first), range(15, 20));
    auto none = read_log_tail(dir.str(), "f", first->next, 5);
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->lines.empty());

    // Lines 20..59 cross a rotation (each line is ~100 bytes, a file holds ~40).
    for (int i = 20; i < 60; ++i) {
        log.line("f", "req", "INFO", fmt::format("line {:04} {}", i, std::string(60, '.')));
    }
    ASSERT_TRUE(fs::exists(dir.path() / "f.log.1"));
    std::vector<int> seen;
    std::optional<LogCursor> cursor = first->next;
    for (int polls = 0; polls < 20; ++polls) {
        auto next = read_log_tail(dir.str(), "f", cursor, 7);
        ASSERT_TRUE(next) << next.error().message;
        auto numbers = line_numbers(*next);
        seen.insert(seen.end(), numbers.begin(), numbers.end());
        cursor = next->next;
        if (numbers.empty()) break;
    }
    EXPECT_EQ(seen, range(20, 60));

    // The cursor travels as text; forged ones are refused.
    EXPECT_EQ(parse_log_cursor(log_cursor_text(*cursor))->offset, cursor->offset);
    for (const char* bad : {"", "12", "a-1", "1-", "-1", "1-2-3"}) {
        EXPECT_EQ(parse_log_cursor(bad).error().field, "cursor") << bad;
    }
    EXPECT_EQ(read_log_tail(dir.str(), "../etc", std::nullopt, 5).error().code,
              Errc::invalid_argument);
}

// --since takes the ages serverless takes and ISO 8601 times, as absolute epoch milliseconds.
TEST(ParseSince, AcceptsAgesAndIso8601Times) {
    ManualClock clock(kT0);
    EXPECT_EQ(parse_since("30s", clock).value(), kT0 - 30'000);
    EXPECT_EQ(parse_since("10m", clock).value(), kT0 - 600'000);
    EXPECT_EQ(parse_since("2h", clock).value(), kT0 - 7'200'000);
    EXPECT_EQ(parse_since("1d", clock).value(), kT0 - 86'400'000);
    EXPECT_EQ(parse_since(" 0m ", clock).value(), kT0);

    EXPECT_EQ(parse_since("2017-02-21T12:14:52.489Z", clock).value(), kT0);
    EXPECT_EQ(parse_since(iso8601_ms(1'764'064'800'123), clock).value(), 1'764'064'800'123);
    EXPECT_EQ(parse_since("2025-11-25T10:00:00Z", clock).value(), 1'764'064'800'000);
    EXPECT_EQ(parse_since("2025-11-25T10:00:00", clock).value(), 1'764'064'800'000);
    EXPECT_EQ(parse_since("2025-11-25T10:00", clock).value(), 1'764'064'800'000);
    EXPECT_EQ(parse_since("2025-11-25T12:00:00+02:00", clock).value(), 1'764'064'800'000);
    EXPECT_EQ(parse_since("2025-11-25T05:00:00-0500", clock).value(), 1'764'064'800'000);
    EXPECT_EQ(parse_since("2025-11-25", clock).value(), 1'764'028'800'000);
    EXPECT_EQ(parse_since("2025-11-25T10:00:00.5Z", clock).value(), 1'764'064'800'500);
}

// A typo must be a clear invalid_argument naming the field, not a silent "since epoch".
TEST(ParseSince, RejectsAnythingElse) {
    ManualClock clock(kT0);
    for (std::string_view bad : {"", "m", "10", "10x", "-5m", "1.5h", "10 m", "2025-13-01",
                                 "2025-02-30", "2025-11-25T24:00", "2025-11-25T10:00Zjunk",
                                 "2025-11-25T10:00:00+2", "10000000000s", "yesterday"}) {
        auto result = parse_since(bad, clock);
        ASSERT_FALSE(result.has_value()) << bad;
        EXPECT_EQ(result.error().code, Errc::invalid_argument) << bad;
        EXPECT_EQ(result.error().field, "since");
    }
}

}  // namespace
}  // namespace hirestream::triggers
