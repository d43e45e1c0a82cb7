"""Integration tests of syslog over UDP: every datagram that reached the
agent's socket is either ingested or counted as dropped by the kernel
(receive buffer full), and `receive_buffer` sizes the socket, at start
and on reload. Real processes on loopback, with the helpers of
test_agent.py.

Usage: test_udp.py --agent PATH --plugins DIR [--only NAME]
"""

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from test_agent import (DEADLINE, Agent, Failure, check, free_port, metrics,
                        read_jsonl, run_tests)
from test_forward import wait_for  # noqa

KDROPS_WARN = ("the kernel dropped datagrams of an input: its receive "
               "buffer was full (raise receive_buffer)")
SMALLER_INFO = ("the kernel gave an input a smaller receive buffer than "
                "asked: raise the sysctl net.core.rmem_max to at least "
                "receive_buffer (or run as root)")


def series(name, inp="su"):
    return '%s{input="%s",type="syslog"}' % (name, inp)


def body(http, udp, out, extra=""):
    return ("  http: {listen: '127.0.0.1:%d'}\n"
            "inputs:\n"
            "  - {name: su, type: syslog, listen: 'udp://127.0.0.1:%d'%s}\n"
            "listeners:\n"
            "  - {name: out, type: file, format: json, fsync: never,"
            " path: '%s'}\n" % (http, udp, extra, out))


def udp_inode(port):
    """The inode of the UDP socket bound to port (of 127.0.0.1: the
    test binds nothing else there)."""
    with open("/proc/net/udp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if p[1].endswith(":%04X" % port):
                return p[9]
    raise Failure("no UDP socket on port %d" % port)


def rcvbuf(pid, port):
    """SO_RCVBUF (as the kernel reports it: what was granted, doubled) of
    the agent's UDP socket on 127.0.0.1:port, read on a copy of its
    descriptor (pidfd_getfd: Linux 5.6, allowed to a parent process).
    None when the kernel does not allow it."""
    if not hasattr(os, "pidfd_open"):
        return None
    inode = udp_inode(port)
    fdir = "/proc/%d/fd" % pid
    for name in os.listdir(fdir):
        try:
            if os.readlink(os.path.join(fdir, name)) != "socket:[%s]" % inode:
                continue
        except OSError:
            continue
        libc = ctypes.CDLL(None, use_errno=True)
        pidfd = os.pidfd_open(pid)
        try:
            fd = libc.syscall(438, pidfd, int(name), 0)  # pidfd_getfd
        finally:
            os.close(pidfd)
        if fd < 0:
            return None
        with socket.socket(fileno=fd) as s:
            return s.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    raise Failure("the agent holds no socket %s" % inode)


def test_every_datagram_is_ingested_or_counted(args, tmp):
    """The agent stopped (SIGSTOP) while 4,000 datagrams arrive into a
    64 KiB receive buffer: most are dropped by the kernel. After SIGCONT,
    ingested + kernel_drops is exactly what was sent - with no datagram
    after the burst to carry the count - and the drops are logged."""
    http, udp = free_port(), free_port(socket.SOCK_DGRAM)
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp, body(http, udp, out, ", receive_buffer: 64KiB"), 1)
    n = 4000
    try:
        a.proc.send_signal(signal.SIGSTOP)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for i in range(n):
                s.sendto(b"<13>1 - - udpapp - - - seq %d %s" % (i, b"x" * 60),
                         ("127.0.0.1", udp))
        a.proc.send_signal(signal.SIGCONT)

        def settled():
            m = metrics(http)
            got = (m[series("ttlog_input_events_total")] +
                   m[series("ttlog_input_kernel_drops_total")])
            return m if got >= n else None
        m = wait_for("all datagrams accounted for", settled)
        ev = m[series("ttlog_input_events_total")]
        kd = m[series("ttlog_input_kernel_drops_total")]
        check(ev + kd == n, "ingested %d + kernel drops %d != sent %d"
              % (ev, kd, n))
        check(kd > 0, "a 64KiB buffer held %d datagrams" % n)
        check(ev > 0, "nothing ingested")
        check(m[series("ttlog_input_dropped_total")] == kd,
              "dropped %r, kernel drops %d" %
              (m[series("ttlog_input_dropped_total")], kd))

        warns = wait_for("the drops logged", lambda: [
            e for e in read_jsonl(out) if e.get("msg") == KDROPS_WARN])
        check(warns[0].get("input") == "su", warns[0])
        check(0 < warns[0].get("datagrams", 0) <= kd, warns[0])
        check(warns[0].get("receive_buffer") == 65536, warns[0])
        seqs = wait_for("the ingested events in the file", lambda: (
            lambda got: got if len(got) >= ev else None)(
            [e for e in read_jsonl(out) if e.get("service") == "udpapp"]))
        check(len(seqs) == ev, "%d in the file, %d counted" % (len(seqs), ev))
    finally:
        a.proc.send_signal(signal.SIGCONT)
        code = a.stop()
    check(code == 0, "exit %d: %s" % (code, a.stderr()))


def reload(a, args, http, text):
    with open(a.config, "w") as f:
        f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                % (args.plugins, text))
    before = metrics(http)["ttlog_agent_reloads_total"]
    a.proc.send_signal(signal.SIGHUP)
    wait_for("the reload applied",
             lambda: metrics(http)["ttlog_agent_reloads_total"] > before)


def smaller_infos(out):
    return [e for e in read_jsonl(out) if e.get("msg") == SMALLER_INFO]


def receive_buffer_case(args, tmp, capped):
    """The default is 4MiB, an explicit size is taken, a reload applies a
    new one to the same socket; a size the kernel caps (past rmem_max,
    without CAP_NET_ADMIN) is logged with what the kernel gave, and only
    then. capped: the agent certainly lacks CAP_NET_ADMIN."""
    http, udp = free_port(), free_port(socket.SOCK_DGRAM)
    out = os.path.join(tmp, "out.jsonl")
    with open("/proc/sys/net/core/rmem_max") as f:
        rmem_max = int(f.read())
    a = Agent(args, tmp, body(http, udp, out), 1)
    try:
        # Linux doubles what it is asked for; rmem_max caps the ask.
        want = 4 << 20
        rb = rcvbuf(a.proc.pid, udp)
        if rb is None:
            print("     skipped: pidfd_getfd refused; the socket's size "
                  "cannot be read")
            return
        check(rb == 2 * want or (rb == 2 * rmem_max and rmem_max < want),
              "default: rb %d, rmem_max %d" % (rb, rmem_max))
        reload(a, args, http, body(http, udp, out,
                                   ", receive_buffer: 96KiB"))
        rb = rcvbuf(a.proc.pid, udp)
        check(rb == 2 * 96 * 1024 or (rmem_max < 96 * 1024 and
                                      rb == 2 * rmem_max),
              "96KiB: rb %d" % rb)
        # Past rmem_max: granted only to CAP_NET_ADMIN (SO_RCVBUFFORCE).
        # Not the default's 4MiB, whose own line may be there.
        big = 2 * rmem_max + 4096
        if big == want:
            big += 4096
        if big > 1 << 30:
            print("     rmem_max %d: no size past it to ask" % rmem_max)
            return
        reload(a, args, http, body(http, udp, out,
                                   ", receive_buffer: %d" % big))
        rb = rcvbuf(a.proc.pid, udp)
        # Whatever the kernel gave, the agent says so when it is less.
        if rb < 2 * big:
            infos = wait_for("the smaller buffer logged",
                             lambda: [e for e in smaller_infos(out)
                                      if e.get("receive_buffer") == big])
            check(rb == 2 * rmem_max, "capped: rb %d" % rb)
            check(infos[0].get("given") == rmem_max and
                  infos[0].get("input") == "su" and
                  infos[0].get("sysctl") == "net.core.rmem_max", infos[0])
        else:
            check(rb == 2 * big and not capped, "forced: rb %d" % rb)
        # A marker sent after the reload: a line the reload logged is
        # normally in the file by the time the marker is (were it not, a
        # wrong line could be missed here, a right one never fails).
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(b"<13>1 - - mark - - - after", ("127.0.0.1", udp))
        wait_for("the marker", lambda: [e for e in read_jsonl(out)
                                        if e.get("service") == "mark"])
        logged = [e for e in smaller_infos(out)
                  if e.get("receive_buffer") == big]
        check(len(logged) == (1 if rb < 2 * big else 0),
              "rb %d of %d: %r" % (rb, big, logged))
        check(not [e for e in smaller_infos(out)
                   if e.get("receive_buffer") == 96 * 1024],
              "96KiB reported as smaller")
    finally:
        code = a.stop()
    check(code == 0, "exit %d: %s" % (code, a.stderr()))


def test_receive_buffer_sizes_the_socket_and_reload_changes_it(args, tmp):
    """As the agent runs (as root with CAP_NET_ADMIN, past rmem_max)."""
    receive_buffer_case(args, tmp, False)


def test_receive_buffer_past_rmem_max_is_capped_and_logged(args, tmp):
    """The same without CAP_NET_ADMIN (as root, through setpriv): the
    kernel caps the buffer at rmem_max and the agent says so."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        print("     skipped: needs root and setpriv")
        return
    wrapper = os.path.join(tmp, "agent.sh")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec setpriv --bounding-set -net_admin '
                '--inh-caps -net_admin "%s" "$@"\n' % args.agent)
    os.chmod(wrapper, 0o755)
    receive_buffer_case(argparse.Namespace(agent=wrapper,
                                           plugins=args.plugins), tmp, True)


def test_check_refuses_receive_buffer_off_udp(args, tmp):
    port = free_port()
    cases = [
        ("tcp.yaml", "tcp://127.0.0.1:%d" % port, "512KiB",
         "inputs[0] (in): tcp://127.0.0.1:%d: receive_buffer is for udp:// "
         "inputs" % port),
        ("small.yaml", "udp://127.0.0.1:%d" % port, "1000",
         "inputs[0] (in): receive_buffer must be from 4KiB to 1GiB"),
    ]
    for name, listen, size, want in cases:
        cfg = os.path.join(tmp, name)
        with open(cfg, "w") as f:
            f.write("service:\n  plugin_dir: %s\n"
                    "inputs:\n  - name: in\n    type: syslog\n"
                    "    listen: %s\n    receive_buffer: %s\n"
                    "listeners:\n  - name: out\n    type: stdout\n"
                    % (args.plugins, listen, size))
        r = subprocess.run([args.agent, "--check", cfg], capture_output=True,
                           text=True, timeout=DEADLINE)
        check(r.returncode != 0, "%s passed: %r" % (name, r.stdout))
        check("%s:4:5: %s" % (cfg, want) in r.stderr,
              "%s: %r not in %r" % (name, want, r.stderr))


TESTS = [
    test_check_refuses_receive_buffer_off_udp,
    test_every_datagram_is_ingested_or_counted,
    test_receive_buffer_sizes_the_socket_and_reload_changes_it,
    test_receive_buffer_past_rmem_max_is_capped_and_logged,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-udp-")


if __name__ == "__main__":
    sys.exit(main())
