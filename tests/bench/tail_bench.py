#!/usr/bin/python3
"""Tail benchmark: ttlog-agent's tail input against rsyslog's imfile
reading the same file, in the same run (python3 standard library only).

    python3 tests/bench/tail_bench.py --build DIR [--runs 5] [--n 1000000]
                                      [--line-bytes 150] [--keep]
                                      [--readers rsyslog,ttlog]
                                      [--tail-option 'KEY: VALUE' ...]

DIR is a build tree (Release, TTLOG_TESTS=ON) holding agent/ttlog-agent,
tests/ttlog-tailgen and plugins/.

The file: N lines of LINE_BYTES bytes ("seq=NNNNNNNNN file=0 " and a
pad, tests/integration/tailgen.c), written once before the first run and
read from its start by every reader (the page cache holds it for all).

Readers (each run starts fresh processes; the readers take turns within
a run, the first one alternating from run to run):

  rsyslog   rsyslogd -n with its own configuration and work directory:
            imfile (inotify mode, freshStartTail off) -> omfwd over plain
            TCP, template "%msg%\\n" (newline framed), default queues
  ttlog     ttlog-agent: a tail input (start_at: beginning, state_dir in
            the run's directory) -> a forward listener, format jsonl over
            tcp:// (one JSON object per line), queue.when_full: block
            (the tail input then pauses instead of the queue dropping)

Both send to the same sink: a thread of this script listening on
127.0.0.1, counting line feeds as they arrive and keeping the bytes in a
file. A reader's time runs from just before its process starts until the
sink has counted N lines; its CPU is utime + stime of its process (all
threads, /proc/PID/stat) at that moment. After the run the sink's file is
checked line by line (tests/integration/tailcheck.py): lost lines must
be 0 and are reported, as are duplicates.

Prints per run and reader: seconds, lines/s, CPU-s per million lines (and
the sink thread's, to show it is not what limits the rate: ttlog's JSON
lines are about twice the bytes of rsyslog's bare lines);
then a markdown table of median (min-max) and the ttlog/rsyslog ratios,
taken per run and then their median. Target (issue 18): ttlog >= 2x
rsyslog's lines/s at <= 0.5x its CPU per line, 0 lost.
"""

import argparse
import os
import shutil
import socket
import statistics
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
from tailcheck import Tally  # noqa: E402
from forward_bench import Agent, fmt_rate, proc_cpu, sysinfo  # noqa: E402
from test_agent import free_port  # noqa: E402

POLL = 0.002  # seconds between two looks at the sink's count
STALL = 30.0  # a sink whose count has not moved for this long is done


class Sink(threading.Thread):
    """A TCP listener on 127.0.0.1 taking any number of connections,
    counting line feeds and appending what it gets to `path`."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", free_port()))
        self.port = self.srv.getsockname()[1]
        self.srv.listen(16)
        self.out = open(path, "wb")
        self.lines = 0
        self.cpu = 0.0  # CPU seconds of this thread up to its last recv
        self.lock = threading.Lock()
        self.stopping = False

    def run(self):
        import selectors
        sel = selectors.DefaultSelector()
        sel.register(self.srv, selectors.EVENT_READ)
        while not self.stopping:
            for key, _ in sel.select(0.05):
                s = key.fileobj
                if s is self.srv:
                    c, _ = s.accept()
                    sel.register(c, selectors.EVENT_READ)
                    continue
                data = s.recv(1 << 20)
                if not data:
                    sel.unregister(s)
                    s.close()
                    continue
                self.out.write(data)
                with self.lock:
                    self.lines += data.count(b"\n")
                    self.cpu = time.thread_time()
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        self.out.close()

    def count(self):
        with self.lock:
            return self.lines

    def cpu_seconds(self):
        with self.lock:
            return self.cpu

    def stop(self):
        self.stopping = True
        self.join(10)


class Result:
    def __init__(self, name):
        self.name, self.wall, self.cpu = name, None, None
        self.sink_cpu = None
        self.lost = self.dups = None
        self.note = ""


def measure(ctx, res, start, pid_of, sink):
    """Starts a reader with start(), waits until the sink has N lines (or
    stalls); fills res. The caller stops the reader."""
    t0 = time.monotonic()
    reader = start()
    done = wait_count(sink.count, ctx.n, res)
    if done is not None:
        res.cpu = proc_cpu(pid_of(reader))
        res.sink_cpu = sink.cpu_seconds()
        res.wall = done - t0
    return reader


def wait_count(count, n, res, poll=POLL):
    """Looks at count() every `poll` seconds until it reaches n: returns
    the time of that look, or None (and says so in res.note) once it has
    not moved for STALL seconds."""
    last, moved = -1, time.monotonic()
    while True:
        c = count()
        now = time.monotonic()
        if c >= n:
            return now
        if c != last:
            last, moved = c, now
        elif now - moved > STALL:
            res.note = "stalled at %d of %d" % (c, n)
            return None
        time.sleep(poll)


def check_sink(ctx, res, path):
    t = Tally(ctx.n, 1)
    t.feed_file(path)
    s = t.summary()
    res.lost, res.dups = s["missing"], s["duplicates"]
    if s["out_of_order"]:
        res.note += " %d out of order" % s["out_of_order"]


def run_rsyslog(ctx, res, d):
    sink = Sink(os.path.join(d, "sink.out"))
    sink.start()
    r = imfile.Imfile(d, [ctx.file], tcp_port=sink.port)
    try:
        measure(ctx, res, r.start, lambda x: x.proc.pid, sink)
    finally:
        r.stop()
        sink.stop()
    check_sink(ctx, res, os.path.join(d, "sink.out"))


def ttlog_config(ctx, d, sink_port, http_port):
    return ("service:\n  name: tailbench\n  plugin_dir: '%s'\n"
            "  state_dir: '%s'\n  http: {listen: '127.0.0.1:%d'}\n"
            "inputs:\n  - name: bench\n    type: tail\n"
            "    paths: ['%s']\n    start_at: beginning\n%s"
            "listeners:\n  - name: sink\n    type: forward\n"
            "    endpoints: tcp://127.0.0.1:%d\n    format: jsonl\n"
            "    queue: {when_full: block}\n"
            % (ctx.plugins, os.path.join(d, "state"), http_port, ctx.file,
               "".join("    %s\n" % o for o in ctx.tail_options),
               sink_port))


def run_ttlog(ctx, res, d):
    sink = Sink(os.path.join(d, "sink.out"))
    sink.start()
    os.makedirs(os.path.join(d, "state"))
    http_port = free_port()
    conf = ttlog_config(ctx, d, sink.port, http_port)
    agent = []

    def start():
        # Up once /metrics answers; a tail input says nothing on stderr.
        agent.append(Agent(ctx.agent, d, conf, 0, http_port))
        return agent[0]
    try:
        measure(ctx, res, start, lambda a: a.pid, sink)
    finally:
        if agent:
            code = agent[0].stop()
            if code != 0:
                res.note += " agent exit status %s" % code
        sink.stop()
    check_sink(ctx, res, os.path.join(d, "sink.out"))


READERS = [("rsyslog", "rsyslog imfile", run_rsyslog),
           ("ttlog", "ttlog-agent tail", run_ttlog)]


def med(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return xs, statistics.median(xs), min(xs), max(xs)


def fmt3(xs, f):
    m = med(xs)
    if m == "-":
        return "-"
    return "%s (%s–%s)" % (f(m[1]), f(m[2]), f(m[3]))


def report(ctx, results):
    rate = {k: [ctx.n / r.wall if r.wall else None for r in v]
            for k, v in results.items()}
    cpu = {k: [r.cpu / ctx.n * 1e6 if r.wall else None for r in v]
           for k, v in results.items()}
    print()
    sink = {k: [r.sink_cpu / ctx.n * 1e6 if r.wall else None for r in v]
            for k, v in results.items()}
    print("| reader | lines/s | reader CPU s / M lines | lost | duplicates "
          "| sink CPU s / M lines |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, label, _ in READERS:
        rs = results[name]
        print("| %s | %s | %s | %s | %s | %s |" % (
            label, fmt3(rate[name], fmt_rate),
            fmt3(cpu[name], lambda v: "%.2f" % v),
            sum(r.lost or 0 for r in rs) if all(r.lost is not None
                                                for r in rs) else "?",
            sum(r.dups or 0 for r in rs) if all(r.dups is not None
                                                for r in rs) else "?",
            fmt3(sink[name], lambda v: "%.2f" % v)))
    print(ratio_row(rate, cpu, 3))
    print()
    print("N = %d lines of %d bytes, %d runs, median (min–max). Target: "
          "lines/s ratio >= 2, CPU ratio <= 0.5, 0 lost."
          % (ctx.n, ctx.line_bytes, ctx.runs))


def ratio_row(rate, cpu, blank):
    """The table row of ttlog/rsyslog ratios of rate and CPU, taken run
    by run (rate and cpu: {reader: [per run]}), then `blank` empty cells."""
    pairs = list(zip(rate["ttlog"], rate["rsyslog"], cpu["ttlog"],
                     cpu["rsyslog"]))
    rr = [a / b for a, b, _, _ in pairs if a and b]
    cr = [c / e for _, _, c, e in pairs if c and e]
    return ("| ratio ttlog / rsyslog, per run | %s | %s |%s"
            % (fmt3(rr, lambda v: "%.2f" % v),
               fmt3(cr, lambda v: "%.2f" % v), " |" * blank))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--line-bytes", type=int, default=150)
    ap.add_argument("--readers", default="rsyslog,ttlog")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--tail-option", action="append", default=[],
                    metavar="KEY: VALUE",
                    help="one more option of ttlog's tail input (repeat)")
    args = ap.parse_args()
    ctx = types.SimpleNamespace()
    ctx.build = os.path.abspath(args.build)
    ctx.agent = os.path.join(ctx.build, "agent", "ttlog-agent")
    ctx.tailgen = os.path.join(ctx.build, "tests", "ttlog-tailgen")
    ctx.plugins = os.path.join(ctx.build, "plugins")
    ctx.rsyslogd = imfile.rsyslogd_path()
    ctx.n, ctx.runs, ctx.line_bytes = args.n, args.runs, args.line_bytes
    ctx.tail_options = args.tail_option
    order = [x for x in args.readers.split(",") if x]
    if not os.path.exists(ctx.tailgen):
        print("missing %s (build with -DTTLOG_TESTS=ON)" % ctx.tailgen,
              file=sys.stderr)
        return 2
    why = imfile.available()
    if why and "rsyslog" in order:
        print(why, file=sys.stderr)
        return 2
    for line in sysinfo(ctx):
        print(line)
    tmp = tempfile.mkdtemp(prefix="ttlog-tailbench-", dir="/tmp")
    results = {name: [] for name, _, _ in READERS}
    runners = {name: fn for name, _, fn in READERS}
    try:
        ctx.file = os.path.join(tmp, "app.log")
        subprocess.run([ctx.tailgen, "-n", str(ctx.n), "-l",
                        str(ctx.line_bytes), ctx.file], check=True,
                       stdout=subprocess.DEVNULL)
        print("file:         %d lines, %.1f MB; load average %s"
              % (ctx.n, os.path.getsize(ctx.file) / 1e6,
                 " ".join(open("/proc/loadavg").read().split()[:3])))
        for run in range(1, ctx.runs + 1):
            turn = order if run % 2 else list(reversed(order))
            for name in turn:
                d = os.path.join(tmp, "run%d-%s" % (run, name))
                os.makedirs(d)
                res = Result(name)
                try:
                    runners[name](ctx, res, d)
                except Exception as e:  # noqa: BLE001 - report, go on
                    res.note += " error: %s" % e
                results[name].append(res)
                print("run %d %-8s %s" % (run, name, (
                    "%.2f s, %s lines/s, %.2f CPU-s/M (sink %.2f), lost %s, "
                    "dups %s%s" % (res.wall, fmt_rate(ctx.n / res.wall),
                                   res.cpu / ctx.n * 1e6,
                                   res.sink_cpu / ctx.n * 1e6, res.lost,
                                   res.dups, res.note))
                    if res.wall else "INCOMPLETE%s" % res.note), flush=True)
                if not args.keep:
                    shutil.rmtree(d, ignore_errors=True)
        for name in list(results):
            if not results[name]:
                results[name] = [Result(name)]
        report(ctx, results)
    finally:
        print("load average at the end: %s"
              % " ".join(open("/proc/loadavg").read().split()[:3]))
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    bad = any(r.lost or not r.wall for v in results.values() for r in v)
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
