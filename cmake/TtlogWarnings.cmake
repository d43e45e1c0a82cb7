# Warnings for every target of the project (not for code we only link to).
# The prototype warnings exist only for C; the benchmark also has C++.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wformat=2
                    $<$<COMPILE_LANGUAGE:C>:-Wstrict-prototypes>
                    $<$<COMPILE_LANGUAGE:C>:-Wmissing-prototypes>)
if(TTLOG_WERROR)
  add_compile_options(-Werror)
endif()
