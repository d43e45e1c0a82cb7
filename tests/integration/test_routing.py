"""Integration tests of routing and processors (docs/routing.md): the
three example configurations of conf/examples/ run as they are, with real
processes on loopback, and checked event by event:

  routing-by-service.yaml    billing to one file, the rest to another
  collector-per-service.yaml a file per sender service per day, ERROR+
                             on the console, from an application
                             (ttlog-seqgen) and a relaying agent
  drop-and-redact.yaml       a noisy service's DEBUG dropped, passwords
                             redacted

Each example is started unchanged: only its ${VAR:-default} addresses and
directory are set through the environment. Also: 1M routed events leave
no memory behind, events no match selects are counted on /metrics,
--check accepts each example, docs/routing.md shows each as it is, and a
bad expression in a match: is refused at FILE:LINE:COL inside it.

Usage: test_routing.py --agent PATH --seqgen PATH --plugins DIR
                       [--sanitized] [--only NAME]
"""

import argparse
import datetime
import json
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (DEADLINE, Agent, Failure, check, free_port,  # noqa
                        metrics, read_jsonl, run_tests)
from test_forward import wait_for  # noqa

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "..", "conf", "examples")

# The redact pattern of drop-and-redact.yaml, in Python's syntax.
PASSWORD = re.compile(r'password=[^\s&;,"]+')


def example(name):
    return os.path.join(EXAMPLES, name)


class ExampleAgent(Agent):
    """ttlog-agent on an example file as it is, its ${VAR:-default}
    values given by env; stderr read until every input listens."""

    def __init__(self, args, tmp, name, env, expect_inputs,
                 stdout=subprocess.DEVNULL):
        self.tmp = tmp
        self.config = example(name)
        self.stderr_path = os.path.join(tmp, name + ".stderr")
        self.err = open(self.stderr_path, "wb")
        full = dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins, **env)
        self.proc = subprocess.Popen([args.agent, "-c", self.config],
                                     stdin=subprocess.DEVNULL,
                                     stdout=stdout, stderr=self.err,
                                     env=full)
        self.wait_stderr("ttlog-agent: input ", expect_inputs)


def send(port, lines):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join(x + b"\n" for x in lines))


def jline(**kv):
    return json.dumps(kv).encode()


def wait_all(what, path, want, pred, procs=()):
    """Waits until `want` events of path satisfy pred; returns them."""
    state = {}

    def done():
        state["got"] = [e for e in read_jsonl(path) if pred(e)]
        return len(state["got"]) >= want
    try:
        wait_for(what, done, DEADLINE, procs)
    except Failure:
        raise Failure("%s: %d of %d events" % (what, len(state["got"]),
                                               want))
    return state["got"]


# ------------------------------------------------------------------ (a)


def test_routing_by_service_puts_each_event_in_exactly_one_file(args, tmp):
    sys_port, js_port = free_port(), free_port()
    env = {"SYSLOG_LISTEN": "127.0.0.1:%d" % sys_port,
           "JSONL_LISTEN": "127.0.0.1:%d" % js_port, "LOG_DIR": tmp}
    a = ExampleAgent(args, tmp, "routing-by-service.yaml", env, 2)
    billing, other = set(), set()
    try:
        lines = []
        services = ["billing", "web", "auth", None, "billing-archive",
                    "Billing"]
        for i in range(600):
            svc = services[i % len(services)]
            kv = {"msg": "j-%d" % i, "level": ["info", "warn",
                                                "error"][i % 3]}
            if svc is not None:
                kv["service"] = svc
            (billing if svc == "billing" else other).add("j-%d" % i)
            lines.append(jline(**kv))
        # A non-string "service" is a field, not the origin: not billing.
        lines.append(jline(msg="j-num", service=5))
        other.add("j-num")
        send(js_port, lines)
        lines = []
        for i in range(200):
            app = "billing" if i % 2 == 0 else "cron"
            (billing if app == "billing" else other).add("s-%d" % i)
            lines.append(b"<14>1 2026-12-07T10:00:00Z host-%d %s - - - s-%d"
                         % (i % 3, app.encode(), i))
        # RFC 3164: the TAG's name is the service.
        lines.append(b"<14>Dec  7 10:00:00 oldhost billing[42]: s-3164")
        billing.add("s-3164")
        send(sys_port, lines)
        mine = re.compile(r"^[js]-")
        bpath = os.path.join(tmp, "billing.jsonl")
        opath = os.path.join(tmp, "other.jsonl")
        wait_all("billing", bpath, len(billing),
                 lambda e: mine.match(e.get("msg", "")), [a.proc])
        wait_all("other", opath, len(other),
                 lambda e: mine.match(e.get("msg", "")), [a.proc])
        check(a.stop() == 0, "exit status: %s" % a.stderr())
        b_ev, o_ev = read_jsonl(bpath), read_jsonl(opath)
        b_msgs = [e["msg"] for e in b_ev]
        o_msgs = [e["msg"] for e in o_ev if mine.match(e.get("msg", ""))]
        check(len(b_msgs) == len(set(b_msgs)) and set(b_msgs) == billing,
              "billing.jsonl: %d events, missing %s, extra %s"
              % (len(b_msgs), sorted(billing - set(b_msgs))[:5],
                 sorted(set(b_msgs) - billing)[:5]))
        check(len(o_msgs) == len(set(o_msgs)) and set(o_msgs) == other,
              "other.jsonl: %d events, missing %s, extra %s"
              % (len(o_msgs), sorted(other - set(o_msgs))[:5],
                 sorted(set(o_msgs) - other)[:5]))
        check(all(e.get("service") == "billing" for e in b_ev),
              "a non-billing event in billing.jsonl")
        # Order is kept within each input's stream.
        jb = [int(m[2:]) for m in b_msgs if re.match(r"j-\d+$", m)]
        check(jb == sorted(jb), "billing JSON lines out of order")
        e = next(x for x in b_ev if x["msg"] == "s-3164")
        check(e.get("host") == "oldhost" and e.get("input") == "syslog", e)
        e = next(x for x in o_ev if x.get("msg") == "j-num")
        check(e.get("_service", e.get("service")) == 5, e)
        # The agent's own events are "everything else".
        check(any(x.get("msg") == "agent started" and
                  x.get("service") == "ttlog-agent" for x in o_ev),
              "the agent's own start event is not in other.jsonl")
    finally:
        a.kill()


def count_lines(path, needle):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return f.read().count(needle)


def test_routing_memory_stays_bounded(args, tmp):
    """1M events through two match: listeners: once written, the agent
    holds no more memory than a bounded amount (no batch is kept once
    every listener is done with it)."""
    js = free_port()
    env = {"SYSLOG_LISTEN": "127.0.0.1:%d" % free_port(),
           "JSONL_LISTEN": "127.0.0.1:%d" % js, "LOG_DIR": tmp}
    a = ExampleAgent(args, tmp, "routing-by-service.yaml", env, 2)
    try:
        before = a.rss_kib()
        # Under ASan the leak check at exit needs far fewer events.
        n, chunk = (200000 if args.sanitized else 1000000), 50000
        with socket.create_connection(("127.0.0.1", js)) as s:
            for k in range(0, n, chunk):
                s.sendall(b"".join(
                    b'{"msg":"m","service":"%s","i":%d}\n'
                    % (b"billing" if i % 2 else b"web", i)
                    for i in range(k, k + chunk)))
        bpath = os.path.join(tmp, "billing.jsonl")
        opath = os.path.join(tmp, "other.jsonl")
        wait_for("%d events written" % n, lambda: count_lines(
            bpath, b'"msg":"m"') + count_lines(opath, b'"msg":"m"') >= n,
            DEADLINE, [a.proc])
        grown = a.rss_kib() - before
        # Under ASan freed memory sits in its quarantine: there, its leak
        # check at exit (the exit status) is the test.
        check(args.sanitized or grown < 64 * 1024,
              "the agent grew by %d MiB for 1M routed events already "
              "written" % (grown // 1024))
        check(a.stop() == 0, "exit status: %s" % a.stderr()[-2000:])
    finally:
        a.kill()


# ------------------------------------------------------------------ (b)


def seqgen_config(args, tmp, service, port):
    path = os.path.join(tmp, service + ".yaml")
    with open(path, "w") as f:
        f.write("service:\n  name: %s\n  plugin_dir: '%s'\n"
                "  flush_interval: 5ms\n"
                "listeners:\n  - name: up\n    type: forward\n"
                "    endpoints: 'tcp://127.0.0.1:%d'\n"
                "    reconnect: {initial: 50ms, max: 500ms}\n"
                "    drain_timeout: 15s\n" % (service, args.plugins, port))
    return path


def text_level(line):
    """The level of a text line: TIME LEVEL MSG ... (service@host)."""
    parts = line.split(" ")
    return parts[1] if len(parts) > 2 else None


def test_collector_writes_a_file_per_sender_service_per_day(args, tmp):
    port, edge_port = free_port(), free_port()
    out = os.path.join(tmp, "out")
    console = os.path.join(tmp, "collector.stdout")
    cons = open(console, "wb")
    c = ExampleAgent(args, tmp, "collector-per-service.yaml",
                     {"NATIVE_LISTEN": "127.0.0.1:%d" % port,
                      "LOG_DIR": out}, 1, stdout=cons)
    edge = app = None
    try:
        # Sender 1: an application (libttlog's forward listener).
        n = 3000
        app_err = open(os.path.join(tmp, "seqgen.stderr"), "wb")
        app = subprocess.Popen(
            [args.seqgen, "-c", seqgen_config(args, tmp, "seqapp", port),
             "-n", str(n)], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=app_err)
        app.stderr_file = app_err
        # Sender 2: an agent relaying JSON lines of the service checkout.
        d = os.path.join(tmp, "edge")
        os.makedirs(d)
        edge = Agent(args, d,
                     "  name: edge\ninputs:\n"
                     "  - {name: shop, type: jsonl, "
                     "listen: 'tcp://127.0.0.1:%d'}\n"
                     "listeners:\n  - name: up\n    type: forward\n"
                     "    endpoints: 'tcp://127.0.0.1:%d'\n"
                     "    reconnect: {initial: 50ms, max: 500ms}\n"
                     % (edge_port, port), 1)
        levels = ["info", "warn", "error", "info", "fatal"]
        sent = [("c-%d" % i, levels[i % len(levels)].upper())
                for i in range(500)]
        send(edge_port, [jline(msg=m, level=lv.lower(), service="checkout",
                               host="shop-1", i=i)
                         for i, (m, lv) in enumerate(sent)])
        errors = [m for m, lv in sent if lv in ("ERROR", "FATAL")]
        svc_file = {}

        def files_of(svc):
            p = os.path.join(out, svc)
            return sorted(os.listdir(p)) if os.path.isdir(p) else []

        def events_of(svc):
            evs = []
            for f in files_of(svc):
                for e in read_jsonl(os.path.join(out, svc, f)):
                    evs.append((f, e))
            return evs

        def arrived():
            s = [e for _, e in events_of("seqapp") if e.get("msg") == "seq"]
            k = [e for _, e in events_of("checkout")]
            return len(s) >= n and len(k) >= len(sent)
        wait_for("every event of both senders", arrived, DEADLINE,
                 [c.proc, edge.proc])

        def console_lines():
            with open(console, "rb") as f:
                return [x for x in f.read().decode().split("\n")[:-1] if x]
        wait_for("the ERROR+ events on the console",
                 lambda: len(console_lines()) >= len(errors), DEADLINE,
                 [c.proc])
        code = app.wait(DEADLINE)
        check(code == 0, "seqgen exited %d" % code)
        check(edge.stop() == 0, "edge exit status")
        check(c.stop() == 0, "collector exit status: %s" % c.stderr())
        cons.close()

        for svc in ("seqapp", "checkout"):
            evs = events_of(svc)
            for f, e in evs:
                check(f == e["time"][:10] + ".jsonl",
                      "%s: an event of %s in %s" % (svc, e["time"], f))
                check(e.get("service") == svc, e)
            svc_file[svc] = evs
        today = datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%d") + ".jsonl"
        check(today in files_of("seqapp") and today in files_of("checkout"),
              "no file of today (%s): %s %s" % (today, files_of("seqapp"),
                                                files_of("checkout")))
        seqs = [e["seq"] for _, e in svc_file["seqapp"]
                if e.get("msg") == "seq"]
        check(seqs == list(range(n)), "seqapp: %d events, not 0..%d in "
              "order" % (len(seqs), n - 1))
        own = [e for _, e in svc_file["seqapp"] if e.get("msg") != "seq"]
        check(not own, "seqapp holds other events: %s" % own[:3])
        k = [e for _, e in svc_file["checkout"]]
        check([e["msg"] for e in k] == [m for m, _ in sent],
              "checkout: %d events, not exactly the sent ones in order"
              % len(k))
        check([e["level"] for e in k] == [lv for _, lv in sent],
              "checkout: levels changed")
        # The sender's host and service survive the relay, which is named.
        e = k[0]
        check(e.get("host") == "shop-1" and e.get("input") == "shop" and
              e.get("relay", "").startswith("127.0.0.1:"), e)
        e = svc_file["seqapp"][0][1]
        check(e.get("host") == socket.gethostname() and
              e.get("input") == "agents" and "relay" not in e, e)
        # No sent event in the file of another service.
        for svc in os.listdir(out):
            if svc in ("seqapp", "checkout"):
                continue
            stray = [e for _, e in events_of(svc)
                     if e.get("msg") == "seq" or
                     str(e.get("msg", "")).startswith("c-")]
            check(not stray, "events in %s/: %s" % (svc, stray[:3]))
        # The console: exactly the ERROR and FATAL events.
        lines = console_lines()
        check(all(text_level(x) in ("ERROR", "FATAL") for x in lines),
              "below ERROR on the console: %s"
              % [x for x in lines if text_level(x) not in
                 ("ERROR", "FATAL")][:3])
        msgs = [x.split(" ")[2] for x in lines]
        check(msgs == errors, "console: %d lines, wanted the %d ERROR+ "
              "events in order; first: %s" % (len(msgs), len(errors),
                                               lines[:3]))
        check(all(x.endswith(" (checkout@shop-1)") for x in lines),
              "console lines without their origin: %s" % lines[:2])
    finally:
        for p in (edge, c):
            if p is not None:
                p.kill()
        if app is not None:
            if app.poll() is None:
                app.kill()
                app.wait()
            app.stderr_file.close()
        if not cons.closed:
            cons.close()


# ------------------------------------------------------------------ (c)


def processor_counter(http, name, ptype, what):
    """The /metrics counter ttlog_processor_WHAT_total of the global
    processor `name`; None when it is not there."""
    key = ('ttlog_processor_%s_total{scope="global",processor="%s",'
           'type="%s"}' % (what, name, ptype))
    return metrics(http).get(key)


def test_drop_and_redact(args, tmp):
    js, sl, http = free_port(), free_port(), free_port()
    env = {"JSONL_LISTEN": "127.0.0.1:%d" % js,
           "SYSLOG_LISTEN": "127.0.0.1:%d" % sl,
           "HTTP_LISTEN": "127.0.0.1:%d" % http, "LOG_DIR": tmp}
    a = ExampleAgent(args, tmp, "drop-and-redact.yaml", env, 2)
    try:
        want = {}     # id -> (msg, query, cmdline) as they must arrive
        dropped = 0
        lines = []
        texts = ["login user=bob password=hunter2&next=/home ok",
                 "password=a;password=b, both",
                 "no secret here",
                 'quoted "password=x1" end',
                 "two  spaces  password=pw  end"]
        for i in range(300):
            svc = ["noisy", "web", "db"][i % 3]
            lv = ["debug", "info", "warn", "trace"][i % 4]
            t = texts[i % len(texts)]
            q = "a=1&password=s3cr3t-%d;b=2" % i
            cmd = "run --password=xyz%d --verbose" % i
            lines.append(jline(msg="%d %s" % (i, t), level=lv, service=svc,
                               query=q, cmdline=cmd))
            if lv == "trace":
                continue  # below service.level (debug): not ingested
            if svc == "noisy" and lv == "debug":
                dropped += 1
                continue
            want["%d" % i] = (PASSWORD.sub("password=***", "%d %s" % (i, t)),
                              PASSWORD.sub("password=***", q),
                              PASSWORD.sub("password=***", cmd))
        send(js, lines)
        # Syslog: severity 7 is DEBUG, 6 INFO; APP-NAME is the service.
        send(sl, [b"<15>1 - h noisy - - - s-debug password=p1",
                  b"<14>1 - h noisy - - - s-info password=p2 tail",
                  b"<15>1 - h web - - - s-webdebug password=p3"])
        dropped += 1
        want["s-info"] = ("s-info password=*** tail", None, None)
        want["s-webdebug"] = ("s-webdebug password=***", None, None)
        path = os.path.join(tmp, "all.jsonl")

        def key(e):
            return e.get("msg", "").split(" ")[0]
        got = wait_all("kept events", path, len(want),
                       lambda e: key(e) in want, [a.proc])
        # Every drop is counted, under the processor's name.
        wait_for("noisy-debug dropped = %d" % dropped,
                 lambda: processor_counter(http, "noisy-debug", "drop",
                                           "dropped") == dropped,
                 DEADLINE, [a.proc])
        check(processor_counter(http, "noisy-debug", "drop", "events") ==
              dropped, "noisy-debug ran on other events than it dropped")
        ran = processor_counter(http, "passwords", "redact", "events")
        check(ran is not None and ran >= len(want) and
              processor_counter(http, "passwords", "redact", "failed") == 0,
              "passwords: ran on %s events" % ran)
        check(a.stop() == 0, "exit status: %s" % a.stderr())
        evs = read_jsonl(path)
        got = [e for e in evs if key(e) in want]
        check(len(got) == len(want), "%d events for %d kept" % (len(got),
                                                             len(want)))
        for e in got:
            msg, q, cmd = want[key(e)]
            check(e["msg"] == msg, "msg %r, wanted %r" % (e["msg"], msg))
            if q is not None:
                check(e["query"] == q and e["cmdline"] == cmd, e)
        # Nothing else was let through: no noisy DEBUG, every id once.
        check(not [e for e in evs if e.get("service") == "noisy" and
                   e.get("level") == "DEBUG"], "a noisy DEBUG event passed")
        check(any(e.get("service") == "web" and e.get("level") == "DEBUG"
                  for e in got), "web's DEBUG events were dropped too")
        # No password value survives anywhere in the file.
        with open(path, "rb") as f:
            raw = f.read().decode()
        left = [x for x in re.findall(r'password=([^\s&;,"\\]*)', raw)
                if x != "***"]
        check(raw.count("password=***") >= len(want) and not left,
              "password values left in all.jsonl: %s" % left[:5])
    finally:
        a.kill()


def test_events_no_listener_takes_are_counted(args, tmp):
    js, http = free_port(), free_port()
    pa, pb = os.path.join(tmp, "a.jsonl"), os.path.join(tmp, "b.jsonl")
    # Without a listener that takes everything or `else`, what no match
    # selects goes nowhere, counted. (The agent's own events, which have
    # no input, go to b.)
    a = Agent(args, tmp,
              "  http: {listen: '127.0.0.1:%d'}\n"
              "inputs:\n  - {name: js, type: jsonl, "
              "listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n"
              "  - {name: a, type: file, format: json, path: '%s',\n"
              "     match: 'service == \"a\"'}\n"
              "  - {name: b, type: file, format: json, path: '%s',\n"
              "     match: 'service == \"b\" or input == \"\"'}\n"
              % (http, js, pa, pb), 1)
    try:
        check(metrics(http)["ttlog_events_unrouted_total"] == 0,
              "unrouted before anything was sent")
        svcs = ["a", "b", "c", "d"]
        send(js, [jline(msg="u-%d" % i, service=svcs[i % 4])
                  for i in range(400)])
        wait_all("a", pa, 100, lambda e: e.get("service") == "a", [a.proc])
        wait_all("b", pb, 100, lambda e: e.get("service") == "b", [a.proc])
        wait_for("200 unrouted", lambda: metrics(http).get(
            "ttlog_events_unrouted_total") == 200, DEADLINE, [a.proc])
        check(a.stop() == 0, "exit status: %s" % a.stderr())
        both = read_jsonl(pa) + read_jsonl(pb)
        check(not [e for e in both if e.get("service") in ("c", "d")],
              "an event no match selected was written")
    finally:
        a.kill()


# ------------------------------------------------------------ --check


def test_check_accepts_each_example(args, tmp):
    env = dict(os.environ, TTLOG_PLUGIN_DIR=args.plugins, LOG_DIR=tmp)
    for name in ("routing-by-service.yaml", "collector-per-service.yaml",
                 "drop-and-redact.yaml"):
        r = subprocess.run([args.agent, "--check", example(name)],
                           capture_output=True, text=True, env=env,
                           timeout=DEADLINE, stdin=subprocess.DEVNULL)
        check(r.returncode == 0 and ": ok (" in r.stdout,
              "%s: exit %d: %s%s" % (name, r.returncode, r.stdout,
                                     r.stderr))
    check(os.listdir(tmp) == [], "--check created %s" % os.listdir(tmp))


def test_docs_show_each_example_as_it_is(args, tmp):
    """docs/routing.md shows each example file verbatim, so that what the
    guide says is what this test runs."""
    with open(os.path.join(EXAMPLES, "..", "..", "docs", "routing.md")) as f:
        doc = f.read()
    for name in ("routing-by-service.yaml", "collector-per-service.yaml",
                 "drop-and-redact.yaml"):
        with open(example(name)) as f:
            body = f.read()
        check("`conf/examples/%s`:\n\n```yaml\n%s```\n" % (name, body)
              in doc, "docs/routing.md does not show %s as it is" % name)


def expect_place(args, tmp, body, needle, want):
    """Both --check and a start refuse body, at the line of the file that
    holds `needle`, at the column of needle's first character, with
    `want` in the message."""
    cfg = os.path.join(tmp, "bad.yaml")
    text = ("service:\n  plugin_dir: '%s'\n" % args.plugins) + body
    with open(cfg, "w") as f:
        f.write(text)
    for no, line in enumerate(text.split("\n"), 1):
        if needle in line:
            place = "%s:%d:%d:" % (cfg, no, line.index(needle) + 1)
            break
    for argv in (["--check", cfg], ["-c", cfg]):
        r = subprocess.run([args.agent] + argv, capture_output=True,
                           text=True, timeout=DEADLINE,
                           stdin=subprocess.DEVNULL)
        check(r.returncode == 1, "%s: exit %d" % (argv, r.returncode))
        check(place in r.stderr and want in r.stderr,
              "%s: wanted %r and %r in %r" % (argv, place, want, r.stderr))


def test_bad_match_expression_is_refused_at_its_place(args, tmp):
    out = os.path.join(tmp, "x.jsonl")
    listener = ("listeners:\n  - name: x\n    type: file\n"
                "    path: '%s'\n    match: %s\n")
    # A plain scalar: the column of the unknown name.
    expect_place(args, tmp,
                 listener % (out, 'service == "billing" and lvl >= WARN'),
                 "lvl >=", "unknown name 'lvl'; did you mean 'level'?")
    # A quoted scalar: the quote is not part of the expression.
    expect_place(args, tmp,
                 listener % (out, "'level >= WRN'"), "WRN'",
                 "unknown level 'WRN'")
    # A regular expression's error, where PCRE2 stopped inside it.
    expect_place(args, tmp,
                 listener % (out, "'msg =~ \"a(b\"'"), "\"'",
                 "missing closing parenthesis")
    # In a processor item's match, on a later line of a list.
    expect_place(args, tmp,
                 "processors:\n  - {type: drop}\n"
                 "  - type: drop\n    match: 'host = \"a\"'\n"
                 + listener % (out, "else"),
                 "= \"a\"", "did you mean '=='?")


TESTS = [
    test_routing_by_service_puts_each_event_in_exactly_one_file,
    test_routing_memory_stays_bounded,
    test_collector_writes_a_file_per_sender_service_per_day,
    test_drop_and_redact,
    test_events_no_listener_takes_are_counted,
    test_check_accepts_each_example,
    test_docs_show_each_example_as_it_is,
    test_bad_match_expression_is_refused_at_its_place,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--sanitized", action="store_true",
                   help="the binaries are built with ASan")
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-routing-")


if __name__ == "__main__":
    sys.exit(main())
