# Test registration helpers.
#
# weft_add_test_program(SOURCE file.c [LIBS ...] [ENV VAR=value...]) builds one program and
# registers each `WT_CASE(name, "labels")` in it as its own ctest case with
# those labels. Cases labelled `valgrind` run under memcheck and cases
# labelled `helgrind` under helgrind when WEFT_VALGRIND is on; either way
# valgrind's verdict is the exit code (99 on any error or leak).

find_program(WEFT_VALGRIND_EXE valgrind)
set(WEFT_MEMCHECK_CMD ${WEFT_VALGRIND_EXE} --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible
    --track-origins=yes --child-silent-after-fork=yes --quiet)
set(WEFT_HELGRIND_CMD ${WEFT_VALGRIND_EXE} --tool=helgrind --error-exitcode=99
    --child-silent-after-fork=yes --quiet)

# The command prefix for a test with the given labels.
function(weft_test_launcher out labels)
  set(cmd "")
  if(WEFT_VALGRIND)
    if(NOT WEFT_VALGRIND_EXE)
      message(FATAL_ERROR "WEFT_VALGRIND needs valgrind")
    endif()
    if("helgrind" IN_LIST labels)
      set(cmd ${WEFT_HELGRIND_CMD})
    elseif("valgrind" IN_LIST labels)
      set(cmd ${WEFT_MEMCHECK_CMD})
    endif()
  endif()
  set(${out} "${cmd}" PARENT_SCOPE)
endfunction()

# Properties every weft test gets: timeout scaled for the tools, and the
# slow-mode switch under valgrind.
function(weft_test_properties test labels)
  set(timeout 60)
  if("stress" IN_LIST labels)
    set(timeout 120)
  endif()
  set(env "")
  if(WEFT_VALGRIND AND ("valgrind" IN_LIST labels OR "helgrind" IN_LIST labels))
    math(EXPR timeout "${timeout} * 4")
    set(env "WEFT_TEST_SLOW=1")
  endif()
  set_tests_properties(${test} PROPERTIES LABELS "${labels}" TIMEOUT ${timeout}
    SKIP_RETURN_CODE 77)
  if(env)
    set_tests_properties(${test} PROPERTIES ENVIRONMENT "${env}")
  endif()
endfunction()

function(weft_add_test_program)
  cmake_parse_arguments(T "" "SOURCE" "LIBS;ENV" ${ARGN})
  get_filename_component(prog ${T_SOURCE} NAME_WE)
  add_executable(${prog} ${T_SOURCE})
  target_include_directories(${prog} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${prog} PRIVATE ${T_LIBS} weft_warnings)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${T_SOURCE})
  file(STRINGS ${T_SOURCE} lines REGEX "^WT_CASE\\(")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^WT_CASE\\(([A-Za-z0-9_]+), *\"([^\"]*)\"\\)")
      message(FATAL_ERROR "${T_SOURCE}: cannot read test case line: ${line}")
    endif()
    set(case ${CMAKE_MATCH_1})
    string(REPLACE " " ";" labels "${CMAKE_MATCH_2}")
    weft_test_launcher(launcher "${labels}")
    add_test(NAME ${case} COMMAND ${launcher} $<TARGET_FILE:${prog}> ${case})
    weft_test_properties(${case} "${labels}")
    if(T_ENV)
      set_property(TEST ${case} APPEND PROPERTY ENVIRONMENT ${T_ENV})
    endif()
  endforeach()
endfunction()
