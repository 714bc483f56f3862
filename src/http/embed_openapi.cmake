# Turns openapi.json into a C++ source file at build time: -DINPUT=<json> -DOUTPUT=<cc>.
# The document is split into raw string literals of at most 16,000 bytes joined at first use:
# a single literal would exceed the 65,536 characters compilers must support
# (clang: -Woverlength-strings, an error with -Wpedantic -Werror).
file(READ "${INPUT}" content)
string(LENGTH "${content}" length)
set(chunk_size 16000)
file(WRITE "${OUTPUT}"
  "// Generated from src/http/openapi.json by embed_openapi.cmake: edit the JSON.\n"
  "#include \"http/openapi_document.h\"\n\n#include <string>\n\n"
  "namespace hirestream::http {\n\n"
  "std::string_view openapi_document() {\n"
  "    static const std::string kDocument = [] {\n"
  "        std::string out;\n")
set(offset 0)
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} ${chunk_size} chunk)
  file(APPEND "${OUTPUT}" "        out += R\"openapi_json(${chunk})openapi_json\";\n")
  math(EXPR offset "${offset} + ${chunk_size}")
endwhile()
file(APPEND "${OUTPUT}"
  "        return out;\n"
  "    }();\n"
  "    return kDocument;\n"
  "}\n\n"
  "}  // namespace hirestream::http\n")
