#pragma once
// ApiClient: the CLI's way to a running hirestream (function status, dead letters). A thin
// libcurl wrapper with timeouts. Not thread-safe; one per command.

#include <string>

#include "common/result.h"

namespace hirestream::app {

struct ApiResponse {
    long status = 0;
    std::string body;
};

class ApiClient {
public:
    // `api_key`, when not empty, is sent as x-api-key on every request.
    explicit ApiClient(std::string base_url, std::string api_key = {})
        : base_url_(std::move(base_url)), api_key_(std::move(api_key)) {}
    // Fails with unavailable when the server cannot be reached (the message says where).
    Result<ApiResponse> request(const std::string& method, const std::string& path,
                                const std::string& body = {},
                                const std::string& content_type = "application/json");

private:
    std::string base_url_;
    std::string api_key_;
};

// The error message of an API answer's {"error": {...}} body, or the body itself.
std::string api_error_message(const ApiResponse& response);

}  // namespace hirestream::app
