# SPDX-License-Identifier: MIT
# The docs test: every CORIO_API function has a page in docs/api whose
# SYNOPSIS matches its header, and every EXAMPLE in docs/ compiles against
# libcorio.a (and corio_tls, corio_pg, corio_http where they are built)
# and runs. Included from tests/CMakeLists.txt.
find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  set(_corio_docs_python ${Python3_EXECUTABLE})
else()
  set(_corio_docs_python /usr/bin/python3)
endif()

# A sanitizer build's library needs the same runtime in the examples.
set(_corio_docs_cflags "")
if(CORIO_SANITIZE)
  string(REPLACE ";" "," _corio_docs_san "${CORIO_SANITIZE}")
  set(_corio_docs_cflags "-fsanitize=${_corio_docs_san}")
endif()
# The file API links liburing. Its flags go before the example's source
# on the command line, so keep the library even if nothing needs it yet.
if(CORIO_HAVE_URING)
  string(APPEND _corio_docs_cflags
         " -Wl,--no-as-needed ${CORIO_URING_LIBRARY}")
endif()
# The resolver links c-ares, the same way.
if(CORIO_HAVE_CARES)
  string(APPEND _corio_docs_cflags
         " -Wl,--no-as-needed ${CORIO_CARES_LIBRARY}")
endif()
# The TLS examples link corio_tls and OpenSSL (after libcorio.a).
set(_corio_docs_tls "")
if(CORIO_HAVE_TLS)
  set(_corio_docs_tls --tls-lib $<TARGET_FILE:corio_tls_static>
      "--tls-libs=${OPENSSL_SSL_LIBRARY} ${OPENSSL_CRYPTO_LIBRARY}")
endif()
# The PostgreSQL examples link corio_pg and libpq, and run against the
# tests' throwaway cluster (fixture "pg", required in tests/pg/pg.cmake).
set(_corio_docs_pg "")
if(CORIO_HAVE_PG)
  set(_corio_docs_pg --pg-lib $<TARGET_FILE:corio_pg_static>
      "--pg-libs=${CORIO_PQ_LIBRARY} ${CORIO_SSL_LIBRARY}"
      --pg-dsn-file ${CMAKE_CURRENT_BINARY_DIR}/pg-cluster/dsn)
endif()
# The HTTP examples link corio_http, then corio_tls (above) where
# corio_http was built with it, and libcurl and OpenSSL after libcorio.a;
# without libcurl there is no client, and its examples are skipped.
set(_corio_docs_http "")
if(CORIO_HAVE_HTTP)
  set(_corio_docs_http_libs "")
  if(CORIO_HAVE_HTTP_CLIENT)
    string(APPEND _corio_docs_http_libs "${CORIO_CURL_LIBRARY} ")
  endif()
  if(CORIO_HAVE_TLS)
    string(APPEND _corio_docs_http_libs
           "${OPENSSL_SSL_LIBRARY} ${OPENSSL_CRYPTO_LIBRARY}")
  endif()
  set(_corio_docs_http --http-lib $<TARGET_FILE:corio_http_static>
      "--http-libs=${_corio_docs_http_libs}")
  if(NOT CORIO_HAVE_HTTP_CLIENT)
    list(APPEND _corio_docs_http --no-http-client)
  endif()
endif()
# Under a cross-compiling emulator, the examples run under it too.
string(REPLACE ";" " " _corio_docs_run "${CMAKE_CROSSCOMPILING_EMULATOR}")

add_test(NAME docs.check
  COMMAND ${_corio_docs_python} ${PROJECT_SOURCE_DIR}/tools/check-docs.py
          --cc ${CMAKE_C_COMPILER}
          --include ${PROJECT_SOURCE_DIR}/include
          --lib $<TARGET_FILE:corio_static>
          ${_corio_docs_tls}
          ${_corio_docs_pg}
          ${_corio_docs_http}
          "--cflags=${_corio_docs_cflags}"
          "--run-with=${_corio_docs_run}"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(docs.check PROPERTIES LABELS docs TIMEOUT 600)
