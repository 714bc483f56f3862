#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace hirestream {
namespace {

// The message with what would break a log line escaped: for JSON lines, quotes, backslashes and
// control characters (RFC 8259 7); for text lines, control characters, so a CR/LF that came in a
// request cannot forge a log line.
template <bool Json>
class EscapedMessage final : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        static constexpr char kHex[] = "0123456789abcdef";
        for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
            const auto u = static_cast<unsigned char>(c);
            if (Json && (c == '"' || c == '\\')) {
                dest.push_back('\\');
                dest.push_back(c);
            } else if (c == '\n') {
                dest.append(std::string_view("\\n"));
            } else if (c == '\r') {
                dest.append(std::string_view("\\r"));
            } else if (c == '\t') {
                dest.append(std::string_view("\\t"));
            } else if (u < 0x20 || u == 0x7f) {
                const char esc[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
                dest.append(std::string_view(esc, sizeof esc));
            } else {
                dest.push_back(c);
            }
        }
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<EscapedMessage>();
    }
};

}  // namespace

void init_logging(const std::string& level, const std::string& format) {
    auto logger = spdlog::stderr_color_mt("hirestream");
    auto formatter = std::make_unique<spdlog::pattern_formatter>(
        spdlog::pattern_time_type::utc, spdlog::details::os::default_eol);
    if (format == "json") {
        formatter->add_flag<EscapedMessage<true>>('*').set_pattern(
            R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"msg":"%*"})");
    } else {
        formatter->add_flag<EscapedMessage<false>>('*').set_pattern(
            "%Y-%m-%dT%H:%M:%S.%eZ %^%-5l%$ %*");
    }
    logger->set_formatter(std::move(formatter));
    logger->set_level(spdlog::level::from_str(level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

}  // namespace hirestream
