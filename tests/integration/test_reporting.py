"""Integration tests of what ttlog-agent reports and filters: when it
stops, every event a listener still holds is counted and named per
listener on stderr, and the exit status is 3; a listener that buffers is
flushed while the agent runs; a client that simply closes its connection
is not a warning; service.level holds for the events of the inputs. The
real binary on loopback, with the helpers of test_agent.py.

Usage: test_reporting.py --agent PATH --plugins DIR --test-plugins DIR
                         [--only NAME]
"""

import argparse
import os
import re
import signal
import socket
import ssl
import struct
import subprocess
import sys

from test_agent import (Agent, check, free_port, metrics, read_jsonl,
                        run_tests, wait_lines)

EXIT_LOST = 3


def jsonl_input(port):
    return ("inputs:\n  - {name: js, type: jsonl, listen: "
            "'tcp://127.0.0.1:%d'}\n" % port)


def send(port, n, level="error"):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(b"".join(b'{"level":"%s","msg":"d","seq":%d}\n'
                           % (level.encode(), i) for i in range(n)))


def lost_line(text, name):
    """(count, reason) of the agent's "lost at shutdown" line for listener
    `name`, or None."""
    m = re.search(r"ttlog-agent: listener %s: (\d+) events lost at "
                  r"shutdown \(([^)]*)\)" % re.escape(name), text)
    return (int(m.group(1)), m.group(2)) if m else None


def stop_with_loss(a, name):
    """SIGTERM; checks the exit status says events were lost; returns the
    (count, reason) stated for listener `name` and the whole stderr."""
    code = a.stop()
    text = a.stderr()
    check(code == EXIT_LOST, "exit status %s: %s" % (code, text))
    got = lost_line(text, name)
    check(got is not None, "no loss line for %s: %s" % (name, text))
    return got, text


def file_out(path):
    return ("  - name: out\n    type: file\n    format: json\n"
            "    fsync: never\n    path: %s\n" % path)


def test_retry_forever_listener_states_its_loss_and_exits_3(args, tmp):
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    slow = os.path.join(args.test_plugins, "slow.so")
    # `level: error` keeps the agent's own info and warn events away from
    # the stuck listener: what it holds is exactly what the test sent.
    a = Agent(args, tmp, jsonl_input(port) +
              "listeners:\n%s  - name: stuck\n    plugin: %s\n"
              "    level: error\n" % (file_out(out), slow), 1)
    n = 300
    try:
        send(port, n)
        delivered = len(wait_lines(out, n, lambda e: e.get("msg") == "d"))
        got, text = stop_with_loss(a, "stuck")
        # The stuck listener delivered nothing of what the file took.
        check(got[0] == delivered - 0 and delivered == n,
              "lost %s, sent %d: %s" % (got, n, text))
        check("RETRY" in got[1], "reason: %s" % got[1])
        check(lost_line(text, "out") is None, "out lost nothing: %s" % text)
    finally:
        a.kill()


def buffered_agent(args, tmp, port, extra=""):
    """An agent with a jsonl input on port and the `buffered` test
    listener "buf"; returns it and the file that listener's flush()
    writes."""
    path = os.path.join(tmp, "buf.jsonl")
    return Agent(args, tmp, jsonl_input(port) +
                 "listeners:\n  - name: buf\n    plugin: %s\n"
                 "    path: %s\n%s"
                 % (os.path.join(args.test_plugins, "buffered.so"), path,
                    extra), 1), path


def test_reload_that_removes_a_holding_listener_states_its_loss(args, tmp):
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    slow = os.path.join(args.test_plugins, "slow.so")
    body = jsonl_input(port) + "listeners:\n" + file_out(out)
    a = Agent(args, tmp, body + "  - name: stuck\n    plugin: %s\n"
              "    level: error\n" % slow, 1)
    n = 200
    try:
        send(port, n)
        wait_lines(out, n, lambda e: e.get("msg") == "d")
        with open(a.config) as f:
            text = f.read()
        with open(a.config, "w") as f:
            f.write(text[:text.index("  - name: stuck")])
        a.proc.send_signal(signal.SIGHUP)
        text = a.wait_stderr("events lost at reload")
        check("ttlog-agent: listener stuck: %d events lost at reload (" % n
              in text, text)
        # The agent's own log says it too, through the listeners left.
        wait_lines(out, 1, lambda e: e.get("msg") == "events lost" and
                   e.get("listener") == "stuck" and e.get("events") == n)
        # Nothing is held any more: the stop is clean.
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
    finally:
        a.kill()


def test_listener_that_gives_up_is_counted_by_name(args, tmp):
    a, _ = buffered_agent(args, tmp, free_port(), "    lose: 7\n")
    try:
        got, text = stop_with_loss(a, "buf")
        check(got == (7, "lose is set"), text)
    finally:
        a.kill()


def test_forward_without_spool_and_collector_down_exits_3(args, tmp):
    # The native protocol (frames never acknowledged) and a text one
    # (messages never written); shutdown_timeout ends the drain first.
    for fmt in ("ttlog", "jsonl"):
        port, dead = free_port(), free_port()
        sub = os.path.join(tmp, fmt)
        os.mkdir(sub)
        a = Agent(args, sub, "  shutdown_timeout: 1s\n" + jsonl_input(port)
                  + "listeners:\n  - name: up\n    type: forward\n"
                  "    format: %s\n    endpoints: 'tcp://127.0.0.1:%d'\n"
                  "    reconnect: {initial: 50ms, max: 200ms}\n"
                  "    drain_timeout: 30s\n    level: error\n"
                  % (fmt, dead), 1)
        n = 500
        try:
            send(port, n)
            got, text = stop_with_loss(a, "up")
            check(got[0] == n, "%s: lost %s of %d: %s" % (fmt, got, n, text))
        finally:
            a.kill()


def test_buffering_listener_is_flushed_while_the_agent_runs(args, tmp):
    port = free_port()
    a, path = buffered_agent(args, tmp, port)
    try:
        send(port, 5, "info")
        # Only flush() writes the file: the lines appear while the agent
        # runs, with no ttlog_flush(), reload or shutdown.
        wait_lines(path, 5, lambda e: e.get("msg") == "d")
        check(a.proc.poll() is None, "the agent still runs")
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
    finally:
        a.kill()


def test_a_client_closing_is_not_a_warning(args, tmp):
    certs = os.path.join(tmp, "certs")
    subprocess.run(["bash", os.path.join(os.path.dirname(__file__), "..",
                                         "certs", "make_certs.sh"), certs],
                   check=True)
    tls, tcp = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "inputs:\n  - {name: t, type: jsonl, listen: "
              "'tls://127.0.0.1:%d', tls: {cert: '%s', key: '%s'}}\n"
              "  - {name: p, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n%s" % (tls, os.path.join(certs, "server.pem"),
                                  os.path.join(certs, "server.key"), tcp,
                                  file_out(out)), 2)
    try:
        ctx = ssl.create_default_context(
            cafile=os.path.join(certs, "ca.pem"))
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        # A TLS client that closes its socket without close_notify, its
        # last line without a line end: libevent calls that an error with
        # errno 0 ("reason=Success").
        with socket.create_connection(("127.0.0.1", tls)) as s:
            t = ctx.wrap_socket(s, server_hostname="localhost")
            t.sendall(b'{"msg":"d","n":1}\n{"msg":"d","n":2}')
            t.close()
        with socket.create_connection(("127.0.0.1", tcp)) as s:
            s.sendall(b'{"msg":"d","n":3}\n')
        # A reset is a real error and keeps its warning and reason.
        s = socket.create_connection(("127.0.0.1", tcp))
        s.sendall(b'{"msg":"d","n":4}\n')
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()
        wait_lines(out, 1, lambda e: e.get("reason") ==
                   "Connection reset by peer")
        wait_lines(out, 2, lambda e: e.get("msg") == "d" and
                   e.get("n") in (1, 2))
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
        warns = [e for e in read_jsonl(out)
                 if e.get("msg") == "input closed a connection"]
        check([e.get("reason") for e in warns] ==
              ["Connection reset by peer"], "warnings: %s" % warns)
    finally:
        a.kill()


def test_service_level_filters_the_inputs_events(args, tmp):
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    # "warning", a synonym of warn the inputs always took, is accepted by
    # the configuration too (docs/levels.md).
    a = Agent(args, tmp, "  level: warning\n  http:\n    listen: "
              "127.0.0.1:%d\n" % http + jsonl_input(port) +
              "listeners:\n%s" % file_out(out), 1)
    try:
        levels = ["debug", "info", "notice", 4, "warning", "err", "crit",
                  7, "INFO", "WARN"]
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"".join(b'{"level":%s,"msg":"d","n":%d}\n'
                               % (json_value(lv), i)
                               for i, lv in enumerate(levels)))
            s.sendall(b'{"level":"error","msg":"last"}\n')
        wait_lines(out, 1, lambda e: e.get("msg") == "last")
        got = [e["n"] for e in read_jsonl(out) if e.get("msg") == "d"]
        # Kept: 4 (severity warning), warning, err, crit, WARN.
        check(got == [3, 4, 5, 6, 9], "delivered %s" % got)
        m = metrics(http)
        check(m.get("ttlog_events_filtered_total") == 5.0,
              "filtered %s" % m.get("ttlog_events_filtered_total"))
        code = a.stop()
        check(code == 0, "exit status %s: %s" % (code, a.stderr()))
    finally:
        a.kill()


def json_value(v):
    return (b"%d" % v) if isinstance(v, int) else b'"%s"' % v.encode()


TESTS = [
    test_retry_forever_listener_states_its_loss_and_exits_3,
    test_reload_that_removes_a_holding_listener_states_its_loss,
    test_listener_that_gives_up_is_counted_by_name,
    test_forward_without_spool_and_collector_down_exits_3,
    test_buffering_listener_is_flushed_while_the_agent_runs,
    test_a_client_closing_is_not_a_warning,
    test_service_level_filters_the_inputs_events,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins", "--test-plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-stop-")


if __name__ == "__main__":
    sys.exit(main())
