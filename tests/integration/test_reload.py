"""Integration tests of ttlog-agent's reload (SIGHUP): inputs kept by
their socket, all-or-nothing, reasons in the agent's own log. Real
processes on loopback; every wait is on an event with a deadline.

Usage: test_reload.py --agent PATH --plugins DIR [--only NAME]
Prints one line per test and ends with "N passed, N failed".
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, Failure, check, free_port, metrics,  # noqa
                        read_jsonl, run_tests, wait_lines, DEADLINE)

REFUSED = "reload failed: the running configuration stays"
RELOADED = "configuration reloaded"


def count_in(path, msg):
    """How many events with this msg a JSON-lines file holds (bytes are
    counted: the file is polled often and may be large)."""
    if not os.path.exists(path):
        return 0
    needle = b'"msg":' + json.dumps(msg).encode()
    with open(path, "rb") as f:
        return f.read().count(needle)


def write_config(a, args, body):
    with open(a.config, "w") as f:
        f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                % (args.plugins, body))


def reload(a, args, body, log, http=None):
    """Writes body as the agent's configuration, sends SIGHUP and waits
    until the agent says the reload was applied or refused: in `log` (a
    file the agent's own events go to) or, given its HTTP port, in
    /metrics (at once, while a busy log may lag behind). Returns True
    when it was applied."""
    def state():
        if http is None:
            return count_in(log, RELOADED), count_in(log, REFUSED)
        m = metrics(http)
        return (m["ttlog_agent_reloads_total"],
                m["ttlog_agent_reload_errors_total"])

    write_config(a, args, body)
    ok, bad = state()
    a.proc.send_signal(signal.SIGHUP)
    end = time.monotonic() + DEADLINE
    while True:
        now_ok, now_bad = state()
        if now_ok > ok:
            return True
        if now_bad > bad:
            return False
        check(time.monotonic() < end, "reload not reported")
        check(a.proc.poll() is None, "agent died: " + a.stderr())
        time.sleep(0.01)


def events(path, msg):
    return [e for e in read_jsonl(path) if e.get("msg") == msg]


def input_series(m, name):
    """The /metrics samples of one input, by metric name."""
    label = '{input="%s",' % name
    return {k.split("{")[0]: v for k, v in m.items()
            if k.startswith("ttlog_input_") and label in k}


def send_line(port, line):
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall(line)


def file_out(path, extra=""):
    return ("  - name: out\n    type: file\n    format: json\n"
            "    fsync: never\n    rotate: {size: 0%s}\n    path: '%s'\n"
            % (extra, path))


# ---------------------------------------------------------------- tests


def test_stream_over_one_connection_survives_20_reloads(args, tmp):
    """500,000 events over one TCP connection that never reconnects, an
    agent with a file and a spooled forward listener to a collector, 20 reloads
    changing the input's and the listeners' options (one a broken file):
    every event in both outputs exactly once, no reload slower than
    100 ms of writer time."""
    n_events = 500000
    port, http = free_port(), free_port()
    sock = os.path.join(tmp, "collector.sock")
    out = os.path.join(tmp, "out.jsonl")
    cout = os.path.join(tmp, "collector.jsonl")
    spool = os.path.join(tmp, "spool")  # the forward listener's, handed
    os.makedirs(os.path.join(tmp, "c"))  # over at each reload
    coll = Agent(args, os.path.join(tmp, "c"),
                 "inputs:\n  - {name: native, type: ttlog, "
                 "listen: 'unix://%s'}\nlisteners:\n%s"
                 % (sock, file_out(cout)), 1)

    def body(i, broken=False):
        name = "js" if i % 2 == 0 else "js-renamed"
        return ("  http: {listen: '127.0.0.1:%d'}\n"
                "inputs:\n"
                "  - name: %s\n    type: jsonl\n"
                "    listen: 'tcp://127.0.0.1:%d'\n"
                "    max_connections: %d\n    idle_timeout: %ds\n"
                "    pause_backlog: %dMiB\n%s"
                "listeners:\n%s"
                "  - name: up\n    type: forward\n"
                "    endpoints: 'unix://%s'\n"
                "    reconnect: {initial: 50ms, max: 500ms}\n"
                "    heartbeat: %ds\n    queue: {max_bytes: 1GiB}\n"
                "    spool: {dir: '%s', fsync: never, max_bytes: %dMiB}\n"
                % (http, name, port, 10 + i, 60 + i, 32 + i,
                   "    max_conections: 5\n" if broken else "",
                   file_out(out, ", keep: %d" % (7 + i)), sock, 10 + i,
                   spool, 256 + i))

    a = Agent(args, tmp, body(0), 1)
    sent = [0]
    error = []
    stop = threading.Event()

    def sender():
        try:
            with socket.create_connection(("127.0.0.1", port)) as s:
                s.settimeout(DEADLINE)
                while sent[0] < n_events and not stop.is_set():
                    k = min(500, n_events - sent[0])
                    s.sendall(b"".join(
                        b'{"msg":"s","seq":%d}\n' % (sent[0] + j)
                        for j in range(k)))
                    sent[0] += k
                    time.sleep(0.005)  # a steady stream, ~50k events/s
        except OSError as e:  # the agent closed or reset the connection
            error.append(repr(e))

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    try:
        applied = []
        for i in range(1, 21):
            applied.append(reload(a, args, body(i, broken=(i == 7)), out,
                                  http))
            time.sleep(0.1)
        during = sent[0]
        t.join(3 * DEADLINE)
        check(not t.is_alive(), "the sender did not finish")
        check(not error, "the sender's connection broke: %s" % error)
        check(during < n_events, "the reloads ended after the stream "
              "(%d sent)" % during)
        check(applied.count(True) == 19 and applied[6] is False,
              "applied: %s" % applied)
        for path in (out, cout):
            end = time.monotonic() + 3 * DEADLINE
            while count_in(path, "s") < n_events:
                check(time.monotonic() < end, "%s: %d of %d events"
                      % (path, count_in(path, "s"), n_events))
                time.sleep(0.1)
        # One connection all along: the counters went on across the
        # renames and option changes and saw a single accept.
        m = input_series(metrics(http), "js")
        check(m.get("ttlog_input_connections_accepted_total") == 1 and
              m.get("ttlog_input_events_total") == n_events, m)
        check(a.stop() == 0, "exit status")
        check(coll.stop() == 0, "collector exit status")
        for path in (out, cout):
            seqs = sorted(e["seq"] for e in events(path, "s"))
            check(seqs == list(range(n_events)),
                  "%s: %d events, lost or duplicated ones" % (path,
                                                              len(seqs)))
        done = events(out, RELOADED)
        durations = [e["duration_ms"] for e in done]
        print("     reload duration_ms: max %.1f, %s"
              % (max(durations), " ".join("%.1f" % d for d in durations)))
        check(len(done) == 19, "%d reloads applied" % len(done))
        check(max(durations) <= 100, "a reload took %.1f ms of writer "
              "time" % max(durations))
        why = events(out, REFUSED)
        check(len(why) == 1 and "max_conections" in why[0].get("reason", "")
              and a.config + ":" in why[0]["reason"], why)
        check(any("unknown option" in e.get("error", "") for e in
                  events(out, "reload: configuration error")),
              "the problem itself is in the agent's log")
    finally:
        stop.set()
        a.kill()
        coll.kill()


def test_failed_reload_leaves_the_input_running(args, tmp):
    """A tls:// input without cert/key, an input on a port another
    process holds, and a new input with a listener that cannot be created
    are refused; the old input still accepts and delivers, and its
    /metrics series do not move."""
    port, http, taken = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")

    def body(listen):
        return ("  http: {listen: '127.0.0.1:%d'}\ninputs:\n"
                "  - {name: js, type: jsonl, listen: '%s'}\n"
                "listeners:\n%s" % (http, listen, file_out(out)))

    a = Agent(args, tmp, body("tcp://127.0.0.1:%d" % port), 1)
    holder = socket.socket()
    try:
        send_line(port, b'{"msg":"before"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "before")
        m0 = metrics(http)
        check(not reload(a, args, body("tls://127.0.0.1:%d" % port), out),
              "a tls:// input without cert and key was applied")
        holder.bind(("127.0.0.1", taken))
        holder.listen(1)
        check(not reload(a, args, body("tcp://127.0.0.1:%d" % taken), out),
              "an input on a port in use was applied")
        # A new input is bound before the listeners change; a listener
        # that cannot be created then undoes it. Two listeners on one
        # spool directory pass every check (each on its own is fine) and
        # the second fails when it is created.
        moved = free_port()
        sp = os.path.join(os.path.dirname(a.config), "spool")
        fw = ("  - {name: %s, type: forward, endpoints: "
              "'tcp://127.0.0.1:9', spool: {dir: '%s'}}\n")
        check(not reload(a, args, body("tcp://127.0.0.1:%d" % moved) +
                         fw % ("good", sp) + fw % ("bad", sp), out),
              "a listener that cannot be created was applied")
        try:
            socket.create_connection(("127.0.0.1", moved), timeout=1).close()
            check(False, "the refused reload left port %d bound" % moved)
        except ConnectionRefusedError:
            pass
        m1 = metrics(http)
        check(input_series(m1, "js") == input_series(m0, "js"),
              "input metrics moved: %s -> %s" % (input_series(m0, "js"),
                                                 input_series(m1, "js")))
        check(m1["ttlog_agent_reload_errors_total"] == 3 and
              m1["ttlog_agent_reloads_total"] ==
              m0["ttlog_agent_reloads_total"], m1)
        why = [" ".join(e.get(k, "") for k in ("reason", "input",
                                               "listener", "at"))
               for e in events(out, REFUSED)]
        # The first is refused when the file is loaded (FILE:LINE:COL:
        # inputs[0] (js): ...), the second when its socket is bound.
        check(len(why) == 3 and "tls.cert" in why[0] and "(js)" in why[0]
              and "in use" in why[1] and "listener bad" in why[2]
              and a.config + ":" in why[2], why)
        send_line(port, b'{"msg":"after"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "after")
        check(a.stop() == 0, "exit status")
    finally:
        holder.close()
        a.kill()


def test_input_counters_and_connections_survive_an_options_change(args,
                                                                  tmp):
    """A reload that renames the input and changes its options keeps its
    counters and its open connection."""
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")

    def body(name, more):
        return ("  http: {listen: '127.0.0.1:%d'}\ninputs:\n"
                "  - {name: %s, type: jsonl, listen: 'tcp://127.0.0.1:%d'"
                "%s}\nlisteners:\n%s" % (http, name, port, more,
                                         file_out(out)))

    a = Agent(args, tmp, body("js", ""), 1)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"".join(b'{"msg":"c","n":%d}\n' % i
                               for i in range(100)))
            wait_lines(out, 100, lambda e: e.get("msg") == "c")
            check(reload(a, args, body("js2", ", max_connections: 7, "
                                       "idle_timeout: 1h, max_message: "
                                       "32KiB"), out), "reload refused")
            # The same connection goes on after the reload.
            s.sendall(b"".join(b'{"msg":"c","n":%d}\n' % i
                               for i in range(100, 150)))
            wait_lines(out, 150, lambda e: e.get("msg") == "c")
            m = input_series(metrics(http), "js2")
            check(m.get("ttlog_input_events_total") == 150 and
                  m.get("ttlog_input_connections_accepted_total") == 1 and
                  m.get("ttlog_input_connections") == 1, m)
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_reload_after_a_refused_input_adds_a_listener(args, tmp):
    """The sequence of issue 14, item 2: a reload to a tls:// input
    without cert/key, then one that fixes it and adds a file listener.
    The first is refused (the old input keeps accepting), the second is
    applied. It was refused with 'listeners[1].path: unknown option': the
    refused reload had loaded the stdout plugin again through a new
    descriptor and closed it, glibc kept that name for the stdout object,
    and the file plugin, opened later through the same descriptor number,
    came back as stdout. A connection closed in between frees a lower
    descriptor, so that the next plugin (stdout again) does not take that
    number first."""
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    log = os.path.join(tmp, "stdout.jsonl")
    first = ("  http: {listen: '127.0.0.1:%d'}\n"
             "inputs:\n  - {name: js, type: jsonl, listen: '%%s'}\n"
             "listeners:\n  - {name: so, type: stdout, format: json}\n"
             % http)
    config = os.path.join(tmp, "ttlog.yaml")
    a = Agent.__new__(Agent)
    a.tmp, a.config = tmp, config
    write_config(a, args, first % ("tcp://127.0.0.1:%d" % port))
    a.stderr_path = os.path.join(tmp, "agent.stderr")
    a.err = open(a.stderr_path, "wb")
    with open(log, "wb") as so:
        a.proc = subprocess.Popen([args.agent, "-c", config],
                                  stdin=subprocess.DEVNULL, stdout=so,
                                  stderr=a.err)
    try:
        a.wait_stderr("ttlog-agent: input ")
        conn = socket.create_connection(("127.0.0.1", port))
        conn.sendall(b'{"msg":"open"}\n')
        wait_lines(log, 1, lambda e: e.get("msg") == "open")
        check(not reload(a, args, first % ("tls://127.0.0.1:%d" % port),
                         log), "a tls:// input without cert was applied")
        conn.close()
        end = time.monotonic() + DEADLINE
        while input_series(metrics(http), "js").get(
                "ttlog_input_connections") != 0:
            check(time.monotonic() < end, "the connection stays open")
            time.sleep(0.01)
        send_line(port, b'{"msg":"still"}\n')
        wait_lines(log, 1, lambda e: e.get("msg") == "still")
        check(reload(a, args, first % ("tcp://127.0.0.1:%d" % port) +
                     file_out(out).replace("name: out", "name: added"),
                     log),
              "the fixing reload was refused: %s"
              % [e.get("reason") for e in events(log, REFUSED)])
        send_line(port, b'{"msg":"both"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "both")
        wait_lines(log, 1, lambda e: e.get("msg") == "both")
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_routes_and_processors_change_at_a_reload(args, tmp):
    """A stream over one connection while reloads swap the listeners'
    match: and the global processors: every event before a reload is
    routed by the old rules, every event after it by the new ones, none
    lost or doubled, and a processor that stays keeps its counts."""
    port, http = free_port(), free_port()
    a_out, b_out = (os.path.join(tmp, n) for n in ("a.jsonl", "b.jsonl"))

    def body(match_a, drop):
        return ("  http: {listen: '127.0.0.1:%d'}\n"
                "inputs:\n  - {name: js, type: jsonl, listen: "
                "'tcp://127.0.0.1:%d'}\n"
                "processors:\n"
                "  - {type: drop, name: odd, match: '%s'}\n"
                "listeners:\n"
                "  - {name: a, type: file, format: json, fsync: never, "
                "path: '%s', match: '%s'}\n"
                "  - {name: b, type: file, format: json, fsync: never, "
                "path: '%s', match: else}\n"
                % (http, port, drop, a_out, match_a, b_out))

    a = Agent(args, tmp, body('service == \"x\"', "fields.n < 0"), 1)
    try:
        conn = socket.create_connection(("127.0.0.1", port))

        def send(lo, hi, svc):
            conn.sendall(b"".join(
                b'{"msg":"e","service":"%s","n":%d}\n' % (svc, i)
                for i in range(lo, hi)))

        def sent_by(path):
            return sorted(e["n"] for e in events(path, "e"))

        send(0, 100, b"x")
        send(100, 200, b"y")
        wait_lines(b_out, 100, lambda e: e.get("msg") == "e")
        # Swap: y goes to a now, and 301..399 are dropped.
        check(reload(a, args, body('service == \"y\"', "fields.n > 300 "
                                   "and fields.n < 400"), None, http),
              "reload refused")
        send(300, 400, b"y")
        send(400, 500, b"x")
        end = time.monotonic() + DEADLINE
        while len(sent_by(a_out)) < 101 or len(sent_by(b_out)) < 200:
            check(time.monotonic() < end, "a %d, b %d" % (
                len(sent_by(a_out)), len(sent_by(b_out))))
            time.sleep(0.02)
        # Before: x (0..99) in a, y (100..199) in b. After: y in a but
        # 301..399 dropped (300 kept), x (400..499) in b.
        check(sent_by(a_out) == list(range(0, 100)) + [300],
              "a: %s" % sent_by(a_out)[95:])
        check(sent_by(b_out) == list(range(100, 200)) +
              list(range(400, 500)), "b: %s" % sent_by(b_out)[95:105])
        m = metrics(http)
        key = ('ttlog_processor_dropped_total{scope="global",'
               'processor="odd",type="drop"}')
        check(m.get(key) == 99, "dropped %s" % m.get(key))
        # The same processor again (another match): its counts go on.
        check(reload(a, args, body('service == \"y\"', "fields.n < 0"),
                     None, http), "reload refused")
        check(metrics(http).get(key) == 99, "counts kept")
        conn.close()
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


TESTS = [
    test_routes_and_processors_change_at_a_reload,
    test_stream_over_one_connection_survives_20_reloads,
    test_failed_reload_leaves_the_input_running,
    test_input_counters_and_connections_survive_an_options_change,
    test_reload_after_a_refused_input_adds_a_listener,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-reload-")


if __name__ == "__main__":
    sys.exit(main())
