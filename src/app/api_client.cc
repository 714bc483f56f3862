#include "app/api_client.h"

#include <curl/curl.h>

#include <memory>

#include <boost/json.hpp>
#include <fmt/format.h>

namespace hirestream::app {
namespace {

std::size_t append(char* data, std::size_t size, std::size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
}

}  // namespace

Result<ApiResponse> ApiClient::request(const std::string& method, const std::string& path,
                                       const std::string& body,
                                       const std::string& content_type) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (!curl) return fail(Errc::internal, "curl_easy_init failed");
    ApiResponse response;
    const std::string url = base_url_ + path;
    curl_slist* headers = curl_slist_append(nullptr, ("Content-Type: " + content_type).c_str());
    if (!api_key_.empty()) headers = curl_slist_append(headers, ("x-api-key: " + api_key_).c_str());
    std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers,
                                                                           curl_slist_free_all);
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, headers);
    if (!body.empty() || method == "POST" || method == "PATCH") {
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(curl.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, append);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &response.body);
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    // A redrive invokes the function: allow for the longest function timeout (900 s).
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, 960'000L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    const auto rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
        return fail(Errc::unavailable, fmt::format("cannot reach hirestream at {}: {} (is it "
                                                   "running? pass --url)",
                                                   base_url_, curl_easy_strerror(rc)));
    }
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

std::string api_error_message(const ApiResponse& response) {
    boost::system::error_code ec;
    auto v = boost::json::parse(response.body, ec);
    if (!ec && v.is_object()) {
        const auto* e = v.as_object().if_contains("error");
        if (e && e->is_object()) {
            const auto* m = e->as_object().if_contains("message");
            if (m && m->is_string()) return std::string(m->as_string());
        }
    }
    return fmt::format("HTTP {}: {}", response.status, response.body);
}

}  // namespace hirestream::app
