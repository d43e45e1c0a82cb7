"""Integration test of a forward listener with a disk spool changed by
reloads: an application (ttlog-seqgen) -> a relay ttlog-agent whose
forward listener has a spool -> a collector ttlog-agent over TLS, all
real processes on 127.0.0.1. The relay is reloaded several times, each
time with some forward option changed, part of them while the collector
is frozen (SIGSTOP) so that the spool holds what it could not deliver.
Every reload must apply (the spool is handed from the old instance of
the listener to the new one) but one that adds a second listener on the
same spool directory, which is refused without disturbing the running
one; every event must reach the collector exactly once. A second test
moves the listener to another spool.dir and back: the frames left in the
first directory are said, kept, and sent when it is used again. The helpers are test_forward.py's; waits are on events
(metrics, lines in files) with deadlines; single "mark" events sent
through a second input give each step a frame of its own to wait for.

Usage: test_forward_reload.py --agent PATH --seqgen PATH --plugins DIR
                              --certs-script PATH [--only NAME]
"""

import argparse
import os
import signal
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, check, free_port, metrics, run_tests  # noqa
from test_forward import (Certs, app_config, check_exact, collector,  # noqa
                          finish_app, kill_app, read_events, seqs_of,
                          start_app, stopped, wait_for, wait_seqs)

SPOOL_BYTES = 'ttlog_listener_forward_spool_bytes{listener="up"}'
UNACKED = 'ttlog_listener_forward_unacked_frames{listener="up"}'

# The forward options of the relay, and what each reload changes: a
# spool option, a timeout, the memory window, the fsync policy.
BASE = {"spool.max_bytes": "1GiB", "ack_timeout": "10s",
        "connect_timeout": "2s", "heartbeat": "10s",
        "window.max_bytes": "64MiB", "spool.fsync": "never"}
RELOADS = [("spool.max_bytes", "900MiB"), ("ack_timeout", "20s"),
           ("window.max_bytes", "2MiB"), ("spool.fsync", "interval"),
           ("heartbeat", "5s"), ("connect_timeout", "3s"),
           ("spool.max_bytes", "1GiB")]
REFUSED = 2  # before the second reload, one that is refused
SECOND = ("  - name: up2\n    type: forward\n"
          "    endpoints: 'tcp://127.0.0.1:1'\n    spool: {dir: '%s'}\n")
FROZEN = (2, 3, 4, 5)  # those (indices in RELOADS) made while the
#                        collector is stopped


def relay_body(certs, sock, mport, port, http, spool, opts):
    return ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - {name: app, type: ttlog, listen: 'unix://%s'}\n"
            "  - {name: marks, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n  - name: up\n    type: forward\n"
            "    endpoints: 'tls://localhost:%d'\n"
            "    tls: {ca_file: '%s', cert: '%s', key: '%s'}\n"
            "    reconnect: {initial: 100ms, max: 500ms}\n"
            "    queue: {max_bytes: 1GiB}\n"
            "    connect_timeout: %s\n    ack_timeout: %s\n"
            "    heartbeat: %s\n    window: {max_bytes: %s}\n"
            "    spool: {dir: '%s', segment_bytes: 1MiB, max_bytes: %s, "
            "fsync: %s}\n"
            % (http, sock, mport, port, certs["ca.pem"], certs["client.pem"],
               certs["client.key"], opts["connect_timeout"],
               opts["ack_timeout"], opts["heartbeat"],
               opts["window.max_bytes"], spool, opts["spool.max_bytes"],
               opts["spool.fsync"]))


def reload(a, args, body, http, applied, refused=0):
    """Rewrites the relay's configuration, sends SIGHUP and waits until
    the agent counts `applied` reloads applied and `refused` refused (no
    more of either)."""
    with open(a.config, "w") as f:
        f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                % (args.plugins, body))
    a.proc.send_signal(signal.SIGHUP)

    def done():
        m = metrics(http)
        ok = m.get("ttlog_agent_reloads_total", 0)
        bad = m.get("ttlog_agent_reload_errors_total", 0)
        check(ok <= applied and bad <= refused,
              "%d reloads applied, %d refused, %d and %d expected: %s"
              % (ok, bad, applied, refused, a.stderr()))
        return ok == applied and bad == refused
    wait_for("reload %d done" % (applied + refused), done, procs=[a.proc])


class Marks:
    """Events sent one at a time through the relay's second input, so
    that the test knows of a frame it can wait for, whatever the stream
    is doing at that moment."""

    def __init__(self, port, out):
        self.port, self.out, self.n = port, out, 0

    def send(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(b'{"msg":"mark","k":%d}\n' % self.n)
        self.n += 1
        return self.n - 1

    def seen(self):
        return [e.get("k") for e in read_events(self.out)
                if e.get("msg") == "mark"]

    def delivered(self, what):
        """A new mark reaches the collector."""
        k = self.send()
        wait_for("a mark at the collector " + what,
                 lambda: k in self.seen())

    def spooled(self, http, what):
        """A new mark is taken by the relay's forward listener: appended
        to its spool, where it stays (the collector is stopped)."""
        base = last_seq(metrics(http))
        self.send()

        def done():
            m = metrics(http)
            return (last_seq(m) > base and m[UNACKED] > 0 and
                    m[SPOOL_BYTES] > 0)
        wait_for("the spool to take a mark " + what, done)


def last_seq(m):
    """The highest seq the forward listener gave a frame (each one was
    appended to the spool before it was taken)."""
    return m[UNACKED] + m['ttlog_listener_forward_acked_seq{listener="up"}']


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
    mport = free_port()
    marks = Marks(mport, out)

    def body():
        return relay_body(certs, sock, mport, port, http, spool, opts)
    b = collector(args, tmp, certs, port, out)
    a = Agent(args, d, body(), 2)
    app = None
    try:
        app = start_app(args, tmp, app_config(args, tmp, sock), n,
                        rate=15000)
        marks.delivered("before the reloads")
        for k, (key, value) in enumerate(RELOADS, 1):
            frozen = k - 1 in FROZEN
            if frozen and k - 2 not in FROZEN:
                b.proc.send_signal(signal.SIGSTOP)
                wait_for("the collector to stop", lambda: stopped(b.proc.pid))
                marks.spooled(http, "with the collector stopped")
            if not frozen and k - 2 in FROZEN:
                b.proc.send_signal(signal.SIGCONT)
            opts[key] = value
            if k == REFUSED:
                # The new "up" attaches to the spool, then a second
                # listener on the same directory is refused: the reload
                # is, and the running "up" keeps its spool and delivers.
                reload(a, args, body() + SECOND % spool, http, k - 1, 1)
                marks.delivered("after the refused reload")
            reload(a, args, body(), http, k, 1 if k >= REFUSED else 0)
            # The new instance owns the spool: it appends to it, and
            # delivers when the collector runs.
            if frozen:
                marks.spooled(http, "after reload %d" % k)
            else:
                marks.delivered("after reload %d" % k)
        finish_app(app)
        seqs = wait_seqs(out, n)
        dup = check_exact(seqs, n)
        check(dup == 0, "%d events delivered twice" % dup)
        wait_for("every mark at the collector",
                 lambda: len(set(marks.seen())) == marks.n)
        check(sorted(marks.seen()) == list(range(marks.n)),
              "marks: %s" % sorted(marks.seen()))
        err = a.stderr()
        check(err.count('in use by listener "up"') == 1,
              "the second listener on the spool refused once: " + err)
        check(err.count("spool handed over") == len(RELOADS),
              "%d handovers for %d reloads: %s"
              % (err.count("spool handed over"), len(RELOADS), err))
        # The relay's own reports travelled the same way.
        wait_for("every 'configuration reloaded' at the collector",
                 lambda: sum(1 for e in read_events(out)
                             if e.get("msg") == "configuration reloaded")
                 == len(RELOADS))
        m = metrics(http)
        check(m["ttlog_agent_reloads_total"] == len(RELOADS) and
              m["ttlog_agent_reload_errors_total"] == 1, m)
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



def test_changed_spool_dir_leaves_frames_until_used_again(args, tmp):
    """A reload to another spool.dir leaves the old directory's frames
    there, says how many, and a later reload back to it sends them: every
    mark once at the collector, those kept in the old directory only after
    the reload back."""
    certs = Certs(args, tmp)
    port, http, mport = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool_a = os.path.join(tmp, "spool-a")
    spool_b = os.path.join(tmp, "spool-b")
    d = os.path.join(tmp, "relay")
    os.makedirs(d)
    marks = Marks(mport, out)

    def body(spool):
        return relay_body(certs, sock, mport, port, http, spool, BASE)
    b = collector(args, tmp, certs, port, out)
    a = Agent(args, d, body(spool_a), 2)
    try:
        marks.delivered("through spool-a")
        wait_for("spool-a acknowledged", lambda: metrics(http)[UNACKED] == 0)
        # The collector gone, marks 1 to 3 can only wait in spool-a.
        b.kill()
        kept = [marks.n + i for i in range(3)]
        for _ in kept:
            marks.spooled(http, "in spool-a")
        reload(a, args, body(spool_b), http, 1)
        err = a.wait_stderr("spool closed: ")
        check("stay in spool %s;" % spool_a in err, err)
        check(err.count("spool closed: ") == 1, err)
        b = collector(args, tmp, certs, port, out)
        marks.delivered("through spool-b")
        check(not set(kept) & set(marks.seen()),
              "marks kept in spool-a arrived before it was used again")
        wait_for("spool-b acknowledged", lambda: metrics(http)[UNACKED] == 0)
        reload(a, args, body(spool_a), http, 2)
        wait_for("the marks kept in spool-a at the collector",
                 lambda: set(kept) <= set(marks.seen()))
        marks.delivered("through spool-a again")
        check(sorted(marks.seen()) == list(range(marks.n)),
              "marks: %s" % sorted(marks.seen()))
        check("spool handed over" not in a.stderr(), a.stderr())
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        a.kill()
        b.kill()

TESTS = [
    test_spooled_forward_survives_reloads_exactly_once,
    test_changed_spool_dir_leaves_frames_until_used_again,
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
