#include "http/request_target.h"

#include <string>
#include <utility>

#include <boost/url/parse.hpp>

namespace hirestream::http {

bool parse_target(std::string_view target, Request& out) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return false;
    // Built in a local then moved: assigning "/" over the decoded path trips GCC 12's false
    // -Wrestrict (GCC bug 105329) once this is no longer inlined into its caller.
    std::string path = url->path();  // decoded
    if (path.empty()) path.push_back('/');
    out.path = std::move(path);
    for (auto param : url->params()) {
        out.query[std::string(param.key)] = std::string(param.value);
    }
    return true;
}

}  // namespace hirestream::http
