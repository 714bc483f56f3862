#include "mail/outbox_folder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "common/text.h"
#include "mail/outbox_transport.h"

namespace hirestream::mail {
namespace {

namespace fs = std::filesystem;

// Opens a regular file of the folder without following a link, and reads up to `max` bytes of
// it; `size` gets the whole file's size.
Result<std::string> read_bounded(const std::string& path, std::uint64_t max, std::uint64_t& size) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP) return fail(Errc::not_found, "no such message");
        return fail(Errc::unavailable, fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return fail(Errc::unavailable, fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) return fail(Errc::not_found, "no such message");
    size = static_cast<std::uint64_t>(st.st_size);
    std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(size, max)), '\0');
    std::size_t got = 0;
    while (got < out.size()) {
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return fail(Errc::unavailable, fmt::format("cannot read {}: {}", path, std::strerror(errno)));
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return out;
}

}  // namespace

void read_header_fields(std::string_view message, OutboxEntry& entry) {
    std::string current;
    bool to = false, subject = false, date = false;
    auto take = [&] {
        const auto colon = current.find(':');
        if (colon == std::string::npos) return;
        const std::string name = ascii_lower(trim_blanks(std::string_view(current).substr(0, colon)));
        const std::string value = trim_blanks(std::string_view(current).substr(colon + 1), true);
        if (name == "to" && !to) entry.to = value, to = true;
        if (name == "subject" && !subject) entry.subject = value, subject = true;
        if (name == "date" && !date) entry.date = value, date = true;
    };
    std::size_t start = 0;
    while (start < message.size()) {
        auto end = message.find('\n', start);
        if (end == std::string_view::npos) end = message.size();
        std::string_view line = message.substr(start, end - start);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        start = end + 1;
        if (line.empty()) break;  // the end of the header section
        if (line.front() == ' ' || line.front() == '\t') {
            current += ' ';
            current += trim_blanks(line, true);  // a folded continuation
            continue;
        }
        take();
        current = std::string(line);
    }
    take();
}

Result<std::vector<OutboxEntry>> OutboxFolder::list(const std::string& before, int limit) const {
    std::vector<std::string> names;
    std::error_code ec;
    if (!fs::exists(folder_, ec)) return std::vector<OutboxEntry>{};
    for (fs::directory_iterator it(folder_, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!is_outbox_file_name(name) || (!before.empty() && name >= before)) continue;
        names.push_back(std::move(name));
    }
    if (ec) {
        return fail(Errc::unavailable,
                    fmt::format("cannot list the outbox folder {}: {}", folder_, ec.message()));
    }
    std::sort(names.begin(), names.end(), std::greater<>());
    std::vector<OutboxEntry> out;
    for (auto& name : names) {
        if (static_cast<int>(out.size()) >= limit) break;
        OutboxEntry entry;
        auto head = read_bounded(folder_ + "/" + name, kMaxHeaderBytes, entry.size);
        if (!head) {
            if (head.error().code == Errc::not_found) continue;  // removed meanwhile, or a link
            return fail(head.error());
        }
        entry.name = std::move(name);
        read_header_fields(*head, entry);
        out.push_back(std::move(entry));
    }
    return out;
}

Result<std::string> OutboxFolder::read(const std::string& name) const {
    if (!is_outbox_file_name(name)) {
        return fail(Errc::not_found, fmt::format("no message {} in the outbox", name), "name");
    }
    std::uint64_t size = 0;
    auto bytes = read_bounded(folder_ + "/" + name, kMaxMessageBytes + 1, size);
    if (!bytes) {
        auto e = bytes.error();
        if (e.code == Errc::not_found) e.message = fmt::format("no message {} in the outbox", name);
        e.field = "name";
        return fail(e);
    }
    if (size > kMaxMessageBytes) {
        return fail(Errc::too_large,
                    fmt::format("message {} is {} bytes, over the {} this API serves", name, size,
                                kMaxMessageBytes),
                    "name");
    }
    return bytes;
}

}  // namespace hirestream::mail
