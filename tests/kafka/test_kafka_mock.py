#!/usr/bin/env python3
"""kcat against ttlog-kafka-mock: what is produced is consumed exactly
once and in order per key, across a leader broker down while kcat
produces, leader moves and the whole cluster down and up; the mock's
error answers and its high watermarks.
Exits 77 when kcat or the mock program is missing."""
import argparse
import os
import shutil
import subprocess
import sys
import time

TOPIC = "t"
KEYS = 16


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


class Mock:
    def __init__(self, path, *args):
        self.p = subprocess.Popen([path, *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        assert len(line) == 2 and line[0] == "bootstrap", line
        self.boot = line[1]

    def ask(self, c):
        """Sends a command; returns (last line, lines before it)."""
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        lines = []
        while True:
            r = self.p.stdout.readline().strip()
            if r == "ok" or r.startswith("error") or not r:
                return r, lines
            lines.append(r)

    def cmd(self, c):
        r, lines = self.ask(c)
        assert r == "ok", (c, r)
        return lines

    def offsets(self, topic):
        """{partition: high watermark}."""
        return {int(p): int(h) for _, p, h in
                (l.split() for l in self.cmd("offsets " + topic))}

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=20)
        assert self.p.returncode == 0, self.p.returncode


def start_produce(boot, start, n):
    """kcat -P of keys k0..k15 with values start..start+n-1, running."""
    lines = "".join("k%d:%d\n" % (i % KEYS, i) for i in range(start, start + n))
    # acks=all and retries: a broker down makes kcat retry, not drop;
    # the idempotent producer keeps the order across those retries.
    p = subprocess.Popen(["kcat", "-b", boot, "-t", TOPIC, "-P", "-K:",
                          "-X", "acks=all", "-X", "enable.idempotence=true",
                          "-X", "message.timeout.ms=30000"],
                         stdin=subprocess.PIPE, text=True)
    p.stdin.write(lines)
    p.stdin.close()
    return p


def produce(boot, start, n):
    p = start_produce(boot, start, n)
    assert p.wait(timeout=40) == 0, p.returncode


def consume(boot, want):
    """Reads the whole topic until `want` messages are seen (deadline)."""
    deadline = time.monotonic() + 30
    while True:
        r = subprocess.run(["kcat", "-b", boot, "-t", TOPIC, "-C", "-e",
                            "-o", "beginning", "-f", "%k %s\n"],
                           capture_output=True, text=True, timeout=40)
        got = [l.split() for l in r.stdout.splitlines() if l]
        if len(got) >= want or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def check(got, n):
    seen = [int(v) for _, v in got]
    assert len(seen) == n, ("count", len(seen), n)
    assert sorted(seen) == list(range(n)), "missing or duplicated"
    last = {}
    for k, v in got:
        v = int(v)
        assert "k%d" % (v % KEYS) == k, (k, v)
        assert last.get(k, -1) < v, ("order", k, last.get(k), v)
        last[k] = v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mock", required=True)
    a = ap.parse_args()
    if not shutil.which("kcat"):
        skip("kcat is not installed (Debian: kcat)")
    if not os.access(a.mock, os.X_OK):
        skip("no ttlog-kafka-mock at " + a.mock)
    m = Mock(a.mock, "--topic", TOPIC + ":3:3")
    try:
        produce(m.boot, 0, 10000)
        check(consume(m.boot, 10000), 10000)
        print("10000 produced and consumed once, in order per key")

        # Broker 1 leads partition 0, so taking it down matters: kcat
        # produces while it is away and must wait for it or a new leader.
        m.cmd("leader %s 0 1" % TOPIC)
        p = start_produce(m.boot, 10000, 2000)
        m.cmd("down 1")
        time.sleep(1)
        m.cmd("up 1")
        assert p.wait(timeout=40) == 0, p.returncode
        check(consume(m.boot, 12000), 12000)
        print("broker 1 (a leader) down while producing: nothing lost")

        r, _ = m.ask("leader nosuchtopic 0 1")
        assert r.startswith("error"), r
        r, _ = m.ask("down 9")
        assert r.startswith("error"), r

        m.cmd("leader %s 0 2" % TOPIC)
        m.cmd("leader %s 1 3" % TOPIC)
        produce(m.boot, 12000, 2000)
        check(consume(m.boot, 14000), 14000)
        print("leaders moved: 14000 once, in order per key")

        assert sum(m.offsets(TOPIC).values()) == 14000, m.offsets(TOPIC)
        # kcat itself gives up ("all broker connections are down") when
        # it sees the whole cluster gone, so it produces after the
        # cluster is back; the agent's own outage test is kafka.faults.
        m.cmd("down all")
        time.sleep(1)
        m.cmd("up all")
        produce(m.boot, 14000, 1000)
        check(consume(m.boot, 15000), 15000)
        assert sum(m.offsets(TOPIC).values()) == 15000, m.offsets(TOPIC)
        print("whole cluster down and up: 15000 once, high watermarks agree")
    finally:
        m.close()
    print("PASS")


if __name__ == "__main__":
    main()
