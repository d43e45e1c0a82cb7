"""Integration tests of ttlog-agent: the real binary on loopback, real
sockets, real files. Every wait is on an event (a line on stderr, lines in
a file, the process exiting) with a deadline, never a bare sleep.

Usage: test_agent.py --agent PATH --plugins DIR --test-plugins DIR
                     [--only NAME]
Prints one line per test and ends with "N passed, N failed".
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

DEADLINE = 20.0  # seconds for any one wait


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def ephemeral_range():
    """The ports the kernel hands to outgoing connections."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo, hi = (int(x) for x in f.read().split()[:2])
            return lo, hi
    except (OSError, ValueError):
        return 32768, 60999


_given = set()  # ports free_port() handed out in this process


def free_port(kind=socket.SOCK_STREAM):
    """A port of 127.0.0.1 free now, for a process started next to bind.
    Taken below the ephemeral range: a port the kernel picked (bind to 0)
    can be taken meanwhile as the source port of any outgoing connection,
    and a benchmark that makes thousands of them saw exactly that
    ("Address already in use"). Never the same port twice in a process:
    two picks before either is bound must differ."""
    lo, hi = ephemeral_range()
    if lo - 10000 >= 1000:
        first, last = 10000, lo - 1
    elif 65535 - hi >= 1000:
        first, last = hi + 1, 65535
    else:  # the whole space is ephemeral: let the kernel pick
        first = last = 0
    for _ in range(1000):
        port = random.randint(first, last)
        if port != 0 and port in _given:
            continue
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port in _given:
            continue
        _given.add(port)
        return port
    raise RuntimeError("no free port outside %d-%d" % (lo, hi))


def raise_nofile(want):
    """Raises this process's soft open-file limit towards `want` (never
    past the hard limit, never lower than it is) and returns the soft
    limit now in force. Processes started after it inherit it. A test
    that needs many descriptors sizes itself to what this returns, so
    that a soft limit of 1,024 (a common default) does not fail it."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        soft = want
    return soft


class Agent:
    """ttlog-agent with a config written from `body`, its stderr read until
    every input has reported where it listens."""

    def __init__(self, args, tmp, body, expect_inputs,
                 stdout=subprocess.DEVNULL, preexec_fn=None):
        self.tmp = tmp
        self.config = os.path.join(tmp, "ttlog.yaml")
        with open(self.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                    % (args.plugins, body))
        self.stderr_path = os.path.join(tmp, "agent.stderr")
        self.err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([args.agent, "-c", self.config],
                                     stdin=subprocess.DEVNULL,
                                     stdout=stdout,
                                     stderr=self.err,
                                     preexec_fn=preexec_fn)
        self.wait_stderr("ttlog-agent: input ", expect_inputs)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_stderr(self, needle, count=1):
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            text = self.stderr()
            if text.count(needle) >= count:
                return text
            if self.proc.poll() is not None:
                raise Failure("agent exited (%d): %s"
                              % (self.proc.returncode, text))
            time.sleep(0.01)
        raise Failure("no %r on stderr within %ss: %s"
                      % (needle, DEADLINE, self.stderr()))

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(DEADLINE)
        finally:
            self.err.close()
        # A writer-thread-only function called from elsewhere says so on
        # stderr and does nothing: a bug in the agent, whatever the test.
        text = self.stderr()
        if "ttlog: internal error" in text:
            raise Failure("the agent reported an internal error: %s"
                          % text[text.index("ttlog: internal error"):][:300])
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.err.close()

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def read_jsonl(path, torn=None):
    """The objects of a JSON lines file. torn: a list that collects the
    lines that do not parse; without it, such a line is an error. A file
    listener killed mid-batch leaves its last line torn, and the next
    start ends that line with a newline (plugins/file/file_open.c)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path, "rb") as f:
        # The agent may be half way through a line: only whole lines.
        for line in f.read().split(b"\n")[:-1]:
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                if torn is None:
                    raise
                torn.append(line)
    return out


def wait_lines(path, n, pred=lambda e: True):
    end = time.monotonic() + DEADLINE
    got = []
    while time.monotonic() < end:
        got = [e for e in read_jsonl(path) if pred(e)]
        if len(got) >= n:
            return got
        time.sleep(0.02)
    raise Failure("%s: %d of %d lines within %ss" % (path, len(got), n,
                                                      DEADLINE))


def metrics(port):
    """GET /metrics: {'name{labels}': value}."""
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), head)
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def accept_queue(port):
    """How many connections wait in the accept queue of the socket
    listening on 127.0.0.1:port (the rx_queue /proc/net/tcp shows for a
    listening socket), or None when there is no such socket."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[3] == "0A" and int(p[1].split(":")[1], 16) == port:
                return int(p[4].split(":")[1], 16)
    return None


def file_listener(path):
    return ("  - name: out\n    type: file\n    format: json\n"
            "    fsync: never\n    path: %s\n" % path)


def is_input(e):
    return "input" in e  # the origin of events an input took in


# ---------------------------------------------------------------- tests


def test_syslog_and_jsonl_arrive_with_their_fields(args, tmp):
    tcp, udp, js = free_port(), free_port(socket.SOCK_DGRAM), free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "inputs:\n"
              "  - {name: st, type: syslog, listen: 'tcp://127.0.0.1:%d'}\n"
              "  - {name: su, type: syslog, listen: 'udp://127.0.0.1:%d'}\n"
              "  - {name: js, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n%s" % (tcp, udp, js, file_listener(out)), 3)
    try:
        m5424 = (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com '
                 b'evntslog - ID47 [exampleSDID@32473 iut="3" '
                 b'eventSource="Application"] An application event')
        m3164 = b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed"
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            # Octet-counted, then LF-framed, in one stream.
            s.sendall(str(len(m5424)).encode() + b" " + m5424)
            s.sendall(m3164 + b"\n")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"<13>1 - - udpapp - - - over udp", ("127.0.0.1", udp))
        with socket.create_connection(("127.0.0.1", js)) as s:
            s.sendall(b'{"msg":"from json","level":"warn","n":42,'
                      b'"ok":true,"ratio":0.5,"who":"me"}\n')
        got = wait_lines(out, 4, is_input)
        by = {e["msg"]: e for e in got}
        e = by["An application event"]
        check(e["host"] == "mymachine.example.com", e)
        check(e["service"] == "evntslog" and e["msgid"] == "ID47", e)
        check(e["exampleSDID@32473.iut"] == "3", e)
        check(e["exampleSDID@32473.eventSource"] == "Application", e)
        check(e["facility"] == 20 and e["severity"] == 5, e)
        check(e["level"] == "INFO", e)
        check(e["time"].startswith("2003-10-11T22:14:15.003"), e)
        e = by["'su root' failed"]
        check(e["host"] == "mymachine" and e["service"] == "su", e)
        check(e["level"] == "FATAL", e)  # severity 2, crit
        e = by["over udp"]
        check(e["service"] == "udpapp", e)
        e = by["from json"]
        check(e["level"] == "WARN" and e["n"] == 42 and e["ok"] is True, e)
        check(e["ratio"] == 0.5 and e["who"] == "me", e)
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_100k_sequence_over_tcp_has_no_gap_or_duplicate(args, tmp):
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              % (port, file_listener(out)), 1)
    n = 100000
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            chunk = []
            for i in range(n):
                chunk.append(b'{"msg":"seq","seq":%d}\n' % i)
                if len(chunk) == 1000:
                    s.sendall(b"".join(chunk))
                    chunk = []
            s.sendall(b"".join(chunk))
        got = wait_lines(out, n, lambda e: e.get("msg") == "seq")
        seqs = [e["seq"] for e in got]
        check(seqs == list(range(n)),
              "sequence: %d events, first gap or duplicate near %s"
              % (len(seqs), next((i for i, v in enumerate(seqs)
                                  if v != i), None)))
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_sigterm_drains_everything_already_sent(args, tmp):
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              % (port, file_listener(out)), 1)
    n = 20000
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"".join(b'{"msg":"d","seq":%d}\n' % i
                               for i in range(n)))
            # SIGTERM at once, while the agent is still reading: what the
            # socket delivered must all be written before it exits.
            a.proc.send_signal(signal.SIGTERM)
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
        seqs = [e["seq"] for e in read_jsonl(out) if e.get("msg") == "d"]
        check(seqs == list(range(n)), "%d of %d after SIGTERM"
              % (len(seqs), n))
    finally:
        a.kill()


def test_sigterm_drains_connections_not_yet_accepted(args, tmp):
    """Connections the kernel completed while the agent was busy (here:
    stopped) sit in the listen backlog; their data counts as sent, and all
    of it arrives across the stop. Whether the loop accepts them before the
    stop begins is up to the scheduler; test_input.c's
    test_stop_accepts_and_drains_the_backlog pins the case where it does
    not."""
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              % (port, file_listener(out)), 1)
    conns, per = 20, 200
    try:
        a.proc.send_signal(signal.SIGSTOP)
        for c in range(conns):
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b"".join(b'{"msg":"b","c":%d,"i":%d}\n' % (c, i)
                                   for i in range(per)))
        a.proc.send_signal(signal.SIGTERM)
        a.proc.send_signal(signal.SIGCONT)
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
        got = sorted((e["c"], e["i"]) for e in read_jsonl(out)
                     if e.get("msg") == "b")
        want = [(c, i) for c in range(conns) for i in range(per)]
        check(got == want, "%d of %d events from connections in the "
              "backlog" % (len(got), len(want)))
    finally:
        a.kill()


def test_bad_input_leaves_the_agent_up_with_counters(args, tmp):
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    http = free_port()
    a = Agent(args, tmp,
              "  http:\n    listen: 127.0.0.1:%d\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d', max_message: 64KiB, "
              "max_connections: 100, max_connections_per_peer: 0}\n"
              "listeners:\n%s"
              % (http, port, file_listener(out)), 1)
    try:
        # Garbage bytes, then a good line on the same connection.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(os.urandom(4096).replace(b"\n", b"x") + b"\n")
            s.sendall(b'{"msg":"after garbage"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "after garbage")
        # A 100 MB line: the connection is closed, memory stays bounded.
        rss0 = a.rss_kib()
        with socket.create_connection(("127.0.0.1", port)) as s:
            block = b"a" * (1 << 20)
            try:
                for _ in range(100):
                    s.sendall(block)
            except OSError:
                pass  # closed by the agent: expected
        check(a.rss_kib() < rss0 + 64 * 1024,
              "RSS grew from %d to %d KiB" % (rss0, a.rss_kib()))
        # Thousands of half-open connections: over the limit are refused.
        # As many as the open-file limit allows (64 kept for the rest),
        # and always well over max_connections.
        n = min(2000, raise_nofile(2000 + 64) - 64)
        check(n >= 200, "the open-file limit (%d) leaves too few "
              "descriptors to exceed max_connections (100)" % (n + 64))
        conns = []
        try:
            for _ in range(n):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", port))
                conns.append(c)
        finally:
            for c in conns:
                c.close()
        # The agent has taken every connection out of its accept queue and
        # seen each close: only now is a slot sure to be free (until then a
        # new connection may rightly be refused as the 101st).
        key = 'ttlog_input_connections{input="js",type="jsonl"}'
        end = time.monotonic() + DEADLINE
        while accept_queue(port) != 0 or metrics(http).get(key) != 0:
            check(time.monotonic() < end, "the flood's connections are "
                  "still queued (%s) or open (%s)"
                  % (accept_queue(port), metrics(http).get(key)))
            time.sleep(0.02)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b'{"msg":"still up"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "still up")
        check(a.proc.poll() is None, "agent died")
        # The counters moved, as /metrics of the running agent shows.
        m = metrics(http)
        check(m.get('ttlog_input_malformed_total{input="js",'
                    'type="jsonl"}', 0) >= 2, m)
        check(m.get('ttlog_input_connections_refused_total{input="js",'
                    'type="jsonl"}', 0) >= 1, m)
        check(m.get('ttlog_input_events_total{input="js",'
                    'type="jsonl"}', 0) >= 2, m)
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_sequence_survives_20_reloads_one_of_them_invalid(args, tmp):
    import threading
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    extra = os.path.join(tmp, "extra.jsonl")
    inputs = ("inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\n" % port)
    a = Agent(args, tmp, inputs + "listeners:\n" + file_listener(out), 1)
    stop = threading.Event()
    sent = [0]

    def sender():
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.settimeout(DEADLINE)  # a stuck agent must not hang the test
            while not stop.is_set():
                batch = b"".join(b'{"msg":"r","seq":%d}\n' % (sent[0] + i)
                                 for i in range(200))
                s.sendall(batch)
                sent[0] += 200
                time.sleep(0.01)  # a steady stream, not a flood

    def count(msg):
        # Polled often: count the bytes, parse only at the end.
        needle = b'"msg":' + json.dumps(msg).encode()
        if not os.path.exists(out):
            return 0
        with open(out, "rb") as f:
            return f.read().count(needle)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        first = sent[0]
        reload_20_times(a, args, inputs, out, extra, count)
        # The stream ran through the reloads (a batch every 10 ms) and goes
        # on after them.
        end = time.monotonic() + DEADLINE
        while sent[0] <= first + 1000:
            check(time.monotonic() < end, "sender stalled")
            time.sleep(0.01)
    except BaseException:
        stop.set()
        a.kill()
        raise
    finally:
        stop.set()
        t.join(DEADLINE)
    try:
        finish_reload_test(a, out, extra, count, sent[0])
    finally:
        a.kill()


def reload_20_times(a, args, inputs, out, extra, count):
    if True:
        for i in range(20):
            body = inputs + "listeners:\n" + file_listener(out)
            if i % 2 == 0:  # a second listener comes and goes
                body += ("  - name: extra\n    type: file\n"
                         "    format: json\n    path: %s\n" % extra)
            if i == 7:
                body += "  - name: broken\n    type: nosuch\n"
            ring = "  ring_size: 2MiB\n" if i == 3 else ""
            with open(a.config, "w") as f:
                f.write("service:\n  plugin_dir: %s\n"
                        "  flush_interval: 5ms\n%s%s"
                        % (args.plugins, ring, body))
            done_ok = count("configuration reloaded")
            done_bad = count("reload failed: the running configuration "
                             "stays")
            a.proc.send_signal(signal.SIGHUP)
            end = time.monotonic() + DEADLINE
            while (count("configuration reloaded") == done_ok and
                   count("reload failed: the running configuration "
                         "stays") == done_bad):
                check(time.monotonic() < end, "reload %d not reported" % i)
                check(a.proc.poll() is None, "agent died: " + a.stderr())
                time.sleep(0.02)


def finish_reload_test(a, out, extra, count, n):
    end = time.monotonic() + 3 * DEADLINE
    while count("r") < n:
        check(time.monotonic() < end, "%d of %d events arrived"
              % (count("r"), n))
        time.sleep(0.05)
    check(a.stop() == 0, "exit status")
    seqs = [e["seq"] for e in read_jsonl(out) if e.get("msg") == "r"]
    check(seqs == list(range(n)), "%d events for %d sent, gap or duplicate"
          % (len(seqs), n))
    check(count("configuration reloaded") == 19, "19 good reloads")
    check(count("reload failed: the running configuration stays") == 1,
          "1 refused reload")
    check(os.path.exists(extra), "the added listener wrote its file")
    # ring_size changed at reload 3 and back at 4: not applied, and said.
    check(count("reload: this service setting applies only after a "
                "restart") == 2, "restart-only warnings")


def test_service_user_drops_privileges_after_binding(args, tmp):
    if os.geteuid() != 0:
        print("note: not root, service.user cannot be tried here")
        return
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    os.chmod(tmp, 0o755)
    a = Agent(args, tmp,
              "  user: nobody\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              % (port, file_listener(out)), 1)
    try:
        with open("/proc/%d/status" % a.proc.pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        check(all(u == "65534" for u in uids), "uids %s" % uids)
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b'{"msg":"as nobody"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "as nobody")
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def http_get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n"
                  b"Connection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


def test_health_turns_503_when_a_listener_keeps_failing(args, tmp):
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    failing = os.path.join(args.test_plugins, "slow.so")
    a = Agent(args, tmp,
              "  http:\n    listen: 127.0.0.1:%d\n"
              "    unhealthy_after: 1s\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              "  - name: broken\n    plugin: %s\n    fail: true\n"
              % (http, port, file_listener(out), failing), 1)
    try:
        check(http_get(http, "/health").startswith(b"HTTP/1.1 200"),
              "healthy at start")
        # `ttlog-agent --health`, as a container's HEALTHCHECK runs it:
        # by address, and through the configuration's http.listen.
        for argv in ([args.agent, "--health", "127.0.0.1:%d" % http],
                     [args.agent, "-c", a.config, "--health"]):
            r = subprocess.run(argv, capture_output=True, timeout=DEADLINE)
            check(r.returncode == 0 and b'"status":"ok"' in r.stdout,
                  "%s: %d %r %r" % (argv[1:], r.returncode, r.stdout,
                                   r.stderr))
        # Clients that send requests and never read the answers, from
        # another address than the health checks (127.0.0.1 would rightly
        # be refused while the 8 of http.max_connections_per_peer are
        # open).
        idle = []
        for _ in range(50):
            c = socket.create_connection(("127.0.0.1", http),
                                         source_address=("127.0.0.3", 0))
            c.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n" * 20)
            idle.append(c)
        end = time.monotonic() + DEADLINE
        i = 0
        while True:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.sendall(b'{"msg":"tick","i":%d}\n' % i)
            i += 1
            r = http_get(http, "/health")
            if r.startswith(b"HTTP/1.1 503"):
                break
            check(time.monotonic() < end, "no 503: %r" % r[-300:])
            time.sleep(0.1)
        check(b'"name":"broken","state":"failing"' in r, r)
        check(b'"name":"out","state":"ok"' in r, r)
        h = subprocess.run([args.agent, "--health", "127.0.0.1:%d" % http],
                           capture_output=True, timeout=DEADLINE)
        check(h.returncode == 1 and b"status 503" in h.stderr,
              "--health when failing: %d %r" % (h.returncode, h.stderr))
        # The good listener and the inputs went on meanwhile.
        wait_lines(out, i, lambda e: e.get("msg") == "tick")
        for c in idle:
            c.close()
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_health_command_errors(args, tmp):
    """--health names what is wrong: nobody listening, a bad address, a
    configuration without http.listen."""
    closed = free_port()
    r = subprocess.run([args.agent, "--health", "127.0.0.1:%d" % closed],
                       capture_output=True, timeout=DEADLINE)
    check(r.returncode == 1 and b"Connection refused" in r.stderr,
          "closed port: %d %r" % (r.returncode, r.stderr))
    r = subprocess.run([args.agent, "--health", "nowhere"],
                       capture_output=True, timeout=DEADLINE)
    check(r.returncode == 2 and b"is not HOST:PORT" in r.stderr,
          "bad address: %d %r" % (r.returncode, r.stderr))
    cfg = os.path.join(tmp, "nohttp.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\nlisteners:\n"
                "  - {name: out, type: stdout}\n" % args.plugins)
    r = subprocess.run([args.agent, "-c", cfg, "--health"],
                       capture_output=True, timeout=DEADLINE)
    check(r.returncode == 2 and b"sets no service.http.listen" in r.stderr,
          "no http.listen: %d %r" % (r.returncode, r.stderr))
    # --check FILE, as the package's test runs it.
    r = subprocess.run([args.agent, "--check", cfg], capture_output=True,
                       timeout=DEADLINE)
    check(r.returncode == 0 and b"nohttp.yaml: ok" in r.stdout,
          "--check FILE: %d %r %r" % (r.returncode, r.stdout, r.stderr))


def test_check_reports_errors_with_places(args, tmp):
    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\n"
                "inputs:\n  - {name: x, type: carrier-pigeon}\n"
                "listeners:\n  - name: out\n    type: stdout\n"
                "    colour: never\n" % args.plugins)
    r = subprocess.run([args.agent, "--check", "-c", cfg],
                       capture_output=True, text=True, timeout=DEADLINE)
    check(r.returncode == 1, "exit %d" % r.returncode)
    check("bad.yaml:4:21: inputs[0].type: expected one of "
          "syslog|jsonl|stdin|ttlog|tail|journal|kafka, got "
          "\"carrier-pigeon\"" in r.stderr,
          r.stderr)
    check("bad.yaml:8:5: listeners[0].colour: unknown option (did you "
          "mean \"color\"?)" in r.stderr, r.stderr)
    r = subprocess.run([args.agent, "--check"], capture_output=True,
                       text=True, timeout=DEADLINE,
                       env=dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins))
    check(r.returncode == 0 and "ok (5 inputs, 1 listeners)" in r.stdout,
          r.stdout + r.stderr)
    r = subprocess.run([args.agent, "--version"], capture_output=True,
                       text=True, timeout=DEADLINE)
    check(r.returncode == 0 and r.stdout.startswith("ttlog-agent "),
          r.stdout)
    r = subprocess.run([args.agent, "--plugin-help", "file"],
                       capture_output=True, text=True, timeout=DEADLINE,
                       env=dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins))
    check(r.returncode == 0 and "rotate.size" in r.stdout, r.stdout)
    # The shipped examples are valid as they stand, given the files they
    # name: --check reads the TLS files and looks where logs will go.
    top = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    certs = os.path.join(tmp, "certs")
    subprocess.run(["bash", os.path.join(top, "tests", "certs",
                                         "make_certs.sh"), certs],
                   check=True)
    env = dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins,
               TTLOG_TLS_DIR=certs, LOG_DIR=tmp,
               TTLOG_SPOOL_DIR=os.path.join(tmp, "spool"))
    for ex in ("forward.yaml", "collector.yaml", "file.yaml",
               "json-stderr.yaml", "kafka.yaml"):
        path = os.path.join(top, "conf", "examples", ex)
        r = subprocess.run([args.agent, "--check", "-c", path],
                           capture_output=True, text=True, timeout=DEADLINE,
                           env=env)
        check(r.returncode == 0, "%s: %s" % (ex, r.stdout + r.stderr))
    r = subprocess.run([args.agent, "--plugin-help", "forward"],
                       capture_output=True, text=True, timeout=DEADLINE,
                       env=dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins))
    check(r.returncode == 0 and "spool.dir" in r.stdout
          and "tls.pin_sha256" in r.stdout, r.stdout)


TESTS = [
    test_syslog_and_jsonl_arrive_with_their_fields,
    test_100k_sequence_over_tcp_has_no_gap_or_duplicate,
    test_sigterm_drains_everything_already_sent,
    test_sigterm_drains_connections_not_yet_accepted,
    test_bad_input_leaves_the_agent_up_with_counters,
    test_sequence_survives_20_reloads_one_of_them_invalid,
    test_service_user_drops_privileges_after_binding,
    test_health_turns_503_when_a_listener_keeps_failing,
    test_health_command_errors,
    test_check_reports_errors_with_places,
]


def run_tests(tests, args, prefix):
    """Runs each test (all, or those whose name holds args.only) in its own
    temporary directory; prints one line each and the totals; returns the
    exit status. TTLOG_KEEP_TMP=1 keeps the directory of a failed test."""
    passed = failed = 0
    for t in tests:
        if args.only and args.only not in t.__name__:
            continue
        tmp = tempfile.mkdtemp(prefix=prefix)
        t0 = time.monotonic()
        try:
            t(args, tmp)
            passed += 1
            print("ok   %s (%.1fs)" % (t.__name__, time.monotonic() - t0))
        except Exception as e:  # report and go on with the next test
            failed += 1
            print("FAIL %s: %s" % (t.__name__, e))
            if not isinstance(e, Failure):
                traceback.print_exc()
            if os.environ.get("TTLOG_KEEP_TMP"):
                print("     kept %s" % tmp)
                tmp = None
        finally:
            if tmp:
                shutil.rmtree(tmp, ignore_errors=True)
        sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-it-")


if __name__ == "__main__":
    sys.exit(main())
