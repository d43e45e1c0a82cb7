#!/usr/bin/python3
"""The Kafka listener under faults, against ttlog-kafka-mock, read back
with kcat: 1M sequence-numbered events through a leader broker going down
twice and a leader move land exactly once and in order per key; the whole
cluster down for 30 s with the agent SIGKILLed and restarted meanwhile
loses nothing; messages the cluster or librdkafka reject (too large,
unknown topic) are counted per reason, logged once, and the others still
arrive.

The application is a python client of the agent's JSON lines input over
TCP: one connection, so the agent takes the events in order, and each
event carries its key ("k", 64 keys) and sequence number, so order per key
is checkable in what kcat reads.

Usage: test_kafka_faults.py --agent PATH --plugins DIR --mock PATH
                            [--only NAME] [--sanitized]
Exits 77 when kcat is missing."""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, DEADLINE, Failure, check, free_port,  # noqa
                        metrics, run_tests)
from test_kafka_listener import config, lost, wait_for  # noqa: E402
from test_kafka_mock import Mock as MockTool  # noqa: E402

KEYS = 64
SEQ = re.compile(rb'"seq":(\d+)')


class FaultMock(MockTool):
    """ttlog-kafka-mock with topics NAME:PARTITIONS:REPLICAS."""

    def __init__(self, path, *topics):
        super().__init__(path, *[a for t in topics for a in ("--topic", t)])

    def held(self, topic):
        """Messages the cluster holds in topic (sum of high watermarks),
        or -1 while it cannot say (brokers down)."""
        r, lines = self.ask("offsets " + topic)
        if r != "ok":
            return -1
        return sum(int(l.split()[2]) for l in lines)


def line(i):
    return b'{"msg":"s","k":"k%d","seq":%d}\n' % (i % KEYS, i)


def send_range(port, start, n):
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=DEADLINE) as s:
        for lo in range(start, start + n, 5000):
            s.sendall(b"".join(line(i) for i in
                               range(lo, min(lo + 5000, start + n))))


def read_topic(boot, topic):
    """[(key, partition, seq)] of every message carrying a sequence number,
    as kcat reads them (the agent's own events, e.g. librdkafka's reports
    of a broker down, go to the listener too: they are left out)."""
    r = subprocess.run(["kcat", "-b", boot, "-t", topic, "-C", "-e", "-q",
                        "-o", "beginning", "-f", "%k %p %s\n"],
                       capture_output=True, timeout=120)
    out = []
    for ln in r.stdout.split(b"\n"):
        if not ln:
            continue
        k, p, v = ln.split(b" ", 2)
        m = SEQ.search(v)
        if m:
            out.append((k.decode(), int(p), int(m.group(1))))
    return out


def wait_held(mock, topic, n, deadline=DEADLINE):
    end = time.monotonic() + deadline
    h = -1
    while time.monotonic() < end:
        h = mock.held(topic)
        if h >= n:
            return h
        time.sleep(0.1)
    raise Failure("%s: %d of %d messages in the cluster within %ss"
                  % (topic, h, n, deadline))


def check_exactly_once_in_order(got, n):
    seqs = sorted(s for _, _, s in got)
    dup = len(seqs) - len(set(seqs))
    missing = n - len(set(seqs) & set(range(n)))
    twice = sorted(set(s for i, s in enumerate(seqs[1:]) if s == seqs[i]))
    check(dup == 0 and missing == 0 and len(seqs) == n,
          "%d messages for %d events: %d duplicated (%s; partitions %s),"
          " %d missing" % (len(seqs), n, dup, twice[:12],
                           sorted(set(p for _, p, s in got
                                      if s in twice[:12])), missing))
    last, part = {}, {}
    for k, p, s in got:
        check(k == "k%d" % (s % KEYS), ("key", k, s))
        check(part.setdefault(k, p) == p, ("key on two partitions", k))
        check(last.get(k, -1) < s, ("order", k, last.get(k), s))
        last[k] = s


def listener(boot, topic, extra=""):
    return ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
            "    topic: %s\n    key: ${fields.k}\n"
            "    properties: {reconnect.backoff.max.ms: 200}\n%s"
            % (boot, topic, extra))


def delivered(http):
    return metrics(http).get('ttlog_listener_kafka_messages_delivered_total'
                             '{listener="k"}', 0)


def test_exactly_once_through_broker_failures(args, tmp):
    n = 100000 if args.sanitized else 1000000
    mock = FaultMock(args.mock, "seq:6:3")
    http, port = free_port(), free_port()
    a = Agent(args, tmp, config(args, http, port,
                                listener(mock.boot, "seq")), 1)
    try:
        # Broker 1 leads partitions 0 and 3: taking it down matters.
        mock.cmd("leader seq 0 1")
        mock.cmd("leader seq 3 1")
        t0 = time.monotonic()
        sender = threading.Thread(target=send_range, args=(port, 0, n))
        sender.start()
        # The faults come at fixed points of the delivered stream. A
        # broker comes back a second after it went: while it is down the
        # partitions it leads take nothing, and once librdkafka's queue
        # is full of their messages, nothing else is delivered either.
        for at, cmds in ((0.2, ["down 1"]), (None, ["up 1"]),
                         (0.45, ["leader seq 1 3", "leader seq 4 2"]),
                         (0.6, ["down 1"]), (None, ["up 1"])):
            if at is None:
                time.sleep(1.0)
            else:
                wait_for("%d delivered" % (at * n),
                         lambda: delivered(http) >= at * n)
            for c in cmds:
                mock.cmd(c)
        sender.join(DEADLINE)
        wait_held(mock, "seq", n, 60)
        secs = time.monotonic() - t0
        print("     %d events app -> agent -> Kafka in %.1f s: %.0f/s"
              % (n, secs, n / secs))
        m = metrics(http)
        print("     messages produced (agent's count): %d" % m.get(
            'ttlog_listener_kafka_messages_produced_total{listener="k"}'))
        check_exactly_once_in_order(read_topic(mock.boot, "seq"), n)
        check(not any(k.startswith("ttlog_listener_kafka_events_lost")
                      and v for k, v in m.items()), m)
        check(a.stop() == 0, a.stderr())
    finally:
        a.kill()
        mock.close()


def test_cluster_down_30s_with_agent_killed_loses_nothing(args, tmp):
    n = 10000 if args.sanitized else 60000
    mock = FaultMock(args.mock, "out:3:3")
    http, port = free_port(), free_port()
    spool = os.path.join(tmp, "spool")
    body = config(args, http, port, listener(
        mock.boot, "out", "    spool: {dir: '%s', fsync: never}\n" % spool))
    spooled = 'ttlog_listener_kafka_spool_events{listener="k"}'
    a = Agent(args, tmp, body, 1)
    b = None
    try:
        send_range(port, 0, n // 3)
        wait_held(mock, "out", n // 3)
        mock.cmd("down all")
        down_at = time.monotonic()
        a.wait_stderr("_ALL_BROKERS_DOWN")
        send_range(port, n // 3, n // 3)
        # The jsonl input acknowledges nothing: the kill comes once the
        # spool holds what was sent, which is what the listener promises.
        wait_for("%d events in the spool" % (n // 3),
                 lambda: metrics(http).get(spooled, 0) >= n // 3)
        a.kill()
        b = Agent(args, tmp, body, 1)
        send_range(port, 2 * (n // 3), n - 2 * (n // 3))
        wait_for("%d events in the spool after the restart"
                 % (n - n // 3),
                 lambda: metrics(http).get(spooled, 0) >= n - n // 3)
        # 30 s as the issue asks; under a sanitizer (CI's second run of
        # this test) 10 s, the same path.
        outage = 10 if args.sanitized else 30
        time.sleep(max(0.0, outage - (time.monotonic() - down_at)))
        mock.cmd("up all")
        wait_held(mock, "out", n)
        got = read_topic(mock.boot, "out")
        seqs = [s for _, _, s in got]
        missing = set(range(n)) - set(seqs)
        check(not missing, "%d of %d events missing, e.g. %s"
              % (len(missing), n, sorted(missing)[:5]))
        print("     %d events, %d duplicates (replayed after the kill)"
              % (n, len(seqs) - len(set(seqs))))
        wait_for("the spool emptied",
                 lambda: metrics(http).get(spooled, -1) == 0)
        m = metrics(http)
        for k, v in m.items():
            if "lost" in k or "dropped" in k or "corrupt" in k:
                check(v == 0, "%s is %s" % (k, v))
        check(b.stop() == 0, b.stderr())
    finally:
        a.kill()
        if b:
            b.kill()
        mock.close()


def test_rejected_counted_logged_once_others_delivered(args, tmp):
    mock = FaultMock(args.mock, "ok:3:3")
    mock.cmd("topic-error bad 3")  # UNKNOWN_TOPIC_OR_PART
    http, port = free_port(), free_port()
    a = Agent(args, tmp, config(args, http, port, (
        "  - name: k\n    type: kafka\n    brokers: '%s'\n"
        "    topic: ${fields.t}\n    key: ${fields.k}\n"
        "    properties: {message.max.bytes: 4000,"
        " topic.metadata.propagation.max.ms: 1000}\n" % mock.boot)), 1)
    try:
        ev = [b'{"msg":"s","t":"ok","k":"k%d","seq":%d}\n' % (i % KEYS, i)
              for i in range(2000)]
        big = [b'{"msg":"%s","t":"ok","k":"k0","seq":-1}\n' % (b"x" * 9000)
               for _ in range(2)]
        bad = [b'{"msg":"s","t":"bad","k":"k0","seq":-2}\n'] * 5
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"".join(ev[:1000] + big + bad + ev[1000:]))
        wait_held(mock, "ok", 2000)
        wait_for("2 too large", lambda: lost(metrics(http),
                                             "MSG_SIZE_TOO_LARGE") == 2)
        wait_for("5 to an unknown topic",
                 lambda: lost(metrics(http), "UNKNOWN_TOPIC_OR_PART") == 5)
        got = read_topic(mock.boot, "ok")
        check(sorted(s for _, _, s in got) == list(range(2000)),
              "the accepted events, exactly once")
        check(a.stop() == 0, a.stderr())
        err = a.stderr()
        for reason in ("MSG_SIZE_TOO_LARGE", "UNKNOWN_TOPIC_OR_PART"):
            check(err.count(reason) == 1, "%s logged %d times: %s"
                  % (reason, err.count(reason), err))
    finally:
        a.kill()
        mock.close()


TESTS = [
    test_exactly_once_through_broker_failures,
    test_cluster_down_30s_with_agent_killed_loses_nothing,
    test_rejected_counted_logged_once_others_delivered,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--mock", required=True)
    p.add_argument("--only")
    p.add_argument("--sanitized", action="store_true",
                   help="fewer events and a 10 s outage (a sanitized build is "
                   "slower)")
    args = p.parse_args()
    if not shutil.which("kcat"):
        print("SKIP: kcat is not installed (Debian: kcat)")
        return 77
    return run_tests(TESTS, args, "ttlog-kafka-faults-")


if __name__ == "__main__":
    sys.exit(main())
