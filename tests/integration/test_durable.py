"""Integration test of the durable batch number (ttlog_batches_durable on
/metrics): what the tail and journal inputs save their position up to. A
relay ttlog-agent takes JSON lines on TCP and forwards them, without a
spool, to a collector ttlog-agent over TLS. The forwarder's OK only means
"in memory", so durable must wait for the collector's acknowledgement:
with the collector stopped (SIGSTOP) the relay takes new batches, but
durable stays behind until the collector runs again and acknowledges.

Usage: test_durable.py --agent PATH --seqgen PATH --plugins DIR
                       --certs-script PATH [--only NAME]
"""

import argparse
import os
import signal
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, check, free_port, metrics, run_tests  # noqa
from test_forward import Certs, collector, relay, wait_for  # noqa

DEADLINE = 15.0


def numbers(port):
    m = metrics(port)
    return (m.get("ttlog_batches_dispatched", -1),
            m.get("ttlog_batches_taken", -1),
            m.get("ttlog_batches_durable", -1))


def send_lines(port, first, n):
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as s:
        s.sendall("".join('{"msg":"line","seq":%d}\n' % i
                          for i in range(first, first + n)).encode())


def out_lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


def all_equal(v):
    """dispatched == taken == durable > 0, in one scrape."""
    return v[0] == v[1] == v[2] > 0


def proc_state(pid):
    """The state letter of /proc/PID/stat ("T": stopped)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_forward_without_spool_is_durable_once_acknowledged(args, tmp):
    certs = Certs(args, tmp)
    port, rhttp, jport = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    col = collector(args, tmp, certs, port, out)
    rel = None
    try:
        rel = relay(args, tmp, certs, None, "tls://127.0.0.1:%d" % port,
                    http=rhttp, jsonl_port=jport, ack_timeout="60s")
        send_lines(jport, 0, 10)
        wait_for("10 lines at the collector", lambda: out_lines(out) >= 10,
                 DEADLINE)
        wait_for("durable to reach taken",
                 lambda: all_equal(numbers(rhttp)), DEADLINE)

        # No acknowledgement can come for a batch handed out once the
        # collector is stopped: taken moves, durable does not pass the
        # last batch before the stop (one already on its way may still
        # be acknowledged by what the collector sent before it stopped).
        col.proc.send_signal(signal.SIGSTOP)
        wait_for("the collector to be stopped",
                 lambda: proc_state(col.proc.pid) == "T", DEADLINE)
        before, _, _ = numbers(rhttp)
        send_lines(jport, 10, 10)
        wait_for("the new batches taken",
                 lambda: numbers(rhttp)[1] > before, DEADLINE)
        d, t, durable = numbers(rhttp)
        check(t == d, "taken %d, dispatched %d" % (t, d))
        check(durable <= before,
              "durable moved to %d (taken %d, the last batch before the "
              "stop %d) with the collector stopped" % (durable, t, before))

        # Acknowledged: durable catches up.
        col.proc.send_signal(signal.SIGCONT)
        wait_for("durable to reach taken after the ACK",
                 lambda: numbers(rhttp)[2] >= t, DEADLINE)
        wait_for("20 lines at the collector", lambda: out_lines(out) >= 20,
                 DEADLINE)
        code, rel = rel.stop(), None
        check(code == 0, "the relay exited with %d" % code)
    finally:
        col.proc.send_signal(signal.SIGCONT)
        if rel:
            rel.stop()
        col.stop()


class Sink:
    """A TCP server that reads and counts JSON lines."""

    def __init__(self):
        self.srv = socket.socket()
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(4)
        self.port = self.srv.getsockname()[1]
        self.lines = 0
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            c, _ = self.srv.accept()
            while True:
                data = c.recv(65536)
                if not data:
                    return
                self.lines += data.count(b"\n")
        except OSError:
            return


def test_forward_jsonl_is_durable_once_its_tcp_acknowledged(args, tmp):
    """JSON lines have no acknowledgement: durable follows what the
    collector's TCP acknowledged, also when the stream goes quiet after
    the last batch (nothing else comes to move it on)."""
    sink = Sink()
    rhttp, jport = free_port(), free_port()
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n"
            "  - {name: app, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n"
            "  - name: up\n    type: forward\n    format: jsonl\n"
            "    endpoints: 'tcp://127.0.0.1:%d'\n"
            "    reconnect: {initial: 100ms, max: 1s}\n"
            "    queue: {when_full: block}\n"
            % (rhttp, jport, sink.port))
    os.makedirs(os.path.join(tmp, "relay"))
    rel = Agent(args, os.path.join(tmp, "relay"), body, 1)
    try:
        for k in range(3):
            send_lines(jport, 10 * k, 10)
            wait_for("%d lines at the sink" % (10 * k + 10),
                     lambda: sink.lines >= 10 * k + 10, DEADLINE)
            d, t, durable = numbers(rhttp)
            wait_for("durable to reach %d" % t,
                     lambda: numbers(rhttp)[2] >= t > 0, DEADLINE)
        code, rel = rel.stop(), None
        check(code == 0, "the relay exited with %d" % code)
    finally:
        if rel:
            rel.stop()
        sink.srv.close()


TESTS = [test_forward_without_spool_is_durable_once_acknowledged,
         test_forward_jsonl_is_durable_once_its_tcp_acknowledged]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen")
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-dur-")


if __name__ == "__main__":
    sys.exit(main())
