#!/usr/bin/env python3
"""The kafka input against ttlog-kafka-mock, kcat -P producing: every
format once with its origin, an undecodable message counted and skipped,
partitions paused under a stalled listener and nothing lost, a SIGKILL
and restart losing nothing with duplicates within the stated bound, and
--check placing a bad property. Exits 77 without kcat or the mock."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

import cbor2

from kafka_input_util import (check, file_out, free_port, kafka_input, main,
                              metric, metrics, Mock, produce, produce_files,
                              read_jsonl, seqs, start_agent, wait_for)


def mine(e):
    """Events read from the topic, not the agent's own."""
    return not e.get("file", "").startswith("agent/")


def test_formats_arrive_once_with_their_origin(args, tmp):
    m = Mock(args.mock, "t:3:1")
    out = os.path.join(tmp, "out.jsonl")
    http = free_port()
    a = None
    try:
        a = start_agent(args, tmp, kafka_input("k", m.boot, ["t"], "g"),
                        file_out(out), http)
        produce(m.boot, "t", ['{"msg":"json one","host":"h1",'
                              '"service":"s1","n":1}',
                              '<165>1 2003-10-11T22:14:15.003Z h2 app2 - - - '
                              'syslog one',
                              'raw one'])
        produce(m.boot, "t", ['{"msg":"json by header","relay":"r9"}'],
                headers=["ttlog-format=json"])
        c = cbor2.dumps({"t": 1700000000000000000, "l": 3, "m": "cbor one",
                         "o": {"host": "h3", "service": "s3",
                               "input": "app-in", "peer": "10.1.1.1:5"},
                         "s": ["src/x.c", 42, 7],
                         "f": [["n", 3], ["neg", -2], ["ok", True]]})
        bad = b"\x83\x01"  # a truncated array: not the cbor map
        for name, data in (("c.bin", c), ("bad.bin", bad)):
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(data)
        produce_files(m.boot, "t", [os.path.join(tmp, "c.bin")],
                      headers=["ttlog-format=cbor"])
        produce_files(m.boot, "t", [os.path.join(tmp, "bad.bin")],
                      headers=["ttlog-format=cbor"])
        want = {"json one", "syslog one", "raw one", "json by header",
                "cbor one"}
        wait_for("5 events", lambda: len([e for e in read_jsonl(out)
                                          if mine(e)]) >= 5)
        wait_for("the bad message counted",
                 lambda: metric(http, "ttlog_input_malformed_total") == 1)
        time.sleep(0.5)  # anything more would arrive now
        got = [e for e in read_jsonl(out) if mine(e)]
        msgs = [e["msg"] for e in got]
        check(sorted(msgs) == sorted(want), msgs)
        by = {e["msg"]: e for e in got}
        j = by["json one"]
        check(j["host"] == "h1" and j["service"] == "s1" and j["n"] == 1, j)
        check(j["input"] == "k" and j["peer"].startswith("t/"), j)
        s = by["syslog one"]
        check(s["host"] == "h2" and s["service"] == "app2", s)
        r = by["raw one"]
        check(r["input"] == "k" and r["peer"].startswith("t/"), r)
        check(by["json by header"].get("relay") == "r9", by["json by header"])
        cb = by["cbor one"]
        check(cb["host"] == "h3" and cb["service"] == "s3" and
              cb["input"] == "app-in" and cb["peer"] == "10.1.1.1:5", cb)
        check(cb["level"] == "WARN" and cb["file"] == "src/x.c" and
              cb["line"] == 42 and cb["n"] == 3 and cb["neg"] == -2 and
              cb["ok"] is True, cb)
        check(metric(http, "ttlog_input_kafka_messages_total") == 6,
              metric(http, "ttlog_input_kafka_messages_total"))
        check(metric(http, "ttlog_input_events_total") == 5, "events")
        check(metric(http, "ttlog_input_kafka_assigned_partitions") == 3,
              "assigned")
        wait_for("a commit", lambda: metric(
            http, "ttlog_input_kafka_commits_total") >= 1)
        code, a = a.stop(), None
        check(code == 0, "agent exit %d" % code)
    finally:
        if a:
            a.kill()
        m.close()


def ttlog_batch():
    """A version-3 CBOR batch (docs/cbor-batch.md) in an LZ4 frame, made
    here with cbor2 and the lz4 command: two events, one of an origin
    with no peer (an application's own: the input names itself) and one
    relayed already (its origin kept)."""
    batch = {
        "v": 3, "seq": 1,
        "origins": [["app1", "svc1", "", "", "", ""],
                    ["app2", "svc2", "edge", "10.0.0.9:4000", "", ""]],
        "callsites": [["batch one", "src/a.c", 10, 2, ["n"]],
                      ["batch two", "src/b.c", 20, 4, []]],
        "events": [[1700000000000000001, 11, 0, 0, 0, 5],
                   [1700000000000000002, 12, 1, 0, 1]],
    }
    r = subprocess.run(["lz4", "-c", "-q"], input=cbor2.dumps(batch),
                       capture_output=True, check=True, timeout=10)
    return r.stdout


def test_ttlog_batches_keep_their_origins(args, tmp):
    import shutil
    if not shutil.which("lz4"):
        print("     (no lz4 command: skipped)")
        return
    m = Mock(args.mock, "t:1:1")
    out = os.path.join(tmp, "out.jsonl")
    a = None
    try:
        a = start_agent(args, tmp, kafka_input("k", m.boot, ["t"], "g"),
                        file_out(out))
        path = os.path.join(tmp, "b.bin")
        with open(path, "wb") as f:
            f.write(ttlog_batch())
        produce_files(m.boot, "t", [path], headers=["ttlog-format=ttlog"])
        wait_for("2 events", lambda: len([e for e in read_jsonl(out)
                                          if mine(e)]) >= 2)
        by = {e["msg"]: e for e in read_jsonl(out) if mine(e)}
        one, two = by["batch one"], by["batch two"]
        check(one["host"] == "app1" and one["service"] == "svc1" and
              one["input"] == "k" and one["peer"] == "t/0" and
              one["n"] == 5 and one["file"] == "src/a.c", one)
        check(two["host"] == "app2" and two["input"] == "edge" and
              two["peer"] == "10.0.0.9:4000" and two["level"] == "ERROR",
              two)
    finally:
        if a:
            a.kill()
        m.close()


class StalledSink:
    """A TCP peer that accepts and reads nothing until go() is called,
    then counts the lines it gets."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.go_ev = threading.Event()
        self.data = bytearray()
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        c, _ = self.srv.accept()
        self.go_ev.wait()
        while True:
            b = c.recv(65536)
            if not b:
                return
            with self.lock:
                self.data += b

    def go(self):
        self.go_ev.set()

    def seqs(self):
        with self.lock:
            lines = bytes(self.data).split(b"\n")[:-1]
        out = []
        for l in lines:
            i = l.find(b'"seq ')
            if i >= 0:
                j = i + 5
                while j < len(l) and l[j:j + 1].isdigit():
                    j += 1
                out.append(int(l[i + 5:j]))
        return out


def test_stalled_listener_pauses_and_loses_nothing(args, tmp):
    # The mock keeps some MiB per partition (older messages are deleted
    # past that): spread over 4.
    m = Mock(args.mock, "t:4:1")
    sink = StalledSink()
    http = free_port()
    n = 30000  # 4.8 MB, well past what the window and sockets hold
    pad = "x" * 150
    a = None
    try:
        fwd = ("  - name: up\n    type: forward\n    format: jsonl\n"
               "    endpoints: 'tcp://127.0.0.1:%d'\n"
               "    window: {max_bytes: 1MiB}\n"
               "    queue: {when_full: block, max_bytes: 2MiB}\n"
               % sink.port)
        a = start_agent(args, tmp, kafka_input(
            "k", m.boot, ["t"], "g", "    pause_backlog: 256KiB\n"), fwd,
            http)
        produce(m.boot, "t", ["seq %d %s" % (i, pad) for i in range(n)])
        wait_for("the partitions paused",
                 lambda: metric(http, "ttlog_input_paused") == 1)
        lag = metric(http, "ttlog_input_kafka_lag")
        print("     paused with %d messages left in the topic" % lag)
        check(lag > 0, "paused, yet nothing left unread")
        sink.go()
        wait_for("every message at the sink",
                 lambda: len(set(sink.seqs())) >= n, 20)
        got = sink.seqs()
        check(sorted(set(got)) == list(range(n)), "missing messages")
        wait_for("resumed", lambda: metric(http, "ttlog_input_paused") == 0)
        check(metric(http, "ttlog_input_dropped_total") == 0, "dropped")
    finally:
        if a:
            a.kill()
        m.close()


def test_sigkill_and_restart_lose_nothing(args, tmp):
    """Phase 1 is read, durable and committed; then phase 2 is produced
    and the agent SIGKILLed while reading it. After a restart every
    message is there; the duplicates are at most what the killed agent
    had read past its last commit - here, at most the phase-2 messages it
    wrote out (a phase-1 duplicate would mean an offset committed late or
    not at all)."""
    m = Mock(args.mock, "t:4:1")
    out = os.path.join(tmp, "out.jsonl")
    http = free_port()
    n1, n2 = 2000, 60000
    a = None
    try:
        inp = kafka_input("k", m.boot, ["t"], "g")
        a = start_agent(args, tmp, inp, file_out(out), http)
        produce(m.boot, "t", ["seq %d" % i for i in range(n1)])
        wait_for("phase 1 out", lambda: len(seqs(out)) >= n1)
        c0 = metric(http, "ttlog_input_kafka_commits_total")
        wait_for("phase 1 committed", lambda: metric(
            http, "ttlog_input_kafka_commits_total") > c0)
        time.sleep(0.3)  # one more commit period: all of phase 1
        producer = threading.Thread(target=produce, args=(
            m.boot, "t", ["seq %d" % i for i in range(n1, n1 + n2)]))
        producer.start()
        wait_for("phase 2 being read",
                 lambda: len(seqs(out)) > n1, 20)
        a.proc.send_signal(signal.SIGKILL)
        a.kill()
        first = seqs(out)
        read2 = len([s for s in first if s >= n1])
        producer.join()
        a = start_agent(args, os.path.join(tmp), inp, file_out(out), http)
        wait_for("every message out",
                 lambda: len(set(seqs(out))) >= n1 + n2, 20)
        got = seqs(out)
        check(sorted(set(got)) == list(range(n1 + n2)), "lost messages")
        dups = len(got) - len(set(got))
        print("     killed after writing %d of phase 2; %d duplicates "
              "(bound: %d)" % (read2, dups, read2))
        check(all(got.count(s) == 1 for s in range(0, n1, 97)),
              "phase 1 read again: offsets not committed")
        check(dups <= read2, "%d duplicates over the bound %d"
              % (dups, read2))
    finally:
        if a:
            a.kill()
        m.close()


def test_partitions_take_turns(args, tmp):
    """Two partitions with a backlog each: they take turns, rather than
    one partition's whole fetch (a MiB) going first."""
    m = Mock(args.mock, "t:2:1")
    out = os.path.join(tmp, "out.jsonl")
    a = None
    n = 20000
    try:
        for p in (0, 1):
            produce(m.boot, "t", ["seq %d" % (p * n + i) for i in range(n)],
                    partition=p)
        a = start_agent(args, tmp, kafka_input("k", m.boot, ["t"], "g"),
                        file_out(out))
        wait_for("everything out", lambda: len(seqs(out)) >= 2 * n)
        # Runs of one partition's messages in the output: a turn takes
        # at most 64 from one partition while the other has some
        # fetched, so the runs are many and short (but for the first
        # fetches, which do not come back at once).
        part = [s >= n for s in seqs(out)]
        switches = sum(1 for i in range(1, len(part))
                       if part[i] != part[i - 1])
        print("     %d switches between the partitions" % switches)
        check(switches >= 40, "one partition at a time: %d" % switches)
        got = seqs(out)
        check(sorted(got) == list(range(2 * n)), "not each once")
        for p in (0, 1):  # in order within a partition
            mine_p = [s for s in got if (s >= n) == (p == 1)]
            check(mine_p == sorted(mine_p), "partition %d out of order" % p)
    finally:
        if a:
            a.kill()
        m.close()


def reload_with(a, http, inputs, listeners):
    """Rewrites the agent's configuration and waits for the reload."""
    with open(a.config) as f:
        head = f.read().split("inputs:\n")[0]
    with open(a.config, "w") as f:
        f.write(head + "inputs:\n" + inputs + "listeners:\n" + listeners)
    before = metrics(http).get("ttlog_agent_reloads_total", 0)
    a.proc.send_signal(signal.SIGHUP)
    wait_for("the reload", lambda: metrics(http).get(
        "ttlog_agent_reloads_total", 0) > before)


def test_reload_keeps_an_unchanged_consumer_and_replaces_a_changed_one(
        args, tmp):
    m = Mock(args.mock, "t:2:1")
    out = os.path.join(tmp, "out.jsonl")
    http = free_port()
    a = None
    try:
        inp = kafka_input("k", m.boot, ["t"], "g")
        a = start_agent(args, tmp, inp, file_out(out), http)
        produce(m.boot, "t", ["seq %d" % i for i in range(100)])
        wait_for("100 out", lambda: len(seqs(out)) >= 100)
        reb = metric(http, "ttlog_input_kafka_rebalances_total")
        reload_with(a, http, inp, file_out(out))
        # The same consumer: its counters and its assignment go on.
        check(metric(http, "ttlog_input_kafka_rebalances_total") == reb,
              "an unchanged input was replaced")
        produce(m.boot, "t", ["seq %d" % i for i in range(100, 200)])
        wait_for("200 out", lambda: len(seqs(out)) >= 200)
        # A changed one is a new consumer (counters from 0) that goes on
        # from the offsets the old one committed at its stop.
        reload_with(a, http, inp + "    max_message: 32KiB\n",
                    file_out(out))
        check(metric(http, "ttlog_input_kafka_messages_total") == 0,
              "a changed input kept its consumer")
        produce(m.boot, "t", ["seq %d" % i for i in range(200, 300)])
        wait_for("300 out", lambda: len(set(seqs(out))) >= 300)
        time.sleep(0.5)
        got = seqs(out)
        check(sorted(got) == list(range(300)),
              "not each once: %d lines" % len(got))
        code, a = a.stop(), None
        check(code == 0, "agent exit %d" % code)
    finally:
        if a:
            a.kill()
        m.close()


def check_config(args, cfg, text):
    """Writes cfg and runs ttlog-agent --check on it."""
    with open(cfg, "w") as f:
        f.write(text)
    return subprocess.run([args.agent, "--check", cfg], capture_output=True,
                          text=True, timeout=20)


def test_check_places_a_bad_property(args, tmp):
    cfg = os.path.join(tmp, "ttlog.yaml")
    for prop, why in (("fetch.wait.max.ms: lots", "properties.fetch.wait"),
                      ("enable.auto.commit: 'true'",
                       "properties.enable.auto.commit")):
        r = check_config(args, cfg, "service:\n  plugin_dir: %s\n"
                         "inputs:\n"
                         "  - name: k\n"
                         "    type: kafka\n"
                         "    brokers: 127.0.0.1:9\n"
                         "    topics: [t]\n"
                         "    group: g\n"
                         "    properties:\n"
                         "      client.rack: r1\n"
                         "      %s\n"
                         "listeners:\n%s" % (args.plugins, prop,
                                             file_out(os.path.join(tmp, "o"))))
        check(r.returncode != 0, "--check accepted %s" % prop)
        # At the entry's value, on line 11.
        check(re.search(r"%s:11:2[67]: inputs\[0\] \(k\): %s"
                        % (re.escape(cfg), re.escape(why)), r.stderr),
              "not placed at line 11: %s" % r.stderr)
    # A missing group and a topic pattern that does not compile.
    r = check_config(args, cfg, "inputs:\n"
                     "  - name: k\n"
                     "    type: kafka\n"
                     "    brokers: 127.0.0.1:9\n"
                     "    topics: [t, '^a(b']\n"
                     "    group: g\n"
                     "listeners:\n%s" % file_out(os.path.join(tmp, "o")))
    check(r.returncode != 0 and "%s:5:17:" % cfg in r.stderr and
          "topics[1]" in r.stderr, r.stderr)
    # The kafka options are refused on other types, at their line.
    r = check_config(args, cfg, "inputs:\n"
                     "  - name: t\n"
                     "    type: tail\n"
                     "    paths: [/tmp/nosuch.log]\n"
                     "    format: cbor\n"
                     "  - name: s\n"
                     "    type: syslog\n"
                     "    listen: tcp://127.0.0.1:9\n"
                     "    brokers: a:1\n"
                     "listeners:\n%s" % file_out(os.path.join(tmp, "o")))
    check(r.returncode != 0 and "%s:5:13: inputs[0] (t): format:" % cfg
          in r.stderr and "%s:9:14: inputs[1] (s): brokers:" % cfg
          in r.stderr, r.stderr)


TESTS = [test_formats_arrive_once_with_their_origin,
         test_ttlog_batches_keep_their_origins,
         test_stalled_listener_pauses_and_loses_nothing,
         test_sigkill_and_restart_lose_nothing,
         test_partitions_take_turns,
         test_reload_keeps_an_unchanged_consumer_and_replaces_a_changed_one,
         test_check_places_a_bad_property]


if __name__ == "__main__":
    raise SystemExit(main(TESTS, "ttlog-kin-"))
