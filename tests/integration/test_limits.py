#!/usr/bin/env python3
"""Integration tests of ttlog-agent's connection limits against careless
and hostile peers (docs/network-exposure.md): one address flooding a
stream input does not lock out another sender (max_connections_per_peer),
and running out of file descriptors pauses accepting instead of spinning
(accept guard, reserve descriptor, RLIMIT_NOFILE sizing).

Linux routes all of 127/8 to lo: a client socket bound to 127.0.0.2
before connect() is another peer address than 127.0.0.1.
"""
import argparse
import os
import resource
import signal
import subprocess
import socket
import sys
import time

from test_agent import (DEADLINE, Agent, check, file_listener, free_port,
                        metrics, raise_nofile, read_jsonl, run_tests,
                        wait_lines)

PAUSED = "out of file descriptors: accepting paused"


def connect_from(src, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.settimeout(DEADLINE)
    s.connect(("127.0.0.1", port))
    return s


def try_connect(port):
    """A connection from 127.0.0.1, or a socket left connecting: an agent
    that does not shed its backlog fills it, and connect() then waits."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    return s


def closed_by_agent(s):
    """True when the agent closes s (EOF or reset) within DEADLINE."""
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def series(m, name, inp):
    return m.get('%s{input="%s",type="jsonl"}' % (name, inp), -1)


def wait_metric(http, pred, what):
    end = time.monotonic() + DEADLINE
    while True:
        m = metrics(http)
        if pred(m):
            return m
        check(time.monotonic() < end, "%s: %s" % (what, {
            k: v for k, v in m.items() if "input" in k or "http" in k}))
        time.sleep(0.02)


def config(port, http, out, per_peer, http_per_peer=8):
    return ("  http:\n    listen: 127.0.0.1:%d\n"
            "    max_connections_per_peer: %d\n"
            "inputs:\n  - {name: js, type: jsonl, listen: "
            "'tcp://127.0.0.1:%d', max_connections_per_peer: %d}\n"
            "listeners:\n%s" % (http, http_per_peer, port, per_peer,
                                 file_listener(out)))


def test_one_address_cannot_lock_out_another(args, tmp):
    """127.0.0.1 opens idle connections past max_connections_per_peer:
    the extra ones are closed at once and counted exactly, while a sender
    from 127.0.0.2 is accepted and its event delivered. A reload that
    raises the cap applies to new connections, and one that lowers the
    HTTP endpoint's per-peer cap applies to it."""
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    cap, extra = 5, 12
    a = Agent(args, tmp, config(port, http, out, cap), 1)
    flood = []
    try:
        for _ in range(cap):
            flood.append(connect_from("127.0.0.1", port))
        wait_metric(http, lambda m: series(
            m, "ttlog_input_connections", "js") == cap, "flood accepted")
        for _ in range(extra):
            s = connect_from("127.0.0.1", port)
            check(closed_by_agent(s), "a connection over the cap stayed")
            s.close()
        with connect_from("127.0.0.2", port) as s:
            s.sendall(b'{"msg":"legit","n":1}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "legit")
        m = metrics(http)
        check(series(m, "ttlog_input_connections_refused_per_peer_total",
                     "js") == extra, "refused per peer: %s" % m)
        check(series(m, "ttlog_input_connections_refused_total", "js")
              == 0, "refused over max_connections: %s" % m)
        check(series(m, "ttlog_input_connections", "js") == cap,
              "the flood's connections stay open: %s" % m)
        # The agent's own events reach the file on their own path.
        warns = wait_lines(out, 1, lambda e: e.get("msg")
                           == "input closed a connection")
        check(warns and "max_connections_per_peer 5" in warns[0]["reason"]
              and warns[0]["peer"].startswith("127.0.0.1:"),
              "warning: %s" % warns[:2])
        # Rate-limited: far fewer lines than refusals.
        check(len(warns) < extra, "%d warnings" % len(warns))

        # Reload: a higher cap lets two more in, and refuses the next;
        # HTTP takes one connection per address.
        reloads = metrics(http)["ttlog_agent_reloads_total"]
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                    % (args.plugins, config(port, http, out, cap + 2, 1)))
        a.proc.send_signal(signal.SIGHUP)
        wait_metric(http, lambda m: m["ttlog_agent_reloads_total"]
                    > reloads, "reload applied")
        for _ in range(2):
            flood.append(connect_from("127.0.0.1", port))
        wait_metric(http, lambda m: series(
            m, "ttlog_input_connections", "js") == cap + 2,
            "two more accepted after the reload")
        s = connect_from("127.0.0.1", port)
        check(closed_by_agent(s), "over the new cap: not refused")
        s.close()
        m = metrics(http)
        check(series(m, "ttlog_input_connections_refused_per_peer_total",
                     "js") == extra + 1, "refused after reload: %s" % m)
        h1 = connect_from("127.0.0.5", http)
        wait_metric(http, lambda m: m["ttlog_http_connections"] == 2,
                    "an idle HTTP connection and ours")
        with connect_from("127.0.0.5", http) as h2:
            check(closed_by_agent(h2), "HTTP: a second from one address")
        h1.close()
        m = metrics(http)
        check(m['ttlog_http_connections_refused_total{reason="per_peer"}']
              == 1, "HTTP refused per peer: %s" % m)
        check(m['ttlog_http_connections_refused_total{reason="total"}']
              == 0, "HTTP refused in total: %s" % m)
        for s in flood:
            s.close()
        wait_metric(http, lambda m: series(
            m, "ttlog_input_connections", "js") == 0, "flood closed")
        check(a.stop() == 0, "exit status")
    finally:
        for s in flood:
            s.close()
        a.kill()


def cpu_seconds(pid):
    """utime + stime of the process, in seconds (/proc/PID/stat)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def low_nofile():
    # The agent cannot raise a soft limit past a hard limit of 256.
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_out_of_descriptors_pauses_without_spinning(args, tmp):
    """The agent runs with RLIMIT_NOFILE 256 (hard), an input whose
    max_connections (1000) cannot fit (warned at load), and one left to
    the sizing (16 with this limit). Connections to the input and the
    HTTP port past the descriptors are shed, accepting pauses with
    back-off (no busy loop, no libevent "Error from accept" lines, one
    warning per episode), the errors are counted, and once the flood
    ends a new sender is accepted and delivered."""
    need = 700
    if raise_nofile(need + 200) < need + 100:
        print("     skipped: this process cannot open %d descriptors"
              % need)
        return
    port, auto, http = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - {name: js, type: jsonl, listen: "
            "'tcp://127.0.0.1:%d', max_connections: 1000, "
            "max_connections_per_peer: 0}\n"
            "  - {name: auto, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n%s" % (http, port, auto, file_listener(out)))
    a = Agent(args, tmp, body, 2, preexec_fn=low_nofile)
    held = []
    try:
        err = a.stderr()
        check("input js: max_connections 1000 does not fit RLIMIT_NOFILE "
              "256" in err, "no sizing warning: %s" % err)
        # The input left unset got what fits: 16, the least it is given.
        for i in range(20):
            held.append(connect_from("127.0.0.%d" % (2 + i), auto))
        m = wait_metric(http, lambda m: series(
            m, "ttlog_input_connections_refused_total", "auto") == 4,
            "auto-sized input refuses past 16")
        check(series(m, "ttlog_input_connections", "auto") == 16,
              "auto-sized: %s" % m)
        for s in held:
            s.close()
        held = []

        # The flood: more connections than the agent has descriptors.
        for _ in range(400):
            held.append(connect_from("127.0.0.1", port))
        for _ in range(40):
            held.append(connect_from("127.0.0.1", http))
        # A busy loop on a listener whose backlog stays readable uses a
        # whole core (the issue measured 0.7-1 CPU-s/s). With accepting
        # paused, 3 s of exhaustion with new connections arriving cost
        # far less; half a core is a bound that even a valgrind run of
        # the paused agent stays under, and a spin always exceeds. It
        # guards against the loop, it does not time our code.
        t0 = cpu_seconds(a.proc.pid)
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            for p in (port, port, port, port, port, http):
                held.append(try_connect(p))
            time.sleep(0.1)
        used = cpu_seconds(a.proc.pid) - t0
        print("     agent CPU while out of descriptors: %.2f s in 3 s"
              % used)
        check(used < 1.5, "the agent used %.2f CPU-s in 3 s out of "
              "descriptors: a busy loop" % used)
        for s in held:
            s.close()
        held = []

        # Accepting resumes (the back-off is at most 1 s).
        m = wait_metric(http, lambda m: series(
            m, "ttlog_input_connections", "js") == 0, "flood closed")
        check(series(m, "ttlog_input_accept_errors_total", "js") > 0,
              "no accept errors counted: %s" % m)
        check(series(m, "ttlog_input_connections_refused_total", "js") > 0,
              "none shed: %s" % m)
        check(m["ttlog_http_accept_errors_total"] > 0,
              "no HTTP accept errors counted: %s" % m)
        with connect_from("127.0.0.2", port) as s:
            s.sendall(b'{"msg":"after the flood"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "after the flood")
        paused = wait_lines(out, 1, lambda e: e.get("msg") == PAUSED)
        check(1 <= len(paused) <= 4, "pause warnings: %s" % paused)
        check(any(e.get("socket") == "input js"
                  and e.get("rlimit_nofile") == 256 for e in paused),
              "pause warnings: %s" % paused)
        err = a.stderr()
        check("Error from accept" not in err, "libevent's line: %s"
              % err[-500:])
        check(a.stop() == 0, "exit status")
    finally:
        for s in held:
            s.close()
        a.kill()


def test_unix_peers_are_counted_per_user(args, tmp):
    """On a unix:// input a peer is the user it runs as (SO_PEERCRED):
    root's connections over max_connections_per_peer are refused, while a
    process of another user is accepted and its line delivered. Needs
    root (to run that process as nobody); skipped otherwise."""
    if os.geteuid() != 0:
        print("     skipped: not root")
        return
    os.chmod(tmp, 0o755)
    path = os.path.join(tmp, "in.sock")
    http = free_port()
    out = os.path.join(tmp, "out.jsonl")
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - {name: js, type: jsonl, listen: 'unix://%s', "
            "max_connections_per_peer: 2}\n"
            "listeners:\n%s" % (http, path, file_listener(out)))
    a = Agent(args, tmp, body, 1)
    held = []
    try:
        os.chmod(path, 0o777)  # let nobody connect
        for _ in range(2):
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            held.append(s)
        wait_metric(http, lambda m: series(
            m, "ttlog_input_connections", "js") == 2, "root's two")
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(DEADLINE)
        s.connect(path)
        check(closed_by_agent(s), "root's third connection stayed")
        s.close()
        code = ("import socket; s = socket.socket(socket.AF_UNIX); "
                "s.connect(%r); s.sendall(b'{\"msg\":\"nobody\"}\\n'); "
                "s.close()" % path)
        subprocess.run([sys.executable, "-c", code], check=True,
                       preexec_fn=lambda: os.setuid(65534),
                       timeout=DEADLINE)
        wait_lines(out, 1, lambda e: e.get("msg") == "nobody")
        m = metrics(http)
        check(series(m, "ttlog_input_connections_refused_per_peer_total",
                     "js") == 1, "refused per peer: %s" % m)
        warns = wait_lines(out, 1, lambda e: e.get("msg")
                           == "input closed a connection")
        check(warns[0]["peer"].startswith("unix uid 0 pid "),
              "peer named %r" % warns[0]["peer"])
    finally:
        for s in held:
            s.close()
        check(a.stop() == 0, "agent exit")


TESTS = [
    test_one_address_cannot_lock_out_another,
    test_unix_peers_are_counted_per_user,
    test_out_of_descriptors_pauses_without_spinning,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins", "--test-plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-limits-")


if __name__ == "__main__":
    sys.exit(main())
