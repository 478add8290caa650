# SPDX-License-Identifier: MIT
# Run a test executable with --list after it is built and write one CTest
# test per case (as gtest_discover_tests does). Inputs: EXE, EMU (emulator
# command, ;-list, may be empty), OUT, PREFIX, LABEL (the module label).
execute_process(COMMAND ${EMU} ${EXE} --list
  OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXE} --list failed: ${rc}")
endif()
set(cmd "")
foreach(part IN LISTS EMU)
  string(APPEND cmd " [==[${part}]==]")
endforeach()
string(APPEND cmd " [==[${EXE}]==]")
string(REPLACE "\n" ";" lines "${listing}")
set(content "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  separate_arguments(parts UNIX_COMMAND "${line}")
  list(GET parts 0 name)
  list(GET parts 1 timeout)
  list(GET parts 2 labels)
  set(all_labels "${LABEL}")
  if(NOT labels STREQUAL "-")
    string(REPLACE "," ";" labels "${labels}")
    list(APPEND all_labels ${labels})
  endif()
  # CTest's limit backs up the harness's own alarm, with room for slow
  # emulators and sanitizers.
  math(EXPR ctest_timeout "${timeout} * 6 + 30")
  string(APPEND content
    "add_test([==[${PREFIX}.${name}]==]${cmd} [==[${name}]==])\n"
    "set_tests_properties([==[${PREFIX}.${name}]==] PROPERTIES "
    "LABELS \"${all_labels}\" TIMEOUT ${ctest_timeout} SKIP_RETURN_CODE 77)\n")
endforeach()
file(WRITE "${OUT}" "${content}")
