# SPDX-License-Identifier: MIT
# The PostgreSQL tests (label pg), included from tests/CMakeLists.txt. The
# CTest fixture "pg" runs tests/pg/cluster.sh to start a throwaway cluster
# before the first of them and to stop and remove it after the last, also
# when tests fail; `ctest` alone manages the server. With CORIO_PG_DSN set,
# the script does nothing and the tests use that server.
if(NOT CORIO_HAVE_PG)
  return()
endif()
set(CORIO_PG_STATE ${CMAKE_CURRENT_BINARY_DIR}/pg-cluster)
set(CORIO_PG_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/pg/cluster.sh)
add_test(NAME pg.cluster.start
         COMMAND sh ${CORIO_PG_SCRIPT} start ${CORIO_PG_STATE})
add_test(NAME pg.cluster.stop
         COMMAND sh ${CORIO_PG_SCRIPT} stop ${CORIO_PG_STATE})
set_tests_properties(pg.cluster.start PROPERTIES FIXTURES_SETUP pg
                     LABELS pg TIMEOUT 120)
set_tests_properties(pg.cluster.stop PROPERTIES FIXTURES_CLEANUP pg
                     LABELS pg TIMEOUT 60)

# corio_pg_test(<topic> [extra labels]): tests/pg/test_<topic>.c, every case
# of which requires the fixture and finds the server through
# CORIO_PG_STATE (tests/pg/pg_helpers.h).
function(corio_pg_test topic)
  corio_test(pg ${topic} LIBS corio_pg_internal LABELS pg ${ARGN})
  set(name test_pg_${topic})
  target_include_directories(${name} PRIVATE ${CORIO_PQ_INCLUDE})
  target_compile_definitions(${name} PRIVATE
    CORIO_PG_CLUSTER_SH="${CORIO_PG_SCRIPT}")
  # CorioDiscover writes the cases' add_test lines; this file, read after
  # it, gives each of them the fixture and the environment.
  set(cases ${CMAKE_CURRENT_BINARY_DIR}/${name}_cases.cmake)
  set(inc ${CMAKE_CURRENT_BINARY_DIR}/${name}_pg.cmake)
  file(WRITE ${inc}
    "if(EXISTS \"${cases}\")\n"
    "  file(STRINGS \"${cases}\" _pg_lines REGEX \"^add_test\")\n"
    "  foreach(_pg_line IN LISTS _pg_lines)\n"
    "    string(REGEX MATCH \"^add_test\\\\(\\\\[==\\\\[([^]]*)\" _pg_m \"\${_pg_line}\")\n"
    "    set_tests_properties(\"\${CMAKE_MATCH_1}\" PROPERTIES\n"
    "      FIXTURES_REQUIRED pg\n"
    "      ENVIRONMENT \"CORIO_PG_STATE=${CORIO_PG_STATE}\")\n"
    "  endforeach()\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${inc})
endfunction()

corio_pg_test(conn)
corio_pg_test(query)
corio_pg_test(tx)
corio_pg_test(pipeline)
corio_pg_test(copy)
corio_pg_test(notify)
corio_pg_test(cancel)
corio_pg_test(pool)
corio_pg_test(restart slow)
corio_pg_test(fault)

# The docs' PostgreSQL examples run against the cluster too.
if(TEST docs.check)
  set_tests_properties(docs.check PROPERTIES FIXTURES_REQUIRED pg)
endif()
