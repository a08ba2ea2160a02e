# expect_compile_error.cmake: run with `cmake -D... -P`. Compiles SOURCE with -DDAGSTACK_CASE_<CASE>
# (syntax only) and passes when the compiler refuses it and the first line that reports the
# problem (an "error:" line or GCC's "In instantiation of" line above it) matches EXPECT. With
# CASE empty, passes when the file compiles (the control).
# Variables: COMPILER, SOURCE, INCLUDE, CASE, EXPECT, COMPILER_ID.
if(CASE STREQUAL "control")
  set(CASE "")
endif()
set(_args -std=c++20 -fsyntax-only -I${INCLUDE})
if(CASE)
  list(APPEND _args -DDAGSTACK_CASE_${CASE})
endif()
execute_process(COMMAND ${COMPILER} ${_args} ${SOURCE}
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(NOT CASE)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "the control must compile:\n${_err}")
  endif()
  return()
endif()
if(_rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE} compiled; it must be refused")
endif()
string(REPLACE "\n" ";" _lines "${_err}")
set(_first "")
foreach(_line IN LISTS _lines)
  if(_line MATCHES "error:" OR _line MATCHES "In instantiation of")
    set(_first "${_line}")
    break()
  endif()
endforeach()
if(COMPILER_ID STREQUAL "GNU")
  set(_checked "${_first}")
else()
  set(_checked "${_err}")  # other compilers order their notes differently: search everything
endif()
if(NOT _checked MATCHES "${EXPECT}")
  message(FATAL_ERROR "case ${CASE}: expected /${EXPECT}/ in the first error line, got:\n"
                      "${_first}\n--- full output ---\n${_err}")
endif()
message(STATUS "case ${CASE} refused as expected: ${_first}")
