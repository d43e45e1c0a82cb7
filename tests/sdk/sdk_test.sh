#!/usr/bin/env bash
# The plugin SDK as a plugin author uses it: install ttlog into a fresh
# prefix, build examples/plugin against it with find_package(ttlog) and,
# separately, with pkg-config, and load both builds into a program through
# ttlog.yaml.
#   sdk_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
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
		-o "$t/with-pkgconfig/levelcount.so")

# 3. Both load and count: the demo logs 1 + 2*3 INFO events and 1 WARN.
cat >"$t/ttlog.yaml" <<YAML
listeners:
  - name: from-cmake
    plugin: $t/with-cmake/levelcount.so
    path: $t/count-cmake
  - name: from-pkgconfig
    plugin: $t/with-pkgconfig/levelcount.so
    path: $t/count-pkgconfig
YAML
"$build/examples/ttlog-demo" -c "$t/ttlog.yaml" 3 >/dev/null
for f in "$t/count-cmake" "$t/count-pkgconfig"; do
	grep -qx 'INFO=7' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
	grep -qx 'WARN=1' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
	grep -qx 'DEBUG=0' "$f" || { echo "FAIL: $f:"; cat "$f"; exit 1; }
done
echo "sdk: plugin built with find_package and with pkg-config, both loaded"
