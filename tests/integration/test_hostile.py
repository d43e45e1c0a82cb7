"""Integration tests of the agent's inputs against hostile and careless
peers (docs/network-exposure.md): connections that start large messages
and stall must not pin more than the input's memory budget, nor keep a
well-behaved sender from being served; peers that never finish a TLS
handshake, a hello or a message are closed by their deadlines and counted
per reason. Real ttlog-agent processes on 127.0.0.1; waits are on
counters with deadlines.

Usage: test_hostile.py --agent PATH --plugins DIR --test-plugins DIR
                       --certs-script PATH
                       [--sanitized] [--only NAME]
"""

import argparse
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, Failure, check, file_listener,  # noqa
                        free_port, metrics, raise_nofile, read_jsonl,
                        run_tests, DEADLINE)
from test_forward import Peer, batch, wait_for  # noqa

KIB, MIB = 1024, 1024 * 1024
# What a connection may hold unasked: TTLOG__CONN_FREE_BYTES and one read.
FREE = 32 * KIB


def metric(port, name, inp):
    m = metrics(port)
    for k, v in m.items():
        if k.startswith(name + "{") and 'input="%s"' % inp in k:
            return v
    raise Failure("no %s for input %s" % (name, inp))


def hello_bytes(ident):
    import cbor2
    body = cbor2.dumps({"v_min": 1, "v_max": 1, "role": 0, "id": ident,
                        "max_frame": 65536})
    return b"TTLG" + struct.pack(">IB", len(body) + 1, 1) + body


def data_header(seq, length):
    """The start of a DATA message whose payload will be `length` bytes."""
    return struct.pack(">IBQII", 1 + 16 + length, 2, seq, 0, 1)


class GoodSender(threading.Thread):
    """A native sender that keeps sending while the attack goes on: one
    small frame first (so it has delivered before, as a real sender has),
    then frames of `big` bytes, each waited for until acknowledged."""

    def __init__(self, port, frames, big):
        super().__init__(daemon=True)
        self.port, self.frames, self.big = port, frames, big
        self.acked = 0
        self.error = None

    def run(self):
        try:
            p = Peer(self.port)
            p.hello(os.urandom(16))
            p.magic()
            p.message()  # its hello
            for seq in range(1, self.frames + 1):
                size = 10 if seq == 1 else self.big
                p.data(seq, batch([seq], msg="good " + "x" * size))
                while True:
                    typ, body = p.message()
                    if typ == 3 and struct.unpack(">Q", body)[0] >= seq:
                        break
                self.acked = seq
                time.sleep(0.02)
            p.close()
        except Exception as e:  # reported by the test
            self.error = e


def attack(port, n, each, seconds, enough=None):
    """n connections that send a hello, then the start of a DATA frame of
    `each` bytes, as much of it as the agent takes within `seconds` (or
    until `enough` bytes went, when given), and stall. Returns the
    sockets (left open) and the bytes sent."""
    socks, sent = [], 0
    for _ in range(n):
        s = socket.socket()
        # Small kernel buffers on our side: what the agent did not read
        # stays in its own socket's receive queue, not ours.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * KIB)
        s.connect(("127.0.0.1", port))
        s.sendall(hello_bytes(os.urandom(16)) + data_header(1, each))
        s.setblocking(False)
        socks.append([s, 0])
    chunk = b"\0" * (256 * KIB)
    end = time.monotonic() + seconds
    while time.monotonic() < end and (enough is None or sent < enough):
        moved = 0
        for e in socks:
            if e[1] >= each - 1:
                continue  # one byte short of the whole frame
            try:
                k = e[0].send(chunk[:min(len(chunk), each - 1 - e[1])])
                e[1] += k
                moved += k
            except BlockingIOError:
                pass
        sent += moved
        if moved == 0:
            time.sleep(0.05)
    return [e[0] for e in socks], sent


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def make_certs(args, tmp):
    """Certificates for the run (tests/certs/make_certs.sh): the folder."""
    certs = os.path.join(tmp, "certs")
    subprocess.run(["bash", args.certs_script, certs], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return certs


def native_agent(args, tmp, port, http, extra=""):
    out = os.path.join(tmp, "out.jsonl")
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - name: native\n    type: ttlog\n"
            "    listen: 'tcp://127.0.0.1:%d'\n%s"
            "listeners:\n%s" % (http, port, extra, file_listener(out)))
    return Agent(args, tmp, body, 1), out


# ---------------------------------------------------------------- tests


def test_stalled_large_frames_hold_at_most_the_budget(args, tmp):
    """200 peers each start a 16 MiB frame, send all but its last byte as
    fast as the agent reads, and stall. The input holds at most
    max_buffer (32 MiB) plus 32 KiB per connection; a sender that has
    delivered before keeps being served, its large frames included; the
    stalled peers are closed by frame_timeout, counted; the memory goes
    back to the system afterwards."""
    n = 200
    raise_nofile(n + 256)
    port, http = free_port(), free_port()
    # All the peers come from 127.0.0.1 here; they stand for many
    # addresses, so the per-peer cap (tests/integration/test_limits.py)
    # is off.
    a, out = native_agent(args, tmp, port, http,
                          "    frame_timeout: 6s\n"
                          "    max_connections_per_peer: 0\n")
    try:
        time.sleep(0.5)
        idle = rss_kib(a.proc.pid)
        good = GoodSender(port, 40, 200 * KIB)
        good.start()
        bound = 32 * MIB + n * FREE
        # Twice the bound, within 5 s (frame_timeout is 6 s): a loaded
        # machine once sent 0.4% short in the 3 s this used to allow.
        socks, sent = attack(port, n, 16 * MIB - 64, 5.0, 2 * bound + 1)
        held = metric(http, "ttlog_input_buffered_bytes", "native")
        reserved = metric(http, "ttlog_input_reserved_bytes", "native")
        peak = rss_kib(a.proc.pid)
        # The attackers sent far more than the budget allows to hold.
        check(sent > 2 * bound, "only %d bytes sent" % sent)
        check(held <= bound, "held %d > bound %d" % (held, bound))
        check(reserved <= 32 * MIB, "reserved %d" % reserved)
        check(metric(http, "ttlog_input_budget_waits_total", "native") > 0,
              "no connection waited for the budget")
        if not args.sanitized:
            check(peak - idle <= 64 * 1024,
                  "RSS grew by %d KiB under attack (idle %d KiB)"
                  % (peak - idle, idle))
        # Every stalled peer is closed by its frame deadline.
        wait_for("frame timeouts", lambda: metric(
            http, "ttlog_input_frame_timeouts_total", "native") >= n)
        good.join(DEADLINE)
        check(good.error is None, "good sender: %r" % good.error)
        check(good.acked == 40, "good sender: %d of 40 frames acknowledged"
              % good.acked)
        check(metric(http, "ttlog_input_frame_timeouts_total", "native")
              == n, "frame timeouts counted other connections")
        for s in socks:
            s.close()
        wait_for("attackers gone", lambda: metric(
            http, "ttlog_input_connections", "native") == 0)
        check(metric(http, "ttlog_input_reserved_bytes", "native") == 0,
              "reservations left")
        if not args.sanitized:
            after = wait_for("memory given back", lambda: (
                rss_kib(a.proc.pid) <= idle + 16 * 1024) and
                rss_kib(a.proc.pid))
            print("     RSS idle %d KiB, under attack %d KiB, after %d KiB"
                  % (idle, peak, after))
        got = sorted(e["seq"] for e in read_jsonl(out) if "seq" in e)
        check(got == list(range(1, 41)), "good events: %s" % got[:50])
    finally:
        check(a.stop() == 0, "agent exit")


def test_partial_lines_wait_for_the_budget(args, tmp):
    """300 JSON-lines peers each hold 60,000 bytes of a line and stall,
    against a 2 MiB budget: the input holds at most 2 MiB plus 32 KiB per
    connection, lines from others still arrive, and once the stallers are
    gone a line as long as max_message gets through."""
    n = 300
    raise_nofile(n + 256)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - name: js\n    type: jsonl\n"
            "    listen: 'tcp://127.0.0.1:%d'\n    max_buffer: 2MiB\n"
            "    max_connections_per_peer: 0\n"
            "listeners:\n%s" % (http, port, file_listener(out)))
    a = Agent(args, tmp, body, 1)
    try:
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b'{"msg": "' + b"y" * 60000)
            socks.append(s)
        wait_for("all connections", lambda: metric(
            http, "ttlog_input_connections", "js") == n)
        wait_for("waits", lambda: metric(
            http, "ttlog_input_budget_waits_total", "js") > 0)
        bound = 2 * MIB + n * FREE
        held = metric(http, "ttlog_input_buffered_bytes", "js")
        check(held <= bound, "held %d > %d" % (held, bound))
        with socket.create_connection(("127.0.0.1", port)) as g:
            for i in range(100):
                g.sendall(b'{"msg": "small", "i": %d}\n' % i)
            wait_for("small lines", lambda: len(
                [e for e in read_jsonl(out) if e.get("msg") == "small"])
                == 100)
        for s in socks:
            s.close()
        # A peer that closes ends its line: each partial line is read as
        # the message it is (the jsonl input takes an unterminated last
        # line at EOF); they do not parse, and are counted.
        wait_for("stallers gone", lambda: metric(
            http, "ttlog_input_connections", "js") == 0)
        check(metric(http, "ttlog_input_reserved_bytes", "js") == 0,
              "reservations left")
        long_value = "z" * (64 * 1024 - 20)
        with socket.create_connection(("127.0.0.1", port)) as g:
            g.sendall(b'{"msg": "%s"}\n' % long_value.encode())
            wait_for("the long line", lambda: any(
                e.get("msg") == long_value for e in read_jsonl(out)))
    finally:
        check(a.stop() == 0, "agent exit")


def test_deadlines_close_peers_that_say_nothing_useful(args, tmp):
    """A peer that sends nothing, half the magic, half a hello, or a
    hello and half a frame; a jsonl peer with half a line; a TLS peer
    that never starts its handshake: each is closed within its deadline
    and counted under its reason. A jsonl peer that is merely quiet with
    nothing half-sent stays (only idle_timeout closes it)."""
    certs = make_certs(args, tmp)
    nport, jport, tport, http = (free_port(), free_port(), free_port(),
                                 free_port())
    out = os.path.join(tmp, "out.jsonl")
    limits = "    hello_timeout: 1s\n    frame_timeout: 2s\n"
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n"
            "  - name: native\n    type: ttlog\n"
            "    listen: 'tcp://127.0.0.1:%d'\n%s"
            "  - name: js\n    type: jsonl\n"
            "    listen: 'tcp://127.0.0.1:%d'\n%s"
            "  - name: tls\n    type: jsonl\n"
            "    listen: 'tls://127.0.0.1:%d'\n%s"
            "    tls: {cert: '%s/server.pem', key: '%s/server.key'}\n"
            "listeners:\n%s"
            % (http, nport, limits, jport, limits, tport, limits, certs,
               certs, file_listener(out)))
    a = Agent(args, tmp, body, 3)
    try:
        silent = socket.create_connection(("127.0.0.1", nport))
        half_magic = socket.create_connection(("127.0.0.1", nport))
        half_magic.sendall(b"TT")
        half_hello = socket.create_connection(("127.0.0.1", nport))
        half_hello.sendall(hello_bytes(os.urandom(16))[:30])
        half_frame = Peer(nport)
        half_frame.hello(os.urandom(16))
        half_frame.magic()
        half_frame.message()
        half_frame.s.sendall(data_header(1, 5000) + b"\0" * 100)
        half_line = socket.create_connection(("127.0.0.1", jport))
        half_line.sendall(b'{"msg": "never ends')
        quiet = socket.create_connection(("127.0.0.1", jport))
        quiet.sendall(b'{"msg": "whole"}\n')
        no_handshake = socket.create_connection(("127.0.0.1", tport))

        wait_for("native hello timeouts", lambda: metric(
            http, "ttlog_input_hello_timeouts_total", "native") == 3)
        wait_for("native frame timeout", lambda: metric(
            http, "ttlog_input_frame_timeouts_total", "native") == 1)
        wait_for("jsonl frame timeout", lambda: metric(
            http, "ttlog_input_frame_timeouts_total", "js") == 1)
        wait_for("TLS hello timeout", lambda: metric(
            http, "ttlog_input_hello_timeouts_total", "tls") == 1)
        # The stalled sender past its hello is told why (CLOSE, code 5).
        typ, body = half_frame.message()
        check(typ == 5 and body[:2] == b"\x00\x05" and
              b"frame_timeout" in body, "CLOSE %r %r" % (typ, body))
        for s in (silent, half_magic, half_hello, no_handshake):
            s.settimeout(DEADLINE)
            check(s.recv(4096) in (b"", b"TTLG"), "still open")
        check(metric(http, "ttlog_input_malformed_total", "js") == 1,
              "the unfinished line is not counted")
        check(metric(http, "ttlog_input_connections", "js") == 1,
              "the quiet jsonl connection was closed")
        check(metric(http, "ttlog_input_idle_timeouts_total", "js") == 0,
              "idle timeout")
        quiet.sendall(b'{"msg": "still here"}\n')
        wait_for("the quiet peer's line", lambda: any(
            e.get("msg") == "still here" for e in read_jsonl(out)))
        reasons = [e.get("reason", "") for e in read_jsonl(out)
                   if e.get("msg") == "input closed a connection"]
        check(any("TLS handshake not done within hello_timeout" in r
                  for r in reasons), "no warning names it: %s" % reasons)
    finally:
        check(a.stop() == 0, "agent exit")


def test_owed_acks_are_merged_and_still_cover_every_frame(args, tmp):
    """3,000 one-event frames while a listener with when_full: block takes
    nothing: the input owes 3,000 ACKs but keeps at most 1,024 apart,
    merging the newest. None is sent before the frames are taken; once
    the holding listener is removed by a reload, the ACKs cover every
    frame, in order."""
    n = 3000
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    slow = os.path.join(args.test_plugins, "slow.so")

    def config(hold):
        extra = ("  - name: hold\n    plugin: '%s'\n"
                 "    queue: {max_bytes: 1GiB, when_full: block}\n"
                 % slow if hold else "")
        return ("  http:\n    listen: 127.0.0.1:%d\n"
                "inputs:\n  - {name: raw, type: ttlog, listen: "
                "'tcp://127.0.0.1:%d'}\n"
                "listeners:\n%s%s" % (http, port, file_listener(out), extra))

    a = Agent(args, tmp, config(True), 1)
    try:
        p = Peer(port)
        p.hello(os.urandom(16))
        p.magic()
        p.message()
        for seq in range(1, n + 1):
            p.data(seq, batch([seq]))
        wait_for("every frame written", lambda: len(
            [e for e in read_jsonl(out) if e.get("msg") == "raw"]) == n)
        # Written by one listener, held by the other: not taken, so no
        # ACK may have been sent.
        p.s.settimeout(0.3)
        try:
            early = p.s.recv(64)
        except socket.timeout:
            early = b""
        check(early == b"", "an ACK before the frames were taken: %r"
              % early)
        p.s.settimeout(DEADLINE)
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                    % (args.plugins, config(False)))
        a.proc.send_signal(signal.SIGHUP)
        last = 0
        while last < n:
            typ, body = p.message()
            check(typ == 3, "expected an ACK, got type %d" % typ)
            v = struct.unpack(">Q", body)[0]
            check(last < v <= n, "ACK %d after %d" % (v, last))
            last = v
        p.close()
    finally:
        check(a.stop() == 0, "agent exit")


def test_a_tls_burst_arrives_whole_without_more_traffic(args, tmp):
    """A TLS sender writes 2,048 lines of 1,000 bytes at once and then waits,
    its connection open: every line must arrive without the sender
    sending anything more. (With marks of 16 KiB and no room for a read
    past them, the end of such a burst stayed inside OpenSSL; this test
    failed 2 of 2 before ttlog__input_conn_kick().)"""
    import ssl
    n = 2048
    certs = make_certs(args, tmp)
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    body = ("inputs:\n  - name: tls\n    type: jsonl\n"
            "    listen: 'tls://127.0.0.1:%d'\n"
            "    tls: {cert: '%s/server.pem', key: '%s/server.key'}\n"
            "listeners:\n%s" % (port, certs, certs, file_listener(out)))
    a = Agent(args, tmp, body, 1)
    try:
        ctx = ssl.create_default_context(cafile=os.path.join(certs,
                                                             "ca.pem"))
        ctx.check_hostname = False
        with socket.create_connection(("127.0.0.1", port)) as raw:
            with ctx.wrap_socket(raw) as s:
                # Lines of exactly 1,000 bytes, 2,048 of them: 125 full
                # TLS records of 16 KiB, each read ending inside one.
                lines = []
                for i in range(n):
                    head = b'{"msg": "burst", "i": %5d, "pad": "' % i
                    lines.append(head + b"p" * (1000 - len(head) - 3)
                                 + b'"}\n')
                data = b"".join(lines)
                check(len(data) == 125 * 16384, "burst of %d" % len(data))
                s.sendall(data)
                wait_for("the whole burst", lambda: len(
                    [e for e in read_jsonl(out) if e.get("msg") == "burst"])
                    == n)
    finally:
        check(a.stop() == 0, "agent exit")


def test_a_tls_sender_served_after_a_wait_gets_every_line_through(args, tmp):
    """A TLS peer holds the whole budget with an unfinished line; another
    sends lines of 100, 40,000 and 8,000 bytes, then waits, its
    connection open: the long line makes it wait for a reservation, read
    stopped at its mark. Once the first peer goes, every line of the
    second must arrive without it sending anything more (the grant must
    start reading again, including what OpenSSL may already hold)."""
    import ssl
    certs = make_certs(args, tmp)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    body = ("  http:\n    listen: 127.0.0.1:%d\n"
            "inputs:\n  - name: tls\n    type: jsonl\n"
            "    listen: 'tls://127.0.0.1:%d'\n"
            "    max_message: 64KiB\n    max_buffer: 65600\n"
            "    tls: {cert: '%s/server.pem', key: '%s/server.key'}\n"
            "listeners:\n%s"
            % (http, port, certs, certs, file_listener(out)))
    a = Agent(args, tmp, body, 1)
    ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.pem"))
    ctx.check_hostname = False

    def line(tag, size):
        head = b'{"msg": "%s", "pad": "' % tag
        return head + b"q" * (size - len(head) - 3) + b'"}\n'

    try:
        hog = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
        hog.sendall(b'{"msg": "' + b"h" * 17000)
        wait_for("the hog's reservation", lambda: metric(
            http, "ttlog_input_reserved_bytes", "tls") == 65600)
        with ctx.wrap_socket(socket.create_connection(
                ("127.0.0.1", port))) as s:
            # 48,100 bytes: three TLS records, the last one short, so
            # that the read which stops at the mark ends inside it.
            s.sendall(line(b"first", 100) + line(b"big", 40000) +
                      line(b"last", 8000))
            wait_for("the sender waiting", lambda: metric(
                http, "ttlog_input_budget_waits_total", "tls") >= 1)
            hog.close()
            wait_for("every line of the waiting sender", lambda: len(
                [e for e in read_jsonl(out)
                 if e.get("msg") in ("first", "big", "last")]) == 3)
    finally:
        check(a.stop() == 0, "agent exit")


TESTS = [
    test_stalled_large_frames_hold_at_most_the_budget,
    test_partial_lines_wait_for_the_budget,
    test_deadlines_close_peers_that_say_nothing_useful,
    test_owed_acks_are_merged_and_still_cover_every_frame,
    test_a_tls_burst_arrives_whole_without_more_traffic,
    test_a_tls_sender_served_after_a_wait_gets_every_line_through,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--sanitized", action="store_true",
                   help="the agent is built with a sanitizer: its RSS "
                        "says nothing about ours")
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-hostile-")


if __name__ == "__main__":
    sys.exit(main())
