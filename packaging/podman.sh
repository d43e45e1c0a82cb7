# packaging/podman.sh - sourced: ttlog_podman runs podman with the settings
# that work on the machines this project is tested on (Debian 12, root,
# hybrid cgroups, no image registry; ../shared/notes/containers.md of the
# project's notes): runc instead of crun, cgroupfs, the vfs storage driver,
# and a containers.conf without default ulimits. Anyone with a working
# podman or docker does not need any of this: the Containerfile is standard.

ttlog_podman_conf=${TTLOG_PODMAN_CONF:-/var/cache/ttlog-test/containers.conf}

ttlog_podman() {
	if [ ! -s "$ttlog_podman_conf" ]; then
		mkdir -p "$(dirname "$ttlog_podman_conf")"
		printf '[containers]\ndefault_ulimits = []\n' >"$ttlog_podman_conf"
	fi
	CONTAINERS_CONF=$ttlog_podman_conf podman --runtime runc \
		--cgroup-manager cgroupfs --storage-driver vfs "$@"
}
