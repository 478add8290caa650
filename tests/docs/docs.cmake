# SPDX-License-Identifier: MIT
# The docs test: every CORIO_API function has a page in docs/api whose
# SYNOPSIS matches its header, and every EXAMPLE in docs/ compiles against
# libcorio.a and runs. Included from tests/CMakeLists.txt.
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
# Under a cross-compiling emulator, the examples run under it too.
string(REPLACE ";" " " _corio_docs_run "${CMAKE_CROSSCOMPILING_EMULATOR}")

add_test(NAME docs.check
  COMMAND ${_corio_docs_python} ${PROJECT_SOURCE_DIR}/tools/check-docs.py
          --cc ${CMAKE_C_COMPILER}
          --include ${PROJECT_SOURCE_DIR}/include
          --lib $<TARGET_FILE:corio_static>
          "--cflags=${_corio_docs_cflags}"
          "--run-with=${_corio_docs_run}"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(docs.check PROPERTIES LABELS docs TIMEOUT 600)
