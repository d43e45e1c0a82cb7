#!/usr/bin/python3
"""Forwarding benchmark: ttlog's forwarders against rsyslog relaying the
same stream, on 127.0.0.1, in the same run (python3 standard library only).

    python3 tests/bench/forward_bench.py --build DIR [--runs 5] [--n 1000000]
                                         [--rows NAME,...] [--routes] [--keep]

DIR is a build tree (Release, with TTLOG_TESTS=ON) holding
agent/ttlog-agent, tests/ttlog-seqgen and plugins/.

The stream: N RFC 5424 messages of 150 bytes each (octet-counted on the
wire), each carrying its sequence number in the MSG and in one of its two
SD params, made once before the first run and sent by this process over
plain TCP in 1 MiB sendall() calls, as fast as the receiver reads.

Rows (each run starts fresh processes for every row; rows take turns
within a run, so drift on a noisy machine hits all of them alike):

  rsyslog-direct   rsyslogd #1: imtcp (plain) -> omfwd over TLS (ossl,
                   x509/name, octet-counted), no action queue
                   -> rsyslogd #2: imtcp over TLS -> omfile, a 2-byte line
                   per message
  rsyslog-queue    the same with queue.type LinkedList, queue.size 1000000
                   on the omfwd action
  ttlog-ttlog      ttlog-agent #1: syslog input on tcp -> forward listener
                   (format ttlog, mutual TLS) -> ttlog-agent #2: ttlog
                   input on tls (client_auth required) -> file listener,
                   format binary
  ttlog-syslog     ttlog-agent #1 as above with format syslog -> the
                   rsyslogd #2 sink of the rsyslog rows
  app-150          ttlog-seqgen (libttlog with a forward listener in the
                   application) -p 110: about 150 payload bytes per event
                   -> ttlog-agent #2 as in ttlog-ttlog
  app-1000         the same with -p 1000

Extra rows for finding where ttlog's time goes (not run by default; name
them with --rows):

  ttlog-ttlog-nolz4    ttlog-ttlog with compress: false
  ttlog-ttlog-constmsg ttlog-ttlog with the sequence number only in the SD,
                       the MSG text the same for every message
  ttlog-ttlog-plain    ttlog-ttlog over tcp:// instead of tls://
  ttlog-ttlog-sinkoff  ttlog-ttlog with agent #2's file listener at level
                       off: received, decoded, acknowledged, not written
  app-1000-sinkoff     app-1000 with the same sink
  ttlog-sinkonly       the stream straight into ttlog-agent #2 (a syslog
                       input on tcp -> file, format binary): one agent's
                       ingest cost without forwarding
  rsyslog-sinkonly     the stream straight into an rsyslogd with plain
                       imtcp -> the 2-byte-line omfile
  ttlog-ttlog-routed   ttlog-ttlog with routing and processing on the
                       relay (issue 17's "4 routes and 3 processors"):
                       three global processors, in order a redact of
                       'password=\S+' in the message (never matches, but
                       the regular expression scans every message), a
                       rename of the SD param req@32473.user to user
                       (changes every event), a drop with a match that
                       matches nothing (service == "nope"); the forward
                       listener with match: 'level >= TRACE and service
                       != "nope"' (true for every event, evaluated for
                       each); three more file listeners, json, on
                       /dev/null: one with a match that selects nothing
                       (service == "billing"), one that selects 1 event
                       in 10,000 (fields.user == "user0001" and msg =~
                       "^fwbench "), one with match: else (nothing: the
                       forward listener takes every event). The events
                       reach the same sink as in ttlog-ttlog, so the
                       throughput compares.
  ttlog-ttlog-r-match, ttlog-ttlog-r-procs, ttlog-ttlog-r-listeners
                       parts of ttlog-ttlog-routed: only the forward
                       listener's match:, only the three processors, the
                       match: and the three more listeners (no
                       processors), to find where its cost goes.

--routes adds the rows ttlog-ttlog and ttlog-ttlog-routed to those chosen
(alone: `--rows ttlog-ttlog --routes`) and prints the routed / route-less
ratios of events/s and of relay CPU per event, the medians of the ratios
of each run's pair of rows with their min-max (the issue's target: the
routed relay keeps >= 80% of the route-less throughput).

Measured per row and run: wall time from the first byte sent (for the app
rows, from starting ttlog-seqgen) until the sink has counted the last
message; events/s; payload MB/s (10^6 bytes: the syslog messages without
their octet counts, or for the app rows N x (pad + 40), the pad plus about
40 bytes of message, key names and sequence number); CPU seconds per
million events of the relay (rsyslogd #1, ttlog-agent #1, ttlog-seqgen)
and of the sink, from utime+stime in /proc/PID/stat (for ttlog-seqgen, its
whole life from wait4()); and the messages lost, counted at the sink
(rsyslog: lines of its output file; ttlog: ttlog_input_events_total of
agent #2's /metrics).
"""

import argparse
import http.client
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(TOP, "tests", "interop"))
import rsyslog  # noqa: E402  (tests/interop/rsyslog.py)

MSG_BYTES = 150  # one RFC 5424 message, without its octet count
CHUNK = 1 << 20  # bytes per sendall()
POLL = 0.005  # seconds between two looks at a sink's count
START_DEADLINE = 20.0  # seconds for a process to come up
STALL = 30.0  # a sink whose count has not moved for this long is done
STOP_DEADLINE = 20.0
APP_EXTRA = 40  # payload bytes of an app event besides its pad
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Settings of the ttlog processes, printed with the table.
AGENT_BATCH = (1024, "256KiB")  # --agent-batch: ttlog-agent's batch
APP_BATCH = (65536, "16MiB")  # --app-batch: ttlog-seqgen's batch
# The app's forward listener takes every batch into its window of frames
# in memory, so that the writer never holds batches back for it: the
# writer's per-listener queue loses track of its size when a held-back
# batch is encoded while queued (the encoding counts when the batch leaves
# the queue but did not when it came in), wraps below zero, and then drops
# everything it holds as if it were full. A 1M-event burst from seqgen
# would trip that every run.
APP_WINDOW = "4GiB"
TTLOG_FLUSH = "5ms"
APP_RING = "64MiB"
APP_BURST = 16384


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# the stream


def make_stream(n, const_msg=False):
    """(octet-counted stream, payload bytes): n messages of MSG_BYTES each.
    The filler after the sequence number is a window into a pool of
    pseudo-random base64-like text, moving with the sequence number (as
    ttlog-seqgen's -p does), so that messages differ and LZ4 finds little
    to repeat. With const_msg the MSG is the same text for every message
    and the sequence number is only in the SD."""
    rnd = random.Random(20240501)
    alphabet = (b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                b"0123456789+/")
    table = bytes(alphabet[i % 64] for i in range(256))
    pool_len = 1 << 20
    pool = rnd.randbytes(pool_len + MSG_BYTES).translate(table)

    def head(seq):
        return (b"<134>1 2025-01-15T10:%02d:%02d.%06dZ bench-host fwbench "
                b"4242 - [req@32473 seq=\"%010d\" user=\"user%04d\"] "
                % (seq // 60000000 % 60, seq // 1000000 % 60,
                   seq % 1000000, seq, seq % 10000))

    if const_msg:
        body = b"fwbench " + pool[:MSG_BYTES]
        fill = MSG_BYTES - len(head(0))
        msg0 = body[:fill]
    else:
        fill = MSG_BYTES - len(head(0)) - len(b"fwbench 0000000000 ")
    if fill < 8:
        raise BenchError("MSG_BYTES too small for the header")
    prefix = b"%d " % MSG_BYTES
    parts = []
    for seq in range(n):
        if const_msg:
            parts.append(prefix + head(seq) + msg0)
        else:
            off = (seq * 7919) & (pool_len - 1)
            parts.append(prefix + head(seq) + b"fwbench %010d " % seq +
                         pool[off:off + fill])
    data = b"".join(parts)
    if len(data) != n * (len(prefix) + MSG_BYTES):
        raise BenchError("a message is not %d bytes long" % MSG_BYTES)
    return data, n * MSG_BYTES


class Sender(threading.Thread):
    """Sends the stream to 127.0.0.1:port over plain TCP. Connects at
    construction; t0 is taken just before the first byte goes out."""

    def __init__(self, port, data):
        super().__init__(daemon=True)
        self.data = memoryview(data)
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=START_DEADLINE)
        self.sock.settimeout(None)
        self.t0 = None
        self.error = None

    def run(self):
        try:
            self.t0 = time.monotonic()
            for off in range(0, len(self.data), CHUNK):
                self.sock.sendall(self.data[off:off + CHUNK])
            self.sock.shutdown(socket.SHUT_WR)
        except OSError as e:
            self.error = e

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# processes


def proc_cpu(pid):
    """utime + stime of a process (all its threads), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_hwm_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


class Rsyslogd(rsyslog.Collector):
    """An rsyslogd run by tests/interop/rsyslog.py's Collector machinery
    (own work directory, foreground, started once its port listens), with a
    configuration of this benchmark: a TLS sink, a relay or a plain sink."""

    def __init__(self, certs, workdir, role, port, upstream=None,
                 queue=False, rsyslogd=None, modules=None):
        super().__init__(certs, workdir, port=port, rsyslogd=rsyslogd,
                         modules=modules)
        self.role, self.upstream, self.queue = role, upstream, queue

    def config_text(self):
        c = lambda name: rsyslog._quote(os.path.join(self.certs, name))
        q = rsyslog._quote
        g = ["# forward_bench.py: rsyslog as a %s" % self.role,
             "global(",
             "  workDirectory=%s" % q(self.spool),
             '  net.enableDNS="off"',
             '  processInternalMessages="on"',
             "  defaultNetstreamDriverCAFile=%s" % c("ca.pem")]
        # One line of two bytes per message of ours: what is counted.
        count = ['template(name="bench_count" type="string"',
                 '  string="%msg:1:1%\\n")',
                 'ruleset(name="bench_in") {',
                 '  if $msg startswith "fwbench" then',
                 '    action(type="omfile" file=%s template="bench_count")'
                 % q(self.out),
                 "}"]
        if self.role == "tls-sink":
            g += ['  defaultNetstreamDriver="ossl"',
                  "  defaultNetstreamDriverCertFile=%s" % c("server.pem"),
                  "  defaultNetstreamDriverKeyFile=%s" % c("server.key"),
                  ")",
                  'module(load="imtcp"',
                  '  streamDriver.name="ossl"',
                  '  streamDriver.mode="1"',
                  '  streamDriver.authMode="x509/name"',
                  "  permittedPeer=[%s])" % q(rsyslog.PERMITTED_PEER)]
            g += count
        elif self.role == "plain-sink":
            g += [")", 'module(load="imtcp")'] + count
        elif self.role == "relay":
            g += ["  defaultNetstreamDriverCertFile=%s" % c("client.pem"),
                  "  defaultNetstreamDriverKeyFile=%s" % c("client.key"),
                  ")",
                  'module(load="imtcp")',  # plain TCP in (ptcp driver)
                  # RFC 5424 out, without the line feed of rsyslog's
                  # RSYSLOG_SyslogProtocol23Format (octet counting frames).
                  'template(name="bench_5424" type="string" string="<%PRI%>1'
                  ' %TIMESTAMP:::date-rfc3339% %HOSTNAME% %APP-NAME%'
                  ' %PROCID% %MSGID% %STRUCTURED-DATA% %msg%")',
                  'ruleset(name="bench_in") {',
                  '  action(type="omfwd" target="127.0.0.1" port="%d"'
                  % self.upstream,
                  '    protocol="tcp" template="bench_5424"',
                  '    TCP_Framing="octet-counted"',
                  '    StreamDriver="ossl" StreamDriverMode="1"',
                  '    StreamDriverAuthMode="x509/name"',
                  '    StreamDriverPermittedPeers="localhost"',
                  '    action.resumeRetryCount="-1"']
            if self.queue:
                g += ['    queue.type="LinkedList" queue.size="1000000"']
            g += ["  )", "}"]
        else:
            raise BenchError("unknown rsyslog role %r" % self.role)
        g += ['input(type="imtcp" address="127.0.0.1" port="%d"' % self.port,
              '  ruleset="bench_in")',
              '*.* action(type="omfile" file=%s)' % q(self.internal), ""]
        return "\n".join(g)

    def lines(self):
        try:
            return os.path.getsize(self.out) // 2
        except OSError:
            return 0


def metrics(port, timeout=STOP_DEADLINE):
    """GET /metrics of a ttlog-agent: {'name{labels}': value}."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise BenchError("/metrics on %d: HTTP %d" % (port, r.status))
    finally:
        c.close()
    out = {}
    for line in body.decode("utf-8", "replace").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def metric(m, name, **labels):
    """The value of one sample, 0 when absent."""
    if labels:
        name += "{" + ",".join('%s="%s"' % kv for kv in labels.items()) + "}"
    return m.get(name, 0.0)


def metric_sum(m, prefix):
    return sum(v for k, v in m.items()
               if k == prefix or k.startswith(prefix + "{"))


class Agent:
    """ttlog-agent -c CONFIG, its stderr in a file; returns once every
    input has said where it listens and /metrics answers."""

    def __init__(self, exe, workdir, config, inputs, http_port):
        os.makedirs(workdir, exist_ok=True)
        self.dir = workdir
        self.http = http_port
        self.config = os.path.join(workdir, "ttlog.yaml")
        with open(self.config, "w") as f:
            f.write(config)
        self.stderr_path = os.path.join(workdir, "agent.stderr")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([exe, "-c", self.config],
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=self._err)
        self.pid = self.proc.pid
        try:
            self._wait_up(inputs)
        except BaseException:
            self.proc.kill()  # not handed back to anyone: ends here
            self.stop()
            raise

    def _wait_up(self, inputs):
        end = time.monotonic() + START_DEADLINE
        while True:
            if self.proc.poll() is not None:
                raise BenchError("ttlog-agent exited (%d) while starting:\n%s"
                                 % (self.proc.returncode,
                                    tail(self.stderr_path)))
            if tail(self.stderr_path, 1 << 20).count(
                    "ttlog-agent: input ") >= inputs:
                try:
                    metrics(self.http, timeout=1.0)
                    return
                except (OSError, BenchError, http.client.HTTPException):
                    pass
            if time.monotonic() > end:
                raise BenchError("ttlog-agent not up within %.0f s:\n%s"
                                 % (START_DEADLINE, tail(self.stderr_path)))
            time.sleep(POLL)

    def metrics(self):
        return metrics(self.http)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL past the deadline; the exit status."""
        if self.proc is None:
            return None
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(STOP_DEADLINE)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            return self.proc.returncode
        finally:
            self.proc = None
            self._err.close()


def stop_all(procs):
    """Stops everything started, the last started first; keeps going past
    errors and raises the first one at the end."""
    first = None
    for p in reversed(procs):
        try:
            p.stop()
        except Exception as e:  # noqa: BLE001 - stop the rest regardless
            first = first or e
    if first is not None:
        raise first


# ---------------------------------------------------------------------------
# configurations


def agent_service(ctx, http_port):
    s = ("service:\n"
         "  name: fwbench\n"
         "  plugin_dir: '%s'\n"
         "  flush_interval: %s\n"
         "  http: {listen: '127.0.0.1:%d'}\n"
         % (ctx.plugins, TTLOG_FLUSH, http_port))
    s += "  batch: {max_events: %d, max_bytes: %s}\n" % AGENT_BATCH
    return s


def ttlog_sink_config(ctx, d, port, http_port, scheme="tls", inp="ttlog",
                      out=True):
    """ttlog-agent #2: the native protocol in (mutual TLS), or syslog on
    plain TCP for the sink-only row; a binary file out (or, without out,
    the file listener at level off: events are received, decoded and
    acknowledged, and nothing is written)."""
    c = ctx.certs
    if inp == "ttlog":
        i = ("  - name: native\n    type: ttlog\n"
             "    listen: '%s://127.0.0.1:%d'\n" % (scheme, port))
        if scheme == "tls":
            i += ("    tls: {cert: '%s', key: '%s', ca_file: '%s', "
                  "client_auth: required}\n"
                  % (os.path.join(c, "server.pem"),
                     os.path.join(c, "server.key"),
                     os.path.join(c, "ca.pem")))
    else:
        i = ("  - name: native\n    type: syslog\n"
             "    listen: 'tcp://127.0.0.1:%d'\n" % port)
    return (agent_service(ctx, http_port) + "inputs:\n" + i +
            "listeners:\n"
            "  - name: out\n    type: file\n    format: binary\n"
            "    fsync: never\n    rotate: {size: 0}\n%s"
            "    path: '%s'\n" % ("" if out else "    level: off\n",
                                   os.path.join(d, "out.bin")))


def forward_listener(ctx, endpoint, fmt, compress=True, indent="  ",
                     window=None, more=""):
    c = ctx.certs
    s = ("- name: up\n  type: forward\n"
         "  endpoints: '%s'\n"
         "  format: %s\n"
         "  tls: {ca_file: '%s', cert: '%s', key: '%s'}\n"
         "  reconnect: {initial: 100ms, max: 1s}\n"
         "  drain_timeout: 30s\n"
         "  queue: {max_bytes: 1GiB}\n"
         % (endpoint, fmt, os.path.join(c, "ca.pem"),
            os.path.join(c, "client.pem"), os.path.join(c, "client.key")))
    if window:
        s += "  window: {max_bytes: %s}\n" % window
    if not compress:
        s += "  compress: false\n"
    s += more
    return "".join(indent + line + "\n" for line in s.splitlines())


# The ttlog-ttlog-routed relay (see the module's docstring): three global
# processors, a match: on the forward listener, three more listeners.
ROUTED_PROCESSORS = r"""processors:
  - {name: pw, type: redact, pattern: 'password=\S+', replace: 'password=***'}
  - {name: user, type: rename, fields: {'req@32473.user': user}}
  - {name: nope, type: drop, match: 'service == "nope"'}
"""
ROUTED_MATCH = "  match: 'level >= TRACE and service != \"nope\"'\n"
ROUTED_LISTENERS = [("billing", "'service == \"billing\"'"),
                    ("user1", "'fields.user == \"user0001\" and "
                              "msg =~ \"^fwbench \"'"),
                    ("rest", "else")]


def ttlog_relay_config(ctx, port, http_port, endpoint, fmt, compress=True,
                       routes=""):
    """ttlog-agent #1: syslog on plain TCP in, a forward listener out.
    routes: "" none; "all" the processors, the forward listener's match:
    and the listeners of ttlog-ttlog-routed; "procs", "match" or
    "listeners" only that part (the listeners come with the match:)."""
    s = (agent_service(ctx, http_port) +
         "inputs:\n"
         "  - {name: sys, type: syslog, listen: 'tcp://127.0.0.1:%d'}\n"
         % port)
    if routes in ("all", "procs"):
        s += ROUTED_PROCESSORS
    s += "listeners:\n" + forward_listener(
        ctx, endpoint, fmt, compress,
        more=ROUTED_MATCH if routes in ("all", "match", "listeners") else "")
    if routes in ("all", "listeners"):
        for name, match in ROUTED_LISTENERS:
            s += ("  - {name: %s, type: file, format: json, fsync: never,\n"
                  "     path: /dev/null, match: %s}\n" % (name, match))
    return s


def app_config(ctx, path, endpoint):
    with open(path, "w") as f:
        f.write("service:\n"
                "  name: fwbench-app\n"
                "  plugin_dir: '%s'\n"
                "  flush_interval: %s\n"
                "  ring_size: %s\n"
                "  batch: {max_events: %d, max_bytes: %s}\n"
                "listeners:\n" % ((ctx.plugins, TTLOG_FLUSH, APP_RING) +
                                  APP_BATCH) +
                forward_listener(ctx, endpoint, "ttlog", window=APP_WINDOW))
    return path


# ---------------------------------------------------------------------------
# one measurement


class Result:
    def __init__(self, row, n, payload):
        self.row, self.n, self.payload = row, n, payload
        self.wall = None
        self.counted = 0
        self.extra = 0
        self.relay_cpu = self.sink_cpu = None
        self.relay_rss = None
        self.wire_bytes = self.frames = None
        self.note = ""

    @property
    def lost(self):
        return max(0, self.n - self.counted)

    @property
    def rate(self):
        return self.counted / self.wall if self.wall else 0.0

    @property
    def mbps(self):
        return self.payload * self.counted / self.n / self.wall / 1e6 \
            if self.wall else 0.0


def wait_count(count, target, procs, what):
    """Polls count() until it reaches target. Returns (count, time it was
    seen); the time is None when the count stopped moving for STALL
    seconds or a process died."""
    last, moved = -1, time.monotonic()
    while True:
        c = count()
        t = time.monotonic()
        if c >= target:
            return c, t
        if c != last:
            last, moved = c, t
        elif t - moved > STALL:
            print("    %s: stuck at %d of %d for %.0f s" %
                  (what, c, target, STALL), file=sys.stderr)
            return c, None
        for p in procs:
            if not p.alive():
                print("    %s: a process died" % what, file=sys.stderr)
                return c, None
        time.sleep(POLL)


class RsyslogProc:
    """Adapter: an Rsyslogd with the alive/stop interface of Agent."""

    def __init__(self, r):
        self.r = r
        r.write_config()
        r.validate()
        r.start()
        self.pid = r.proc.pid

    def alive(self):
        return self.r.proc is not None and self.r.proc.poll() is None

    def stop(self):
        return self.r.stop()


def rsyslog_sink(ctx, d, port, role="tls-sink"):
    return RsyslogProc(Rsyslogd(ctx.certs, os.path.join(d, "sink"), role,
                                port, rsyslogd=ctx.rsyslogd,
                                modules=ctx.modules))


def measure_stream(res, procs, relay, sink, count, in_port, data, what,
                   baseline=0):
    """Sends the stream to in_port and waits until count() reaches
    baseline + N; fills wall time, CPU and the count into res."""
    sender = Sender(in_port, data)
    try:
        rc0 = proc_cpu(relay.pid) if relay else None
        sc0 = proc_cpu(sink.pid)
        sender.start()
        got, t_end = wait_count(count, baseline + res.n, procs, what)
        res.counted = min(got - baseline, res.n)
        res.extra = max(0, got - baseline - res.n)
        sender.join(STOP_DEADLINE)
        if sender.error is not None:
            raise BenchError("%s: sending failed: %s" % (what, sender.error))
        if relay:
            res.relay_cpu = proc_cpu(relay.pid) - rc0
            res.relay_rss = proc_hwm_mib(relay.pid)
        res.sink_cpu = proc_cpu(sink.pid) - sc0
        res.wall = (t_end - sender.t0) if t_end is not None else None
    finally:
        sender.close()


def run_rsyslog(ctx, res, d, queue):
    sink_port, in_port = rsyslog.free_port(), rsyslog.free_port()
    procs = []
    try:
        sink = rsyslog_sink(ctx, d, sink_port)
        procs.append(sink)
        relay = RsyslogProc(Rsyslogd(ctx.certs, os.path.join(d, "relay"),
                                     "relay", in_port, upstream=sink_port,
                                     queue=queue, rsyslogd=ctx.rsyslogd,
                                     modules=ctx.modules))
        procs.append(relay)
        measure_stream(res, procs, relay, sink, sink.r.lines, in_port,
                       ctx.stream, res.row)
    finally:
        stop_all(procs)


def run_rsyslog_sinkonly(ctx, res, d):
    port = rsyslog.free_port()
    procs = []
    try:
        sink = rsyslog_sink(ctx, d, port, role="plain-sink")
        procs.append(sink)
        measure_stream(res, procs, None, sink, sink.r.lines, port,
                       ctx.stream, res.row)
    finally:
        stop_all(procs)


def ttlog_sink(ctx, d, port, scheme="tls", inp="ttlog", out=True):
    http_port = rsyslog.free_port()
    sd = os.path.join(d, "sink")
    return Agent(ctx.agent, sd,
                 ttlog_sink_config(ctx, sd, port, http_port, scheme, inp,
                                   out),
                 1, http_port)


def sink_events(agent):
    return lambda: int(metric(agent.metrics(), "ttlog_input_events_total",
                              input="native", type=agent_input_type(agent)))


def agent_input_type(agent):
    return getattr(agent, "input_type", "ttlog")


def check_ttlog_sink(res, sink):
    """After a run: what the collector says about duplicates and drops."""
    m = sink.metrics()
    res.wire_bytes = metric(m, "ttlog_input_bytes_total", input="native",
                            type=agent_input_type(sink))
    res.frames = metric(m, "ttlog_input_frames_total", input="native",
                        type=agent_input_type(sink))
    bad = []
    for name in ("ttlog_input_duplicate_frames_total",
                 "ttlog_input_missing_frames_total",
                 "ttlog_input_malformed_total", "ttlog_input_dropped_total",
                 "ttlog_listener_events_dropped_total"):
        v = metric_sum(m, name)
        if v:
            bad.append("%s=%d" % (name, v))
    if bad:
        res.note += " sink: " + " ".join(bad)


def check_ttlog_relay(res, relay):
    m = relay.metrics()
    bad = []
    for name in ("ttlog_input_malformed_total", "ttlog_input_dropped_total",
                 "ttlog_listener_events_dropped_total",
                 "ttlog_events_dropped_total"):
        v = metric_sum(m, name)
        if v:
            bad.append("%s=%d" % (name, v))
    if bad:
        res.note += " relay: " + " ".join(bad)


def check_routed_relay(res, relay, routes):
    """After a ttlog-ttlog-routed run: the processors and routes did what
    the row says (a benchmark of a relay that silently skipped its routing
    would give a fast, wrong figure)."""
    m = relay.metrics()
    bad = []

    def proc(family, name, typ):
        return metric(m, family, scope="global", processor=name, type=typ)
    # The redact and the rename run on every event of the stream.
    for name, typ in (("pw", "redact"), ("user", "rename")) \
            if routes in ("all", "procs") else ():
        v = proc("ttlog_processor_events_total", name, typ)
        if v < res.n:
            bad.append("%s ran on %d" % (name, v))
        if proc("ttlog_processor_failed_total", name, typ):
            bad.append("%s failed" % name)
    if proc("ttlog_processor_dropped_total", "nope", "drop"):
        bad.append("the drop dropped")
    # 1 in 10,000 of the stream's users is user0001, after the rename.
    want = {"billing": 0, "user1": (res.n + 9998) // 10000, "rest": 0}
    for name, n in want.items() if routes == "all" else ():
        v = metric(m, "ttlog_listener_events_in_total", listener=name)
        if v != n:
            bad.append("listener %s took %d, not %d" % (name, v, n))
    if bad:
        res.note += " routed relay: " + ", ".join(bad)


def run_ttlog_relay(ctx, res, d, fmt, compress=True, scheme="tls",
                    stream=None, out=True, routes=""):
    sink_port, in_port = rsyslog.free_port(), rsyslog.free_port()
    procs = []
    try:
        if fmt == "ttlog":
            sink = ttlog_sink(ctx, d, sink_port, scheme, out=out)
            endpoint = "%s://localhost:%d" % (scheme, sink_port)
        else:
            sink = rsyslog_sink(ctx, d, sink_port)
            endpoint = "tls://localhost:%d" % sink_port
        procs.append(sink)
        http_port = rsyslog.free_port()
        relay = Agent(ctx.agent, os.path.join(d, "relay"),
                      ttlog_relay_config(ctx, in_port, http_port, endpoint,
                                         fmt, compress, routes), 1,
                      http_port)
        procs.append(relay)
        if fmt == "ttlog":
            count = sink_events(sink)
            # ttlog-agent #1 forwards its own "agent started" event too:
            # wait for it, so that it is not counted as one of the stream.
            base, t = wait_count(count, 1, procs, res.row + " start")
            if t is None:
                raise BenchError("the relay's first event never arrived")
        else:
            count, base = sink.r.lines, 0  # the sink keeps only "fwbench"
        measure_stream(res, procs, relay, sink, count, in_port,
                       stream or ctx.stream, res.row, baseline=base)
        check_ttlog_relay(res, relay)
        if routes:
            check_routed_relay(res, relay, routes)
        if fmt == "ttlog":
            check_ttlog_sink(res, sink)
    finally:
        stop_all(procs)


def run_ttlog_sinkonly(ctx, res, d):
    port = rsyslog.free_port()
    procs = []
    try:
        sink = ttlog_sink(ctx, d, port, inp="syslog")
        sink.input_type = "syslog"
        procs.append(sink)
        measure_stream(res, procs, None, sink, sink_events(sink), port,
                       ctx.stream, res.row)
        check_ttlog_sink(res, sink)
    finally:
        stop_all(procs)


class AppProc:
    """ttlog-seqgen, reaped with wait4() for its CPU time."""

    def __init__(self, exe, config, n, pad, d):
        self.out_path = os.path.join(d, "seqgen.out")
        self.err_path = os.path.join(d, "seqgen.err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [exe, "-c", config, "-n", str(n), "-p", str(pad),
             "-b", str(APP_BURST)],
            stdin=subprocess.DEVNULL, stdout=self._out, stderr=self._err)
        self.pid = self.proc.pid
        self.status = self.cpu = None

    def alive(self):
        if self.status is not None:
            return os.WIFEXITED(self.status) and \
                os.WEXITSTATUS(self.status) == 0
        try:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True
        self._reaped(status, ru)
        return self.alive()

    def _reaped(self, status, ru):
        self.status = status
        self.cpu = ru.ru_utime + ru.ru_stime
        self.maxrss_mib = ru.ru_maxrss / 1024.0
        self.proc.returncode = os.waitstatus_to_exitcode(status)

    def wait(self, timeout):
        end = time.monotonic() + timeout
        while self.status is None:
            pid, status, ru = os.wait4(self.pid, os.WNOHANG)
            if pid:
                self._reaped(status, ru)
                break
            if time.monotonic() > end:
                raise BenchError("ttlog-seqgen did not exit within %.0f s"
                                 % timeout)
            time.sleep(POLL)
        return os.waitstatus_to_exitcode(self.status)

    def stop(self):
        try:
            if self.status is None:
                try:
                    self.proc.kill()
                except ProcessLookupError:
                    pass
                try:
                    self.wait(STOP_DEADLINE)
                except ChildProcessError:
                    pass
        finally:
            self._out.close()
            self._err.close()


def run_app(ctx, res, d, pad, out=True):
    port = rsyslog.free_port()
    procs = []
    try:
        sink = ttlog_sink(ctx, d, port, out=out)
        procs.append(sink)
        conf = app_config(ctx, os.path.join(d, "app.yaml"),
                          "tls://localhost:%d" % port)
        count = sink_events(sink)
        sc0 = proc_cpu(sink.pid)
        app = AppProc(ctx.seqgen, conf, res.n, pad, d)
        procs.append(app)
        got, t_end = wait_count(count, res.n, [sink], res.row)
        res.counted = min(got, res.n)
        res.extra = max(0, got - res.n)
        res.sink_cpu = proc_cpu(sink.pid) - sc0
        res.wall = t_end - app.t0 if t_end is not None else None
        code = app.wait(STOP_DEADLINE * 3)
        res.relay_cpu = app.cpu
        res.relay_rss = app.maxrss_mib
        if code != 0:
            res.note += " seqgen exited %d: %s %s" % (
                code, tail(app.out_path, 500), tail(app.err_path, 500))
        check_ttlog_sink(res, sink)
    finally:
        stop_all(procs)


ROWS = [
    # name, label, runner, default
    ("rsyslog-direct", "rsyslog relay, direct (no action queue)",
     lambda c, r, d: run_rsyslog(c, r, d, queue=False), True),
    ("rsyslog-queue", "rsyslog relay, LinkedList queue 1M",
     lambda c, r, d: run_rsyslog(c, r, d, queue=True), True),
    ("ttlog-ttlog", "ttlog-agent relay, format ttlog -> ttlog-agent",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog"), True),
    ("ttlog-syslog", "ttlog-agent relay, format syslog -> rsyslog",
     lambda c, r, d: run_ttlog_relay(c, r, d, "syslog"), True),
    ("app-150", "app forwarder (seqgen -p 110) -> ttlog-agent",
     lambda c, r, d: run_app(c, r, d, 110), True),
    ("app-1000", "app forwarder (seqgen -p 1000) -> ttlog-agent",
     lambda c, r, d: run_app(c, r, d, 1000), True),
    ("ttlog-ttlog-nolz4", "ttlog-agent relay, format ttlog, compress off",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", compress=False),
     False),
    ("ttlog-ttlog-constmsg", "ttlog-agent relay, ttlog, same MSG text",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog",
                                     stream=c.const_stream()), False),
    ("ttlog-ttlog-plain", "ttlog-agent relay, ttlog over plain tcp",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", scheme="tcp"),
     False),
    ("ttlog-ttlog-sinkoff", "ttlog-agent relay, ttlog, sink writes nothing",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", out=False), False),
    ("app-1000-sinkoff", "app forwarder -p 1000, sink writes nothing",
     lambda c, r, d: run_app(c, r, d, 1000, out=False), False),
    ("ttlog-ttlog-routed", "ttlog-agent relay, ttlog, 4 routes + 3 procs",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", routes="all"), False),
    ("ttlog-ttlog-r-match", "ttlog relay, only the forward match:",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", routes="match"),
     False),
    ("ttlog-ttlog-r-procs", "ttlog relay, only the 3 processors",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", routes="procs"),
     False),
    ("ttlog-ttlog-r-listeners", "ttlog relay, match: and 3 more listeners",
     lambda c, r, d: run_ttlog_relay(c, r, d, "ttlog", routes="listeners"),
     False),
    ("ttlog-sinkonly", "ttlog-agent alone: syslog tcp -> binary file",
     lambda c, r, d: run_ttlog_sinkonly(c, r, d), False),
    ("rsyslog-sinkonly", "rsyslogd alone: plain imtcp -> omfile",
     lambda c, r, d: run_rsyslog_sinkonly(c, r, d), False),
]


def row_payload(ctx, name):
    if name == "app-150":
        return ctx.n * (110 + APP_EXTRA)
    if name.startswith("app-1000"):
        return ctx.n * (1000 + APP_EXTRA)
    return ctx.payload


# ---------------------------------------------------------------------------
# report


def sysinfo(ctx):
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/sys/devices/system/clocksource/clocksource0/"
                  "current_clocksource") as f:
            clock = f.read().strip()
    except OSError:
        clock = "?"
    try:
        r = subprocess.run([ctx.rsyslogd, "-v"], capture_output=True,
                           text=True, timeout=START_DEADLINE)
        rsv = r.stdout.splitlines()[0] if r.stdout else "?"
        rsv = " ".join(rsv.replace("compiled with:", "").split())
    except (OSError, subprocess.SubprocessError):
        rsv = "?"
    try:
        r = subprocess.run([ctx.agent, "--version"], capture_output=True,
                           text=True, timeout=START_DEADLINE)
        ttv = (r.stdout or r.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        ttv = "?"
    try:
        r = subprocess.run(["git", "-C", TOP, "describe", "--always",
                            "--dirty"], capture_output=True, text=True,
                           timeout=START_DEADLINE)
        ttv += ", source %s" % (r.stdout.strip() or "?")
    except (OSError, subprocess.SubprocessError):
        pass
    return [
        "CPU:          %s, %d online CPUs" % (model, os.cpu_count() or 0),
        "kernel:       %s %s" % (os.uname().sysname, os.uname().release),
        "clock source: %s" % clock,
        "rsyslog:      %s" % rsv,
        "ttlog:        %s (build %s)" % (ttv, ctx.build),
        "python:       %s" % sys.version.split()[0],
    ]


def fmt_rate(v):
    return "%.0fk" % (v / 1e3) if v < 1e7 else "%.2fM" % (v / 1e6)


def report(ctx, results, order):
    ref = None
    ok = {k: [r for r in v if r.wall] for k, v in results.items()}
    if ok.get("rsyslog-direct"):
        ref = statistics.median(r.rate for r in ok["rsyslog-direct"])
    hdr = ("%-47s %10s %15s %8s %8s %8s %6s %7s" %
           ("row", "events/s", "min-max", "MB/s", "relayCPU", "sinkCPU",
            "lost", "ratio"))
    print()
    print("N = %d events per run, %d runs per row; median of the runs; "
          "CPU in seconds per million events" % (ctx.n, ctx.runs))
    print(hdr)
    print("-" * len(hdr))
    for name in order:
        label = ctx.labels[name]
        rs = ok.get(name, [])
        lost = sum(r.lost for r in results.get(name, []))
        failed = len(results.get(name, [])) - len(rs)
        if not rs:
            print("%-47s %10s   (no complete run; %d lost)" %
                  (label, "-", lost))
            continue
        rates = [r.rate for r in rs]
        med = statistics.median(rates)
        mb = statistics.median(r.mbps for r in rs)
        rc = [r.relay_cpu / r.n * 1e6 for r in rs if r.relay_cpu is not None]
        sc = [r.sink_cpu / r.n * 1e6 for r in rs if r.sink_cpu is not None]
        print("%-47s %10s %15s %8.1f %8s %8.2f %6d %7s%s" % (
            label, fmt_rate(med),
            "%s-%s" % (fmt_rate(min(rates)), fmt_rate(max(rates))), mb,
            "%.2f" % statistics.median(rc) if rc else "-",
            statistics.median(sc), lost,
            "%.2fx" % (med / ref) if ref else "-",
            "  (%d runs incomplete)" % failed if failed else ""))
    print("relayCPU: rsyslogd #1, ttlog-agent #1, or ttlog-seqgen (its "
          "whole life); sinkCPU: rsyslogd #2 or\n"
          "ttlog-agent #2; both in CPU-seconds per million events. MB/s: "
          "10^6 bytes of uncompressed\npayload per second. ratio: median "
          "events/s over that of the rsyslog relay (direct).")
    print()
    notes = []
    for name in order:
        rs = ok.get(name, [])
        wire = [r.wire_bytes / (r.payload * r.counted / r.n)
                for r in rs if r.wire_bytes]
        rss = [r.relay_rss for r in rs if r.relay_rss]
        bits = []
        if wire:
            bits.append("wire bytes / payload %.2f" % statistics.median(wire))
        frames = [r.counted / r.frames for r in rs if r.frames]
        if frames:
            bits.append("%.0f events per frame" % statistics.median(frames))
        if rss:
            bits.append("forwarder peak RSS %.0f MiB" % max(rss))
        walls = [r.wall for r in rs]
        if walls:
            bits.append("wall %.2f s median" % statistics.median(walls))
        if bits:
            notes.append("  %-22s %s" % (name + ":", "; ".join(bits)))
    if notes:
        print("Per row:")
        print("\n".join(notes))
    loud = [(name, r) for name in order for r in results.get(name, [])
            if r.lost or r.extra or r.note or not r.wall]
    if loud:
        print()
        print("!" * 72)
        for name, r in loud:
            print("!! %s run: %d of %d counted, %d LOST, %d extra%s" %
                  (name, r.counted, r.n, r.lost, r.extra, r.note))
        print("!" * 72)
    print()
    print("Settings: ttlog-agent batch.max_events %d, batch.max_bytes %s; "
          "flush_interval %s;\n"
          "  relay forward listener: queue.max_bytes 1GiB, window.max_bytes "
          "64MiB (default),\n  compress on unless the row says off;\n"
          "  ttlog-seqgen: batch.max_events %d, batch.max_bytes %s, "
          "ring_size %s, -b %d,\n  forward window.max_bytes %s;\n"
          "  messages %d bytes (+ octet count); app payload = N x "
          "(pad + %d)."
          % (AGENT_BATCH + (TTLOG_FLUSH,) + APP_BATCH +
             (APP_RING, APP_BURST, APP_WINDOW, MSG_BYTES, APP_EXTRA)))
    if ref:
        best = {n: statistics.median(r.rate for r in ok[n])
                for n in order if ok.get(n) and not n.startswith("rsyslog")}
        mbs = {n: statistics.median(r.mbps for r in ok[n])
               for n in order if ok.get(n) and not n.startswith("rsyslog")}
        print("Targets: >= 2x the events/s of the rsyslog relay (direct), "
              "for the rows with\n150-byte events; >= 250 MB/s of payload:")
        for n in best:
            if n.startswith("app-1000"):
                rate = "events/s: n/a (1 KB events)"
            else:
                rate = "%.2fx %s" % (best[n] / ref, "met" if best[n] >= 2 *
                                     ref else "NOT met")
            print("  %-22s %s; %.0f MB/s %s" % (
                n, rate, mbs[n], "met" if mbs[n] >= 250 else "NOT met"))


def report_routes(results):
    """The routed relay against the route-less one, run by run (the two
    rows take turns within a run, so each pair saw the same machine)."""
    a = results.get("ttlog-ttlog", [])
    b = results.get("ttlog-ttlog-routed", [])
    pairs = [(x, y) for x, y in zip(a, b) if x.wall and y.wall]
    if not pairs:
        return
    rate = [y.rate / x.rate for x, y in pairs]
    cpu = [(y.relay_cpu / y.n) / (x.relay_cpu / x.n) for x, y in pairs
           if x.relay_cpu and y.relay_cpu]
    print()
    print("Routes (ttlog-ttlog-routed / ttlog-ttlog, the %d runs where both "
          "completed):" % len(pairs))
    for what, v in (("events/s", rate), ("relay CPU-s per event", cpu)):
        if v:
            print("  %-22s median %.3f, min-max %.3f-%.3f" %
                  (what, statistics.median(v), min(v), max(v)))
    med = statistics.median(rate)
    print("  target: the routed relay keeps >= 80%% of the route-less "
          "events/s: %s" % ("met" if med >= 0.8 else "NOT met"))


# ---------------------------------------------------------------------------


class Ctx:
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--rows", default="",
                    help="comma-separated row names (default: the main "
                    "rows; 'all' for every row)")
    ap.add_argument("--rsyslogd", default=None)
    ap.add_argument("--modules", default=None,
                    help="rsyslog module directory (-M)")
    ap.add_argument("--agent-batch", default="%d,%s" % AGENT_BATCH,
                    help="EVENTS,BYTES: service.batch of the ttlog-agents")
    ap.add_argument("--app-batch", default="%d,%s" % APP_BATCH,
                    help="EVENTS,BYTES: service.batch of ttlog-seqgen")
    ap.add_argument("--routes", action="store_true",
                    help="add the rows ttlog-ttlog and ttlog-ttlog-routed "
                    "and report their ratio")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    args = ap.parse_args()

    for opt in ("agent_batch", "app_batch"):
        e, _, b = getattr(args, opt).partition(",")
        if not e.isdigit() or not b:
            ap.error("--%s wants EVENTS,BYTES" % opt.replace("_", "-"))
        globals()[opt.upper()] = (int(e), b)
    names = [r[0] for r in ROWS]
    if args.rows == "all":
        order = names
    elif args.rows:
        order = [x.strip() for x in args.rows.split(",") if x.strip()]
        for x in order:
            if x not in names:
                ap.error("unknown row %r (rows: %s)" % (x, ", ".join(names)))
    else:
        order = [r[0] for r in ROWS if r[3]]
    if args.routes:
        order += [x for x in ("ttlog-ttlog", "ttlog-ttlog-routed")
                  if x not in order]
    if args.n < 1 or args.runs < 1:
        ap.error("--n and --runs must be positive")

    ctx = Ctx()
    build = ctx.build = os.path.abspath(args.build)
    ctx.agent = os.path.join(build, "agent", "ttlog-agent")
    ctx.seqgen = os.path.join(build, "tests", "ttlog-seqgen")
    ctx.plugins = os.path.join(build, "plugins")
    ctx.rsyslogd = rsyslog.find_rsyslogd(args.rsyslogd)
    ctx.modules = args.modules or os.environ.get("RSYSLOG_MODULES")
    ctx.n, ctx.runs = args.n, args.runs
    ctx.labels = {r[0]: r[1] for r in ROWS}
    runners = {r[0]: r[2] for r in ROWS}
    for p in (ctx.agent, ctx.seqgen, os.path.join(ctx.plugins,
                                                  "forward.so")):
        if not os.path.exists(p):
            print("missing %s (build with -DTTLOG_TESTS=ON)" % p,
                  file=sys.stderr)
            return 2
    if any(x.startswith("rsyslog") or x == "ttlog-syslog" for x in order):
        if not os.path.exists(ctx.rsyslogd) or \
                rsyslog.find_ossl_driver(ctx.modules) is None:
            print("rsyslogd or its ossl driver (rsyslog-openssl) is not "
                  "installed", file=sys.stderr)
            return 2

    for line in sysinfo(ctx):
        print(line)
    sys.stdout.flush()

    tmp = tempfile.mkdtemp(prefix="ttlog-fwbench-", dir="/tmp")
    t_start = time.monotonic()
    results = {n: [] for n in order}
    failed = False
    try:
        ctx.certs = rsyslog.make_certs(
            os.path.join(TOP, "tests", "certs", "make_certs.sh"),
            os.path.join(tmp, "certs"))
        t = time.monotonic()
        ctx.stream, ctx.payload = make_stream(ctx.n)
        const = []

        def const_stream():
            if not const:
                const.append(make_stream(ctx.n, const_msg=True)[0])
            return const[0]
        ctx.const_stream = const_stream
        print("stream:       %d messages, %.1f MB of payload, made in %.1f s"
              % (ctx.n, ctx.payload / 1e6, time.monotonic() - t))
        sys.stdout.flush()
        for run in range(1, ctx.runs + 1):
            for name in order:
                d = os.path.join(tmp, "run%d-%s" % (run, name))
                os.makedirs(d)
                res = Result(name, ctx.n, row_payload(ctx, name))
                try:
                    runners[name](ctx, res, d)
                except (BenchError, rsyslog.CollectorError, OSError,
                        subprocess.SubprocessError) as e:
                    res.note += " error: %s" % e
                    failed = True
                results[name].append(res)
                print("run %d %-22s %s" % (
                    run, name,
                    "%.2f s, %s ev/s, %.1f MB/s, relay %s, sink %.2f "
                    "CPU-s/M%s%s" % (
                        res.wall, fmt_rate(res.rate), res.mbps,
                        "%.2f" % (res.relay_cpu / res.n * 1e6)
                        if res.relay_cpu is not None else "-",
                        res.sink_cpu / res.n * 1e6,
                        ", %d LOST" % res.lost if res.lost else "",
                        res.note) if res.wall else
                    "INCOMPLETE: %d of %d counted%s" % (
                        res.counted, res.n, res.note)), flush=True)
                if not args.keep:
                    shutil.rmtree(d, ignore_errors=True)
        report(ctx, results, order)
        report_routes(results)
    finally:
        if args.keep:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("total time: %.0f s" % (time.monotonic() - t_start))
    lost = any(r.lost or not r.wall for v in results.values() for r in v)
    return 1 if failed or lost else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
