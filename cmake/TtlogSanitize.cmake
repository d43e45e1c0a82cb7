# TTLOG_SANITIZE=address builds everything with ASan and UBSan (every UBSan
# report is fatal); TTLOG_SANITIZE=thread with TSan.
if(TTLOG_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(TTLOG_SANITIZE STREQUAL "thread")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT TTLOG_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TTLOG_SANITIZE must be 'address', 'thread' or empty, not '${TTLOG_SANITIZE}'")
endif()

# TTLOG_FUZZ=ON builds the libFuzzer targets of tests/fuzz. It needs clang
# (configure with CC=clang in a build directory of its own): every target
# of that build is instrumented for coverage (fuzzer-no-link) with ASan and
# UBSan, so that the library code the fuzzers reach is both guided and
# checked. With another compiler only the corpus replays are built.
option(TTLOG_FUZZ "Build the libFuzzer targets (needs CC=clang)" OFF)
set(TTLOG_LIBFUZZER OFF)
if(TTLOG_FUZZ)
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    set(TTLOG_LIBFUZZER ON)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                        -fno-sanitize-recover=all -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
  else()
    message(WARNING "TTLOG_FUZZ needs clang (CC=clang), not "
                    "${CMAKE_C_COMPILER_ID}; building only the corpus replays")
  endif()
endif()
