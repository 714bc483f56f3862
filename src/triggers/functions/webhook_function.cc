#include "triggers/functions/webhook_function.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <string_view>

namespace hirestream::triggers {
namespace {

using std::chrono::milliseconds;

// Lambda's synchronous payload limit, applied to answers so a runaway endpoint cannot make us
// buffer without bound.
constexpr std::size_t kMaxAnswerBytes = std::size_t{6} * 1024 * 1024;
constexpr std::size_t kErrorSnippetBytes = 200;
constexpr milliseconds kMaxConnectTimeout{5000};
constexpr std::chrono::seconds kMaxRetryAfter{15 * 60};

// curl_global_init is not safe to race with other libcurl calls before 7.84 and must run once;
// a function-local static gives both.
void ensure_curl_initialized() {
    static const bool initialized = [] {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        return true;
    }();
    (void)initialized;
}

struct EasyDeleter {
    void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
struct UrlDeleter {
    void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

struct Answer {
    std::string body;
    bool too_large = false;
    std::optional<std::string> retry_after;
    std::optional<std::string> date;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
    auto* answer = static_cast<Answer*>(user);
    const size_t n = size * count;
    if (answer->body.size() + n > kMaxAnswerBytes) {
        answer->too_large = true;
        return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
    }
    answer->body.append(data, n);
    return n;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() &&
           (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
    auto* answer = static_cast<Answer*>(user);
    const size_t n = size * count;
    std::string_view line(data, n);
    // A status line starts a new response (after a 1xx interim one): only the final
    // response's headers count.
    if (line.starts_with("HTTP/")) {
        answer->retry_after.reset();
        answer->date.reset();
        return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    const auto name = line.substr(0, colon);
    const auto value = trim(line.substr(colon + 1));
    if (iequals(name, "Retry-After")) answer->retry_after = std::string(value);
    if (iequals(name, "Date")) answer->date = std::string(value);
    return n;
}

// The first bytes of an error body as one log-safe line, cut on a UTF-8 character boundary.
std::string one_line_snippet(std::string_view body) {
    std::size_t end = std::min(body.size(), kErrorSnippetBytes);
    while (end > 0 && end < body.size() && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) {
        --end;
    }
    std::string out(body.substr(0, end));
    for (char& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    return std::string(trim(out));
}

std::string timed_out_message(milliseconds timeout) {
    return fmt::format("Task timed out after {:.2f} seconds",
                       static_cast<double>(timeout.count()) / 1000.0);
}

// The handler as it may appear in logs: credentials, query and fragment removed.
std::string redacted_url(const std::string& url) {
    std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
        return "<invalid URL>";
    }
    for (CURLUPart part : {CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY,
                           CURLUPART_FRAGMENT}) {
        curl_url_set(u.get(), part, nullptr, 0);
    }
    char* text = nullptr;
    if (curl_url_get(u.get(), CURLUPART_URL, &text, 0) != CURLUE_OK || !text) {
        return "<invalid URL>";
    }
    std::string out(text);
    curl_free(text);
    return out;
}

bool is_http_url(std::string_view handler) {
    return handler.starts_with("http://") || handler.starts_with("https://");
}

// Request ids come from us, but a header value must never carry a line break (header
// injection), whatever a caller passes.
std::string header_safe(std::string_view value) {
    std::string out;
    for (char c : value) {
        if (c != '\r' && c != '\n' && c != '\0') out += c;
    }
    return out;
}

}  // namespace

// RFC 9110 10.2.3: Retry-After = HTTP-date / delay-seconds. An HTTP-date is measured against
// the answer's own Date header when there is one (RFC 9110 6.6.1: origin servers with a clock
// send it), which makes the delay immune to skew between the server's clock and ours.
std::optional<milliseconds> parse_retry_after(const std::string& value,
                                              const std::optional<std::string>& date,
                                              const Clock& clock) {
    if (value.empty()) return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // More than 6 digits is beyond the clamp anyway; this keeps stoll from overflowing.
        if (value.size() > 6) return milliseconds(kMaxRetryAfter);
        const std::chrono::seconds delay(std::stoll(value));
        return milliseconds(std::min(delay, kMaxRetryAfter));
    }
    // curl_getdate accepts the three formats RFC 9110 5.6.7 requires recipients to parse
    // (IMF-fixdate, RFC 850, asctime).
    const time_t at = curl_getdate(value.c_str(), nullptr);
    if (at == -1) return std::nullopt;
    std::int64_t reference_s = clock.now_ms() / 1000;
    if (date) {
        const time_t d = curl_getdate(date->c_str(), nullptr);
        if (d != -1) reference_s = d;
    }
    const std::chrono::seconds delay(std::clamp<std::int64_t>(
        static_cast<std::int64_t>(at) - reference_s, 0, kMaxRetryAfter.count()));
    return milliseconds(delay);
}


WebhookFunction::WebhookFunction(FunctionSpec spec)
    : spec_(std::move(spec)), clock_(system_clock_), log_url_(redacted_url(spec_.handler)) {
    ensure_curl_initialized();
}

WebhookFunction::WebhookFunction(FunctionSpec spec, const Clock& clock)
    : spec_(std::move(spec)), clock_(clock), log_url_(redacted_url(spec_.handler)) {
    ensure_curl_initialized();
}

InvokeResult WebhookFunction::invoke(const Batch& batch, const InvocationContext& context) {
    InvokeResult result;
    auto log = [&](const std::string& line) {
        if (context.log) context.log(line);
    };
    if (!is_http_url(spec_.handler)) {
        result.ok = false;
        result.error = "handler is not an http:// or https:// URL";
        log(fmt::format("POST {} -> failed: {}", log_url_, result.error));
        return result;
    }

    const std::string event = render_event(batch);
    // CURLOPT_TIMEOUT_MS 0 would mean "no timeout"; every network operation needs one.
    const milliseconds timeout = std::max(context.timeout, milliseconds(1));
    const milliseconds connect_timeout = std::min(timeout, kMaxConnectTimeout);

    std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
    if (!easy) {
        result.ok = false;
        result.error = "cannot create an HTTP client handle";
        log(fmt::format("POST {} -> failed: {}", log_url_, result.error));
        return result;
    }
    curl_slist* list = nullptr;
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(
        list, ("X-Hirestream-Request-Id: " + header_safe(context.request_id)).c_str());
    // Without this curl sends "Expect: 100-continue" for bodies over 1 MiB and may wait a
    // second for a 100 that many servers never send.
    list = curl_slist_append(list, "Expect:");
    std::unique_ptr<curl_slist, SlistDeleter> headers(list);

    Answer answer;
    char error_buffer[CURL_ERROR_SIZE] = {};
    CURL* h = easy.get();
    curl_easy_setopt(h, CURLOPT_URL, spec_.handler.c_str());
    // Also checked by is_http_url; this stops file://, gopher:// etc. should the URL parse
    // differently from our prefix check.
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, event.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(event.size()));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hirestream");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &answer);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(connect_timeout.count()));
    // Signals (SIGALRM for DNS timeouts) are process-wide and unsafe with threads.
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);

    const CURLcode rc = curl_easy_perform(h);
    curl_off_t total_us = 0;
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
    const long long elapsed_ms = static_cast<long long>(total_us / 1000);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);

    result.retry_after =
        answer.retry_after ? parse_retry_after(*answer.retry_after, answer.date, clock_)
                           : std::nullopt;
    if (rc == CURLE_OK && !answer.too_large) {
        if (status >= 200 && status <= 299) {
            result.response = std::move(answer.body);
        } else {
            result.ok = false;
            const auto snippet = one_line_snippet(answer.body);
            result.error = snippet.empty() ? fmt::format("HTTP {}", status)
                                           : fmt::format("HTTP {}: {}", status, snippet);
        }
        log(fmt::format("POST {} -> {} in {} ms", log_url_, status, elapsed_ms));
        return result;
    }

    result.ok = false;
    if (answer.too_large) {
        result.error = "answer exceeds 6 MiB";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        // A connect timeout shorter than the task's is a connection failure (the endpoint is
        // unreachable); anything else ran out of the function's time, which Lambda words so.
        curl_off_t connect_us = 0;
        curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
        const bool connected = connect_us > 0;
        result.error = (connected || connect_timeout >= timeout)
                           ? timed_out_message(timeout)
                           : std::string(error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
    } else {
        result.error = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
    }
    log(fmt::format("POST {} -> failed in {} ms: {}", log_url_, elapsed_ms, result.error));
    return result;
}

}  // namespace hirestream::triggers
