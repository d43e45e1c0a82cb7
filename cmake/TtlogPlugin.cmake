# ttlog_add_plugin(NAME SOURCES file.c ...)
# Builds one listener plugin as NAME.so in ${PROJECT_BINARY_DIR}/plugins (the
# directory a build-tree run loads plugins from) and installs it into
# ${CMAKE_INSTALL_LIBDIR}/ttlog/plugins.
set(TTLOG_PLUGIN_BUILD_DIR ${PROJECT_BINARY_DIR}/plugins)
set(TTLOG_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/ttlog/plugins)

#
# In-tree plugins do not link libttlog: their ttlog_* references resolve
# from the process that loads them, which always holds libttlog (the
# registry lives there). Linking it would put a second copy of the library
# into test programs that carry the static one.
function(ttlog_plugin_target target)
  target_include_directories(${target} PRIVATE
    ${PROJECT_SOURCE_DIR}/include ${PROJECT_BINARY_DIR}/include)
  add_dependencies(${target} ttlog)
endfunction()

function(ttlog_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(ttlog_plugin_${name} MODULE ${P_SOURCES})
  ttlog_plugin_target(ttlog_plugin_${name})
  target_link_libraries(ttlog_plugin_${name} PRIVATE ${P_LIBS})
  set_target_properties(ttlog_plugin_${name} PROPERTIES
    PREFIX "" OUTPUT_NAME ${name}
    LIBRARY_OUTPUT_DIRECTORY ${TTLOG_PLUGIN_BUILD_DIR})
  install(TARGETS ttlog_plugin_${name}
    LIBRARY DESTINATION ${TTLOG_PLUGIN_INSTALL_DIR})
endfunction()
