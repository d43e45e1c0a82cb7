# check_headers.cmake - compiles each public header alone, then macros.c
# (every macro expanded), with one compiler in each language standard it is
# checked for, warnings as errors; and checks that a field of a type the
# macros do not take (reject.c) still fails to compile. Any failure fails
# the run. Run by ctest (tests/headers/CMakeLists.txt) as
#   cmake -DCOMPILER=PATH -DNAME=gcc -DLANG=C|CXX -DSTANDARDS="11;17"
#         -DHEADERS="a.h;b.h" -DINCLUDES="dir;dir" -DSOURCE_DIR=DIR
#         -DWORK_DIR=DIR -P check_headers.cmake
# A COMPILER that was not found prints a line starting "ttlog-headers:
# skipped", which the test's SKIP_REGULAR_EXPRESSION reports as skipped.
cmake_minimum_required(VERSION 3.25)

if(NOT COMPILER OR NOT EXISTS "${COMPILER}")
  message("ttlog-headers: skipped: ${NAME} is not installed (found no "
          "'${NAME}' when the build was configured); nothing was checked")
  return()
endif()

# The project's own warnings (cmake/TtlogWarnings.cmake); as C++ also the
# ones C++ projects commonly build with, since the macros expand in their
# code, and without exceptions or RTTI, which the headers must not need.
set(warnings -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Werror)
if(LANG STREQUAL "CXX")
  set(std_prefix c++)
  set(lang_flags -x c++ -Wold-style-cast -Wconversion -Wsign-conversion
      -fno-exceptions -fno-rtti)
  set(ext cpp)
else()
  set(std_prefix c)
  set(lang_flags -x c -Wstrict-prototypes -Wmissing-prototypes)
  set(ext c)
endif()
set(include_flags)
foreach(dir IN LISTS INCLUDES)
  list(APPEND include_flags -I${dir})
endforeach()

set(failed)
# compile(WHAT SOURCE STD EXPECT): EXPECT is PASS, or FAIL:<regex> for a
# source that must not compile and must say why in words matching regex.
function(compile what source std expect)
  set(obj ${WORK_DIR}/${NAME}/${std_prefix}${std}/${what}.o)
  get_filename_component(dir ${obj} DIRECTORY)
  file(MAKE_DIRECTORY ${dir})
  set(cmd ${COMPILER} -std=${std_prefix}${std} ${warnings} ${lang_flags}
      ${include_flags} -c ${source} -o ${obj})
  execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE out)
  string(REPLACE ";" " " shown "${cmd}")
  set(label "${NAME} -std=${std_prefix}${std} ${what}")
  if(expect STREQUAL "PASS")
    set(ok FALSE)
    if(rc EQUAL 0)
      set(ok TRUE)
    endif()
  else()
    string(REGEX REPLACE "^FAIL:" "" want "${expect}")
    set(ok FALSE)
    if(NOT rc EQUAL 0 AND out MATCHES "${want}")
      set(ok TRUE)
    endif()
  endif()
  if(ok)
    message("ok     ${label}")
  else()
    if(expect STREQUAL "PASS")
      message("FAILED ${label}\n  ${shown}\n${out}")
    else()
      message("FAILED ${label}: must fail to compile with an error "
              "matching '${want}' (exit ${rc})\n  ${shown}\n${out}")
    endif()
    set(failed ${failed} "${label}" PARENT_SCOPE)
  endif()
endfunction()

foreach(std IN LISTS STANDARDS)
  foreach(header IN LISTS HEADERS)
    # Included twice: the include guard must hold. The declaration keeps a
    # header of macros only from being an empty translation unit.
    string(MAKE_C_IDENTIFIER ${header} id)
    set(tu ${WORK_DIR}/${NAME}/${std_prefix}${std}/${id}.${ext})
    file(WRITE ${tu} "#include <ttlog/${header}>\n#include <ttlog/${header}>\n"
                     "int ttlog_header_check_${id}(void);\n")
    compile(${header} ${tu} ${std} PASS)
  endforeach()
  compile(macros.c ${SOURCE_DIR}/macros.c ${std} PASS)
  if(LANG STREQUAL "CXX")
    compile(reject.c ${SOURCE_DIR}/reject.c ${std} "FAIL:TTLOG_KV: the value must be")
  else()
    compile(reject.c ${SOURCE_DIR}/reject.c ${std} "FAIL:_Generic|association")
  endif()
endforeach()

if(failed)
  list(LENGTH failed n)
  string(REPLACE ";" "\n  " list "${failed}")
  message(FATAL_ERROR "${n} header check(s) failed:\n  ${list}")
endif()
message("ttlog-headers: ${NAME}: every check passed")
