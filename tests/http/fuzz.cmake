# SPDX-License-Identifier: MIT
# The libFuzzer target of the HTTP request path (fuzz_http.c), in clang
# builds with AddressSanitizer (tools/test-all.sh's clang-asan stage): the
# server's sources and llhttp are compiled into it with the fuzzer's coverage
# instrumentation. CTest runs it for CORIO_HTTP_FUZZ_SECONDS (60) from the
# seed corpus in tests/data/http/corpus/ (label "fuzz"); new inputs go to
# a corpus directory in the build tree, never to the source tree.
set(CORIO_HTTP_FUZZ_SECONDS 60 CACHE STRING
    "How long CTest runs the HTTP fuzzer")
if(CMAKE_C_COMPILER_ID STREQUAL "Clang" AND CORIO_SANITIZE MATCHES "address"
   AND NOT CMAKE_CROSSCOMPILING)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
  check_c_source_compiles("
    #include <stddef.h>
    #include <stdint.h>
    int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
    { (void)d; (void)n; return 0; }" CORIO_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
endif()
if(CORIO_HAVE_LIBFUZZER)
  list(TRANSFORM CORIO_HTTP_SERVER_SOURCES PREPEND ${PROJECT_SOURCE_DIR}/
       OUTPUT_VARIABLE _fuzz_http_sources)
  add_executable(fuzz_http http/fuzz_http.c ${_fuzz_http_sources}
                 ${CORIO_LLHTTP_SOURCES})
  set_source_files_properties(${CORIO_LLHTTP_SOURCES} TARGET_DIRECTORY
                              fuzz_http PROPERTIES COMPILE_OPTIONS -w)
  target_include_directories(fuzz_http PRIVATE ${PROJECT_SOURCE_DIR}/src
                             ${CORIO_LLHTTP_INCLUDE})
  target_compile_definitions(fuzz_http PRIVATE _GNU_SOURCE)
  target_compile_options(fuzz_http PRIVATE -fsanitize=fuzzer)
  target_link_options(fuzz_http PRIVATE -fsanitize=fuzzer)
  target_link_libraries(fuzz_http PRIVATE corio_internal)
  set(_fuzz_dir ${CMAKE_CURRENT_BINARY_DIR}/http-fuzz-corpus)
  file(MAKE_DIRECTORY ${_fuzz_dir})
  add_test(NAME http.fuzz
    COMMAND fuzz_http -max_total_time=${CORIO_HTTP_FUZZ_SECONDS} -timeout=10
            -rss_limit_mb=4096 -print_final_stats=1 ${_fuzz_dir}
            ${PROJECT_SOURCE_DIR}/tests/data/http/corpus)
  set_tests_properties(http.fuzz PROPERTIES LABELS "http;fuzz" TIMEOUT 600)
endif()
