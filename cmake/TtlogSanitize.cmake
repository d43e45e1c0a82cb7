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
