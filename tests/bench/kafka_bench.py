#!/usr/bin/python3
"""Kafka benchmark: the same syslog stream relayed into the same mock
Kafka cluster by rsyslog (imtcp -> omkafka), ttlog-agent (syslog input ->
kafka listener) and kcat -P, in the same run.

    python3 tests/bench/kafka_bench.py --build DIR [--runs 5] [--n 1000000]
                                       [--line-bytes 150] [--keep]
                                       [--readers rsyslog,ttlog,kcat]

DIR is a build tree (Release, TTLOG_TESTS=ON) holding agent/ttlog-agent,
tests/kafka/ttlog-kafka-mock and plugins/.

The stream: N RFC 5424 lines of LINE_BYTES bytes each plus LF, the
sequence number in the structured data. Every relay run gets a fresh
ttlog-kafka-mock (3 brokers, topic "bench" with 3 partitions, replication
3) and sends one message per line, with the same producer settings:
acks=all with the idempotent producer, lz4 compression.

  rsyslog  rsyslogd -n: imtcp (LF framed) -> omkafka (Debian
           rsyslog-kafka), template RSYSLOG_SyslogProtocol23Format
  ttlog    ttlog-agent: a syslog input on tcp:// -> a kafka listener,
           format syslog (RFC 5424 again), queue.when_full: block
  ttlog-json   the same, format json (one JSON object a message)
  ttlog-batch  the same, format ttlog: one message per batch (the CBOR
           batch in an LZ4 frame), so fewer messages than events
  kcat     kcat -P -l FILE (the lines from a file, no parsing)

A relay's time runs from just before the first byte is sent (for kcat:
its start) until the cluster holds N events: for one message per event,
N messages (the sum of the topic's high watermarks, asked of the mock);
for ttlog-batch, the listener's kafka_events_delivered_total on /metrics
reaching N (a message is delivered once it is in the topic; the
watermarks then give the messages). Its CPU is utime + stime of the
relay process (all threads, /proc/PID/stat), not the mock's nor this
script's. Lost = N - events in the topic, asserted 0.

Prints per run and relay: seconds, events/s, CPU-s per million events;
then a markdown table of median (min-max) and the ttlog/rsyslog ratios
taken per run. Target (issue 19): ttlog >= 2x rsyslog omkafka's events/s
at <= 0.5x its CPU per event, 0 lost.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
sys.path.insert(0, HERE)
import imfile  # noqa: E402  (tests/integration/imfile.py)
from forward_bench import (Agent, fmt_rate, metric, metrics,  # noqa: E402
                           proc_cpu, sysinfo)
from tail_bench import fmt3, wait_count  # noqa: E402
from test_agent import free_port  # noqa: E402

TOPIC = "bench"
POLL = 0.02  # seconds between two looks at the high watermarks
START = 20.0
PRODUCER = {"acks": "all", "enable.idempotence": "true",
            "compression.codec": "lz4"}


def make_lines(n, size):
    """n RFC 5424 lines of exactly `size` bytes, each ending in LF."""
    out = []
    for i in range(n):
        head = (b"<134>1 2025-01-15T10:00:00.%06dZ bench-host kbench 4242 - "
                b"[req@32473 seq=\"%010d\"] kbench %010d "
                % (i % 1000000, i, i))
        out.append(head + b"x" * (size - len(head)) + b"\n")
    if len(out[0]) != size + 1:
        raise SystemExit("--line-bytes %d is too small" % size)
    return b"".join(out)


class Mock:
    """ttlog-kafka-mock with the benchmark's topic."""

    def __init__(self, exe):
        self.p = subprocess.Popen([exe, "--topic", TOPIC + ":3:3"],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True)
        self.boot = self.p.stdout.readline().split()[1]

    def held(self):
        self.p.stdin.write("offsets %s\n" % TOPIC)
        self.p.stdin.flush()
        total = 0
        while True:
            r = self.p.stdout.readline().strip()
            if r == "ok":
                return total
            if not r.startswith("offset "):
                return -1
            total += int(r.split()[2])

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(START)


class Result:
    def __init__(self, name):
        self.name, self.wall, self.cpu, self.held = name, None, None, None
        self.events = None  # events in the topic; None: = held
        self.note = ""


def send(port, data):
    with socket.create_connection(("127.0.0.1", port), timeout=START) as s:
        s.settimeout(None)
        view = memoryview(data)
        for off in range(0, len(data), 1 << 20):
            s.sendall(view[off:off + (1 << 20)])


def measure(ctx, res, mock, pid, port=None, events=None):
    """Sends the stream to port (if any) and waits until the topic holds
    N events (events(): how many; default one per message) or stalls;
    fills res."""
    t0 = time.monotonic()
    if port:
        threading.Thread(target=send, args=(port, ctx.data),
                         daemon=True).start()
    done = wait_count(events or mock.held, ctx.n, res, POLL)
    if done is not None:
        res.cpu = proc_cpu(pid)
        res.wall = done - t0
    time.sleep(0.5)  # anything beyond N would be a duplicate
    res.held = mock.held()
    if events is not None:
        res.events = events()


def wait_port(port, proc, what):
    end = time.monotonic() + START
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("%s exited (%d)" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("%s not listening within %.0f s" % (what, START))


def run_rsyslog(ctx, res, d, mock):
    port = free_port()
    os.makedirs(os.path.join(d, "work"))
    brokers = ",".join('"%s"' % b for b in mock.boot.split(","))
    conf = "\n".join([
        'global(workDirectory="%s" net.enableDNS="off"' % os.path.join(
            d, "work"),
        '  maxMessageSize="64k")',
        'module(load="imtcp")', 'module(load="omkafka")',
        'input(type="imtcp" port="%d" address="127.0.0.1" ruleset="k")'
        % port,
        'ruleset(name="k") {',
        '  action(type="omkafka" broker=[%s] topic="%s"' % (brokers, TOPIC),
        '    template="RSYSLOG_SyslogProtocol23Format"',
        '    confParam=[%s])' % ",".join('"%s=%s"' % kv
                                       for kv in PRODUCER.items()),
        '}', ""])
    path = os.path.join(d, "rsyslog.conf")
    with open(path, "w") as f:
        f.write(conf)
    err = open(os.path.join(d, "rsyslogd.stderr"), "wb")
    p = subprocess.Popen([ctx.rsyslogd, "-n", "-f", path, "-i",
                          os.path.join(d, "rsyslogd.pid")],
                         stdin=subprocess.DEVNULL, stdout=err, stderr=err)
    try:
        wait_port(port, p, "rsyslogd")
        measure(ctx, res, mock, p.pid, port)
    finally:
        p.terminate()
        p.wait(START)
        err.close()


def run_ttlog(ctx, res, d, mock, fmt="syslog"):
    port, http = free_port(), free_port()
    conf = ("service:\n  name: kbench\n  plugin_dir: '%s'\n"
            "  http: {listen: '127.0.0.1:%d'}\n"
            "inputs:\n  - {name: in, type: syslog, listen: "
            "'tcp://127.0.0.1:%d'}\n"
            "listeners:\n  - name: k\n    type: kafka\n    brokers: '%s'\n"
            "    topic: %s\n    format: %s\n    compression: lz4\n"
            "    queue: {when_full: block}\n    match: input == \"in\"\n"
            % (ctx.plugins, http, port, mock.boot, TOPIC, fmt))
    if ctx.properties:
        conf += "    properties: {%s}\n" % ", ".join(
            "'%s': '%s'" % tuple(kv.split("=", 1)) for kv in ctx.properties)
    a = Agent(ctx.agent, d, conf, 1, http)

    def delivered():
        return int(metric(metrics(http),
                          "ttlog_listener_kafka_events_delivered_total",
                          listener="k"))
    try:
        measure(ctx, res, mock, a.pid, port,
                delivered if fmt == "ttlog" else None)
    finally:
        code = a.stop()
        if code != 0:
            res.note += " agent exit status %s" % code


def run_kcat(ctx, res, d, mock):
    args = ["kcat", "-P", "-b", mock.boot, "-t", TOPIC, "-l", ctx.file]
    for kv in PRODUCER.items():
        args += ["-X", "%s=%s" % kv]
    err = open(os.path.join(d, "kcat.stderr"), "wb")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=err,
                         stderr=err)
    try:
        # kcat exits once everything is delivered: its CPU is read from a
        # zombie (not reaped yet), which /proc still shows.
        measure(ctx, res, mock, p.pid)
    finally:
        p.wait(START)
        err.close()


def run_ttlog_json(ctx, res, d, mock):
    run_ttlog(ctx, res, d, mock, "json")


def run_ttlog_batch(ctx, res, d, mock):
    run_ttlog(ctx, res, d, mock, "ttlog")


# (name, label, runner, one message per event)
READERS = [("rsyslog", "rsyslog imtcp -> omkafka", run_rsyslog, True),
           ("ttlog", "ttlog-agent syslog -> kafka, format syslog",
            run_ttlog, True),
           ("ttlog-json", "ttlog-agent syslog -> kafka, format json",
            run_ttlog_json, True),
           ("ttlog-batch", "ttlog-agent syslog -> kafka, format ttlog",
            run_ttlog_batch, False),
           ("kcat", "kcat -P (from a file)", run_kcat, True)]


def events_of(r):
    return r.events if r.events is not None else r.held


def ratio_row(name, label, rate, cpu):
    """The table row of name/rsyslog ratios of rate and CPU, taken run
    by run (rate and cpu: {reader: [per run]})."""
    pairs = list(zip(rate[name], rate["rsyslog"], cpu[name],
                     cpu["rsyslog"]))
    rr = [a / b for a, b, _, _ in pairs if a and b]
    cr = [c / e for _, _, c, e in pairs if c and e]
    return ("| ratio %s / rsyslog, per run | | %s | %s | | | |"
            % (label, fmt3(rr, lambda v: "%.2f" % v),
               fmt3(cr, lambda v: "%.2f" % v)))


def report(ctx, results, order):
    rate = {k: [ctx.n / r.wall if r.wall else None for r in v]
            for k, v in results.items()}
    cpu = {k: [r.cpu / ctx.n * 1e6 if r.wall else None for r in v]
           for k, v in results.items()}
    print()
    print("| relay | message per event | events/s | CPU s / M events "
          "| events in topic (all runs) | messages in topic | lost |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, label, _, one in READERS:
        if name not in order:
            continue
        rs = results[name]
        got = [events_of(r) for r in rs if events_of(r) is not None]
        held = [r.held for r in rs if r.held is not None]
        print("| %s | %s | %s | %s | %d | %d | %d |" % (
            label, "yes" if one else "no (one per batch)",
            fmt3(rate[name], fmt_rate),
            fmt3(cpu[name], lambda v: "%.2f" % v), sum(got), sum(held),
            sum(max(0, ctx.n - h) for h in got)
            + ctx.n * (len(rs) - len(got))))
    if "rsyslog" in order:
        for name in ("ttlog", "ttlog-json", "ttlog-batch"):
            if name in order:
                print(ratio_row(name, name, rate, cpu))
    print()
    print("N = %d lines of %d bytes, %d runs, median (min–max). Target: "
          "events/s ratio >= 2, CPU ratio <= 0.5, 0 lost."
          % (ctx.n, ctx.line_bytes, ctx.runs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--line-bytes", type=int, default=150)
    ap.add_argument("--readers",
                    default="rsyslog,ttlog,ttlog-json,ttlog-batch,kcat")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--ttlog-property", action="append", default=[],
                    metavar="NAME=VALUE",
                    help="a librdkafka property for the ttlog listener")
    args = ap.parse_args()
    ctx = types.SimpleNamespace()
    ctx.build = os.path.abspath(args.build)
    ctx.agent = os.path.join(ctx.build, "agent", "ttlog-agent")
    ctx.mock = os.path.join(ctx.build, "tests", "kafka", "ttlog-kafka-mock")
    ctx.plugins = os.path.join(ctx.build, "plugins")
    ctx.rsyslogd = imfile.rsyslogd_path()
    ctx.n, ctx.runs, ctx.line_bytes = args.n, args.runs, args.line_bytes
    ctx.properties = args.ttlog_property
    order = [x for x in args.readers.split(",") if x]
    for exe in (ctx.agent, ctx.mock):
        if not os.path.exists(exe):
            print("missing %s (build with -DTTLOG_TESTS=ON)" % exe,
                  file=sys.stderr)
            return 2
    if "kcat" in order and not shutil.which("kcat"):
        print("kcat is not installed (Debian: kcat)", file=sys.stderr)
        return 2
    if "rsyslog" in order and not os.path.exists(
            "/usr/lib/x86_64-linux-gnu/rsyslog/omkafka.so"):
        print("no omkafka (Debian: rsyslog-kafka)", file=sys.stderr)
        return 2
    for line in sysinfo(ctx):
        print(line)
    tmp = tempfile.mkdtemp(prefix="ttlog-kafkabench-", dir="/tmp")
    results = {name: [] for name, _, _, _ in READERS}
    runners = {name: fn for name, _, fn, _ in READERS}
    try:
        ctx.data = make_lines(ctx.n, ctx.line_bytes)
        ctx.file = os.path.join(tmp, "lines.log")
        with open(ctx.file, "wb") as f:
            f.write(ctx.data)
        print("stream:       %d lines, %.1f MB; load average %s"
              % (ctx.n, len(ctx.data) / 1e6,
                 " ".join(open("/proc/loadavg").read().split()[:3])))
        for run in range(1, ctx.runs + 1):
            turn = order if run % 2 else list(reversed(order))
            for name in turn:
                d = os.path.join(tmp, "run%d-%s" % (run, name))
                os.makedirs(d)
                res = Result(name)
                mock = Mock(ctx.mock)
                try:
                    runners[name](ctx, res, d, mock)
                except Exception as e:  # noqa: BLE001 - report, go on
                    res.note += " error: %s" % e
                finally:
                    mock.close()
                results[name].append(res)
                print("run %d %-8s %s" % (run, name, (
                    "%.2f s, %s events/s, %.2f CPU-s/M, in topic %s "
                    "events, %s messages%s"
                    % (res.wall, fmt_rate(ctx.n / res.wall),
                       res.cpu / ctx.n * 1e6, events_of(res), res.held,
                       res.note))
                    if res.wall else "INCOMPLETE%s" % res.note), flush=True)
                if not args.keep:
                    shutil.rmtree(d, ignore_errors=True)
        report(ctx, results, order)
    finally:
        print("load average at the end: %s"
              % " ".join(open("/proc/loadavg").read().split()[:3]))
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    bad = any((events_of(r) or 0) < ctx.n or not r.wall
              for v in results.values() for r in v)
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
