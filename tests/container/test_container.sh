#!/usr/bin/env bash
# tests/container/test_container.sh - builds the ttlog-agent container image
# (packaging/Containerfile) and runs it as a user would, end to end:
#
#   1. installs podman, buildah, runc and debootstrap when missing;
#   2. makes the base image localhost/debian:bookworm from Debian's archive
#      (packaging/debian-base.sh image; no image registry is needed);
#   3. builds the image and checks what is in it (non-root user, no
#      compiler, headers or apt lists, every library resolved);
#   4. runs it on the baked-in /etc/ttlog/ttlog.yaml changed through
#      ${VAR} environment overrides; as the README shows (run, send a line,
#      logs, health, stop); and with a mounted configuration file and a
#      named volume. The first and last runs: the health check, the user the
#      agent runs as (PID 1), sequence-numbered JSON lines over TCP from the
#      host, a last burst that SIGTERM meets (podman stop right after it;
#      in the last, sent while the agent is frozen so that only the
#      drain can deliver it), then every event exactly once and exit 0.
#
# Run from anywhere, as root: bash tests/container/test_container.sh
# Ports are published to 127.0.0.1 only. Where the machine cannot publish
# container ports, the runs fall back to --network host with the agent
# listening on free 127.0.0.1 ports (never 0.0.0.0 on the host).
# TTLOG_CONTAINER_NET=publish|host forces one way (default: auto).
# Its containers, volumes and image are removed on exit; the base image
# and the debootstrap tarball stay cached (/var/cache/ttlog-test).
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$top"

start_ns=$(date +%s%N)
step_ns=$start_ns
id=$$
image=localhost/ttlog-agent:ctest-$id
n_main=20000 # events sent while the agent runs
n_last=5000  # events sent right before the stop
net_mode=${TTLOG_CONTAINER_NET:-auto}
containers=()
volumes=()
tmp=

elapsed() { # NS -> seconds with one decimal since NS
	local d=$(($(date +%s%N) - $1))
	printf '%d.%d' $((d / 1000000000)) $((d / 100000000 % 10))
}
say() { printf 'container-test: [%6ss] %s\n' "$(elapsed "$start_ns")" "$*" >&2; }
step_name=
step() {
	[ -n "$step_name" ] && say "-- done in $(elapsed "$step_ns") s: $step_name"
	step_ns=$(date +%s%N)
	step_name=$*
	say "== $*"
}
fail() {
	say "FAIL: $*"
	exit 1
}

# Podman schedules periodic health checks with systemd timers; without
# systemd it logs an error for each container started and stopped. The test
# runs the check itself (podman healthcheck run), so the timers are off.
export DISABLE_HC_SYSTEMD=true
source "$top/packaging/podman.sh"
P() { ttlog_podman "$@"; }

cleanup() {
	local rc=$?
	set +e
	for c in "${containers[@]}"; do
		if [ "$rc" -ne 0 ] && P container exists "$c" 2>/dev/null; then
			say "last lines of $c (stdout and stderr):"
			P logs --tail 20 "$c" 2>&1 | sed 's/^/    /' >&2
		fi
		P rm -f -v "$c" >/dev/null 2>&1
	done
	for v in "${volumes[@]}"; do P volume rm -f "$v" >/dev/null 2>&1; done
	P image exists "$image" 2>/dev/null && P rmi -f "$image" >/dev/null 2>&1
	[ -n "$tmp" ] && rm -rf "$tmp"
	if [ "$rc" -eq 0 ]; then
		say "PASS in $(elapsed "$start_ns") s"
	else
		say "FAILED after $(elapsed "$start_ns") s"
	fi
}
trap cleanup EXIT

# ---- helpers ----

# Installs the named Debian packages that are not installed yet (the same
# check as packaging/dev's ensure).
ensure() {
	local p need=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || need+=("$p")
	done
	[ "${#need[@]}" -eq 0 ] && return 0
	say "installing: ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${need[@]}" >/dev/null
}

# free_port VAR: sets VAR to a port on which nothing listens (TCP or UDP,
# by /proc/net), below the ephemeral range, never the same one twice in a
# run. (A variable, not $(free_port): a subshell would forget the ports
# already handed out.)
used_ports=" "
free_port() {
	local p hex
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 10000))
		case "$used_ports" in *" $p "*) continue ;; esac
		hex=$(printf ':%04X ' "$p")
		if ! grep -qi "$hex" /proc/net/tcp /proc/net/tcp6 /proc/net/udp \
			/proc/net/udp6 2>/dev/null; then
			used_ports+="$p "
			printf -v "$1" '%s' "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# Waits until COMMAND... succeeds, for at most SECONDS; polls every 0.2 s.
wait_for() {
	local secs=$1 what=$2
	shift 2
	local end=$(($(date +%s) + secs))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || fail "$what: not within $secs s"
		sleep 0.2
	done
}

# Like wait_for, but returns 1 instead of failing.
wait_quiet() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

# The status code of GET PATH on 127.0.0.1:PORT (bash's /dev/tcp: the host
# needs no HTTP client either).
http_status() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		printf "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3 &&
		head -n 1 <&3' _ "$1" "$2" 2>/dev/null | awk '{print $2}'
}
http_ok() { [ "$(http_status "$1" /health)" = 200 ]; }

# seq_lines FIRST COUNT: events FIRST .. FIRST+COUNT-1 as JSON lines.
seq_lines() {
	seq "$1" $(($1 + $2 - 1)) |
		awk '{ printf "{\"msg\":\"seq\",\"seq\":%d}\n", $1 }'
}

# Reads the output on stdin (text or JSON lines) and checks that events
# 0 .. N-1 of message "seq" each appear exactly once and no other does.
# Prints "OK" or what is wrong.
check_seq() {
	awk -v n="$1" '
		/"msg":"seq"/ && match($0, /"seq":[0-9]+/) {
			c[substr($0, RSTART + 6, RLENGTH - 6) + 0]++; m++; next }
		/ INFO seq / && match($0, / seq=[0-9]+/) {
			c[substr($0, RSTART + 5, RLENGTH - 5) + 0]++; m++ }
		END {
			bad = 0
			for (i = 0; i < n; i++)
				if (c[i] != 1) {
					if (++bad <= 5)
						printf "seq %d seen %d times; ", i, c[i]
				}
			if (m != n || bad)
				printf "%d events for %d sent, %d wrong\n", m, n, bad
			else
				print "OK"
		}'
}
count_seq() { awk '/"msg":"seq"/ || / INFO seq /' | wc -l; }
logs_out() { P logs "$1" 2>/dev/null; }
# The container's standard error alone (on the pipe), its stdout dropped.
# shellcheck disable=SC2069
logs_err() { P logs "$1" 2>&1 >/dev/null; }
# grep -c, not -q: -q stops reading at the first match and podman logs
# then dies of SIGPIPE, which pipefail takes for a failure.
logs_have() { logs_out "$1" | grep -c -- "$2" >/dev/null; }
errs_have() { logs_err "$1" | grep -c -- "$2" >/dev/null; }
logs_count_at_least() { [ "$(logs_out "$1" | count_seq)" -ge "$2" ]; }

# start MODE NAME PORTMAP... -- RUN-ARGS...: runs the image detached. With
# MODE publish each PORTMAP HOST:CONTAINER becomes -p 127.0.0.1:HOST:CONTAINER;
# with MODE host there is no mapping (--network host: the configuration
# already listens on the host's 127.0.0.1 ports).
start() {
	local mode=$1 name=$2 args=()
	shift 2
	while [ "$1" != -- ]; do
		[ "$mode" = publish ] && args+=(-p "127.0.0.1:$1")
		shift
	done
	shift
	[ "$mode" = host ] && args+=(--network host)
	containers+=("$name")
	P run -d --name "$name" "${args[@]}" "$@" "$image" >/dev/null
}

# exercise NAME JSONL_PORT HTTP_PORT OUTPUT STOP: what every run checks.
# The agent is running; JSONL_PORT and HTTP_PORT are its ports on the
# host's 127.0.0.1. OUTPUT NAME prints the output to check (after the
# stop). STOP is how the last burst meets SIGTERM: stop (podman stop right
# after it) or frozen (sent while the agent is paused, SIGTERM before it
# can read any of it). SNAPSHOT, when "snapshot", checks that SIGUSR1
# writes a snapshot (service.snapshot.dir of the baked-in configuration).
exercise() {
	local name=$1 jport=$2 hport=$3 out=$4 stop=$5 snap=${6:-} t fd

	step "$name: health check (podman healthcheck run; the image's HEALTHCHECK)"
	wait_for 30 "$name healthy" P healthcheck run "$name"
	[ "$(P inspect --format '{{.State.Health.Status}}' "$name")" = healthy ] ||
		fail "$name: .State.Health.Status is not healthy"
	wait_for 15 "GET /health on 127.0.0.1:$hport from the host" http_ok "$hport"
	[ "$(http_status "$hport" /metrics)" = 200 ] ||
		fail "$name: GET /metrics on 127.0.0.1:$hport"
	say "healthy; /health and /metrics answer 200 on 127.0.0.1:$hport"

	step "$name: the agent is PID 1 and runs as uid 10001"
	local comm uid huser
	comm=$(P exec "$name" /bin/cat /proc/1/comm)
	uid=$(P exec "$name" /usr/bin/id -u)
	huser=$(P top "$name" huser | awk 'NR > 1 { print $1 }' | sort -u)
	say "PID 1: $comm; id -u: $uid; podman top huser: $huser"
	[ "$comm" = ttlog-agent ] || fail "$name: PID 1 is $comm"
	[ "$uid" = 10001 ] || fail "$name: runs as uid $uid"
	[ "$huser" = 10001 ] || fail "$name: host user $huser"

	step "$name: $n_main events over TCP to 127.0.0.1:$jport"
	t=$(date +%s%N)
	seq_lines 0 "$n_main" >"/dev/tcp/127.0.0.1/$jport"
	wait_for 60 "$n_main events in podman logs" logs_count_at_least "$name" "$n_main"
	say "$n_main events sent and in the container's log in $(elapsed "$t") s"

	if [ "$snap" = snapshot ]; then
		step "$name: SIGUSR1 writes a snapshot to the volume; ttlog-view reads it"
		local file last
		P kill --signal USR1 "$name" >/dev/null
		wait_for 15 "$name: snapshot written" logs_have "$name" '"msg":"snapshot written"'
		file=$(P exec "$name" /bin/sh -c 'ls /var/lib/ttlog/snapshots/*.ttsnap')
		# The newest event sent must be in it.
		last=$(P exec "$name" /usr/bin/ttlog-view --json "$file" |
			awk 'match($0, /"seq":[0-9]+/) { s = substr($0, RSTART + 6, RLENGTH - 6) } END { print s }')
		say "$file: the last event in it is seq $last"
		[ "$last" = $((n_main - 1)) ] ||
			fail "$name: the snapshot ends at seq '$last', not $((n_main - 1))"
	fi

	if [ "$stop" = stop ]; then
		step "$name: a last burst of $n_last events, then at once podman stop"
	else
		step "$name: a last burst of $n_last events into the frozen agent, SIGTERM, thaw"
	fi
	# The burst's connection must have been accepted before the stop: a
	# connection still in the listen backlog at SIGTERM is never read (the
	# agent stops accepting first). So its first line is waited for.
	exec {fd}>"/dev/tcp/127.0.0.1/$jport"
	seq_lines "$n_main" 1 >&"$fd"
	wait_for 15 "the burst's first event" logs_count_at_least "$name" $((n_main + 1))
	t=$(date +%s%N)
	if [ "$stop" = stop ]; then
		seq_lines $((n_main + 1)) $((n_last - 1)) >&"$fd"
		exec {fd}>&-
		P stop "$name" >/dev/null
	else
		# The agent reads fast enough to have read a burst before
		# podman stop even starts. Frozen (podman pause), it cannot:
		# the burst waits in its socket when SIGTERM comes (sent to
		# PID 1 from the host, as podman stop does; podman refuses to
		# signal a paused container), and the drain must read it.
		P pause "$name" >/dev/null
		local writer pid
		(seq_lines $((n_main + 1)) $((n_last - 1)) >&"$fd") &
		writer=$!
		exec {fd}>&-
		pid=$(P inspect --format '{{.State.Pid}}' "$name")
		[ "$(logs_out "$name" | count_seq)" -eq $((n_main + 1)) ] ||
			fail "$name: events arrived while the agent was frozen"
		kill -TERM "$pid"
		P unpause "$name" >/dev/null
		wait "$writer" || fail "$name: sending the burst failed"
		P wait "$name" >/dev/null
	fi
	local took status
	took=$(elapsed "$t")
	status=$(P inspect --format '{{.State.ExitCode}}' "$name")
	say "stopped in $took s; exit status $status"
	[ "$status" = 0 ] || fail "$name: exit status $status after SIGTERM"
	logs_have "$name" 'agent stopping' ||
		fail "$name: no \"agent stopping\" in its log"
	errs_have "$name" 'ttlog-agent: input ' ||
		fail "$name: the agent's start-up lines are not on stderr"

	step "$name: every one of $((n_main + n_last)) events exactly once"
	local verdict
	verdict=$("$out" "$name" | check_seq $((n_main + n_last)))
	say "$verdict"
	[ "$verdict" = OK ] || fail "$name: $verdict"
}

# ---- 1. tools ----
step "install what is missing: podman buildah runc debootstrap"
[ "$(id -u)" -eq 0 ] || fail "run as root"
ensure podman buildah runc debootstrap
say "$(P --version)"

# ---- 2. the base image ----
step "base image localhost/debian:bookworm (packaging/debian-base.sh image)"
packaging/debian-base.sh image

# ---- 3. the image ----
tmp=$(mktemp -d /tmp/ttlog-ctest.XXXXXX)
step "build $image (about a minute; more where apt downloads are slow)"
# --format docker: podman's default OCI format has no HEALTHCHECK.
# --network host: the build stage's apt-get reaches Debian's archive.
# --layers=false: no intermediate images left behind.
# The full output goes to a log (its end is shown on failure); the steps
# and the compiler's progress are shown as they come.
t=$(date +%s%N)
if ! P build --format docker --network host --layers=false --force-rm \
	--build-arg BASE=localhost/debian:bookworm \
	-f packaging/Containerfile -t "$image" . 2>&1 |
	tee "$tmp/build.log" |
	awk '/STEP [0-9]+\/[0-9]+:/ || /^\[ *[0-9]+%\] Built target/ {
		print "    " substr($0, 1, 110); fflush() }' >&2; then
	tail -n 40 "$tmp/build.log" | sed 's/^/    /' >&2
	fail "podman build failed (the end of its output is above)"
fi
say "image built in $(elapsed "$t") s: $(P image inspect --format '{{.Size}}' "$image" |
	awk '{ printf "%.0f MB", $1 / 1e6 }')"

step "what is in the image"
cfg=$(P image inspect --format \
	'{{.Config.User}}|{{.Config.StopSignal}}|{{json .Config.Entrypoint}}|{{json .HealthCheck.Test}}|{{json .Config.ExposedPorts}}|{{json .Config.Volumes}}' \
	"$image")
say "$cfg"
IFS='|' read -r c_user c_stop c_entry c_health c_ports c_vol <<<"$cfg"
[ "$c_user" = 10001:10001 ] || fail "image user is $c_user"
[ "$c_stop" = SIGTERM ] || fail "stop signal is $c_stop"
[ "$c_entry" = '["/usr/bin/ttlog-agent","-c","/etc/ttlog/ttlog.yaml"]' ] ||
	fail "entrypoint is $c_entry"
case "$c_health" in *'"--health"'*) ;; *) fail "health check is $c_health" ;; esac
for p in 5170/tcp 5514/tcp 5514/udp 5171/tcp 9100/tcp; do
	case "$c_ports" in *"\"$p\""*) ;; *) fail "$p not exposed" ;; esac
done
case "$c_vol" in *'"/var/lib/ttlog"'*) ;; *) fail "no volume /var/lib/ttlog" ;; esac
# One shell in the image lists whatever is wrong; no output is success.
problems=$(P run --rm --network none --entrypoint /bin/sh "$image" -c '
	for f in /usr/bin/ttlog-agent /usr/bin/ttlog-view \
		/usr/lib/*/libttlog.so.0 /usr/lib/*/ttlog/plugins/*.so; do
		[ -e "$f" ] || echo "missing: $f"
		ldd "$f" 2>&1 | grep "not found" | sed "s|^|$f: |"
	done
	for p in stdout file forward; do
		ls /usr/lib/*/ttlog/plugins/$p.so >/dev/null 2>&1 ||
			echo "missing plugin: $p"
	done
	for t in gcc cc cmake make curl wget; do
		command -v $t >/dev/null && echo "should not be here: $t"
	done
	[ -e /usr/include/ttlog ] && echo "should not be here: headers"
	[ -z "$(ls -A /var/lib/apt/lists 2>/dev/null)" ] ||
		echo "should not be here: apt lists"
	[ "$(id -u)" = 10001 ] || echo "runs as $(id -u)"
	[ -w /var/lib/ttlog ] || echo "/var/lib/ttlog is not writable"
	ttlog-agent --check /etc/ttlog/ttlog.yaml >/dev/null 2>&1 ||
		echo "ttlog-agent --check /etc/ttlog/ttlog.yaml failed"
	true')
[ -z "$problems" ] || fail "image: $problems"
say "uid 10001, no compiler, headers or apt lists, every library found, configuration valid"

# ---- 4a. the baked-in configuration with ${VAR} overrides ----
# The overrides move the jsonl input to port 6170, /health and /metrics to
# 9200 and the console to JSON lines; the output proves they took.
# start_env MODE: sets jp, hp, sp (host ports: jsonl, http, syslog).
start_env() {
	local np
	free_port jp
	free_port hp
	free_port sp
	free_port np
	if [ "$1" = host ]; then
		start host "$name" -- \
			-e TTLOG_LISTEN_ADDR=127.0.0.1 -e TTLOG_JSONL_PORT="$jp" \
			-e TTLOG_SYSLOG_PORT="$sp" -e TTLOG_NATIVE_PORT="$np" \
			-e TTLOG_HTTP_LISTEN="127.0.0.1:$hp" -e TTLOG_STDOUT_FORMAT=json
	else
		start publish "$name" "$jp:6170" "$hp:9200" "$sp:5514" -- \
			-e TTLOG_JSONL_PORT=6170 -e TTLOG_HTTP_LISTEN=0.0.0.0:9200 \
			-e TTLOG_STDOUT_FORMAT=json
	fi
}

run_env() {
	local name=ttlog-ctest-$id-env jp hp sp
	step "$name: the baked-in configuration with \${VAR} overrides"
	case "$net_mode" in
	auto)
		# Published ports first; where the agent is healthy inside but
		# unreachable through them, the host's network on 127.0.0.1.
		if start_env publish &&
			wait_quiet 30 P healthcheck run "$name" &&
			wait_quiet 10 http_ok "$hp"; then
			net_mode=publish
		else
			say "port publishing does not work here; --network host on 127.0.0.1 instead"
			P rm -f -v "$name" >/dev/null 2>&1 || true
			net_mode=host
			start_env host
		fi
		;;
	publish | host) start_env "$net_mode" ;;
	*) fail "TTLOG_CONTAINER_NET is $net_mode: auto, publish or host" ;;
	esac
	say "network: $net_mode"
	wait_for 30 "$name: agent started" logs_have "$name" '"msg":"agent started"'
	errs_have "$name" "input jsonl (jsonl) on tcp://[0-9.]*:$( [ "$net_mode" = host ] && echo "$jp" || echo 6170)" ||
		fail "$name: TTLOG_JSONL_PORT did not move the jsonl input"
	# One RFC 5424 message to the syslog input: its port works too.
	wait_for 15 "syslog input on 127.0.0.1:$sp" \
		bash -c 'printf "<14>1 2026-11-26T00:00:00Z h ctest - - - syslog probe %s\n" "$2" >"/dev/tcp/127.0.0.1/$1"' _ "$sp" "$id"
	wait_for 15 "$name: the syslog message" logs_have "$name" "syslog probe $id"
	say "overrides in effect: JSON lines on stdout, jsonl on :$jp, http on :$hp, syslog on :$sp"
	exercise "$name" "$jp" "$hp" logs_out stop snapshot
}
run_env

# ---- 4b. the README's commands, on the image as it is ----
# Verbatim but for the container's name, the host ports and podman's flags
# (ttlog_podman): run, the hello line, logs, health, stop.
run_readme() {
	local name=ttlog-ctest-$id-readme jp hp sp np env=()
	free_port jp
	free_port hp
	if [ "$net_mode" = host ]; then
		free_port sp
		free_port np
		env=(-e TTLOG_LISTEN_ADDR=127.0.0.1 -e TTLOG_JSONL_PORT="$jp"
			-e TTLOG_SYSLOG_PORT="$sp" -e TTLOG_NATIVE_PORT="$np"
			-e TTLOG_HTTP_LISTEN="127.0.0.1:$hp")
	fi
	step "$name: the README's commands ($net_mode network)"
	start "$net_mode" "$name" "$jp:5170" "$hp:9100" -- "${env[@]}"
	wait_for 30 "$name: agent started" logs_have "$name" ' INFO agent started '
	printf '{"msg":"hello","n":1}\n' >"/dev/tcp/127.0.0.1/$jp"
	wait_for 15 "$name: INFO hello n=1 in podman logs" logs_have "$name" ' INFO hello n=1$'
	wait_for 30 "$name: podman healthcheck run" P healthcheck run "$name"
	P stop "$name" >/dev/null
	local status
	status=$(P inspect --format '{{.State.ExitCode}}' "$name")
	[ "$status" = 0 ] || fail "$name: exit status $status after podman stop"
	logs_have "$name" ' INFO agent stopping ' || fail "$name: no \"agent stopping\""
	say "INFO hello n=1 in podman logs; healthy; podman stop: exit status 0"
}
run_readme

# ---- 4c. a mounted configuration file and a named volume ----
run_mounted() {
	local name=ttlog-ctest-$id-mounted vol=ttlog-ctest-$id-state
	local jp hp addr cj ch
	free_port jp
	free_port hp
	if [ "$net_mode" = host ]; then
		addr=127.0.0.1 cj=$jp ch=$hp
	else
		addr=0.0.0.0 cj=5170 ch=9100
	fi
	step "$name: a mounted my.yaml and the named volume $vol ($net_mode network)"
	cat >"$tmp/my.yaml" <<EOF
# Mounted over the image's /etc/ttlog/ttlog.yaml by test_container.sh.
service:
  name: ctest-mounted
  http:
    listen: $addr:$ch
  shutdown_timeout: 20s
inputs:
  - name: app
    type: jsonl
    listen: tcp://$addr:$cj
listeners:
  - name: console
    type: stdout
    format: text
    color: never
  - name: archive
    type: file
    path: /var/lib/ttlog/out/events.jsonl
    format: json
EOF
	chmod 0644 "$tmp/my.yaml"
	volumes+=("$vol")
	start "$net_mode" "$name" "$jp:5170" "$hp:9100" -- \
		-v "$tmp/my.yaml:/etc/ttlog/ttlog.yaml:ro" -v "$vol:/var/lib/ttlog"
	wait_for 30 "$name: agent started" logs_have "$name" ' INFO agent started '
	errs_have "$name" "input app (jsonl) on tcp://$addr:$cj" ||
		fail "$name: the mounted configuration is not the one running"
	exercise "$name" "$jp" "$hp" logs_out frozen

	step "$name: the file listener's output in the volume"
	local f verdict
	f=$(P volume inspect --format '{{.Mountpoint}}' "$vol")/out/events.jsonl
	[ -s "$f" ] || fail "$name: no $f"
	[ "$(stat -c %u "$f")" = 10001 ] || fail "$f is owned by uid $(stat -c %u "$f")"
	verdict=$(check_seq $((n_main + n_last)) <"$f")
	say "$f (uid 10001): $verdict"
	[ "$verdict" = OK ] || fail "$name: $f: $verdict"
}
run_mounted
