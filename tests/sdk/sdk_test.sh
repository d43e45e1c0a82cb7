#!/usr/bin/env bash
# The plugin SDK as a plugin author uses it: install ttlog into a fresh
# prefix, build examples/plugin against it with find_package(ttlog) and,
# separately, with pkg-config, and load both builds into a program through
# ttlog.yaml.
#   sdk_test.sh BUILD_DIR SOURCE_DIR [APP_FLAGS]
# APP_FLAGS: compiler and linker flags a program needs to link this build
# of libttlog (the sanitizer it was built with, if any).
set -euo pipefail
build=$1 src=$2 app_flags=${3:-}
t=$(mktemp -d /tmp/ttlog-sdk-XXXXXX)
trap 'rm -rf "$t"' EXIT

cmake --install "$build" --prefix "$t/prefix" >/dev/null
test -f "$t/prefix/include/ttlog/listener.h"
libdir=$(dirname "$(find "$t/prefix" -name 'libttlog.so' | head -n 1)")

# 1. The CMake package.
cmake -S "$src/examples/plugin" -B "$t/with-cmake" \
	-DCMAKE_PREFIX_PATH="$t/prefix" >/dev/null
cmake --build "$t/with-cmake" >/dev/null

# 2. pkg-config and one compiler call, as docs/writing-a-plugin.md shows
#    it (the ttlog_* functions resolve from the process that loads it).
mkdir "$t/with-pkgconfig"
export PKG_CONFIG_PATH=$libdir/pkgconfig
test "$(realpath "$(pkg-config --variable=plugindir ttlog)")" = "$libdir/ttlog/plugins"
(cd "$src/examples/plugin" &&
	cc -shared -fPIC $(pkg-config --cflags ttlog) levelcount.c \
		-o "$t/with-pkgconfig/levelcount.so" &&
	cc -std=c11 -Wall -Wextra -Werror -shared -fPIC \
		$(pkg-config --cflags ttlog) csvalerts.c \
		-o "$t/with-pkgconfig/csvalerts.so")

# 3. Both load and count: the demo logs 1 + 2*3 INFO events and 1 WARN.
cat >"$t/ttlog.yaml" <<YAML
listeners:
  - name: from-cmake
    plugin: $t/with-cmake/levelcount.so
    path: $t/count-cmake
  - name: from-pkgconfig
    plugin: $t/with-pkgconfig/levelcount.so
    path: $t/count-pkgconfig
  - name: alerts-cmake
    plugin: $t/with-cmake/csvalerts.so
    path: $t/alerts-cmake.csv
  - name: alerts-pkgconfig
    plugin: $t/with-pkgconfig/csvalerts.so
    path: $t/alerts-pkgconfig.csv
YAML
"$build/examples/ttlog-demo" -c "$t/ttlog.yaml" 3 >/dev/null
for f in "$t/count-cmake" "$t/count-pkgconfig"; do
	grep -qx 'INFO=7' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
	grep -qx 'WARN=1' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
	grep -qx 'DEBUG=0' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
done
# The CSV example (docs/writing-a-plugin.md) keeps the one WARN, quoted.
for f in "$t/alerts-cmake.csv" "$t/alerts-pkgconfig.csv"; do
	test "$(wc -l <"$f")" -eq 1 || { echo "FAIL: $f:"; cat "$f"; exit 1; }
	grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z,WARN,"hostile ""input"" is escaped"$' "$f" ||
		{ echo "FAIL: $f:"; cat "$f"; exit 1; }
done
echo "sdk: plugins built with find_package and with pkg-config, all loaded"

# 4. The headers from C++: a C++17 program built in a C++-only CMake
#    project with find_package, and with pkg-config, logs through the
#    installed library.
cxx=${TTLOG_SDK_CXX:-$(command -v c++ || command -v g++ || command -v clang++ || true)}
if [ -z "$cxx" ]; then
	echo "sdk: no C++ compiler; the C++ program was not built (skipped)"
	exit 0
fi
mkdir "$t/cxx"
cat >"$t/cxx/app.cpp" <<'CPP'
#include <ttlog/ttlog.h>
#include <string>

int main()
{
	struct ttlog_stats st;
	std::string path("/api");
	if (ttlog_init(nullptr) != 0)
		return 1;
	TTLOG_INFO("request done", TTLOG_KV("id", 42u), TTLOG_KV("ms", 4.2),
		   TTLOG_KV("ok", true), TTLOG_KV("path", path.c_str()),
		   TTLOG_KV_STR("raw", path.data(), path.size()));
	TTLOG_DEBUG("filtered", TTLOG_KV("n", 1));
	ttlog_shutdown();
	ttlog_stats(&st);
	return st.produced == 1 && st.delivered == 1 ? 0 : 2;
}
CPP
cat >"$t/cxx/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(cxxapp LANGUAGES CXX)
set(CMAKE_CXX_STANDARD 17)
find_package(ttlog 0.1 REQUIRED)
add_executable(app app.cpp)
target_link_libraries(app PRIVATE ttlog::ttlog)
CMAKE
CXX=$cxx CXXFLAGS=$app_flags LDFLAGS=$app_flags cmake -S "$t/cxx" \
	-B "$t/cxx/build" -DCMAKE_PREFIX_PATH="$t/prefix" >/dev/null
cmake --build "$t/cxx/build" >/dev/null
"$cxx" -std=c++17 -Wall -Wextra -Wpedantic -Werror $app_flags \
	$(pkg-config --cflags ttlog) "$t/cxx/app.cpp" -o "$t/cxx/app-pkgconfig" \
	$(pkg-config --libs ttlog)
for app in "$t/cxx/build/app" "$t/cxx/app-pkgconfig"; do
	LD_LIBRARY_PATH=$libdir "$app" || { echo "FAIL: $app exited $?"; exit 1; }
done
echo "sdk: a C++ program built with find_package and with pkg-config, both ran"
