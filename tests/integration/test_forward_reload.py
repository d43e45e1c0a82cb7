"""Integration test of a forward listener with a disk spool changed by
reloads: an application (ttlog-seqgen) -> a relay ttlog-agent whose
forward listener has a spool -> a collector ttlog-agent over TLS, all
real processes on 127.0.0.1. The relay is reloaded several times, each
time with some forward option changed, part of them while the collector
is frozen (SIGSTOP) so that the spool holds what it could not deliver.
Every reload must apply (the spool is handed from the old instance of
the listener to the new one) and every event must reach the collector
exactly once. The helpers are test_forward.py's; waits are on events
(metrics, lines in files) with deadlines.

Usage: test_forward_reload.py --agent PATH --seqgen PATH --plugins DIR
                              --certs-script PATH [--only NAME]
"""

import argparse
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, check, free_port, metrics, run_tests  # noqa
from test_forward import (Certs, app_config, check_exact, collector,  # noqa
                          finish_app, kill_app, read_events, seqs_of,
                          start_app, stopped, wait_for, wait_seqs)

SPOOL_BYTES = 'ttlog_listener_forward_spool_bytes{listener="up"}'

# The forward options of the relay, and what each reload changes: a
# spool option, a timeout, the memory window, the fsync policy.
BASE = {"spool.max_bytes": "1GiB", "ack_timeout": "10s",
        "connect_timeout": "2s", "heartbeat": "10s",
        "window.max_bytes": "64MiB", "spool.fsync": "never"}
RELOADS = [("spool.max_bytes", "900MiB"), ("ack_timeout", "20s"),
           ("window.max_bytes", "2MiB"), ("spool.fsync", "interval"),
           ("heartbeat", "5s"), ("connect_timeout", "3s"),
           ("spool.max_bytes", "1GiB")]
FROZEN = (2, 3, 4, 5)  # those (indices in RELOADS) made while the
#                        collector is stopped


def relay_body(certs, sock, port, http, spool, opts):
    return ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - {name: app, type: ttlog, listen: 'unix://%s'}\n"
            "listeners:\n  - name: up\n    type: forward\n"
            "    endpoints: 'tls://localhost:%d'\n"
            "    tls: {ca_file: '%s', cert: '%s', key: '%s'}\n"
            "    reconnect: {initial: 100ms, max: 500ms}\n"
            "    queue: {max_bytes: 1GiB}\n"
            "    connect_timeout: %s\n    ack_timeout: %s\n"
            "    heartbeat: %s\n    window: {max_bytes: %s}\n"
            "    spool: {dir: '%s', segment_bytes: 1MiB, max_bytes: %s, "
            "fsync: %s}\n"
            % (http, sock, port, certs["ca.pem"], certs["client.pem"],
               certs["client.key"], opts["connect_timeout"],
               opts["ack_timeout"], opts["heartbeat"],
               opts["window.max_bytes"], spool, opts["spool.max_bytes"],
               opts["spool.fsync"]))


def reload(a, args, body, k, http):
    """Rewrites the relay's configuration, sends SIGHUP and waits until
    the reload is counted as applied (a refused one fails the test)."""
    with open(a.config, "w") as f:
        f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                % (args.plugins, body))
    a.proc.send_signal(signal.SIGHUP)

    def done():
        m = metrics(http)
        check(m.get("ttlog_agent_reload_errors_total", 0) == 0,
              "reload %d refused: %s" % (k, a.stderr()))
        return m.get("ttlog_agent_reloads_total", 0) >= k
    wait_for("reload %d applied" % k, done, procs=[a.proc])


def spool_grows(http, by):
    base = metrics(http)[SPOOL_BYTES]
    wait_for("the spool to grow by %d bytes" % by,
             lambda: metrics(http)[SPOOL_BYTES] >= base + by)


def test_spooled_forward_survives_reloads_exactly_once(args, tmp):
    n = 150000
    certs = Certs(args, tmp)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    d = os.path.join(tmp, "relay")
    os.makedirs(d)
    opts = dict(BASE)
    b = collector(args, tmp, certs, port, out)
    a = Agent(args, d, relay_body(certs, sock, port, http, spool, opts), 1)
    app = None
    try:
        app = start_app(args, tmp, app_config(args, tmp, sock), n,
                        rate=15000)
        wait_for("a tenth of the events",
                 lambda: len(set(seqs_of(out))) >= n // 10)
        for k, (key, value) in enumerate(RELOADS, 1):
            if k - 1 in FROZEN and k - 2 not in FROZEN:
                b.proc.send_signal(signal.SIGSTOP)
                wait_for("the collector to stop", lambda: stopped(b.proc.pid))
                spool_grows(http, 50000)
            if k - 1 not in FROZEN and k - 2 in FROZEN:
                b.proc.send_signal(signal.SIGCONT)
            before = len(set(seqs_of(out)))
            opts[key] = value
            reload(a, args, relay_body(certs, sock, port, http, spool, opts),
                   k, http)
            if k - 1 in FROZEN:
                # The new instance owns the spool and appends to it.
                spool_grows(http, 50000)
            else:
                # The new instance delivers.
                wait_for("events after reload %d" % k,
                         lambda: len(set(seqs_of(out))) > before + 1000,
                         procs=[app])
        finish_app(app)
        seqs = wait_seqs(out, n)
        dup = check_exact(seqs, n)
        check(dup == 0, "%d events delivered twice" % dup)
        err = a.stderr()
        check("in use" not in err, "spool refused: " + err)
        check(err.count("spool handed over") == len(RELOADS),
              "%d handovers for %d reloads: %s"
              % (err.count("spool handed over"), len(RELOADS), err))
        # The relay's own reports travelled the same way.
        wait_for("every 'configuration reloaded' at the collector",
                 lambda: sum(1 for e in read_events(out)
                             if e.get("msg") == "configuration reloaded")
                 == len(RELOADS))
        m = metrics(http)
        check(m["ttlog_agent_reloads_total"] == len(RELOADS), m)
        print("     %d events, %d reloads (%d with the collector stopped): "
              "each seq once" % (n, len(RELOADS), len(FROZEN)))
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        if app:
            kill_app(app)
        if b.proc.poll() is None:
            b.proc.send_signal(signal.SIGCONT)
        a.kill()
        b.kill()



TESTS = [
    test_spooled_forward_survives_reloads_exactly_once,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-fwr-")


if __name__ == "__main__":
    sys.exit(main())
