# The Debian package (docs/debian-package.md):
#
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_INSTALL_PREFIX=/usr -DTTLOG_TESTS=OFF
#   cmake --build build-deb --parallel 2
#   cpack -G DEB --config build-deb/CPackConfig.cmake -B build-deb
#
# gives build-deb/ttlog_VERSION-1_ARCH.deb; tests/package/test_deb.sh
# builds it that way, installs it into a fresh Debian root and checks it.
#
# One package, `ttlog`: the agent and ttlog-view, libttlog with its headers,
# ttlog.pc and the CMake package, the plugins, /etc/ttlog/ttlog.yaml (a
# conffile) and ttlog-agent.service. Depends is computed by dpkg-shlibdeps
# (dpkg-dev) from what the binaries and plugins link.

# The service files: the host agent's configuration, the systemd unit, and
# what Debian policy asks of every package (the copyright file and a
# compressed changelog in /usr/share/doc/ttlog). The first two go to
# absolute system paths (/etc, /lib/systemd/system), so all of this is
# installed only for a /usr prefix (the package, a distribution-style
# install); a /usr/local or staging install (tests/sdk) never writes there.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(ttlog_service_default ON)
else()
  set(ttlog_service_default OFF)
endif()
option(TTLOG_INSTALL_SERVICE
  "Install /etc/ttlog/ttlog.yaml, ttlog-agent.service and the Debian docs (default: ON when CMAKE_INSTALL_PREFIX is /usr)"
  ${ttlog_service_default})
# bookworm's debhelper and systemd.pc put units in /lib/systemd/system.
set(TTLOG_SYSTEMD_UNIT_DIR /lib/systemd/system CACHE PATH
  "Where ttlog-agent.service is installed")

# The hardening flags Debian builds packages with (dpkg-buildflags with
# hardening=+all): fortified libc calls, stack protector, full RELRO.
option(TTLOG_HARDEN
  "Build with -D_FORTIFY_SOURCE=2, -fstack-protector-strong, -z relro -z now (default: as TTLOG_INSTALL_SERVICE)"
  ${TTLOG_INSTALL_SERVICE})
if(TTLOG_HARDEN)
  # _FORTIFY_SOURCE needs optimization, so not in Debug builds.
  add_compile_options($<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>
    -fstack-protector-strong)
  add_link_options(LINKER:-z,relro LINKER:-z,now)
endif()

set(ttlog_deb ${PROJECT_SOURCE_DIR}/packaging/deb)
set(TTLOG_DEB_RELEASE 1)
set(TTLOG_DEB_MAINTAINER "ttlog maintainers <ttlog@example.org>")

if(TTLOG_INSTALL_SERVICE)
  # For the unit: where the agent and its configuration are.
  set(TTLOG_AGENT_BIN ${CMAKE_INSTALL_FULL_BINDIR}/ttlog-agent)
  set(TTLOG_AGENT_CONF ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ttlog/ttlog.yaml)
  configure_file(${ttlog_deb}/ttlog-agent.service.in
    ${PROJECT_BINARY_DIR}/deb/ttlog-agent.service @ONLY)
  install(FILES ${ttlog_deb}/ttlog.yaml
    DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/ttlog)
  install(FILES ${PROJECT_BINARY_DIR}/deb/ttlog-agent.service
    DESTINATION ${TTLOG_SYSTEMD_UNIT_DIR})

  # The changelog's date is the build's (SOURCE_DATE_EPOCH when set, for
  # reproducible builds); gzip -n leaves the time out of the .gz, -k keeps
  # the input (the custom command depends on it).
  string(TIMESTAMP TTLOG_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
  configure_file(${ttlog_deb}/changelog.in
    ${PROJECT_BINARY_DIR}/deb/changelog.Debian @ONLY)
  find_program(TTLOG_GZIP gzip REQUIRED)
  add_custom_command(OUTPUT ${PROJECT_BINARY_DIR}/deb/changelog.Debian.gz
    COMMAND ${TTLOG_GZIP} -9nkf ${PROJECT_BINARY_DIR}/deb/changelog.Debian
    DEPENDS ${PROJECT_BINARY_DIR}/deb/changelog.Debian
    COMMENT "Compressing the Debian changelog")
  add_custom_target(ttlog_deb_changelog ALL
    DEPENDS ${PROJECT_BINARY_DIR}/deb/changelog.Debian.gz)
  set(ttlog_doc ${CMAKE_INSTALL_DATAROOTDIR}/doc/ttlog)
  install(FILES ${ttlog_deb}/copyright
    ${PROJECT_BINARY_DIR}/deb/changelog.Debian.gz
    ${PROJECT_SOURCE_DIR}/README.md
    ${PROJECT_SOURCE_DIR}/docs/debian-package.md
    ${PROJECT_SOURCE_DIR}/docs/network-exposure.md
    DESTINATION ${ttlog_doc})
  # The single-package layout is deliberate; lintian is told why.
  install(FILES ${ttlog_deb}/lintian-overrides
    DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/lintian/overrides RENAME ttlog)
  # The documented default configuration and the examples, for the
  # configuration comments to point at.
  file(GLOB ttlog_conf_examples ${PROJECT_SOURCE_DIR}/conf/examples/*.yaml)
  install(FILES ${PROJECT_SOURCE_DIR}/conf/ttlog.yaml ${ttlog_conf_examples}
    DESTINATION ${ttlog_doc}/examples)
endif()

# ---- CPack: the .deb ----
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "ttlog: a Debian package wants -DCMAKE_INSTALL_PREFIX=/usr "
                 "(this build has ${CMAKE_INSTALL_PREFIX})")
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ttlog)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${TTLOG_DEB_MAINTAINER}")
# The plugin directory compiled into libttlog comes from the configure-time
# prefix; the package must put the files under the same one.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_RELEASE ${TTLOG_DEB_RELEASE})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${TTLOG_DEB_MAINTAINER}")
# The synopsis is the project's DESCRIPTION (CPACK_PACKAGE_DESCRIPTION_SUMMARY).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"libttlog is structured logging for C programs: a log call copies its
arguments into a per-thread ring and returns, without a lock, an allocation
or a system call; one writer thread encodes batches and hands them to
listener plugins. Nothing is lost without a counter saying so.
.
ttlog-agent takes syslog, JSON lines and ttlog's acknowledged protocol and
forwards over TLS with a disk spool; this package runs it as the systemd
service ttlog-agent.service, configured in /etc/ttlog/ttlog.yaml.
ttlog-view prints flight-recorder snapshots and binary logs.
.
The package also holds the headers, ttlog.pc and the CMake package for
building applications and listener plugins.")
# Depends: the shared libraries the binaries and plugins link, with the
# versions their symbols need (dpkg-shlibdeps), plus adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# shlibs: what a package linking libttlog.so.0 depends on. Written here
# rather than by CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS, which also inspects
# the plugins (modules without a soname) and warns about each.
# triggers: ldconfig after the library is installed or removed.
configure_file(${ttlog_deb}/shlibs.in ${PROJECT_BINARY_DIR}/deb/shlibs @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${ttlog_deb}/conffiles ${ttlog_deb}/postinst ${ttlog_deb}/prerm
  ${ttlog_deb}/postrm ${ttlog_deb}/triggers ${PROJECT_BINARY_DIR}/deb/shlibs)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
