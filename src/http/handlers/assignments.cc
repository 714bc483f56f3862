// Assignment downloads: the link in every assignment email points here.

#include <fmt/format.h>

#include "http/handlers/handlers.h"

namespace hirestream::http {
namespace {

Result<Response> download(const ApiContext& ctx, Request& req) {
    const auto& file = req.param("file");
    // Only configured names match: a path like "../x" can never reach the file system.
    const auto name = file.ends_with(".zip") ? file.substr(0, file.size() - 4) : std::string();
    auto it = ctx.assignment_zips.find(name);
    if (it == ctx.assignment_zips.end()) {
        return fail(Errc::not_found, fmt::format("no assignment {}", file), "file");
    }
    Response r;
    r.content_type = "application/zip";
    r.body = it->second;
    r.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + file + "\"");
    return r;
}

}  // namespace

void add_assignment_routes(Router& router, const ApiContext& ctx) {
    router.add("GET", "/assignments/{file}", [&ctx](Request& r) { return download(ctx, r); });
}

}  // namespace hirestream::http
