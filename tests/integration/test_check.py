"""`ttlog-agent --check` against start: every configuration start refuses,
--check refuses too, with FILE:LINE:COL, the input or listener and the
reason, and creates nothing on the way (no files, no spool directories, no
sockets); a start that fails later (a plugin's create(), a port taken)
names the listener or input, FILE:LINE and the reason. Plugins of ABI 1.1
and 1.2 still load beside a 1.3 one whose check() refuses an option.

Usage: test_check.py --agent PATH --plugins DIR --test-plugins DIR
                     --certs-script PATH [--only NAME]
"""

import argparse
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, DEADLINE, Failure, check, free_port,  # noqa
                        run_tests)


def listing(top):
    """Every path below top (relative), with its kind: what --check must
    leave exactly as it found it."""
    out = set()
    for root, dirs, files in os.walk(top):
        for name in dirs + files:
            p = os.path.join(root, name)
            kind = "d" if os.path.isdir(p) else (
                "s" if os.path.exists(p) and
                not os.path.isfile(p) else "f")
            out.add((os.path.relpath(p, top), kind))
    return out


def write_config(args, tmp, name, body):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("service:\n  plugin_dir: %s\n%s" % (args.plugins, body))
    return path


def run_agent(args, *argv):
    return subprocess.run([args.agent] + list(argv), capture_output=True,
                          text=True, timeout=DEADLINE,
                          stdin=subprocess.DEVNULL)


def expect_refused(args, tmp, cfg, want):
    """--check and start both exit 1 naming cfg's FILE:LINE:COL and `want`,
    and neither leaves anything behind in tmp (the start fails while
    loading, before any listener is created)."""
    before = listing(tmp)
    for argv in (["--check", cfg], ["-c", cfg]):
        r = run_agent(args, *argv)
        check(r.returncode == 1, "%s: exit %d: %s" % (argv, r.returncode,
                                                     r.stderr))
        check(want in r.stderr, "%s: wanted %r in %r" % (argv, want,
                                                        r.stderr))
        check("ok (" not in r.stdout, "%s said ok: %r" % (argv, r.stdout))
        after = listing(tmp)
        check(after == before, "%s created %s" % (argv,
                                                  sorted(after - before)))


def expect_ok(args, top, cfg, want):
    """--check passes cfg, saying `want`, and leaves top as it was."""
    before = listing(top)
    r = run_agent(args, "--check", cfg)
    check(r.returncode == 0 and want in r.stdout, r.stdout + r.stderr)
    after = listing(top)
    check(after == before, "--check created %s" % sorted(after - before))


def certs(args, tmp):
    d = os.path.join(tmp, "certs")
    subprocess.run(["bash", args.certs_script, d], check=True)
    return d


def test_check_refuses_what_start_refuses(args, tmp):
    c = certs(args, tmp)
    work = os.path.join(tmp, "work")
    os.mkdir(work)
    missing = os.path.join(tmp, "missing")
    port = free_port()
    listen_cases = [
        ("noscheme.yaml",
         "    type: syslog\n    listen: 127.0.0.1:%d\n" % port,
         "inputs[0] (in): 127.0.0.1:%d: unknown scheme" % port),
        ("tlsbare.yaml",
         "    type: syslog\n    listen: tls://127.0.0.1:%d\n" % port,
         "inputs[0] (in): tls://127.0.0.1:%d: tls:// needs tls.cert and "
         "tls.key" % port),
        ("udpttlog.yaml",
         "    type: ttlog\n    listen: udp://127.0.0.1:%d\n" % port,
         "inputs[0] (in): udp://127.0.0.1:%d: ttlog needs a stream" % port),
        ("nocert.yaml",
         "    type: jsonl\n    listen: tls://127.0.0.1:%d\n"
         "    tls: {cert: %s/c.pem, key: %s/server.key}\n"
         % (port, missing, c),
         "tls.cert %s/c.pem: no such file" % missing),
        ("nokey.yaml",
         "    type: jsonl\n    listen: tls://127.0.0.1:%d\n"
         "    tls: {cert: %s/server.pem, key: %s/k.pem}\n"
         % (port, c, missing),
         "tls.key %s/k.pem: no such file" % missing),
        ("noca.yaml",
         "    type: jsonl\n    listen: tls://127.0.0.1:%d\n"
         "    tls: {cert: %s/server.pem, key: %s/server.key,\n"
         "          ca_file: %s/ca.pem, client_auth: required}\n"
         % (port, c, c, missing),
         "tls.ca_file %s/ca.pem: no such file" % missing),
        ("mismatch.yaml",
         "    type: jsonl\n    listen: tls://127.0.0.1:%d\n"
         "    tls: {cert: %s/server.pem, key: %s/client.key}\n"
         % (port, c, c),
         "do not match"),
    ]
    for name, body, want in listen_cases:
        cfg = write_config(args, work, name,
                           "inputs:\n  - name: in\n%s"
                           "listeners:\n  - name: out\n    type: stdout\n"
                           % body)
        expect_refused(args, work, cfg, "%s:4:5: %s" % (cfg, want)
                       if want.startswith("inputs[") else want)
        if not want.startswith("inputs["):
            expect_refused(args, work, cfg, "%s:4:5: inputs[0] (in): "
                           "tls://127.0.0.1:%d: " % (cfg, port))

    spool = os.path.join(work, "spool")
    fwd_cases = [
        ("http.yaml", "endpoints: http://127.0.0.1:%d" % port,
         "listeners[0] (up): endpoints: http://127.0.0.1:%d: the forward "
         "listener does not speak HTTP" % port),
        ("fwdca.yaml", "endpoints: tls://127.0.0.1:%d\n"
         "    tls: {ca_file: %s/ca.pem}" % (port, missing),
         "listeners[0] (up): tls.ca_file %s/ca.pem: no such file" % missing),
        ("fwdcert.yaml", "endpoints: tls://127.0.0.1:%d\n"
         "    tls: {ca_file: %s/ca.pem, cert: %s/client.pem,\n"
         "          key: %s/k.pem}" % (port, c, missing, c),
         "listeners[0] (up): tls.cert %s/client.pem: no such file"
         % missing),
    ]
    for name, opts, want in fwd_cases:
        cfg = write_config(args, work, name,
                           "listeners:\n  - name: up\n    type: forward\n"
                           "    spool: {dir: %s}\n    %s\n" % (spool, opts))
        # A reason that starts with "KEY: " is placed at that option
        # (endpoints: line 7); the others at the listener.
        where = "7:16" if want.split(": ")[1] == "endpoints" else "4:5"
        expect_refused(args, work, cfg, "%s:%s: %s" % (cfg, where, want))
    check(not os.path.exists(spool), "a spool directory was made")


def test_plugin_check_refuses_an_option_with_its_place(args, tmp):
    made = os.path.join(tmp, "made")
    cfg = write_config(args, tmp, "picky.yaml",
                       "listeners:\n  - name: out\n    type: stdout\n"
                       "  - name: picky\n    plugin: %s/checked.so\n"
                       "    path: %s\n    colour: octarine\n"
                       % (args.test_plugins, made))
    expect_refused(args, tmp, cfg,
                   "%s:9:13: listeners[1] (picky): colour: \"octarine\" is "
                   "visible only to wizards" % cfg)
    # Any other colour passes, and --check still does not run create(),
    # which would write the file.
    with open(cfg) as f:
        text = f.read().replace("octarine", "blue")
    with open(cfg, "w") as f:
        f.write(text)
    expect_ok(args, tmp, cfg, "ok (0 inputs, 2 listeners)")


def test_check_of_a_valid_configuration_creates_nothing(args, tmp):
    work = os.path.join(tmp, "work")
    os.mkdir(work)
    sock = os.path.join(work, "in.sock")
    body = ("inputs:\n  - {name: u, type: syslog, listen: 'unix://%s'}\n"
            "  - {name: t, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n"
            "  - name: f\n    type: file\n    path: %s/logs/deep/a.log\n"
            "  - name: up\n    type: forward\n"
            "    endpoints: tcp://127.0.0.1:%d\n"
            "    spool: {dir: %s/spool}\n"
            % (sock, free_port(), work, free_port(), work))
    cfg = write_config(args, tmp, "valid.yaml", body)
    expect_ok(args, work, cfg, "ok (2 inputs, 2 listeners)")
    # A file listener whose directory cannot be made is refused by --check
    # (a regular file stands where a directory must be).
    with open(os.path.join(work, "plain"), "w") as f:
        f.write("x")
    cfg = write_config(args, tmp, "blocked.yaml",
                       "listeners:\n  - name: f\n    type: file\n"
                       "    path: %s/plain/a.log\n" % work)
    expect_refused(args, work, cfg, "%s:4:5: listeners[0] (f): %s/plain/"
                   "a.log: " % (cfg, work))


def test_check_refuses_an_unknown_service_user(args, tmp):
    cfg = write_config(args, tmp, "user.yaml",
                       "  user: no-such-user-ttlog\n"
                       "listeners:\n  - name: out\n    type: stdout\n")
    # Found by the load, so start and --check say it alike, with the line.
    expect_refused(args, tmp, cfg, "%s:3:9: service.user: no user "
                   "\"no-such-user-ttlog\"" % cfg)


def test_check_refuses_a_bad_http_listen(args, tmp):
    # A host name, a scheme, a bare port: start would refuse each when it
    # binds the HTTP endpoint.
    for bad in ("localhost:2020", "http://127.0.0.1:2020", "2020"):
        cfg = write_config(args, tmp, "http.yaml",
                           "  http:\n    listen: '%s'\n"
                           "listeners:\n  - name: out\n    type: stdout\n"
                           % bad)
        expect_refused(args, tmp, cfg, "%s:4:13: service.http.listen: "
                       "%s: expected IPV4:PORT or [IPV6]:PORT" % (cfg, bad))


def test_start_failures_name_listener_or_input(args, tmp):
    # A plugin whose create() fails: its name, its place, and the reason
    # it gave through its host.
    cfg = write_config(args, tmp, "create.yaml",
                       "listeners:\n  - name: out\n    type: stdout\n"
                       "  - name: bad\n    plugin: %s/hosted.so\n"
                       "    path: %s/h.jsonl\n    fail: true\n"
                       % (args.test_plugins, tmp))
    r = run_agent(args, "--check", cfg)
    check(r.returncode == 0, "create() is not --check's: %s" % r.stderr)
    r = run_agent(args, "-c", cfg)
    check(r.returncode == 1, "exit %d" % r.returncode)
    check("ttlog-agent: cannot start: listener bad (%s:6): create failed: "
          "refused: fail is set\n" % cfg in r.stderr, r.stderr)

    # An input whose port is taken.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        cfg = write_config(args, tmp, "taken.yaml",
                           "inputs:\n  - name: first\n    type: syslog\n"
                           "    listen: tcp://127.0.0.1:%d\n"
                           "listeners:\n  - name: out\n    type: stdout\n"
                           % port)
        r = run_agent(args, "-c", cfg)
    check(r.returncode == 1, "exit %d" % r.returncode)
    check("ttlog-agent: cannot start: input first (%s:4): "
          "tcp://127.0.0.1:%d: Address already in use\n" % (cfg, port)
          in r.stderr, r.stderr)


def test_older_abi_plugins_still_load(args, tmp):
    # old12 is a 1.2 table with a trap where 1.3 has check(): reading it
    # would abort. old11 is a 1.1 table. Both check and start.
    a11, a12 = os.path.join(tmp, "old11.jsonl"), os.path.join(tmp, "old12")
    body = ("inputs:\n  - {name: t, type: syslog, "
            "listen: 'tcp://127.0.0.1:%d'}\n"
            "listeners:\n"
            "  - {name: l11, plugin: %s/old11.so, path: %s}\n"
            "  - {name: l12, plugin: %s/old12.so, path: %s,"
            " colour: octarine}\n"
            % (free_port(), args.test_plugins, a11, args.test_plugins, a12))
    cfg = write_config(args, tmp, "old.yaml", body)
    r = run_agent(args, "--check", cfg)
    check(r.returncode == 0 and "ok (1 inputs, 2 listeners)" in r.stdout,
          r.stdout + r.stderr)
    a = Agent(args, tmp, body, 1)
    try:
        check(a.stop() == 0, "exit status: %s" % a.stderr())
    finally:
        a.kill()
    with open(a12) as f:
        check(f.read() == "created\n", "old12 was not created")
    with open(a11) as f:
        check(f.readline() == "started base=1\n", "old11 did not start")


TESTS = [
    test_check_refuses_what_start_refuses,
    test_plugin_check_refuses_an_option_with_its_place,
    test_check_of_a_valid_configuration_creates_nothing,
    test_check_refuses_an_unknown_service_user,
    test_check_refuses_a_bad_http_listen,
    test_start_failures_name_listener_or_input,
    test_older_abi_plugins_still_load,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-check-")


if __name__ == "__main__":
    sys.exit(main())
