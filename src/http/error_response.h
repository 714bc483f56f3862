#pragma once
// The one place an Errc becomes an HTTP status and the JSON body
// {"error": {"code": "...", "message": "...", "field": "..."}}.

#include "common/result.h"
#include "http/message.h"

namespace hirestream::http {

int status_for(Errc code);
Response error_response(const Error& error);
// A JSON response with the given status and serialized body.
Response json_response(int status, std::string body);

}  // namespace hirestream::http
