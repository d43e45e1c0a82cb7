#!/usr/bin/env bash
# tests/fresh/test_fresh.sh - the README's quick start on a fresh Debian 12
# machine, the way a newcomer meets it. For each of two users (root, and an
# unprivileged user with passwordless sudo), in a root file system of its
# own made fresh from `debootstrap --variant=minbase bookworm` with only git
# (and, for the user, sudo) added:
#
#   1. clone the commit and read the quick start from ITS README.md: the run
#      and test commands, the hello command, the lines the agent prints and
#      the line the hello command makes it print;
#   2. run the run command verbatim until the agent says it listens (every
#      "ttlog-agent: input ..." line the README shows), run the hello command
#      verbatim in bash, wait for the line, send Ctrl-C (SIGINT) and expect
#      exit status 0;
#   3. run the test command verbatim to ctest's summary, exit status 0.
#      The sudo user's run, which builds and installs the same packages
#      through sudo, runs only the unit tests (TTLOG_TEST_LABEL=unit, read
#      by packaging/dev): the whole suite already ran in the root's root
#      file system, and again would cost CI about three minutes.
#
# Everything runs with a soft open-file limit of 1,024, a common default.
#
#   bash tests/fresh/test_fresh.sh [--rev REV] [--as root|user|both]
#
# REV (default HEAD) is the commit cloned: uncommitted changes are not
# tested. From the repository root, as root (debootstrap, chroot, mounts).
# The minbase tarball is made once and cached (packaging/debian-base.sh);
# the root is unpacked fresh every run. Downloaded .debs are cached in
# TTLOG_CACHE_DIR/apt-archives and shared by the two roots: only downloads,
# every package is still installed into each fresh root by the README's
# own commands.
set -euo pipefail

rev=HEAD
who=both
while [ $# -gt 0 ]; do
	case $1 in
	--rev) rev=${2:?--rev needs a commit}; shift 2 ;;
	--as) who=${2:?--as needs root, user or both}; shift 2 ;;
	*)
		sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//' >&2
		exit 2
		;;
	esac
done
case $who in root | user | both) ;; *) echo "--as: root, user or both" >&2; exit 2 ;; esac

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"
cache=${TTLOG_CACHE_DIR:-/var/cache/ttlog-test}
# Long enough for a first build on a slow machine; the waits end at the
# event, not at the deadline.
start_deadline=${TTLOG_FRESH_START_DEADLINE:-1800}
line_deadline=60

t0=${EPOCHREALTIME/./}
say() {
	local us=$((${EPOCHREALTIME/./} - t0))
	printf '[fresh %4d.%ds] %s\n' $((us / 1000000)) $((us / 100000 % 10)) "$*"
}
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
[ "$(id -u)" -eq 0 ] || fail "run as root (debootstrap, chroot, mounts)"
commit=$(git rev-parse --verify "$rev^{commit}") || fail "no commit $rev"
gitdir=$(cd "$(git rev-parse --git-common-dir)" && pwd)
if [ -n "$(git status --porcelain --untracked-files=no)" ] && [ "$rev" = HEAD ]; then
	say "note: uncommitted changes are not tested; testing $commit"
fi

work=$(mktemp -d /tmp/ttlog-fresh-XXXXXX)
root='' agent_pid=''
unmount_root() {
	[ -n "$root" ] || return 0
	local m
	# Deepest first; lazily, so that a busy mount cannot stop the cleanup.
	findmnt -rn -o TARGET | grep "^$root/" | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done
}
kill_root_procs() {
	[ -n "$root" ] || return 0
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] &&
			kill -KILL "${p#/proc/}" 2>/dev/null || true
	done
}
cleanup() {
	local rc=$?
	kill_root_procs
	[ -n "$agent_pid" ] && wait "$agent_pid" 2>/dev/null || true
	unmount_root
	if findmnt -rn -o TARGET | grep -q "^$work/"; then
		echo "test_fresh: mounts remain under $work; left in place" >&2
	elif [ "$rc" -eq 0 ]; then
		rm -rf --one-file-system "$work"
	else
		# The logs stay for a look; the roots are large.
		find "$work" -mindepth 1 -maxdepth 1 -type d -name 'root-*' \
			-exec rm -rf --one-file-system {} +
		echo "test_fresh: logs kept in $work" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# show LOG: the end of a log, for a failure.
show() {
	echo "---- the end of $1 ----" >&2
	tail -n 60 "$1" >&2 || true
	echo "----" >&2
}

# The quick start of a README.md: the shell blocks of the section
# "## Quick start", one command a line (comments after two spaces dropped).
quick_start_commands() {
	awk '
		/^## / { in_qs = ($0 == "## Quick start"); next }
		!in_qs { next }
		/^```/ { blk = ($0 == "```sh" || $0 == "```bash") && !blk; next }
		blk && NF { sub(/  +#.*$/, ""); print }
	' "$1"
}
# The lines of the quick start's output block that say where it listens.
quick_start_listens() {
	awk '
		/^## / { in_qs = ($0 == "## Quick start"); next }
		in_qs && /^ttlog-agent: input / { print }
	' "$1"
}

# ---- one fresh root, one user ----
fresh() {
	local as=$1
	local home user_opt=() log cmds run_cmd test_cmd hello want listens
	root=$work/root-$as
	say "[$as] unpacking a fresh Debian 12 minbase root"
	packaging/debian-base.sh rootfs "$root" >"$work/$as-rootfs.log" 2>&1 ||
		{ show "$work/$as-rootfs.log"; fail "[$as] could not make the root"; }
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	mount --rbind /dev "$root/dev"
	mount --make-rslave "$root/dev"
	cp -L /etc/resolv.conf "$root/etc/resolv.conf"
	[ -f "$root/etc/apt/sources.list.d/debian.sources" ] &&
		rm -f "$root/etc/apt/sources.list"
	mkdir -p "$cache/apt-archives/partial"
	mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"

	inroot() {
		chroot "$root" /usr/bin/env -i HOME=/root LC_ALL=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			DEBIAN_FRONTEND=noninteractive "$@"
	}
	# apt downloads as _apt: the shared cache must be its to write.
	chown "$(inroot id -u _apt)" "$cache/apt-archives/partial"

	# What the newcomer adds to a minimal system: git, and for a user, sudo.
	local extra=(git)
	[ "$as" = user ] && extra+=(sudo)
	say "[$as] apt-get install ${extra[*]} (nothing else)"
	{ inroot apt-get update -qq &&
		inroot apt-get install -y -qq --no-install-recommends "${extra[@]}"; } \
		>"$work/$as-setup.log" 2>&1 ||
		{ show "$work/$as-setup.log"; fail "[$as] installing ${extra[*]}"; }
	if [ "$as" = user ]; then
		inroot useradd -m -s /bin/bash dev
		echo 'dev ALL=(ALL) NOPASSWD:ALL' >"$root/etc/sudoers.d/dev"
		chmod 0440 "$root/etc/sudoers.d/dev"
		home=/home/dev
		user_opt=(--userspec=dev:dev)
	else
		home=/root
	fi
	# $work/as-$as CMD: CMD in bash as the newcomer, in the clone, with a
	# soft open-file limit of 1,024 (unless the hard one is lower).
	local user=root label=''
	[ "$as" = user ] && user=dev label=unit
	cat >"$work/as-$as" <<EOF
#!/bin/bash
hard=\$(ulimit -Hn)
{ [ "\$hard" = unlimited ] || [ "\$hard" -ge 1024 ]; } && ulimit -Sn 1024
exec chroot ${user_opt[*]} '$root' /usr/bin/env -i HOME='$home' USER=$user \\
	LANG=C.UTF-8 TERM=dumb PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \\
	${label:+TTLOG_TEST_LABEL=$label} \\
	/bin/bash -c "cd ~/ttlog && \$1"
EOF
	chmod +x "$work/as-$as"

	# The origin the newcomer clones from: a bare copy of this repository
	# in the root, owned by that user (git refuses to serve a repository
	# owned by someone else).
	say "[$as] git clone; git checkout $commit"
	git clone -q --bare --no-local "$gitdir" "$root/srv/origin.git"
	chown -R "$(inroot id -u "$user"):$(inroot id -g "$user")" \
		"$root/srv/origin.git"
	chroot "${user_opt[@]}" "$root" /usr/bin/env -i HOME="$home" \
		PATH=/usr/bin:/bin /bin/bash -c \
		"cd ~ && git clone -q /srv/origin.git ttlog &&
		 cd ttlog && git -c advice.detachedHead=false checkout -q $commit" \
		>"$work/$as-clone.log" 2>&1 ||
		{ show "$work/$as-clone.log"; fail "[$as] git clone"; }

	# The quick start, from the commit's own README.
	local readme=$root$home/ttlog/README.md
	mapfile -t cmds < <(quick_start_commands "$readme")
	[ "${#cmds[@]}" -ge 3 ] ||
		fail "[$as] README.md's quick start has ${#cmds[@]} commands, want run, test and hello: ${cmds[*]}"
	run_cmd=${cmds[0]} test_cmd=${cmds[1]} hello=${cmds[2]}
	[[ $run_cmd == *" run"* && $test_cmd == *" test"* ]] ||
		fail "[$as] the quick start's first commands are not run and test: '$run_cmd', '$test_cmd'"
	want=$(sed -n 's/.*shows `\([^`]*\)` there.*/\1/p' "$readme" | head -n 1)
	[ -n "$want" ] || fail "[$as] README.md: no 'shows \`...\` there' after the hello command"
	mapfile -t listens < <(quick_start_listens "$readme")
	[ "${#listens[@]}" -ge 1 ] || fail "[$as] README.md shows no 'ttlog-agent: input' line"

	# 2. run, hello, Ctrl-C.
	log=$work/$as-run.log
	say "[$as] $run_cmd (installs, builds, starts the agent)"
	setsid "$work/as-$as" "$run_cmd" >"$log" 2>&1 </dev/null &
	agent_pid=$!
	local end=$((SECONDS + start_deadline))
	until grep -q ' INFO agent started' "$log"; do
		kill -0 "$agent_pid" 2>/dev/null || {
			show "$log"
			wait "$agent_pid" && rc=0 || rc=$?
			agent_pid=''
			fail "[$as] '$run_cmd' exited ($rc) before the agent started"
		}
		[ "$SECONDS" -lt "$end" ] ||
			{ show "$log"; fail "[$as] the agent did not start within ${start_deadline}s"; }
		sleep 0.5
	done
	local l
	for l in "${listens[@]}"; do
		grep -qxF -- "$l" "$log" ||
			{ show "$log"; fail "[$as] the agent did not say: $l"; }
	done
	say "[$as] the agent listens (${#listens[@]} inputs); $hello"
	"$work/as-$as" "$hello" >"$work/$as-hello.log" 2>&1 ||
		{ show "$work/$as-hello.log"; fail "[$as] the hello command failed: $hello"; }
	end=$((SECONDS + line_deadline))
	until grep -qF -- "$want" "$log"; do
		[ "$SECONDS" -lt "$end" ] ||
			{ show "$log"; fail "[$as] '$want' not printed within ${line_deadline}s"; }
		sleep 0.1
	done
	say "[$as] printed: $(grep -F -- "$want" "$log" | head -n 1)"
	kill -INT -- "-$agent_pid"
	local rc=0
	wait "$agent_pid" || rc=$?
	agent_pid=''
	[ "$rc" -eq 0 ] || { show "$log"; fail "[$as] exit status $rc after Ctrl-C"; }
	say "[$as] Ctrl-C: exit status 0"

	# 3. the whole test suite.
	log=$work/$as-test.log
	say "[$as] $test_cmd"
	"$work/as-$as" "$test_cmd" >"$log" 2>&1 </dev/null ||
		{ show "$log"; fail "[$as] '$test_cmd' failed"; }
	grep -qE '^100% tests passed, 0 tests failed out of [1-9]' "$log" ||
		{ show "$log"; fail "[$as] no ctest summary with every test passed"; }
	say "[$as] $(grep -E '^100% tests passed' "$log")"

	kill_root_procs
	unmount_root
	rm -rf --one-file-system "$root"
	root=''
}

case $who in
root) fresh root ;;
user) fresh user ;;
both) fresh root && fresh user ;;
esac
say "PASS: the README's quick start on fresh Debian 12 roots ($who), commit $commit"
