# embed_raw_literals(<output file> <variable> <delimiter>): appends to the output file, for the
# text held in <variable>, lines `        out += R"<delimiter>(...)<delimiter>";` of at most
# 16,000 bytes each: a single literal would exceed the 65,536 characters compilers must support
# (clang: -Woverlength-strings, an error with -Wpedantic -Werror). Shared by the embedding
# scripts (embed_openapi.cmake, embed_web.cmake).
function(embed_raw_literals output variable delimiter)
  set(content "${${variable}}")
  string(FIND "${content}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "the text to embed contains the literal's delimiter )${delimiter}\"")
  endif()
  string(LENGTH "${content}" length)
  set(chunk_size 16000)
  set(offset 0)
  while(offset LESS length)
    string(SUBSTRING "${content}" ${offset} ${chunk_size} chunk)
    file(APPEND "${output}" "        out += R\"${delimiter}(${chunk})${delimiter}\";\n")
    math(EXPR offset "${offset} + ${chunk_size}")
  endwhile()
endfunction()
