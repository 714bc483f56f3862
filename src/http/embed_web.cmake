# Turns the web app's files into a C++ source file at build time: -DWEB_DIR=<web/>
# -DOUTPUT=<cc>. Every .html, .js, .css and .svg file under WEB_DIR becomes one WebAsset
# (web_assets.h) served at its path relative to WEB_DIR, with its content type and an ETag (a
# hash of its bytes). Each file is split into raw string literals under 16,000 bytes
# (embed_text.cmake says why). Files must be UTF-8 text.
include("${CMAKE_CURRENT_LIST_DIR}/embed_text.cmake")
file(GLOB_RECURSE files RELATIVE "${WEB_DIR}"
     "${WEB_DIR}/*.html" "${WEB_DIR}/*.js" "${WEB_DIR}/*.css" "${WEB_DIR}/*.svg")
list(SORT files)
file(WRITE "${OUTPUT}"
  "// Generated from web/ by embed_web.cmake: edit the files there.\n"
  "#include \"http/web_assets.h\"\n\n#include <string>\n\n"
  "namespace hirestream::http {\n\n"
  "std::span<const WebAsset> web_assets() {\n")
set(index 0)
set(table "")
foreach(file IN LISTS files)
  file(READ "${WEB_DIR}/${file}" content)
  string(SHA256 hash "${content}")
  string(SUBSTRING "${hash}" 0 20 etag)
  get_filename_component(ext "${file}" LAST_EXT)
  if(ext STREQUAL ".html")
    set(type "text/html; charset=utf-8")
  elseif(ext STREQUAL ".js")
    set(type "text/javascript; charset=utf-8")
  elseif(ext STREQUAL ".css")
    set(type "text/css; charset=utf-8")
  else()
    set(type "image/svg+xml")
  endif()
  file(APPEND "${OUTPUT}"
    "    static const std::string body${index} = [] {\n"
    "        std::string out;\n")
  embed_raw_literals("${OUTPUT}" content web_asset)
  file(APPEND "${OUTPUT}"
    "        return out;\n"
    "    }();\n")
  string(APPEND table "        {\"/${file}\", \"${type}\", body${index}, \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(APPEND "${OUTPUT}"
  "    static const WebAsset kAssets[] = {\n"
  "${table}"
  "    };\n"
  "    return kAssets;\n"
  "}\n\n"
  "}  // namespace hirestream::http\n")
