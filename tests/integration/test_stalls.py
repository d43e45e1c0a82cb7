"""Integration tests of listeners that cannot take their output: a stdout
listener whose pipe nobody reads must not stop forwarding or the HTTP
server (they share its writer thread), and a plugin that blocks anyway is
named and counted by the writer's watchdog. Real processes on 127.0.0.1;
waits are on events (metrics, stderr lines) with deadlines.

Usage: test_stalls.py --agent PATH --plugins DIR --test-plugins DIR
                      --certs-script PATH [--n N] [--hold S] [--baseline]
                      [--only NAME]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, Failure, check, free_port, metrics, run_tests  # noqa
from test_forward import (Certs, check_exact, collector, seqs_of,  # noqa
                          wait_for)

DEADLINE = 120.0
HEALTH_EVERY = 0.05  # seconds between two /health requests
HEALTH_LIMIT = 2.0  # the deadline of one request


class HealthPoller(threading.Thread):
    """GET /health every HEALTH_EVERY s, each with a deadline of
    HEALTH_LIMIT s; keeps the slowest answer and every failure."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.stop = threading.Event()
        self.max = 0.0
        self.count = 0
        self.failures = []

    def once(self):
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port),
                                      timeout=HEALTH_LIMIT) as s:
            s.settimeout(max(0.01, HEALTH_LIMIT - (time.monotonic() - t0)))
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n"
                      b"Connection: close\r\n\r\n")
            data = b""
            while True:
                left = HEALTH_LIMIT - (time.monotonic() - t0)
                if left <= 0:
                    raise socket.timeout("deadline")
                s.settimeout(left)
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        if not data.startswith(b"HTTP/1.1 "):
            raise Failure("bad answer %r" % data[:80])
        return time.monotonic() - t0

    def run(self):
        while not self.stop.is_set():
            try:
                self.max = max(self.max, self.once())
                self.count += 1
            except Exception as e:  # noqa: a timeout or a refusal
                self.failures.append("%.1fs: %s" % (time.monotonic(), e))
            self.stop.wait(HEALTH_EVERY)


class PipeDrain(threading.Thread):
    """Reads a pipe to its end once started; keeps what it read."""

    def __init__(self, fd):
        super().__init__(daemon=True)
        self.fd = fd
        self.data = bytearray()

    def run(self):
        while True:
            b = os.read(self.fd, 1 << 20)
            if not b:
                return
            self.data += b


def relay_with_console(args, tmp, certs, jport, http, upstream, stdout):
    d = os.path.join(tmp, "relay")
    os.makedirs(d, exist_ok=True)
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n"
            "  - {name: app, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n"
            "  - name: console\n    type: stdout\n    format: json\n"
            "    queue: {max_bytes: 1MiB}\n"
            "  - name: up\n    type: forward\n"
            "    endpoints: '%s'\n"
            "    tls: {ca_file: '%s', cert: '%s', key: '%s'}\n"
            "    reconnect: {initial: 100ms, max: 1s}\n"
            "    ack_timeout: 10s\n    drain_timeout: 2s\n"
            "    queue: {max_bytes: 1GiB}\n"
            % (http, jport, upstream, certs["ca.pem"], certs["client.pem"],
               certs["client.key"]))
    return Agent(args, d, body, 1, stdout=stdout)


def console(m, what):
    return m.get('ttlog_listener_%s{listener="console"}' % what, 0)


def console_dropped(m):
    return sum(v for k, v in m.items()
               if k.startswith("ttlog_listener_events_dropped_total{")
               and 'listener="console"' in k)


def forward_through(args, tmp, blocked):
    """n events over jsonl/TCP into a relay whose console is a pipe nobody
    reads (blocked) or /dev/null, forwarded to a collector. Returns
    (relay, collector, pipe read end or None, seconds, health poller,
    the relay's HTTP port); the caller stops the relay first."""
    n = args.n
    certs = Certs(args, tmp)
    port, chttp, http, jport = free_port(), free_port(), free_port(), \
        free_port()
    out = os.path.join(tmp, "out.jsonl")
    b = collector(args, tmp, certs, port, out, http=chttp)
    rfd = wfd = None
    if blocked:
        rfd, wfd = os.pipe()
    try:
        a = relay_with_console(args, tmp, certs, jport, http,
                               "tls://localhost:%d" % port,
                               wfd if blocked else subprocess.DEVNULL)
    except Exception:
        b.kill()
        raise
    if wfd is not None:
        os.close(wfd)  # the agent has it; we only hold the read end
    poller = HealthPoller(http)
    poller.start()
    try:
        lines = b"".join(b'{"msg":"seq","seq":%d}\n' % i for i in range(n))
        t0 = time.monotonic()
        with socket.create_connection(("127.0.0.1", jport)) as s:
            # A relay whose writer is stuck stops reading: a deadline.
            s.settimeout(DEADLINE)
            try:
                s.sendall(lines)
            except socket.timeout:
                raise Failure("the relay took no events for %ss" % DEADLINE)
        key = 'ttlog_listener_events_out_total{listener="out"}'
        wait_for("%d events at the collector" % n,
                 lambda: metrics(chttp).get(key, 0) >= n, DEADLINE)
        secs = time.monotonic() - t0
        # The case is a pipe left unread for a minute (--hold 60);
        # the suite holds it for args.hold seconds from the first event,
        # /health still polled.
        while blocked and time.monotonic() < t0 + args.hold:
            check(console(metrics(http), "queue_bytes") > 0,
                  "the console's queue emptied while its pipe was unread")
            time.sleep(0.5)
        poller.stop.set()
        poller.join()
        check_exact(seqs_of(out), n)
    except Exception:
        poller.stop.set()
        a.kill()
        b.kill()
        if rfd is not None:
            os.close(rfd)
        raise
    return a, b, rfd, secs, poller, http


def test_console_on_an_unread_pipe_does_not_stop_forwarding(args, tmp):
    """The relay's stdout is a pipe that is not read while every event is
    forwarded: all of them reach the collector, /health answers
    throughout, and the console's losses are counted."""
    n = args.n
    if args.baseline:
        a, b, _, secs, poller, _ = forward_through(args, tmp + "/base",
                                                   False)
        try:
            check(a.stop() == 0, "relay exit status")
            check(b.stop() == 0, "collector exit status")
        finally:
            a.kill()
            b.kill()
        print("     baseline (console to /dev/null): %d events in %.2fs "
              "= %.0f events/s; /health max %.3fs over %d requests"
              % (n, secs, n / secs, poller.max, poller.count))
    a, b, rfd, secs, poller, http = forward_through(args, tmp, True)
    drain = PipeDrain(rfd)
    try:
        print("     console on an unread pipe: %d events in %.2fs = %.0f "
              "events/s; /health max %.3fs over %d requests"
              % (n, secs, n / secs, poller.max, poller.count))
        check(not poller.failures, "/health did not answer within %.1fs: %s"
              % (HEALTH_LIMIT, poller.failures[:5]))
        check(poller.count > 0, "no /health answer at all")
        # Still unread: the console held back, then dropped (counted).
        m = metrics(http)
        check(console(m, "events_in_total") >= n,
              "console offered %r" % console(m, "events_in_total"))
        check(console_dropped(m) > 0, "the console dropped nothing: was "
              "the pipe ever full? %r" % {k: v for k, v in m.items()
                                          if "console" in k})
        # Read it now: whatever the queue holds goes out, and then every
        # event offered is either delivered or counted as dropped.
        drain.start()

        def balanced():
            m = metrics(http)
            return (console(m, "queue_bytes") == 0 and
                    console(m, "events_out_total") + console_dropped(m)
                    == console(m, "events_in_total")) and m

        m = wait_for("console in == out + dropped", balanced, DEADLINE)
        print("     console: %d in, %d out, %d dropped"
              % (console(m, "events_in_total"),
                 console(m, "events_out_total"), console_dropped(m)))
        check(a.stop() == 0, "relay exit status")
        check(b.stop() == 0, "collector exit status")
        drain.join(DEADLINE)
        check(not drain.is_alive(), "the pipe did not end")
    finally:
        a.kill()
        b.kill()
        os.close(rfd)
    # What did reach the pipe is whole lines, each once.
    text = bytes(drain.data).decode("utf-8", "replace")
    check(text.endswith("\n"), "the console output ends inside a line")
    seqs = []
    for line in text.split("\n")[:-1]:
        try:
            e = json.loads(line)
        except ValueError:
            raise Failure("a torn console line: %r" % line[:200])
        if e.get("msg") == "seq":
            seqs.append(e["seq"])
    check(len(seqs) == len(set(seqs)), "a line written twice")
    check(seqs == sorted(seqs), "console lines out of order")
    check(0 < len(seqs) < n, "console wrote %d of %d" % (len(seqs), n))


def test_blocking_plugin_is_named_and_counted(args, tmp):
    """A plugin whose consume() sleeps 6 s: the watchdog says so on
    stderr with its name, says how long when it returns, and counts it."""
    port, http = free_port(), free_port()
    blocking = os.path.join(args.test_plugins, "blocking.so")
    a = Agent(args, tmp,
              "  http:\n    listen: 127.0.0.1:%d\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n"
              "  - name: stuck\n    plugin: %s\n    block: 6s\n"
              % (http, port, blocking), 1)
    try:
        # The first batch (the agent's own events, or this one) is the
        # one it sleeps on.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b'{"msg":"hello"}\n')
        a.wait_stderr("ttlog: listener stuck: consume() has not returned "
                      "for ")
        text = a.wait_stderr("ttlog: listener stuck: consume() returned "
                             "after ")
        check(text.count("listener stuck: consume() has not returned") == 1,
              "said once per episode: %s" % text)
        m = metrics(http)
        check(m.get('ttlog_listener_stalls_total{listener="stuck"}') == 1,
              "stalls after: %r" % m.get(
                  'ttlog_listener_stalls_total{listener="stuck"}'))
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


TESTS = [
    test_blocking_plugin_is_named_and_counted,
    test_console_on_an_unread_pipe_does_not_stop_forwarding,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--n", type=int, default=500000)
    p.add_argument("--hold", type=float, default=10.0,
                   help="seconds the console's pipe stays unread")
    p.add_argument("--baseline", action="store_true",
                   help="first forward with the console on /dev/null, "
                   "and print both throughputs")
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-st-")


if __name__ == "__main__":
    sys.exit(main())
