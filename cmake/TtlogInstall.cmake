# What `cmake --install` puts in place: the library and its headers, the
# plugins (see TtlogPlugin.cmake), ttlog.pc and the CMake package.
include(CMakePackageConfigHelpers)

install(TARGETS ttlog EXPORT ttlogTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES
  ${PROJECT_SOURCE_DIR}/include/ttlog/batch.h
  ${PROJECT_SOURCE_DIR}/include/ttlog/export.h
  ${PROJECT_SOURCE_DIR}/include/ttlog/listener.h
  ${PROJECT_SOURCE_DIR}/include/ttlog/ttlog.h
  ${PROJECT_SOURCE_DIR}/include/ttlog/ttlog_macros.h
  ${PROJECT_BINARY_DIR}/include/ttlog/version.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ttlog)

set(cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/ttlog)
install(EXPORT ttlogTargets NAMESPACE ttlog:: DESTINATION ${cmakedir})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/ttlogConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ttlogConfig.cmake
  INSTALL_DESTINATION ${cmakedir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR TTLOG_PLUGIN_INSTALL_DIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ttlogConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/ttlogConfig.cmake
  ${PROJECT_BINARY_DIR}/ttlogConfigVersion.cmake DESTINATION ${cmakedir})

# Relative to the .pc file, so the installed tree can be moved (and used
# from a staging prefix such as the SDK test's).
file(RELATIVE_PATH TTLOG_PC_RELATIVE_PREFIX
  ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" TTLOG_PC_RELATIVE_PREFIX "${TTLOG_PC_RELATIVE_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/packaging/ttlog.pc.in
  ${PROJECT_BINARY_DIR}/ttlog.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/ttlog.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
