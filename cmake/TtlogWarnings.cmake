# Warnings for every target of the project (not for code we only link to).
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
                    -Wmissing-prototypes -Wformat=2)
if(TTLOG_WERROR)
  add_compile_options(-Werror)
endif()
