# Turns openapi.json into a C++ source file at build time: -DINPUT=<json> -DOUTPUT=<cc>.
file(READ "${INPUT}" content)
file(WRITE "${OUTPUT}" "// Generated from src/http/openapi.json by embed_openapi.cmake: edit the JSON.\n#include \"http/openapi_document.h\"\n\nnamespace hirestream::http {\n\nstd::string_view openapi_document() {\n    static constexpr std::string_view kDocument = R\"openapi_json(${content})openapi_json\";\n    return kDocument;\n}\n\n}  // namespace hirestream::http\n")
