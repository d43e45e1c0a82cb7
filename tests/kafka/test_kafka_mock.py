#!/usr/bin/env python3
"""kcat against ttlog-kafka-mock: what is produced is consumed exactly
once and in order per key, across a broker down/up and a leader move.
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

    def cmd(self, c):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        r = self.p.stdout.readline().strip()
        assert r == "ok", (c, r)

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=20)
        assert self.p.returncode == 0, self.p.returncode


def produce(boot, start, n):
    lines = "".join("k%d:%d\n" % (i % KEYS, i) for i in range(start, start + n))
    # acks=all and retries: a broker down makes kcat retry, not drop.
    subprocess.run(["kcat", "-b", boot, "-t", TOPIC, "-P", "-K:",
                    "-X", "acks=all", "-X", "message.timeout.ms=30000"],
                   input=lines, text=True, check=True, timeout=40)


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

        m.cmd("down 1")
        produce(m.boot, 10000, 2000)
        m.cmd("up 1")
        check(consume(m.boot, 12000), 12000)
        print("broker 1 down: 2000 more, nothing lost")

        m.cmd("leader %s 0 2" % TOPIC)
        m.cmd("leader %s 1 3" % TOPIC)
        produce(m.boot, 12000, 2000)
        check(consume(m.boot, 14000), 14000)
        print("leaders moved: 14000 once, in order per key")
    finally:
        m.close()
    print("PASS")


if __name__ == "__main__":
    main()
