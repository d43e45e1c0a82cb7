#!/usr/bin/python3
"""The Kafka listener against ttlog-kafka-mock, read back with kcat:
events sent to an agent's JSON lines input land in the topics their
templates name, in each of the four formats, exactly once; messages the
cluster or librdkafka reject are counted by reason and logged once;
--check places a bad property or template at FILE:LINE:COL; with a spool,
a SIGKILL while every broker is down loses nothing.

Usage: test_kafka_listener.py --agent PATH --plugins DIR --mock PATH
                              [--only NAME]
Exits 77 when kcat is missing."""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from test_agent import (Agent, DEADLINE, Failure, check, free_port,  # noqa
                        metrics, run_tests)

import cbor2  # noqa: E402  (Debian python3-cbor2, the system python)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kafka_mock import Mock as MockTool  # noqa: E402


class Mock(MockTool):
    """ttlog-kafka-mock: a 3-broker cluster with the given topics."""

    def __init__(self, path, *topics):
        args = []
        for t in topics:
            args += ["--topic", t]
        super().__init__(path, *args)


def config(args, http, port, listeners):
    return ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n"
            "  - {name: app, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n%s" % (http, port, listeners))


def send(port, events):
    with socket.create_connection(("127.0.0.1", port),
                                  timeout=DEADLINE) as s:
        s.sendall("".join(json.dumps(e) + "\n" for e in events).encode())


def events(n, start=0):
    return [{"msg": "event %d" % i, "service": ("web", "db")[i % 2],
             "host": "h%d" % (i % 4), "seq": i}
            for i in range(start, start + n)]


def read_topic(boot, topic):
    """Every message of topic: (key, headers, value bytes)."""
    r = subprocess.run(["kcat", "-b", boot, "-t", topic, "-C", "-e", "-q",
                        "-o", "beginning", "-f", "%k|%h|%S\n%s\n"],
                       capture_output=True, timeout=DEADLINE)
    out, data, pos = [], r.stdout, 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        key, hdrs, size = data[pos:nl].decode().split("|")
        start = nl + 1
        value = data[start:start + int(size)]
        pos = start + int(size) + 1
        out.append((key, hdrs, value))
    return out


def wait_for(what, fn):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise Failure("no %s within %ss" % (what, DEADLINE))


def wait_topic(boot, topic, n, seqs_of):
    """The messages of topic once they hold n distinct sequence numbers
    (duplicates, which a spool's replay may make, do not count)."""
    got = []

    def enough():
        nonlocal got
        got = read_topic(boot, topic)
        return len(set(s for m in got for s in seqs_of(m))) >= n
    try:
        wait_for("%d events in %s" % (n, topic), enough)
    except Failure:
        pass  # checked by the caller, with what did arrive
    return got


def json_seqs(m):
    e = json.loads(m[2])
    return [e["seq"]] if "seq" in e else []


def cbor_seqs(m):
    e = cbor2.loads(m[2])
    return [v for k, v in e.get("f", []) if k == "seq"]


def syslog_seqs(m):
    return [int(x) for x in re.findall(rb' seq="(\d+)"', m[2])]


def ttlog_seqs(m):
    raw = subprocess.run(["lz4", "-dc"], input=m[2], capture_output=True,
                         check=True).stdout
    b = cbor2.loads(raw)
    out = []
    for ev in b["events"]:
        keys = b["callsites"][ev[2]][4]
        vals = ev[5 + ((ev[3] >> 1) & 1):]
        out += [v for k, v in zip(keys, vals) if k == "seq"]
    return out


def test_four_formats_land_exactly_once_in_their_topics(args, tmp):
    n = 400
    mock = Mock(args.mock)
    http, port = free_port(), free_port()
    lst = ""
    for fmt, topic, key in (("json", "j.${service}", "${host}"),
                            ("cbor", "c.${service}", "${host}"),
                            ("syslog", "s.${service}", "${host}"),
                            ("ttlog", "t.all", "batch")):
        lst += ("  - {name: %s, type: kafka, brokers: '%s', topic: '%s', "
                "key: '%s', format: %s}\n" % (fmt, mock.boot, topic, key,
                                              fmt))
    # librdkafka's queue holds 1 KiB: full all the time, so the batch
    # is offered again (RETRY) and goes on where it stopped.
    lst += ("  - {name: small, type: kafka, brokers: '%s', topic: "
            "'q.${service}', key: '${host}', buffer: {max_bytes: 1KiB}}\n"
            % mock.boot)
    # A batch over message.max.bytes goes as cbor messages instead.
    lst += ("  - {name: big, type: kafka, brokers: '%s', topic: b.all, "
            "format: ttlog, properties: {message.max.bytes: 1000}}\n"
            % mock.boot)
    a = Agent(args, tmp, config(args, http, port, lst), 1)
    try:
        evs = events(n)
        send(port, evs)
        for fmt, seqs_of, pre in (("json", json_seqs, "j"),
                                  ("cbor", cbor_seqs, "c"),
                                  ("syslog", syslog_seqs, "s"),
                                  ("json", json_seqs, "q")):
            for svc in ("web", "db"):
                topic = pre + "." + svc
                want = [e for e in evs if e["service"] == svc]
                got = wait_topic(mock.boot, topic, len(want), seqs_of)
                seqs = sorted(s for m in got for s in seqs_of(m))
                check(seqs == [e["seq"] for e in want],
                      "%s: %d events, wanted %d once each" %
                      (topic, len(seqs), len(want)))
                for m in got:
                    # cbor says its format in a header; json and syslog
                    # carry none (their first byte tells).
                    check(m[1] == ("ttlog-format=cbor" if fmt == "cbor"
                                   else ""), (topic, m[1]))
                    s = seqs_of(m)
                    if s:
                        check(m[0] == "h%d" % (s[0] % 4),
                              "%s: key %r for seq %d" % (topic, m[0], s[0]))
                if fmt == "cbor":
                    e = cbor2.loads(got[0][2])
                    check(e["o"]["service"] == svc and e["m"].startswith(
                        "event "), e)
        got = wait_topic(mock.boot, "t.all", n, ttlog_seqs)
        seqs = sorted(s for m in got for s in ttlog_seqs(m))
        check(seqs == list(range(n)), "t.all: %d events" % len(seqs))
        check(all(m[0] == "batch" and m[1] == "ttlog-format=ttlog"
                  for m in got), got[0][:2])
        def by_header(m):
            return (ttlog_seqs if m[1] == "ttlog-format=ttlog"
                    else cbor_seqs)(m)
        got = wait_topic(mock.boot, "b.all", n, by_header)
        seqs = sorted(s for m in got for s in by_header(m))
        check(seqs == list(range(n)), "b.all: %d events" % len(seqs))
        check(any(m[1] == "ttlog-format=cbor" for m in got), "no cbor")
        m = metrics(http)
        check(m.get('ttlog_listener_kafka_queue_full_total{listener='
                    '"small"}', 0) > 0, "the small queue was never full")
        for fmt in ("json", "cbor", "syslog"):
            k = 'ttlog_listener_kafka_events_delivered_total{listener="%s"}'
            check(m.get(k % fmt, 0) >= n, (fmt, m.get(k % fmt)))
        check(a.stop() == 0, a.stderr())
    finally:
        a.kill()
        mock.close()


def lost(m, reason):
    return m.get('ttlog_listener_kafka_events_lost_total{listener="k",'
                 'reason="%s"}' % reason, 0)


def test_rejected_messages_are_counted_by_reason_and_logged_once(args, tmp):
    mock = Mock(args.mock, "logs.web:1:3")
    http, port = free_port(), free_port()
    lst = ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
           "    topic: logs.${service}\n    message_timeout: 5s\n"
           "    properties: {message.max.bytes: 2000}\n" % mock.boot)
    a = Agent(args, tmp, config(args, http, port, lst), 1)
    try:
        big = [{"msg": "x" * 5000, "service": "web", "seq": i}
               for i in range(3)]
        send(port, big + events(1, 100))
        wait_for("3 too large", lambda: lost(metrics(http),
                                             "MSG_SIZE_TOO_LARGE") == 3)
        wait_topic(mock.boot, "logs.web", 1, json_seqs)
        # The broker refuses the next produce request: an unknown or
        # invalid topic is a permanent error (librdkafka does not retry).
        mock.cmd("produce-error 17 1")
        send(port, [{"msg": "refused", "service": "web", "seq": 200}])
        wait_for("a topic error", lambda: lost(metrics(http),
                                               "TOPIC_EXCEPTION") >= 1)
        send(port, [{"msg": "after", "service": "web", "seq": 300}])
        got = wait_topic(mock.boot, "logs.web", 2,
                         lambda m: [s for s in json_seqs(m) if s != 200])
        seqs = sorted(s for m in got for s in json_seqs(m))
        check(100 in seqs and 300 in seqs and 0 not in seqs, seqs)
        check(a.stop() == 0, a.stderr())
        err = a.stderr()
        check(err.count("MSG_SIZE_TOO_LARGE") == 1, err)
        check(err.count("TOPIC_EXCEPTION") == 1, err)
        check("topic logs.web: MSG_SIZE_TOO_LARGE" in err, err)
    finally:
        a.kill()
        mock.close()


def check_refused(args, tmp, body, needle, key, value=None):
    """--check of body fails at the line of `needle` in it, at the column
    of `value` on that line (default: needle itself), naming `key`."""
    path = os.path.join(tmp, "bad.yaml")
    text = ("service:\n  plugin_dir: %s\ninputs: []\nlisteners:\n%s"
            % (args.plugins, body))
    with open(path, "w") as f:
        f.write(text)
    lines = text.split("\n")
    ln = next(i for i, l in enumerate(lines) if needle in l)
    at = lines[ln].index(needle)
    col = (lines[ln].index(value, at + len(needle)) if value else at) + 1
    r = subprocess.run([args.agent, "--check", path], capture_output=True,
                       text=True, timeout=DEADLINE)
    where = "%s:%d:%d" % (path, ln + 1, col)
    check(r.returncode == 1, r.stdout + r.stderr)
    check(where in r.stderr and key in r.stderr,
          "wanted %s and %r in %r" % (where, key, r.stderr))


def test_check_places_bad_properties_and_templates(args, tmp):
    # The registry places an option's error at its value.
    head = "  - name: k\n    type: kafka\n    brokers: 127.0.0.1:9092\n"
    check_refused(args, tmp, head + "    topic: logs\n    properties:\n"
                  "      linger.ms: 5\n      queue.buffering.max.ms: x\n",
                  "queue.buffering.max.ms", "properties.queue.buffering."
                  "max.ms: ", "x")
    check_refused(args, tmp, head + "    topic: logs\n    properties:\n"
                  "      acks: 1\n", "acks", "properties.acks: set by the "
                  "listener", "1")
    check_refused(args, tmp, head + "    topic: 'logs.$${service'\n",
                  "topic", "topic: column 6: ", "'")
    check_refused(args, tmp, head + "    format: ttlog\n"
                  "    topic: logs.${service}\n", "topic",
                  "topic: format ttlog", "logs")
    good = os.path.join(tmp, "good.yaml")
    with open(good, "w") as f:
        f.write("service:\n  plugin_dir: %s\ninputs: []\nlisteners:\n%s"
                "    topic: logs.${service}\n    key: ${host}\n"
                "    properties: {linger.ms: 20}\n" % (args.plugins, head))
    r = subprocess.run([args.agent, "--check", good], capture_output=True,
                       text=True, timeout=DEADLINE)
    check(r.returncode == 0, r.stdout + r.stderr)


def check_all_in_kafka(mock, n):
    """Every event of events(n) is in logs.web or logs.db, at least
    once."""
    seqs, total = set(), 0
    for svc in ("web", "db"):
        got = wait_topic(mock.boot, "logs." + svc, n // 2, json_seqs)
        seqs |= set(s for m in got for s in json_seqs(m))
        total += sum(len(json_seqs(m)) for m in got)
    check(seqs == set(range(n)), "%d of %d events in Kafka" % (len(seqs), n))
    print("     %d events in Kafka, %d of them again" % (n, total - n))


def test_spool_keeps_everything_across_sigkill_with_cluster_down(args, tmp):
    n = 300
    mock = Mock(args.mock, "logs.web:3:3", "logs.db:3:3")
    http, port = free_port(), free_port()
    spool = os.path.join(tmp, "spool")
    lst = ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
           "    topic: logs.${service}\n    key: ${host}\n"
           "    spool: {dir: '%s', fsync: never}\n"
           "    buffer: {max_bytes: 1KiB}\n"
           "    properties: {reconnect.backoff.max.ms: 500}\n"
           % (mock.boot, spool))
    body = config(args, http, port, lst)
    a = Agent(args, tmp, body, 1)
    b = None
    try:
        for i in (1, 2, 3):
            mock.cmd("down %d" % i)
        # librdkafka's own report: no broker is reachable any more.
        a.wait_stderr("_ALL_BROKERS_DOWN")
        send(port, events(n))
        key = 'ttlog_listener_kafka_spool_events{listener="k"}'
        wait_for("%d events in the spool" % n,
                 lambda: metrics(http).get(key, 0) >= n)
        a.kill()
        b = Agent(args, tmp, body, 1)
        for i in (1, 2, 3):
            mock.cmd("up %d" % i)
        check_all_in_kafka(mock, n)
        check("are produced again" in b.stderr(), b.stderr())
        check(b.stop() == 0, b.stderr())
    finally:
        a.kill()
        if b:
            b.kill()
        mock.close()


def test_shutdown_without_spool_counts_and_states_the_loss(args, tmp):
    n = 50
    mock = Mock(args.mock, "logs.web:1:3")
    http, port = free_port(), free_port()
    lst = ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
           "    topic: logs.${service}\n    shutdown_timeout: 1s\n"
           % mock.boot)
    a = Agent(args, tmp, config(args, http, port, lst), 1)
    try:
        for i in (1, 2, 3):
            mock.cmd("down %d" % i)
        a.wait_stderr("_ALL_BROKERS_DOWN")
        send(port, [dict(e, service="web") for e in events(n)])
        key = 'ttlog_listener_kafka_messages_in_flight{listener="k"}'
        wait_for("%d in flight" % n, lambda: metrics(http).get(key, 0) >= n)
        code = a.stop()
        err = a.stderr()
        m = re.findall(r"kafka listener k: (\d+) events not delivered at "
                       r"shutdown \(cluster unreachable\)", err)
        check(len(m) == 1 and int(m[0]) >= n, err[-2000:])
        check(code != 0, "exit status 0 with events lost")
    finally:
        a.kill()
        mock.close()


def reload(a, args, body, http, applied):
    with open(a.config, "w") as f:
        f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                % (args.plugins, body))
    a.proc.send_signal(signal.SIGHUP)
    wait_for("reload %d" % applied, lambda: metrics(http).get(
        "ttlog_agent_reloads_total", 0) >= applied)


def test_reload_hands_the_spool_over_and_loses_nothing(args, tmp):
    mock = Mock(args.mock, "logs.web:3:3", "logs.db:3:3")
    http, port = free_port(), free_port()
    spool = os.path.join(tmp, "spool")
    lst = ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
           "    topic: logs.${service}\n    compression: %s\n"
           "    spool: {dir: '%s'}\n")
    a = Agent(args, tmp, config(args, http, port,
                                lst % (mock.boot, "lz4", spool)), 1)
    try:
        send(port, events(200))
        for i, c in enumerate(("zstd", "none", "gzip")):
            reload(a, args, config(args, http, port,
                                   lst % (mock.boot, c, spool)), http, i + 1)
            send(port, events(200, 200 * (i + 1)))
        n = 800
        check_all_in_kafka(mock, n)
        check("in use by" not in a.stderr(), a.stderr())
        check(a.stop() == 0, a.stderr())
    finally:
        a.kill()
        mock.close()


def test_timed_out_messages_are_produced_again_from_the_spool(args, tmp):
    n = 100
    mock = Mock(args.mock, "logs.web:3:3", "logs.db:3:3")
    http, port = free_port(), free_port()
    lst = ("  - name: k\n    type: kafka\n    brokers: '%s'\n"
           "    topic: logs.${service}\n    message_timeout: 1s\n"
           "    spool: {dir: '%s', fsync: never}\n"
           "    properties: {reconnect.backoff.max.ms: 500}\n"
           % (mock.boot, os.path.join(tmp, "spool")))
    a = Agent(args, tmp, config(args, http, port, lst), 1)
    try:
        for i in (1, 2, 3):
            mock.cmd("down %d" % i)
        a.wait_stderr("_ALL_BROKERS_DOWN")
        send(port, events(n))
        key = 'ttlog_listener_kafka_spool_resent_total{listener="k"}'
        wait_for("a record produced again",
                 lambda: metrics(http).get(key, 0) >= 1)
        for i in (1, 2, 3):
            mock.cmd("up %d" % i)
        check_all_in_kafka(mock, n)
        m = metrics(http)
        check(not any(k.startswith("ttlog_listener_kafka_events_lost_total")
                      for k in m), "counted as lost: %r" % m)
        check(a.stop() == 0, a.stderr())
    finally:
        a.kill()
        mock.close()


TESTS = [
    test_four_formats_land_exactly_once_in_their_topics,
    test_rejected_messages_are_counted_by_reason_and_logged_once,
    test_check_places_bad_properties_and_templates,
    test_spool_keeps_everything_across_sigkill_with_cluster_down,
    test_shutdown_without_spool_counts_and_states_the_loss,
    test_reload_hands_the_spool_over_and_loses_nothing,
    test_timed_out_messages_are_produced_again_from_the_spool,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--mock", required=True)
    p.add_argument("--only")
    args = p.parse_args()
    if not shutil.which("kcat"):
        print("SKIP: kcat is not installed (Debian: kcat)")
        return 77
    return run_tests(TESTS, args, "ttlog-kafka-")


if __name__ == "__main__":
    sys.exit(main())
