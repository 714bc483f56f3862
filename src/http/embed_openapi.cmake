# Turns openapi.json into a C++ source file at build time: -DINPUT=<json> -DOUTPUT=<cc>.
# The document is split into raw string literals under 16,000 bytes joined at first use
# (embed_text.cmake says why).
include("${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake")
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}"
  "// Generated from src/http/openapi.json by embed_openapi.cmake: edit the JSON.\n"
  "#include \"http/openapi_document.h\"\n\n#include <string>\n\n"
  "namespace hirestream::http {\n\n"
  "std::string_view openapi_document() {\n"
  "    static const std::string kDocument = [] {\n"
  "        std::string out;\n")
embed_raw_literals("${OUTPUT}" content openapi_json)
file(APPEND "${OUTPUT}"
  "        return out;\n"
  "    }();\n"
  "    return kDocument;\n"
  "}\n\n"
  "}  // namespace hirestream::http\n")
