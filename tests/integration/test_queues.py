"""Integration tests of listener queues and of what a SIGKILL costs:
one stuck listener (tests/plugins/slow.so, RETRY forever) next to a
healthy file listener, with the default queue.when_full (the stuck one
drops, counted, the other gets everything, the input never pauses) and
with `block` (the input pauses, the sender feels it, nothing is dropped),
and a reload from `block` back to the default (the input reads on);
and a jsonl relay killed with SIGKILL right after its /metrics counted
events as ingested, which must all be in its file. Real processes on
loopback, with the helpers of test_agent.py.

Usage: test_queues.py --agent PATH --plugins DIR --test-plugins DIR
                      [--only NAME]
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time

from test_agent import (DEADLINE, Agent, Failure, check, free_port, metrics,
                        read_jsonl, run_tests, wait_lines)

STUCK_DROPPED = 'ttlog_listener_events_dropped_total{listener="stuck",' \
                'reason="queue_full"}'
GOOD_DROPPED = 'ttlog_listener_events_dropped_total{listener="good",' \
               'reason="queue_full"}'
STUCK_IN = 'ttlog_listener_events_in_total{listener="stuck"}'
PAUSED = 'ttlog_input_paused{input="js",type="jsonl"}'
INGESTED = "ttlog_events_ingested_total"


def lines(first, n):
    return b"".join(b'{"msg":"seq","seq":%d,"pad":"%s"}\n' % (i, b"x" * 40)
                    for i in range(first, first + n))


def two_listeners(args, tmp, http, port, out, when_full):
    """A jsonl input pausing at 1MiB of backlog; a healthy file listener
    and a stuck one with a 4MiB queue (when_full None: the default)."""
    wf = ", when_full: %s" % when_full if when_full else ""
    return Agent(args, tmp,
                 "  http: {listen: '127.0.0.1:%d'}\n"
                 "inputs:\n"
                 "  - {name: js, type: jsonl, listen: 'tcp://127.0.0.1:%d',"
                 " pause_backlog: 1MiB}\n"
                 "listeners:\n"
                 "  - {name: good, type: file, format: json, fsync: never,"
                 " path: '%s'}\n"
                 "  - name: stuck\n    plugin: %s\n"
                 "    queue: {max_bytes: 4MiB%s}\n"
                 % (http, port, out,
                    os.path.join(args.test_plugins, "slow.so"), wf), 1)


def wait_metric(http, what, pred):
    end = time.monotonic() + DEADLINE
    m = {}
    while time.monotonic() < end:
        m = metrics(http)
        if pred(m):
            return m
        time.sleep(0.02)
    raise Failure("no %s within %ss: %r" % (what, DEADLINE,
                                            {k: v for k, v in m.items()
                                             if "listener" in k or
                                             "input" in k}))


def test_default_queue_isolates_a_stuck_listener(args, tmp):
    http, port = free_port(), free_port()
    out = os.path.join(tmp, "good.jsonl")
    a = two_listeners(args, tmp, http, port, out, None)
    n = 100000
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            # A paused input would hold the sender for ever.
            s.settimeout(DEADLINE)
            for first in range(0, n, 1000):
                s.sendall(lines(first, 1000))
            # The healthy listener gets every event while the stuck one
            # holds far more than the input's pause_backlog.
            got = wait_lines(out, n, lambda e: e.get("msg") == "seq")
        check([e["seq"] for e in got] == list(range(n)),
              "the healthy listener's sequence has a gap or duplicate")
        # n, and the agent's own events.
        m = wait_metric(http, "every event offered to the stuck listener",
                        lambda m: m.get(STUCK_IN, 0) >= n)
        check(m.get(PAUSED) == 0, "the input paused: %r" % m.get(PAUSED))
        check(0 < m[STUCK_DROPPED] < n,
              "the stuck listener's drops are counted: %r"
              % m.get(STUCK_DROPPED))
        check(m.get(GOOD_DROPPED) == 0, "the healthy one dropped")
        check(m['ttlog_listener_queue_bytes{listener="stuck"}'] <= 4 << 20,
              "the stuck queue is within its max_bytes")
        # Said once, with the listener's name, however many batches went.
        said = wait_lines(out, 1, lambda e: e.get("msg") ==
                          "listener queue full, events dropped")
        check(len(said) == 1 and "stuck" in json.dumps(said[0]),
              "the drops are logged once, naming the listener: %r" % said)
        a.stop()
    finally:
        a.kill()


def fill_until_held_back(http, s):
    """Sends on the non-blocking socket s until it takes nothing more while
    the agent says its input is paused: the sender is held back. Returns
    (lines generated, bytes of them not sent)."""
    sent, pending, seq = 0, b"", 0
    end = time.monotonic() + DEADLINE
    while True:
        if time.monotonic() > end:
            raise Failure("no back-pressure within %ss: %d bytes sent, "
                          "metrics %r" % (DEADLINE, sent, metrics(http)))
        if not pending:
            pending = lines(seq, 1000)
            seq += 1000
        try:
            k = s.send(pending)
            sent += k
            pending = pending[k:]
            continue
        except BlockingIOError:
            pass
        if metrics(http).get(PAUSED) == 1:
            try:
                k = s.send(pending)
                sent += k
                pending = pending[k:]
            except BlockingIOError:
                return seq, pending  # paused, and the socket is full
        time.sleep(0.01)


def test_block_queue_pushes_back_on_the_sender(args, tmp):
    http, port = free_port(), free_port()
    out = os.path.join(tmp, "good.jsonl")
    a = two_listeners(args, tmp, http, port, out, "block")
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        seq, pending = fill_until_held_back(http, s)
        m = metrics(http)
        check(m[PAUSED] == 1, "the input is paused")
        check(m[INGESTED] < seq - len(pending) // 80,
              "the agent read less than was sent")
        check(m[STUCK_DROPPED] == 0,
              "nothing dropped for the block listener: %r"
              % m[STUCK_DROPPED])
        check(m['ttlog_listener_queue_bytes{listener="stuck"}'] < 4 << 20,
              "the block queue stopped below its max_bytes")
        # The healthy listener still got what was read.
        wait_lines(out, int(m[INGESTED]), lambda e: e.get("msg") == "seq")
        s.close()
    finally:
        a.kill()


def test_reload_from_block_to_the_default_resumes_the_input(args, tmp):
    http, port = free_port(), free_port()
    out = os.path.join(tmp, "good.jsonl")
    a = two_listeners(args, tmp, http, port, out, "block")
    try:
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        seq, pending = fill_until_held_back(http, s)
        with open(a.config) as f:
            text = f.read()
        with open(a.config, "w") as f:
            f.write(text.replace(", when_full: block", ""))
        a.proc.send_signal(signal.SIGHUP)
        wait_metric(http, "the reload",
                    lambda m: m.get("ttlog_agent_reloads_total") == 1)
        # No block listener any more: the input reads on, everything
        # sent reaches the healthy listener.
        s.setblocking(True)
        s.settimeout(DEADLINE)
        s.sendall(pending)
        # More than the stuck queue holds, so that it has to drop.
        s.sendall(lines(seq, 60000))
        seq += 60000
        s.close()
        got = wait_lines(out, seq, lambda e: e.get("msg") == "seq")
        check([e["seq"] for e in got] == list(range(seq)), "sequence")
        m = metrics(http)
        check(m[PAUSED] == 0, "the input is not paused")
        check(m[STUCK_DROPPED] > 0, "the stuck listener drops now")
        a.stop()
    finally:
        a.kill()


class Relay(Agent):
    """An agent whose writer cycle (flush_interval) is long, so that what
    an input read but did not hand on would stay unwritten for seconds."""

    def __init__(self, args, tmp, body, expect_inputs):
        self.tmp = tmp
        self.config = os.path.join(tmp, "ttlog.yaml")
        with open(self.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 10s\n%s"
                    % (args.plugins, body))
        self.stderr_path = os.path.join(tmp, "agent.stderr")
        self.err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([args.agent, "-c", self.config],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self.err)
        self.wait_stderr("ttlog-agent: input ", expect_inputs)


def test_sigkill_loses_nothing_a_jsonl_relay_counted(args, tmp):
    http, port = free_port(), free_port()
    out = os.path.join(tmp, "relay.jsonl")
    a = Relay(args, tmp,
              "  http: {listen: '127.0.0.1:%d'}\n"
              "inputs:\n"
              "  - {name: js, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n"
              "  - {name: out, type: file, format: json, fsync: never,"
              " path: '%s'}\n" % (http, port, out), 1)
    try:
        s = socket.create_connection(("127.0.0.1", port))
        n = 0
        for _ in range(5):
            s.sendall(lines(n, 700))
            n += 700
            m = wait_metric(http, "%d events ingested" % n,
                            lambda m: m.get(INGESTED) == n)
        ingested = int(m[INGESTED])
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(DEADLINE)
        s.close()
        got = [e for e in read_jsonl(out) if e.get("msg") == "seq"]
        check(ingested - len(got) == 0,
              "%d events counted as ingested, %d in the file: %d lost by "
              "SIGKILL" % (ingested, len(got), ingested - len(got)))
        check([e["seq"] for e in got] == list(range(n)), "sequence")
    finally:
        a.kill()


def test_check_shows_when_full_and_takes_the_old_name(args, tmp):
    cfg = os.path.join(tmp, "q.yaml")
    with open(cfg, "w") as f:
        f.write("service: {plugin_dir: %s}\nlisteners:\n"
                "  - {name: a, type: stdout}\n"
                "  - {name: b, type: stdout, queue: {policy: block}}\n"
                "  - {name: c, type: stdout, queue: {when_full: drop_newest,"
                " max_bytes: 8MiB}}\n" % args.plugins)
    r = subprocess.run([args.agent, "--check", cfg], capture_output=True,
                       text=True, timeout=DEADLINE)
    check(r.returncode == 0, "--check: %d %s" % (r.returncode, r.stderr))
    for want in ("listener a: queue 64MiB, when full: drop_oldest",
                 "listener b: queue 64MiB, when full: block",
                 "listener c: queue 8MiB, when full: drop_newest"):
        check(want in r.stdout, "%r not in %r" % (want, r.stdout))
    r = subprocess.run([args.agent, "--plugin-help", "stdout"],
                       capture_output=True, text=True, timeout=DEADLINE,
                       env=dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins))
    check("queue.when_full: drop_oldest (default) | drop_newest | block"
          in r.stdout, "--plugin-help: %r" % r.stdout)


TESTS = [
    test_check_shows_when_full_and_takes_the_old_name,
    test_default_queue_isolates_a_stuck_listener,
    test_block_queue_pushes_back_on_the_sender,
    test_reload_from_block_to_the_default_resumes_the_input,
    test_sigkill_loses_nothing_a_jsonl_relay_counted,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins", "--test-plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-queues-")


if __name__ == "__main__":
    sys.exit(main())
