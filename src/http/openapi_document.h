#pragma once
// The OpenAPI 3.0 document of the API (src/http/openapi.json, embedded at build time), served at
// GET /openapi.json. A test checks it against the router's routes both ways.

#include <string_view>

namespace hirestream::http {

std::string_view openapi_document();

}  // namespace hirestream::http
