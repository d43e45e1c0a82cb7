"""Integration tests of the unix socket inputs: the mode, owner and group
of the socket file (at start and on reload, and who can then connect),
syslog datagrams on a unixgram:// socket as logger(1) and syslog(3) send
them to /dev/log, stale socket files, and what --check refuses. Real
processes, with the helpers of test_agent.py. The tests that give a file
away or connect as another user need root; without it they say so and
pass.

Usage: test_unix_sockets.py --agent PATH --plugins DIR [--only NAME]
"""

import argparse
import os
import signal
import socket
import stat
import subprocess
import sys

from test_agent import (DEADLINE, Agent, Failure, check, file_listener,
                        free_port, metrics, read_jsonl, run_tests,
                        wait_lines)
from test_forward import wait_for
from test_udp import reload

NOBODY = 65534  # a uid and gid the test gives the socket to
OTHER = 65533   # a uid (and gid) that is neither

DROP_WARN = "input dropped a message"


def root():
    if os.geteuid() != 0:
        print("note: not root; files cannot be given away here")
        return False
    return True


def as_user(uid, gid, fn):
    """fn() in a forked child running as uid:gid (no other groups); its
    result, True or False."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            os._exit(0 if fn() else 1)
        except BaseException:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 2:
        raise Failure("the child as uid %d failed" % uid)
    return code == 0


def can_send(path, kind, msg):
    """Connects to (stream) or sends to (datagram) the socket at path;
    False on EACCES."""
    def fn():
        with socket.socket(socket.AF_UNIX, kind) as s:
            try:
                s.connect(path)
                if kind == socket.SOCK_DGRAM:
                    s.send(msg)
                else:
                    s.sendall(msg + b"\n")
            except PermissionError:
                return False
        return True
    return fn


def inputs(http, extra):
    return ("  http: {listen: '127.0.0.1:%d'}\ninputs:\n%s" % (http, extra))


def test_mode_owner_group_applied_and_only_they_connect(args, tmp):
    if not root():
        return
    os.chmod(tmp, 0o755)  # the socket files are reached through tmp
    http = free_port()
    st_path = os.path.join(tmp, "stream.sock")
    dg_path = os.path.join(tmp, "log")
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp, inputs(http,
              "  - {name: us, type: syslog, listen: 'unix://%s',"
              " mode: '0600', owner: '%d'}\n"
              "  - {name: ud, type: syslog, listen: 'unixgram://%s',"
              " mode: \"0660\", owner: nobody, group: %d}\n"
              "listeners:\n%s" % (st_path, NOBODY, dg_path, NOBODY,
                                  file_listener(out))), 2)
    try:
        s = os.lstat(st_path)
        check(stat.S_ISSOCK(s.st_mode), "not a socket: %o" % s.st_mode)
        check(stat.S_IMODE(s.st_mode) == 0o600 and s.st_uid == NOBODY
              and s.st_gid == 0, "stream: %o %d:%d"
              % (s.st_mode, s.st_uid, s.st_gid))
        s = os.lstat(dg_path)
        check(stat.S_ISSOCK(s.st_mode), "not a socket: %o" % s.st_mode)
        check(stat.S_IMODE(s.st_mode) == 0o660 and s.st_uid == NOBODY
              and s.st_gid == NOBODY, "dgram: %o %d:%d"
              % (s.st_mode, s.st_uid, s.st_gid))
        # The owner reaches both; another user reaches neither, unless
        # it is in the datagram socket's group.
        check(as_user(NOBODY, NOBODY, can_send(
            st_path, socket.SOCK_STREAM, b"<13>1 - - t - - - owner-stream")),
            "the owner cannot connect to the stream socket")
        check(as_user(NOBODY, NOBODY, can_send(
            dg_path, socket.SOCK_DGRAM, b"<13>1 - - t - - - owner-dgram")),
            "the owner cannot send to the datagram socket")
        check(not as_user(OTHER, OTHER, can_send(
            st_path, socket.SOCK_STREAM, b"<13>1 - - t - - - other")),
            "another user connected to a 0600 socket")
        check(not as_user(OTHER, OTHER, can_send(
            dg_path, socket.SOCK_DGRAM, b"<13>1 - - t - - - other")),
            "another user sent to a 0660 socket not in its group")
        check(as_user(OTHER, NOBODY, can_send(
            dg_path, socket.SOCK_DGRAM, b"<13>1 - - t - - - group-dgram")),
            "a member of the group cannot send to a 0660 socket")
        # logger(1) as the owner, on the datagram socket: what a /dev/log
        # client does.
        r = subprocess.run(["setpriv", "--reuid=%d" % NOBODY,
                            "--regid=%d" % NOBODY, "--clear-groups",
                            "logger", "--socket-errors=on", "-u", dg_path,
                            "-t", "lg", "from logger as nobody"],
                           capture_output=True, text=True, timeout=DEADLINE)
        check(r.returncode == 0, "logger: %s" % r.stderr)
        got = wait_lines(out, 4, lambda e: e.get("msg") in (
            "owner-stream", "owner-dgram", "group-dgram",
            "from logger as nobody"))
        check(not [e for e in read_jsonl(out) if e.get("msg") == "other"],
              "a refused sender's message arrived")
        lg = [e for e in got if e.get("msg") == "from logger as nobody"][0]
        check(lg.get("service") == "lg", lg)
        check(a.stop() == 0, "exit status")
        check(not os.path.exists(st_path) and not os.path.exists(dg_path),
              "the socket files are left behind")
    finally:
        a.kill()


def test_logger_and_syslog3_datagrams_arrive_named_by_uid(args, tmp):
    http = free_port()
    path = os.path.join(tmp, "log")
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp, inputs(http,
              "  - {name: ud, type: syslog, listen: 'unixgram://%s',"
              " max_message: 200}\nlisteners:\n%s"
              % (path, file_listener(out))), 1)
    try:
        for i in range(3):
            r = subprocess.run(["logger", "--socket-errors=on", "-u", path,
                                "-t", "lg", "-p", "user.warning",
                                "logger %d" % i],
                               capture_output=True, text=True,
                               timeout=DEADLINE)
            check(r.returncode == 0, "logger: %s" % r.stderr)
        # What glibc's syslog(3) writes: RFC 3164 with no host name, the
        # line end that some senders add dropped.
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(path)
            s.send(b"<11>Dec  7 20:00:00 myapp[42]: like syslog(3)\n")
            s.send(b"not syslog at all \x01")
            s.send(b"<13>1 - - big - - - " + b"x" * 300)
        got = wait_lines(out, 4, lambda e: e.get("msg", "").startswith(
            ("logger ", "like syslog(3)")))
        e = [e for e in got if e["msg"] == "logger 1"][0]
        check(e.get("service") == "lg" and e.get("severity") == 4, e)
        e = [e for e in got if e["msg"] == "like syslog(3)"][0]
        check(e.get("service") == "myapp" and e.get("severity") == 3, e)

        def counted():
            m = metrics(http)
            return (m.get('ttlog_input_malformed_total{input="ud",'
                          'type="syslog"}', 0) >= 1 and
                    m.get('ttlog_input_dropped_total{input="ud",'
                          'type="syslog"}', 0) >= 1)
        wait_for("the malformed and oversized datagrams counted", counted,
                 deadline=DEADLINE)
        # The sender of a datagram is named by its credentials (the
        # agent's own warnings reach the file listener too).
        warn = wait_lines(out, 1, lambda e: e.get("msg") == DROP_WARN)[0]
        check(warn.get("peer") == "unix uid %d pid %d"
              % (os.getuid(), os.getpid()), warn)
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_reload_changes_mode_and_owner_keeping_connections(args, tmp):
    if not root():
        return
    os.chmod(tmp, 0o755)
    http = free_port()
    path = os.path.join(tmp, "s.sock")
    out = os.path.join(tmp, "out.jsonl")

    def body(opts):
        return inputs(http,
                      "  - {name: us, type: syslog, listen: 'unix://%s'%s}\n"
                      "listeners:\n%s" % (path, opts, file_listener(out)))
    a = Agent(args, tmp, body(", mode: '0600'"), 1)
    try:
        ino = os.lstat(path).st_ino
        check(stat.S_IMODE(os.lstat(path).st_mode) == 0o600, "mode")
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(path)
        c.sendall(b"<13>1 - - t - - - before\n")
        wait_lines(out, 1, lambda e: e.get("msg") == "before")
        reload(a, args, http, body(", mode: '0640', owner: %d, group: %d"
                                   % (NOBODY, NOBODY)))
        s = os.lstat(path)
        check(s.st_ino == ino, "the socket was made again")
        check(stat.S_IMODE(s.st_mode) == 0o640 and s.st_uid == NOBODY
              and s.st_gid == NOBODY, "after reload: %o %d:%d"
              % (s.st_mode, s.st_uid, s.st_gid))
        c.sendall(b"<13>1 - - t - - - after\n")
        wait_lines(out, 1, lambda e: e.get("msg") == "after")
        c.close()
        # A mode on a TCP input is refused at reload; the agent runs on.
        port = free_port()
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n%s" % (args.plugins, inputs(
                http, "  - {name: t, type: syslog, listen: "
                "'tcp://127.0.0.1:%d', mode: '0600'}\nlisteners:\n%s"
                % (port, file_listener(out)))))
        r = subprocess.run([args.agent, "--check", "-c", a.config],
                           capture_output=True, text=True, timeout=DEADLINE)
        check(r.returncode != 0 and "mode is for unix://" in r.stderr,
              r.stderr)
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def others_reach(*paths):
    """Whether a process of another user (nobody) can reach every path:
    each directory above it searchable by others. A checkout under
    /root (mode 0700, as on a fresh Debian root) is not; then the tests
    that run the agent as nobody say so and skip."""
    for p in paths:
        d = os.path.dirname(os.path.abspath(p))
        while True:
            if not os.stat(d).st_mode & stat.S_IXOTH:
                print("     skipped: %s is not searchable by other users"
                      % d)
                return False
            if d == "/":
                break
            d = os.path.dirname(d)
    return True


def test_reload_after_dropping_root_refuses_what_it_cannot_change(args,
                                                                   tmp):
    """Bound as root, run as nobody (service.user): a reload may change
    the mode of the agent's own socket file, not give it away."""
    if not root() or not others_reach(args.agent, args.plugins, tmp):
        return
    os.chmod(tmp, 0o777)
    http = free_port()
    path = os.path.join(tmp, "s.sock")
    out = os.path.join(tmp, "out.jsonl")

    def body(opts):
        return ("  user: nobody\n" + inputs(
            http, "  - {name: us, type: syslog, listen: 'unix://%s',"
            " owner: nobody%s}\n"
            # root's file, its options unchanged by every reload
            "  - {name: ur, type: syslog, listen: 'unix://%s',"
            " mode: '0666'}\nlisteners:\n%s"
            % (path, opts, path + "-root", file_listener(out))))
    # The listener's file, which a reload checks it can write as nobody.
    with open(out, "w"):
        pass
    os.chmod(out, 0o666)
    a = Agent(args, tmp, body(", mode: '0600'"), 2)
    try:
        check(stat.S_IMODE(os.lstat(path).st_mode) == 0o600, "mode")
        reload(a, args, http, body(", mode: '0620'"))
        check(stat.S_IMODE(os.lstat(path).st_mode) == 0o620,
              "the agent's own file: mode %o" % os.lstat(path).st_mode)
        errors = metrics(http)["ttlog_agent_reload_errors_total"]
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n"
                    "%s" % (args.plugins, body(", mode: '0600'").replace(
                        "owner: nobody", "owner: root")))
        a.proc.send_signal(signal.SIGHUP)
        wait_for("the reload refused", lambda: metrics(http)[
            "ttlog_agent_reload_errors_total"] > errors, deadline=DEADLINE)
        s = os.lstat(path)
        check(s.st_uid == NOBODY and stat.S_IMODE(s.st_mode) == 0o620,
              "the refused reload changed the file: %o %d"
              % (s.st_mode, s.st_uid))
        text = a.stderr() + str(read_jsonl(out))
        check("cannot change the socket's owner, group or mode: Operation "
              "not permitted" in text and path in text, text[-2000:])
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_owner_the_agent_cannot_set_fails_start_with_eperm(args, tmp):
    if not root() or not others_reach(args.agent, args.plugins, tmp):
        return
    os.chmod(tmp, 0o777)
    path = os.path.join(tmp, "s.sock")
    out = os.path.join(tmp, "out.jsonl")
    cfg = os.path.join(tmp, "ttlog.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\ninputs:\n"
                "  - {name: us, type: syslog, listen: 'unix://%s',"
                " owner: root}\nlisteners:\n%s"
                % (args.plugins, path, file_listener(out)))
    os.chmod(cfg, 0o644)

    def drop():
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    r = subprocess.run([args.agent, "-c", cfg], capture_output=True,
                       text=True, timeout=DEADLINE, preexec_fn=drop,
                       stdin=subprocess.DEVNULL)
    check(r.returncode != 0, "the agent started: %s" % r.stderr)
    check("input us" in r.stderr and path in r.stderr
          and "Operation not permitted" in r.stderr, r.stderr)
    check(not os.path.exists(path), "the socket file is left behind")


def test_stale_and_foreign_files_at_the_socket_path(args, tmp):
    http = free_port()
    path = os.path.join(tmp, "log")
    out = os.path.join(tmp, "out.jsonl")
    body = inputs(http, "  - {name: ud, type: syslog, listen: "
                  "'unixgram://%s'}\nlisteners:\n%s"
                  % (path, file_listener(out)))
    cfg = os.path.join(tmp, "c.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\n%s" % (args.plugins, body))

    def start_fails(why):
        r = subprocess.run([args.agent, "-c", cfg], capture_output=True,
                           text=True, timeout=DEADLINE,
                           stdin=subprocess.DEVNULL)
        check(r.returncode != 0 and why in r.stderr, r.stderr)
    # A regular file is not removed.
    with open(path, "w") as f:
        f.write("keep me")
    start_fails("exists and is not a socket")
    with open(path) as f:
        check(f.read() == "keep me", "the file was changed")
    os.unlink(path)
    # A socket someone is bound to, of either kind, is not stale.
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        if os.path.exists(path):
            os.unlink(path)
        live = socket.socket(socket.AF_UNIX, kind)
        live.bind(path)
        if kind == socket.SOCK_STREAM:
            live.listen(1)
        try:
            start_fails("another process listens there")
        finally:
            live.close()
    # The one left behind (nobody bound) is stale: replaced.
    check(stat.S_ISSOCK(os.lstat(path).st_mode), "no stale socket")
    a = Agent(args, tmp, body, 1)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(path)
            s.send(b"<13>1 - - t - - - after stale")
        wait_lines(out, 1, lambda e: e.get("msg") == "after stale")
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_check_refuses_bad_mode_owner_group_and_misplaced_keys(args, tmp):
    cases = [
        # (listen, extra line, the error expected after "FILE:")
        ("unix:///run/x.sock", "mode: '0999'",
         "5:11: inputs[0] (in): mode: \"0999\" is not an octal mode"),
        ("unix:///run/x.sock", "mode: '01777'",
         "5:11: inputs[0] (in): mode: \"01777\" is not an octal mode"),
        ("unix:///run/x.sock", "owner: no-such-user-ttlog",
         "5:12: inputs[0] (in): owner: no user \"no-such-user-ttlog\""),
        ("unixgram:///run/x", "group: no-such-group-ttlog",
         "5:12: inputs[0] (in): group: no group \"no-such-group-ttlog\""),
        ("tcp://127.0.0.1:5514", "owner: root",
         "5:12: inputs[0] (in): tcp://127.0.0.1:5514: owner is for "
         "unix:// and unixgram:// inputs"),
        ("udp://127.0.0.1:5514", "group: root",
         "5:12: inputs[0] (in): udp://127.0.0.1:5514: group is for "
         "unix:// and unixgram:// inputs"),
        ("unixgram:///run/x", "receive_buffer: 1MiB",
         "inputs[0] (in): unixgram:///run/x: receive_buffer is for udp:// "
         "inputs"),
        ("unixgram://run/x", "mode: '0600'",
         "unixgram://run/x: unixgram:// needs an absolute path"),
    ]
    for n, (listen, extra, want) in enumerate(cases):
        cfg = os.path.join(tmp, "c%d.yaml" % n)
        with open(cfg, "w") as f:
            f.write("service:\n  plugin_dir: %s\ninputs:\n  - name: in\n"
                    "    %s\n    listen: %s\n    type: syslog\n"
                    "listeners:\n  - name: out\n    type: stdout\n"
                    % (args.plugins, extra, listen))
        r = subprocess.run([args.agent, "--check", "-c", cfg],
                           capture_output=True, text=True, timeout=DEADLINE)
        check(r.returncode != 0, "%s passed: %r" % (extra, r.stdout))
        check(cfg + ":" in r.stderr and want in r.stderr,
              "%s: %r not in %r" % (extra, want, r.stderr))
    # jsonl on a datagram socket is refused as on udp://; a valid one
    # passes, with an unquoted mode and numeric ids.
    for listen, typ, extra, ok in (
            ("unixgram:///run/x", "jsonl", "", False),
            ("unixgram:///run/x", "syslog",
             "    mode: 0660\n    owner: 0\n    group: 0\n", True),
            ("unix:///run/x.sock", "jsonl",
             "    mode: '0666'\n    owner: root\n    group: root\n", True)):
        cfg = os.path.join(tmp, "ok.yaml")
        with open(cfg, "w") as f:
            f.write("service:\n  plugin_dir: %s\ninputs:\n  - name: in\n"
                    "    listen: %s\n    type: %s\n%s"
                    "listeners:\n  - name: out\n    type: stdout\n"
                    % (args.plugins, listen, typ, extra))
        r = subprocess.run([args.agent, "--check", "-c", cfg],
                           capture_output=True, text=True, timeout=DEADLINE)
        check((r.returncode == 0) == ok, "%s %s %s: %s" % (
            listen, typ, extra, r.stdout + r.stderr))
        if not ok:
            check("jsonl needs a stream" in r.stderr, r.stderr)


TESTS = [
    test_mode_owner_group_applied_and_only_they_connect,
    test_logger_and_syslog3_datagrams_arrive_named_by_uid,
    test_reload_changes_mode_and_owner_keeping_connections,
    test_reload_after_dropping_root_refuses_what_it_cannot_change,
    test_owner_the_agent_cannot_set_fails_start_with_eperm,
    test_stale_and_foreign_files_at_the_socket_path,
    test_check_refuses_bad_mode_owner_group_and_misplaced_keys,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-unix-")


if __name__ == "__main__":
    sys.exit(main())
