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
    explicit ApiClient(std::string base_url) : base_url_(std::move(base_url)) {}
    // Fails with unavailable when the server cannot be reached (the message says where).
    Result<ApiResponse> request(const std::string& method, const std::string& path,
                                const std::string& body = {});

private:
    std::string base_url_;
};

// The error message of an API answer's {"error": {...}} body, or the body itself.
std::string api_error_message(const ApiResponse& response);

}  // namespace hirestream::app
