#!/usr/bin/env bash
# packaging/debian-base.sh - a minimal Debian 12 (bookworm) root file system
# made from Debian's archive with debootstrap, for the tests that need a
# fresh Debian: the package test (a chroot) and the container test (the
# base image, since no image registry may be reachable). Made once and
# cached as a tarball.
#
#   debian-base.sh tarball      print the cached tarball's path (make it first)
#   debian-base.sh rootfs DIR   unpack a fresh copy into DIR (must not exist)
#   debian-base.sh image        make sure podman has localhost/debian:bookworm
#                               (podman flags: packaging/podman.sh)
#
# TTLOG_CACHE_DIR (default /var/cache/ttlog-test) holds the cache;
# TTLOG_DEBIAN_MIRROR (default: the first http(s) Debian URI apt uses here,
# else http://deb.debian.org/debian) is where debootstrap downloads from.
# Needs root (debootstrap, chroot).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${TTLOG_CACHE_DIR:-/var/cache/ttlog-test}
tarball=$cache/debian-bookworm-minbase.tar
say() { printf 'debian-base: %s\n' "$*" >&2; }

mirror() {
	if [ -n "${TTLOG_DEBIAN_MIRROR:-}" ]; then
		echo "$TTLOG_DEBIAN_MIRROR"
		return
	fi
	local uri
	uri=$(grep -hoE '^(URIs:|deb) +https?://[^ ]+/debian/?( |$)' \
		/etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/sources.list.d/*.list 2>/dev/null |
		grep -oE 'https?://[^ ]+' | head -n 1 || true)
	echo "${uri:-http://deb.debian.org/debian}"
}

# The root directory's own entry ("./") must be 0755: a 0700 root (mktemp's
# mode, in tarballs made before this was fixed) leaves every user but root
# unable to reach any file of the image or chroot.
root_mode_ok() {
	local first
	# head ends tar early (SIGPIPE): hence no pipefail verdict here.
	first=$(tar -tvf "$tarball" 2>/dev/null | head -n 1 || true)
	[[ $first == drwxr-xr-x*' ./' ]]
}

repair_tarball() {
	local root
	say "$tarball has a 0700 root directory; repairing it"
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	tar -C "$root" -xf "$tarball"
	chmod 0755 "$root"
	tar -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
}

make_tarball() {
	if [ -s "$tarball" ]; then
		root_mode_ok || repair_tarball
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || { say "must run as root"; exit 1; }
	command -v debootstrap >/dev/null || {
		say "installing debootstrap"
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends debootstrap >/dev/null
	}
	mkdir -p "$cache"
	local root
	root=$(mktemp -d "$cache/rootfs.XXXXXX")
	chmod 0755 "$root"
	say "debootstrap --variant=minbase bookworm from $(mirror) (1-2 minutes)"
	if ! debootstrap --variant=minbase bookworm "$root" "$(mirror)" \
		>"$cache/debootstrap.log" 2>&1; then
		say "debootstrap failed; the end of $cache/debootstrap.log:"
		tail -n 20 "$cache/debootstrap.log" >&2
		rm -rf "$root"
		exit 1
	fi
	# The archive this machine reaches, for apt-get inside the root too.
	cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/" \
		2>/dev/null || true
	tar -C "$root" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$root"
	say "cached $tarball"
}

case "${1:-}" in
tarball)
	make_tarball
	echo "$tarball"
	;;
rootfs)
	dir=${2:?usage: debian-base.sh rootfs DIR}
	[ -e "$dir" ] && { say "$dir exists"; exit 1; }
	make_tarball
	mkdir -p "$dir"
	tar -C "$dir" -xf "$tarball"
	;;
image)
	source "$here/podman.sh"
	# The label marks an import of a tarball with a 0755 root (see
	# root_mode_ok); an image without it is imported again.
	label=$(ttlog_podman image inspect --format \
		'{{index .Labels "org.ttlog.base-root"}}' \
		localhost/debian:bookworm 2>/dev/null || true)
	[ "$label" = 0755 ] && exit 0
	make_tarball
	ttlog_podman rmi localhost/debian:bookworm >/dev/null 2>&1 || true
	say "podman import localhost/debian:bookworm"
	ttlog_podman import --change 'LABEL org.ttlog.base-root=0755' \
		"$tarball" localhost/debian:bookworm >/dev/null
	;;
*)
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
