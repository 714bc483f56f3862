#include "mail/outbox_transport.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/clock.h"
#include "common/ids.h"
#include "common/result.h"

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;

// "YYYYMMDDTHHMMSS.mmmZ-" before the id part of a file name.
constexpr std::size_t kStampLength = 20;
constexpr std::string_view kSuffix = ".eml";
// Temporary files start with a dot so a listing of *.eml never shows a half-written message.
constexpr std::string_view kTempPrefix = ".tmp-";
// Longest id part kept verbatim; longer ids are cut and made unique by a hash. Keeps names far
// below NAME_MAX (255).
constexpr std::size_t kMaxIdPart = 100;

bool is_id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '@' || c == '-';
}

// The file name's id part: only [A-Za-z0-9._@-], so no separator or control character from a
// message id reaches the file system. When sanitizing or cutting changed the id, a hash of the
// original is appended so two distinct ids never share a file.
std::string id_part(std::string_view message_id) {
    std::string out;
    bool changed = false;
    for (char c : message_id) {
        const bool keep = is_id_char(c);
        out.push_back(keep ? c : '_');
        changed = changed || !keep;
    }
    if (out.size() > kMaxIdPart) {
        out.resize(kMaxIdPart);
        changed = true;
    }
    if (changed) out += "-" + sha256_hex(message_id).substr(0, 16);
    return out;
}

std::string file_stamp(std::int64_t epoch_ms) {
    std::int64_t secs = epoch_ms / 1000;
    std::int64_t millis = epoch_ms % 1000;
    if (millis < 0) {
        millis += 1000;
        --secs;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

bool is_digits(std::string_view text) {
    for (char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// The id part of a file name we wrote, or empty when `name` is not one of ours.
std::string_view id_part_of(std::string_view name) {
    if (name.size() <= kStampLength + 1 + kSuffix.size() ||
        name.substr(name.size() - kSuffix.size()) != kSuffix) {
        return {};
    }
    const bool stamp = is_digits(name.substr(0, 8)) && name[8] == 'T' &&
                       is_digits(name.substr(9, 6)) && name[15] == '.' &&
                       is_digits(name.substr(16, 3)) && name[19] == 'Z' && name[20] == '-';
    if (!stamp) return {};
    return name.substr(kStampLength + 1, name.size() - kStampLength - 1 - kSuffix.size());
}

std::string errno_text(int error) {
    return std::error_code(error, std::generic_category()).message();
}

// Closes a file descriptor on scope exit unless released.
class FileDescriptor {
  public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }
    // Closes now and reports close()'s error: on some file systems (NFS) a failed write
    // surfaces only here.
    int close() {
        const int rc = ::close(fd_);
        fd_ = -1;
        return rc;
    }

  private:
    int fd_;
};

// Writes `data` to `folder`/`name` so that a reader (or a crash) sees either the old file or the
// complete new one: write a temporary file in the same folder, fsync it, rename it over the
// target (atomic within one file system, POSIX rename(2)), then fsync the folder so the rename
// itself survives a power loss.
Result<void> write_atomically(const std::string& folder, const std::string& name,
                              const std::string& data) {
    const std::string target = folder + "/" + name;
    const std::string temp = folder + "/" + std::string(kTempPrefix) + random_hex(8) + "-" + name;
    auto failed = [](std::string_view step, const std::string& path, int error) {
        return fail(Errc::unavailable,
                    fmt::format("outbox {} {}: {}", step, path, errno_text(error)));
    };

    FileDescriptor file(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (file.get() < 0) return failed("create", temp, errno);
    auto abandon = [&](std::string_view step) {
        const int error = errno;
        ::unlink(temp.c_str());
        return failed(step, temp, error);
    };
    std::size_t written = 0;
    while (written < data.size()) {
        const ssize_t n = ::write(file.get(), data.data() + written, data.size() - written);
        if (n < 0) {
            if (errno == EINTR) continue;
            return abandon("write");
        }
        written += static_cast<std::size_t>(n);
    }
    if (::fsync(file.get()) != 0) return abandon("fsync");
    if (file.close() != 0) return abandon("close");
    if (::rename(temp.c_str(), target.c_str()) != 0) return abandon("rename");

    FileDescriptor dir(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) return failed("open folder", folder, errno);
    if (::fsync(dir.get()) != 0) return failed("fsync folder", folder, errno);
    return {};
}

// Production default for file name stamps. The header takes no Clock, and the stamp only orders
// the listing: nothing reads it back.
const SystemClock kClock{};

}  // namespace

bool is_outbox_file_name(std::string_view name) {
    const std::string_view id = id_part_of(name);
    // The id part is at most kMaxIdPart plus "-" and a 16-digit hash.
    return !id.empty() && id.size() <= kMaxIdPart + 17 &&
           std::all_of(id.begin(), id.end(), is_id_char);
}

OutboxTransport::OutboxTransport(std::string folder) : folder_(std::move(folder)) {
    std::error_code ec;
    fs::create_directories(folder_, ec);
    if (ec || !fs::is_directory(folder_, ec)) {
        throw std::runtime_error(fmt::format("cannot create outbox folder {}: {}", folder_,
                                             ec ? ec.message() : "not a directory"));
    }
    for (fs::directory_iterator it(folder_, ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (name.starts_with(kTempPrefix)) {
            // Left by a crash between create and rename: never a complete message.
            std::error_code ignored;
            fs::remove(it->path(), ignored);
            continue;
        }
        const std::string_view id = id_part_of(name);
        if (id.empty()) continue;
        // Names sort by time: when an older run left two files for one id, keep the newer.
        auto [slot, inserted] = files_by_id_.try_emplace(std::string(id), name);
        if (!inserted && slot->second < name) slot->second = name;
    }
    if (ec) {
        throw std::runtime_error(
            fmt::format("cannot list outbox folder {}: {}", folder_, ec.message()));
    }
}

SendOutcome OutboxTransport::send(const Envelope& /*envelope*/, const std::string& mime,
                                  const std::string& message_id) {
    // The envelope is not written: the file holds exactly the message as rendered, so it opens
    // in any mail client; the To header names the recipient.
    std::string name;
    if (message_id.empty()) {
        // Nothing to deduplicate on: a unique name.
        name = file_stamp(kClock.now_ms()) + "-" + random_hex(8) + std::string(kSuffix);
    } else {
        std::string id = id_part(message_id);
        std::lock_guard lock(files_mutex_);
        auto [slot, inserted] = files_by_id_.try_emplace(id);
        if (inserted) slot->second = file_stamp(kClock.now_ms()) + "-" + id + std::string(kSuffix);
        name = slot->second;
    }
    // Written outside the lock: two concurrent sends of one id both rename onto the same name,
    // so the folder still ends up with one complete file.
    if (auto written = write_atomically(folder_, name, mime); !written) {
        return SendOutcome{SendOutcome::Kind::transient, 0, written.error().message};
    }
    return SendOutcome{SendOutcome::Kind::sent, 0, "written to " + folder_ + "/" + name};
}

std::string OutboxTransport::describe() const { return "outbox folder " + folder_; }

}  // namespace hirestream::mail
