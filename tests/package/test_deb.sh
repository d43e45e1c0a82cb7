#!/usr/bin/env bash
# tests/package/test_deb.sh - the Debian package, checked the way a user
# meets it: build the .deb, read its control data and contents, install it
# into a fresh Debian 12 root (its dependencies from the archive, then
# `dpkg -i`), run what it installed, build the example plugin against the
# installed SDK and load it into the installed agent, then boot that root
# with systemd (systemd-nspawn) and run the service: hardening in force,
# an event through the unix socket, reload, snapshot, restart, upgrade,
# remove and purge.
#
#   bash tests/package/test_deb.sh [--build-only] [--no-boot]
#
# From the repository root, as root. Installs what it needs on this machine
# (build dependencies, dpkg-dev, debootstrap, systemd-container).
# --build-only stops once the .deb is built and inspected (packaging/dev
# package). --no-boot (or TTLOG_DEB_BOOT=0) skips the systemd stage, for a
# machine that cannot run systemd-nspawn; the unit is then checked with
# systemd-analyze only. Commands marked "README:" are the ones README.md
# and docs/debian-package.md show, run verbatim.
set -euo pipefail

build_only=0
boot=${TTLOG_DEB_BOOT:-1}
for a in "$@"; do
	case $a in
	--build-only) build_only=1 ;;
	--no-boot) boot=0 ;;
	*)
		sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
done

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"

t0=${EPOCHREALTIME/./}
say() {
	local us=$((${EPOCHREALTIME/./} - t0))
	printf '[deb %4d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*"
}
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root (chroot, mounts, dpkg)"

# ---- this machine: what the build and the checks need ----
missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || printf '%s\n' "$p"
	done
}
ensure() {
	local need
	mapfile -t need < <(missing "$@")
	[ "${#need[@]}" -eq 0 ] && return 0
	say "installing on this machine: ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
}
host_pkgs=(gcc make cmake pkg-config libevent-dev liblz4-dev libssl-dev
	libyaml-dev libpcre2-dev libsystemd-dev librdkafka-dev dpkg-dev file binutils)
[ "$build_only" = 1 ] || host_pkgs+=(debootstrap procps)
[ "$build_only" = 0 ] && [ "$boot" = 1 ] && host_pkgs+=(systemd-container)
ensure "${host_pkgs[@]}"

work=$(mktemp -d /tmp/ttlog-deb-XXXXXX)
root=$work/root
nspawn_pid='' init=''
cleanup() {
	local rc=$?
	# The container's init first: killing it ends every process of the
	# container (killing only nspawn would leave them running).
	if [ -n "$init" ] && kill -0 "$init" 2>/dev/null; then
		kill -KILL "$init" 2>/dev/null || true
	fi
	if [ -n "$nspawn_pid" ]; then
		timeout 30 tail --pid="$nspawn_pid" -f /dev/null || kill -KILL "$nspawn_pid" 2>/dev/null || true
		wait "$nspawn_pid" 2>/dev/null || true
	fi
	if [ -n "$init" ] && kill -0 "$init" 2>/dev/null; then
		echo "test_deb: container init $init still running; $work left in place" >&2
		exit $rc
	fi
	for m in "$root/dev" "$root/proc"; do
		mountpoint -q "$m" 2>/dev/null && umount -l "$m"
	done
	# Never delete through a mount that is still there.
	if findmnt -rn -o TARGET | grep -q "^$root"; then
		echo "test_deb: $root still has mounts; left in place" >&2
	else
		rm -rf --one-file-system "$work"
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run LOG CMD...: CMD's output goes to $work/LOG, shown if it fails.
run() {
	local log=$work/$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		fail "$* (log above)"
	fi
}

# ---- 1. build the package ----
say "building the package (Release, build-deb/)"
rm -f build-deb/ttlog_*.deb
# README: the three commands that make the .deb
run configure.log cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DTTLOG_TESTS=OFF
run build.log cmake --build build-deb --parallel 2
run cpack.log cpack -G DEB --config build-deb/CPackConfig.cmake -B build-deb
debs=(build-deb/ttlog_*.deb)
[ "${#debs[@]}" -eq 1 ] && [ -f "${debs[0]}" ] ||
	fail "expected one build-deb/ttlog_*.deb, got: ${debs[*]}"
deb=${debs[0]}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' build-deb/CMakeCache.txt)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
say "built $deb ($(du -k "$deb" | cut -f1) KiB)"

# ---- 2. what the package says and holds ----
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = ttlog ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version-1" ] ||
	fail "Version: $(field Version), the project is $version"
[ "$(field Architecture)" = "$(dpkg --print-architecture)" ] ||
	fail "Architecture: $(field Architecture)"
depends=$(field Depends)
echo "  Depends: $depends"
for p in adduser libc6 libssl3 liblz4-1 libyaml-0-2 libpcre2-8-0 libsystemd0 librdkafka1 \
	libevent-core-2.1-7; do
	grep -Eq "(^|, )$p( \(|,|$)" <<<"$depends" ||
		fail "Depends lacks $p: $depends"
done
grep -Eq "(^|, )libc6 \(>= [0-9.]+\)" <<<"$depends" ||
	fail "Depends has no versioned libc6: $depends"
[ "$(dpkg-deb -I "$deb" conffiles)" = /etc/ttlog/ttlog.yaml ] ||
	fail "conffiles: $(dpkg-deb -I "$deb" conffiles)"

dpkg-deb -c "$deb" | awk '{print $6 ($7 ? " " $7 " " $8 : "")}' |
	sed 's|^\./|/|' >"$work/contents"
has() { grep -qxF -- "$1" "$work/contents" || fail "the package lacks $1"; }
lib=/usr/lib/$ma
for f in /usr/bin/ttlog-agent /usr/bin/ttlog-view \
	"$lib/libttlog.so.$version" \
	"$lib/libttlog.so.${version%%.*} -> libttlog.so.$version" \
	"$lib/libttlog.so -> libttlog.so.${version%%.*}" \
	"$lib/ttlog/plugins/stdout.so" "$lib/ttlog/plugins/file.so" \
	"$lib/ttlog/plugins/forward.so" \
	/usr/include/ttlog/ttlog.h /usr/include/ttlog/listener.h \
	/usr/include/ttlog/batch.h /usr/include/ttlog/export.h \
	/usr/include/ttlog/ttlog_macros.h /usr/include/ttlog/version.h \
	"$lib/pkgconfig/ttlog.pc" "$lib/cmake/ttlog/ttlogConfig.cmake" \
	"$lib/cmake/ttlog/ttlogConfigVersion.cmake" \
	"$lib/cmake/ttlog/ttlogTargets.cmake" \
	/etc/ttlog/ttlog.yaml /lib/systemd/system/ttlog-agent.service \
	/usr/share/doc/ttlog/copyright \
	/usr/share/doc/ttlog/changelog.Debian.gz; do
	has "$f"
done

# Depends names exactly the packages of the libraries the ELF files link
# (NEEDED), apart from libttlog itself, plus adduser for postinst.
dpkg-deb -x "$deb" "$work/x"
find "$work/x" -type f -exec sh -c \
	'file -b "$1" | grep -q "^ELF" && objdump -p "$1"' sh {} \; |
	awk '$1 == "NEEDED" {print $2}' | sort -u >"$work/needed"
: >"$work/needed-pkgs"
while read -r soname; do
	[ "${soname%%.so*}" = libttlog ] && continue
	p=$(dpkg -S "*/$ma/$soname" 2>/dev/null | cut -d: -f1 | sort -u)
	[ "$(wc -w <<<"$p")" -eq 1 ] || fail "packages holding $soname here: '$p'"
	echo "$p" >>"$work/needed-pkgs"
done <"$work/needed"
sort -u -o "$work/needed-pkgs" "$work/needed-pkgs"
sed 's/ ([^)]*)//g; s/, /\n/g' <<<"$depends" | grep -vx adduser |
	sort -u >"$work/depends-pkgs"
diff -u "$work/needed-pkgs" "$work/depends-pkgs" >&2 ||
	fail "Depends differs from the packages of the linked libraries (- linked, + Depends)"
say "package checked: $(wc -l <"$work/contents") entries, conffile, Depends = $(paste -sd' ' "$work/needed-pkgs")"
if [ "$build_only" = 1 ]; then
	say "PASS (build only): $deb"
	exit 0
fi

# ---- 3. a fresh Debian 12 root: dependencies from the archive, then dpkg -i ----
say "unpacking a fresh Debian 12 root"
run rootfs.log packaging/debian-base.sh rootfs "$root"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"
# debootstrap's sources.list repeats debian.sources (apt warns about it).
[ -f "$root/etc/apt/sources.list.d/debian.sources" ] &&
	rm -f "$root/etc/apt/sources.list"
inroot() {
	chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive "$@"
}
# The repository's layout, for the README's relative paths.
mkdir -p "$root/root/ttlog/build-deb" "$root/root/ttlog/examples"
cp "$deb" "$root/root/ttlog/build-deb/"
cp -r examples/plugin "$root/root/ttlog/examples/"
debname=$(basename "$deb")

say "installing Depends from the archive in the root"
run apt-update.log inroot apt-get update -qq
run apt-deps.log inroot apt-get satisfy -y -qq --no-install-recommends "$depends"
say "dpkg -i $debname"
run dpkg-i.log inroot dpkg -i "/root/ttlog/build-deb/$debname"

# ---- 4. what it installed runs ----
out=$(inroot ttlog-agent --version)
[[ $out == "ttlog-agent $version "* ]] || fail "ttlog-agent --version: $out"
out=$(inroot ttlog-view --version)
[[ $out == "ttlog-view $version "* ]] || fail "ttlog-view --version: $out"
# The packaged configuration, with type: stdout found in the default
# plugin directory.
out=$(inroot ttlog-agent --check /etc/ttlog/ttlog.yaml 2>&1) ||
	fail "ttlog-agent --check /etc/ttlog/ttlog.yaml: $out"
[ "$(head -n 1 <<<"$out")" = "/etc/ttlog/ttlog.yaml: ok (5 inputs, 1 listeners)" ] ||
	fail "--check said: $out"
# Then one line per listener: what its full queue does (docs/queues.md).
grep -q "^  listener .*: queue 64MiB, when full: drop_oldest" <<<"$out" ||
	fail "--check did not say what the queue does: $out"
for f in /usr/bin/ttlog-agent /usr/bin/ttlog-view "$lib/libttlog.so.${version%%.*}" \
	"$lib"/ttlog/plugins/stdout.so "$lib"/ttlog/plugins/file.so \
	"$lib"/ttlog/plugins/forward.so; do
	out=$(inroot ldd "$f") || fail "ldd $f: $out"
	! grep -q "not found" <<<"$out" || fail "ldd $f: $out"
done
pw=$(inroot getent passwd ttlog) || fail "no user ttlog"
[[ $pw == ttlog:x:*:*:*:/var/lib/ttlog:/usr/sbin/nologin ]] || fail "user ttlog: $pw"
inroot getent group ttlog >/dev/null || fail "no group ttlog"
[ "$(readlink "$root/etc/systemd/system/multi-user.target.wants/ttlog-agent.service")" = \
	/lib/systemd/system/ttlog-agent.service ] ||
	fail "postinst did not enable ttlog-agent.service"
say "installed: --version, --check, ldd, user ttlog, unit enabled"

# ---- 5. tools for the SDK, the unit and lintian ----
say "installing gcc, cmake, pkg-config, systemd, lintian in the root"
run apt-tools.log inroot apt-get install -y -qq --no-install-recommends \
	gcc libc6-dev make cmake pkg-config systemd netcat-openbsd lintian

# systemd's own checks of the unit: syntax, that its programs exist, and
# its exposure score (0 best, 10 worst) stays low.
out=$(inroot systemd-analyze verify /lib/systemd/system/ttlog-agent.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
inroot systemd-analyze security --offline=yes --threshold=20 \
	/lib/systemd/system/ttlog-agent.service >"$work/security.txt" 2>&1 ||
	{ cat "$work/security.txt" >&2; fail "systemd-analyze security: exposure above 2.0"; }
say "unit: systemd-analyze verify clean, $(grep -o 'exposure level.*' "$work/security.txt")"

inroot lintian "/root/ttlog/build-deb/$debname" >"$work/lintian.txt" 2>&1 ||
	{ cat "$work/lintian.txt" >&2; fail "lintian found errors"; }
say "lintian: $(grep -c '^[EW]:' "$work/lintian.txt" || true) warnings"
sed -n 's/^/  /; /^  [EW]:/p' "$work/lintian.txt"

# ---- 6. the example plugin, built against the installed SDK ----
say "building examples/plugin against the installed package"
cat >"$root/root/ttlog/sdk.sh" <<'SH'
set -eu
cd /root/ttlog
# README: a plugin against the installed package (CMake, then pkg-config)
cmake -S examples/plugin -B build-plugin
cmake --build build-plugin
cmake --install build-plugin
cc -shared -fPIC $(pkg-config --cflags ttlog) examples/plugin/levelcount.c -o levelcount.so
SH
run sdk.log inroot sh /root/ttlog/sdk.sh
test -f "$root$lib/ttlog/plugins/levelcount.so" ||
	fail "cmake --install did not put levelcount.so into $lib/ttlog/plugins"

# Both builds in the installed agent: 50 lines on stdin, the cmake build
# found by type in the default plugin directory, the pkg-config build by
# path. Each counts what the console listener printed.
cat >"$root/root/ttlog/sdk.yaml" <<'YAML'
service:
  name: sdk-check
inputs:
  - name: pipe
    type: stdin
listeners:
  - name: console
    type: stdout
    color: never
  - name: from-cmake
    type: levelcount
    path: /root/ttlog/count-cmake
  - name: from-pkgconfig
    plugin: /root/ttlog/levelcount.so
    path: /root/ttlog/count-pkgconfig
YAML
cat >"$root/root/ttlog/load.sh" <<'SH'
set -eu
cd /root/ttlog
seq -f 'event %g' 50 | ttlog-agent -c sdk.yaml >console.txt 2>agent.err &
agent=$!
# Wait for the last line to come out, not for a time.
timeout 30 sh -c 'until grep -q " INFO event 50$" console.txt; do sleep 0.1; done' ||
	{ cat agent.err console.txt; exit 1; }
kill -TERM "$agent"
wait "$agent"
SH
run load.log inroot sh /root/ttlog/load.sh
infos=$(grep -c ' INFO ' "$root/root/ttlog/console.txt")
for n in $(seq 1 50); do
	grep -q " INFO event $n$" "$root/root/ttlog/console.txt" ||
		fail "event $n missing from the console"
done
for f in count-cmake count-pkgconfig; do
	grep -qx "INFO=$infos" "$root/root/ttlog/$f" &&
		grep -qx "WARN=0" "$root/root/ttlog/$f" ||
		fail "$f does not count the $infos INFO events: $(cat "$root/root/ttlog/$f")"
done
[ "$infos" -ge 52 ] || fail "only $infos INFO events (50 lines, started, stopping)"
rm "$root$lib/ttlog/plugins/levelcount.so"
say "plugin built with find_package and with pkg-config; both loaded, INFO=$infos each"

# ---- 7. the service under systemd ----
if [ "$boot" = 1 ]; then
	umount "$root/dev" "$root/proc"
	say "booting the root with systemd-nspawn (private network)"
	nspawn_opts=(--quiet --boot --private-network --register=no --console=pipe)
	if [ ! -d /run/systemd/system ]; then
		# No systemd here: nspawn cannot ask it for a scope, and its
		# clean-up refuses a /run that is not a tmpfs; give it one in
		# a mount namespace of its own.
		nspawn_opts+=(--keep-unit)
		mkdir -p /run/systemd/nspawn
		unshare -m --propagation private sh -c \
			'mount -t tmpfs tmpfs /run/systemd/nspawn && exec systemd-nspawn "$@"' \
			sh -D "$root" "${nspawn_opts[@]}" >"$work/boot.log" 2>&1 &
	else
		systemd-nspawn -D "$root" "${nspawn_opts[@]}" >"$work/boot.log" 2>&1 &
	fi
	nspawn_pid=$!
	deadline=$((SECONDS + 60))
	while [ -z "$init" ]; do
		init=$(pgrep -P "$nspawn_pid" -x systemd || true)
		kill -0 "$nspawn_pid" 2>/dev/null || { cat "$work/boot.log" >&2; fail "systemd-nspawn exited"; }
		[ $SECONDS -lt $deadline ] || fail "no systemd in the container after 60 s"
		[ -n "$init" ] || sleep 0.1
	done
	incont() {
		nsenter -t "$init" -a /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
			PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
	}
	# is-system-running --wait returns once start-up is over; before
	# systemd listens it fails at once, so ask again until it answers.
	state=
	while :; do
		state=$(incont systemctl is-system-running --wait 2>/dev/null || true)
		case $state in running | degraded) break ;; esac
		[ $SECONDS -lt $deadline ] || fail "the container did not finish booting: $state"
		sleep 0.2
	done
	say "container up ($state)"
	[ "$state" = running ] || incont systemctl --failed --no-pager || true

	# journal_wait PATTERN: until the service's journal has a line
	# matching PATTERN (at most 30 s).
	journal_wait() {
		local end=$((SECONDS + 30))
		until incont journalctl -u ttlog-agent -o cat --no-pager | grep -Eq "$1"; do
			[ $SECONDS -lt $end ] || {
				incont journalctl -u ttlog-agent --no-pager | tail -n 30 >&2
				fail "no journal line matching: $1"
			}
			sleep 0.1
		done
	}
	mainpid() { incont systemctl show -P MainPID ttlog-agent; }

	[ "$(incont systemctl is-active ttlog-agent)" = active ] || {
		incont systemctl status ttlog-agent --no-pager >&2 || true
		fail "ttlog-agent.service is not active after boot"
	}
	journal_wait 'INFO agent started'
	pid=$(mainpid)
	st=$(incont cat "/proc/$pid/status")
	grep -q "^NoNewPrivs:[[:space:]]*1$" <<<"$st" || fail "NoNewPrivs not set"
	grep -q "^Seccomp:[[:space:]]*2$" <<<"$st" || fail "no seccomp filter"
	grep -q "^CapEff:[[:space:]]*0*$" <<<"$st" || fail "capabilities left: $(grep CapEff <<<"$st")"
	grep -q "^CapBnd:[[:space:]]*0*$" <<<"$st" || fail "bounding set not empty"
	uid=$(incont id -u ttlog)
	grep -Eq "^Uid:[[:space:]]+${uid}[[:space:]]" <<<"$st" || fail "not running as ttlog"
	say "service active as ttlog: no capabilities, no new privileges, seccomp"

	# README: is it healthy (GET /health)
	incont ttlog-agent -c /etc/ttlog/ttlog.yaml --health >/dev/null ||
		fail "ttlog-agent --health: not healthy"

	# A member of group ttlog may write to the socket; anyone else may not.
	incont adduser --disabled-password --gecos '' --quiet myapp
	# README: let user myapp write to /run/ttlog/ttlog.sock
	run adduser.log incont adduser myapp ttlog
	incont runuser -u myapp -- sh -c \
		'printf "{\"msg\":\"hello from app\",\"n\":1}\n" | nc -NU /run/ttlog/ttlog.sock' ||
		fail "user myapp (group ttlog) cannot write to /run/ttlog/ttlog.sock"
	if incont runuser -u nobody -- sh -c 'echo "{}" | nc -NU /run/ttlog/ttlog.sock' 2>/dev/null; then
		fail "user nobody could write to /run/ttlog/ttlog.sock"
	fi
	journal_wait 'INFO hello from app'
	# README: the service's log
	incont journalctl -u ttlog-agent | grep -q 'INFO hello from app n=1' ||
		fail "journalctl -u ttlog-agent does not show the event"
	say "event through /run/ttlog/ttlog.sock in the journal; nobody refused"

	# README: reload after editing /etc/ttlog/ttlog.yaml
	incont systemctl reload ttlog-agent
	journal_wait 'INFO configuration reloaded'
	[ "$(mainpid)" = "$pid" ] || fail "reload restarted the agent"
	# A broken file fails the reload; the agent keeps running.
	cp "$root/etc/ttlog/ttlog.yaml" "$work/ttlog.yaml.good"
	printf 'bogus_key: 1\n' >>"$root/etc/ttlog/ttlog.yaml"
	if incont systemctl reload ttlog-agent 2>/dev/null; then
		fail "systemctl reload succeeded with a broken configuration"
	fi
	[ "$(incont systemctl is-active ttlog-agent)" = active ] &&
		[ "$(mainpid)" = "$pid" ] || fail "a failed reload disturbed the agent"
	cp "$work/ttlog.yaml.good" "$root/etc/ttlog/ttlog.yaml"
	say "reload: good file applied, broken file refused by ExecReload"

	# A snapshot lands in the state directory, readable with ttlog-view.
	# docs: ask for a snapshot
	incont systemctl kill -s USR1 ttlog-agent
	journal_wait 'INFO snapshot written'
	snap=$(incont sh -c 'ls /var/lib/ttlog/snapshots/*.ttsnap' | head -n 1)
	[ -n "$snap" ] || fail "no snapshot in /var/lib/ttlog/snapshots"
	[ "$(incont stat -c %U "$snap")" = ttlog ] || fail "$snap not owned by ttlog"
	# docs: read the snapshot
	incont sh -c 'ttlog-view /var/lib/ttlog/snapshots/*.ttsnap' 2>/dev/null |
		grep -q 'INFO hello from app' || fail "ttlog-view $snap does not show the event"
	# Restart keeps the state directory.
	incont systemctl restart ttlog-agent
	[ "$(incont systemctl is-active ttlog-agent)" = active ] || fail "restart failed"
	[ "$(mainpid)" != "$pid" ] || fail "restart kept the old process"
	incont test -f "$snap" || fail "restart lost $snap"
	say "snapshot by SIGUSR1 in /var/lib/ttlog, kept across restart"

	# The drop-in docs/debian-package.md gives for a port below 1024.
	mkdir -p "$root/etc/systemd/system/ttlog-agent.service.d"
	cat >"$root/etc/systemd/system/ttlog-agent.service.d/privileged-port.conf" <<'UNIT'
[Service]
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
UNIT
	printf '  - name: syslog-514\n    type: syslog\n    listen: udp://127.0.0.1:514\n' \
		>>"$work/inputs-514"
	sed '/^inputs:$/r '"$work/inputs-514" "$work/ttlog.yaml.good" >"$root/etc/ttlog/ttlog.yaml"
	incont systemctl daemon-reload
	incont systemctl restart ttlog-agent ||
		fail "restart with the privileged-port drop-in failed"
	journal_wait 'input syslog-514 \(syslog\) on udp://127.0.0.1:514'
	rm -r "$root/etc/systemd/system/ttlog-agent.service.d"
	cp "$work/ttlog.yaml.good" "$root/etc/ttlog/ttlog.yaml"
	incont systemctl daemon-reload
	incont systemctl restart ttlog-agent
	say "port 514 with the CAP_NET_BIND_SERVICE drop-in"

	# Upgrade in place (same version): postinst restarts the service.
	pid=$(mainpid)
	run dpkg-upgrade.log incont dpkg -i "/root/ttlog/build-deb/$debname"
	[ "$(incont systemctl is-active ttlog-agent)" = active ] || fail "inactive after upgrade"
	[ "$(mainpid)" != "$pid" ] || fail "upgrade did not restart the agent"
	# A clean stop: the agent drains and exits 0 before TimeoutStopSec.
	incont systemctl stop ttlog-agent
	[ "$(incont systemctl show -P Result ttlog-agent)" = success ] ||
		fail "stop: $(incont systemctl show -P Result ttlog-agent)"
	# README: enable and start (the package did both on install)
	incont systemctl enable --now ttlog-agent
	[ "$(incont systemctl is-active ttlog-agent)" = active ] ||
		fail "systemctl enable --now did not start it"
	say "upgrade restarted the service; stop is clean; enable --now starts it"

	# Remove: prerm stops it, the conffile and the state stay until purge.
	run dpkg-r.log incont dpkg -r ttlog
	[ "$(incont systemctl is-active ttlog-agent || true)" != active ] ||
		fail "still running after dpkg -r"
	incont test -f /etc/ttlog/ttlog.yaml || fail "dpkg -r removed the conffile"
	incont test -d /var/lib/ttlog/snapshots || fail "dpkg -r removed the state"
	! incont test -e /usr/bin/ttlog-agent || fail "dpkg -r left the agent"
	run dpkg-purge.log incont dpkg --purge ttlog
	! incont test -e /etc/ttlog/ttlog.yaml || fail "purge left /etc/ttlog/ttlog.yaml"
	! incont test -e /var/lib/ttlog || fail "purge left /var/lib/ttlog"
	say "dpkg -r stopped it and kept the conffile and state; purge removed them"

	# README: installing the .deb with its dependencies (first install
	# under a running systemd: postinst enables and starts it).
	run apt-install.log incont sh -c 'cd /root/ttlog && apt-get install ./build-deb/ttlog_*.deb </dev/null'
	[ "$(incont systemctl is-active ttlog-agent)" = active ] ||
		fail "not started by a first install under systemd"
	incont ttlog-agent -c /etc/ttlog/ttlog.yaml --health >/dev/null ||
		fail "not healthy after the first install"
	say "apt-get install ./build-deb/ttlog_*.deb: enabled, started, healthy"

	# SIGTERM to nspawn: the container shuts down like a machine.
	kill -TERM "$nspawn_pid"
	timeout 30 tail --pid="$nspawn_pid" -f /dev/null ||
		fail "the container did not shut down within 30 s"
	wait "$nspawn_pid" || true
	nspawn_pid='' init=''
else
	say "SKIPPED: the systemd stage (--no-boot or TTLOG_DEB_BOOT=0)"
	run dpkg-r.log inroot dpkg -r ttlog
	test -f "$root/etc/ttlog/ttlog.yaml" || fail "dpkg -r removed the conffile"
	[ ! -e "$root/usr/bin/ttlog-agent" ] || fail "dpkg -r left the agent"
	run dpkg-purge.log inroot dpkg --purge ttlog
	[ ! -e "$root/etc/ttlog/ttlog.yaml" ] || fail "purge left the conffile"
	say "dpkg -r kept the conffile; purge removed it"
fi

say "PASS"
