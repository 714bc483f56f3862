// A config file with its Serverless variables (${self:...}, ${env:...}, ${opt:...}, ...).
// The base directory does not exist, so ${file(...)} references fail as a missing file would.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string yaml(reinterpret_cast<const char*>(data), size);
    static const std::map<std::string, std::string> env = {{"STAGE", "prod"},
                                                           {"HOME", "/nonexistent"}};
    static const std::map<std::string, std::string> options = {{"stage", "dev"}};
    (void)hirestream::config::parse_config(yaml, "/nonexistent-fuzz-dir", env, options);
    return 0;
}
