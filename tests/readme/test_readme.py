#!/usr/bin/env python3
"""Every command the README shows is run by a test.

Reads each ```sh block of README.md, one command per line (a line ending
in a backslash continues; comments are dropped), and for each command
looks up how it is checked:

* RUN: this script runs it, verbatim, in a scratch directory prepared for
  it, and checks what it does;
* COVERED: another test script runs it; this script checks that the
  command stands in that script, verbatim.

A command in the README that is in neither table fails the test: whoever
adds one to the README says here how it is tested.

  test_readme.py --top REPO --build BUILD_DIR [--only TEXT]
"""
import argparse
import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE = 60.0


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def readme_commands(path):
    """[(line number, command)] of the ```sh blocks."""
    out, block, cont, start = [], False, "", 0
    with open(path) as f:
        for no, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if s.startswith("```"):
                block = s.strip() in ("```sh", "```bash")
                continue
            if not block:
                continue
            if not cont:
                start = no
            if s.endswith("\\"):
                cont += s[:-1] + " "
                continue
            cmd = (cont + s).strip()
            cont = ""
            # A comment after two spaces ends the command.
            cmd = re.split(r"\s{2,}#", cmd)[0].strip()
            if cmd and not cmd.startswith("#"):
                out.append((start, cmd))
    return out


# --------------------------------------------------------------------------
# Commands this script runs
# --------------------------------------------------------------------------

def wait_for(pred, what, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    raise Failure("timed out waiting for %s" % what)


class Ctx:
    def __init__(self, top, build, tmp):
        self.top, self.build, self.tmp = top, build, tmp
        self.done = set()
        self.env = dict(os.environ)
        self.env["PATH"] = os.pathsep.join([
            os.path.join(build, "agent"), os.path.join(build, "tools", "view"),
            self.env.get("PATH", "")])
        self.env["TTLOG_PLUGIN_DIR"] = os.path.join(build, "plugins")


def run_quick_start(ctx, cmd, hello):
    """`packaging/dev run` starts the agent on its embedded configuration;
    the README's python3 line sends it a JSON line, which it prints; Ctrl-C
    (SIGINT) drains and stops it with status 0."""
    out = open(os.path.join(ctx.tmp, "run.out"), "wb")
    # As a user types it, without a shell of ours in front (Ctrl-C goes
    # to the agent, which packaging/dev execs).
    p = subprocess.Popen(shlex.split(cmd), cwd=ctx.top, env=ctx.env,
                         stdout=out, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL, start_new_session=True)

    def text():
        with open(os.path.join(ctx.tmp, "run.out"), "rb") as f:
            return f.read().decode(errors="replace")
    try:
        # The first run may build: allow for it.
        wait_for(lambda: "INFO agent started" in text() or p.poll() is not None,
                 "the agent to start", 900)
        check(p.poll() is None, "packaging/dev run exited: %s" % text()[-2000:])
        for want in ("input jsonl (jsonl) on tcp://127.0.0.1:5170",
                     "input native (ttlog) on tcp://127.0.0.1:5171"):
            check(want in text(), "%r not printed: %s" % (want, text()[-2000:]))
        r = subprocess.run(hello, shell=True, executable="/bin/bash",
                           cwd=ctx.tmp, env=ctx.env, capture_output=True,
                           timeout=DEADLINE)
        check(r.returncode == 0, "%s: %r" % (hello, r.stderr))
        wait_for(lambda: "INFO hello n=1" in text(), "INFO hello n=1")
        os.killpg(p.pid, signal.SIGINT)
        code = p.wait(DEADLINE)
        check(code == 0, "exit %d after Ctrl-C: %s" % (code, text()[-2000:]))
        check("agent stopping" in text(), "no drain message")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        out.close()


def prepare_view(ctx):
    """What the ttlog-view examples read: a crash snapshot of
    ttlog-crashgen in snapshots/, and app.bin, a binary log written by the
    agent's file listener."""
    if "view" in ctx.done:
        return
    d = os.path.join(ctx.tmp, "snapshots")
    r = subprocess.run([os.path.join(ctx.build, "tests", "ttlog-crashgen"),
                        d, "segv", "100"], capture_output=True,
                       timeout=DEADLINE)
    check(r.returncode == -signal.SIGSEGV, "crashgen: %d" % r.returncode)
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    p_no = port.getsockname()[1]
    port.close()
    cfg = os.path.join(ctx.tmp, "bin.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  flush_interval: 5ms\ninputs:\n"
                "  - {name: js, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
                "listeners:\n  - {name: bin, type: file, path: %s, "
                "format: binary}\n" % (p_no, os.path.join(ctx.tmp, "app.bin")))
    a = subprocess.Popen(["ttlog-agent", "-c", cfg], env=ctx.env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def up():
            try:
                return socket.create_connection(("127.0.0.1", p_no))
            except OSError:
                return None
        s = wait_for(up, "the agent's jsonl input")
        with s:
            s.sendall(b'{"msg":"all good","level":"info"}\n'
                      b'{"msg":"upstream timeout","level":"warn","ms":900}\n'
                      b'{"msg":"connection refused","level":"error"}\n'
                      b'{"msg":"timeout but only debug","level":"debug"}\n')
    finally:
        a.send_signal(signal.SIGTERM)
        check(a.wait(DEADLINE) == 0, "agent exit status")
    ctx.done.add("view")


def run_view(ctx, cmd, want_lines, want_text):
    prepare_view(ctx)
    r = subprocess.run(cmd, shell=True, cwd=ctx.tmp, env=ctx.env,
                       capture_output=True, timeout=DEADLINE)
    out = r.stdout.decode(errors="replace")
    check(r.returncode == 0, "%s: exit %d: %r" % (cmd, r.returncode,
                                                 r.stderr))
    lines = [x for x in out.splitlines() if x.strip()]
    check(want_lines is None or len(lines) == want_lines,
          "%s: %d lines, want %s:\n%s" % (cmd, len(lines), want_lines, out))
    for w in want_text:
        check(w in out, "%s: %r not in:\n%s" % (cmd, w, out))


HELLO = "printf '{\"msg\":\"hello\",\"n\":1}\\n' >/dev/tcp/127.0.0.1/5170"

RUN = {
    "packaging/dev run": "quick_start",
    # bash's /dev/tcp: the quick start needs nothing `run` did not install.
    HELLO: "quick_start",
    # 101 events: step 0..99 and "about to crash".
    "ttlog-view snapshots/*-crash.ttsnap":
        lambda ctx, c: run_view(ctx, c, 101, ["INFO step seq=99",
                                              "ERROR about to crash"]),
    "ttlog-view --level warn --since 2h --grep 'timeout|refused' app.bin":
        lambda ctx, c: run_view(ctx, c, 2, ["WARN upstream timeout ms=900",
                                            "ERROR connection refused"]),
    "ttlog-view --json --field seq=42 --service crashgen "
    "snapshots/*.ttsnap | python3 -m json.tool":
        # One event, pretty-printed: json.tool fails on more than one.
        lambda ctx, c: run_view(ctx, c, None, ['"seq": 42',
                                               '"msg": "step"',
                                               '"service": "crashgen"']),
}

# --------------------------------------------------------------------------
# Commands another test runs
# --------------------------------------------------------------------------

# For each: the script that runs it, and the text in that script that does
# (the command itself, or the form it takes there).
DEB = "tests/package/test_deb.sh"
CT = "tests/container/test_container.sh"
COVERED = {
    "packaging/dev test": (".ci/run", "packaging/dev test"),
    # The Debian package: verbatim, in a fresh Debian root.
    "cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release "
    "-DCMAKE_INSTALL_PREFIX=/usr -DTTLOG_TESTS=OFF": (DEB, None),
    "cmake --build build-deb --parallel 2": (DEB, None),
    "cpack -G DEB --config build-deb/CPackConfig.cmake -B build-deb":
        (DEB, None),
    "apt-get install ./build-deb/ttlog_*.deb": (DEB, None),
    "systemctl enable --now ttlog-agent": (DEB, None),
    "systemctl reload ttlog-agent": (DEB, None),
    "journalctl -u ttlog-agent": (DEB, None),
    "ttlog-agent -c /etc/ttlog/ttlog.yaml --health": (DEB, None),
    "adduser myapp ttlog": (DEB, None),
    "cmake -S examples/plugin -B build-plugin": (DEB, None),
    "cmake --build build-plugin": (DEB, None),
    "cmake --install build-plugin": (DEB, None),
    "cc -shared -fPIC $(pkg-config --cflags ttlog) "
    "examples/plugin/levelcount.c -o levelcount.so": (DEB, None),
    # The container: podman is `P` there (packaging/podman.sh's flags), the
    # image and container names are per run, host ports are free ports,
    # and the base is the debootstrap one (BASE build argument).
    "podman build --format docker -f packaging/Containerfile -t "
    "ttlog-agent .": (CT, '-f packaging/Containerfile -t "$image" .'),
    "podman run -d --name ttlog-agent -p 127.0.0.1:5170:5170 "
    "-p 127.0.0.1:9100:9100 ttlog-agent":
        (CT, 'start "$net_mode" "$name" "$jp:5170" "$hp:9100" -- '
             '"${env[@]}"'),
    "printf '{\"msg\":\"hello\",\"n\":1}\\n' >/dev/tcp/127.0.0.1/5170":
        (CT, "printf '{\"msg\":\"hello\",\"n\":1}\\n' "
             '>"/dev/tcp/127.0.0.1/$jp"'),
    "podman logs ttlog-agent":
        (CT, 'logs_have "$name" \' INFO hello n=1$\''),
    "podman healthcheck run ttlog-agent && echo healthy":
        (CT, 'P healthcheck run "$name"'),
    "podman stop ttlog-agent": (CT, 'P stop "$name" >/dev/null'),
    "podman run -d --name ttlog-agent -p 127.0.0.1:6170:6170 "
    "-p 127.0.0.1:9100:9100 -e TTLOG_JSONL_PORT=6170 "
    "-e TTLOG_STDOUT_FORMAT=json ttlog-agent":
        (CT, "-e TTLOG_JSONL_PORT=6170 -e TTLOG_HTTP_LISTEN=0.0.0.0:9200"),
    "podman run -d --name ttlog-agent -p 127.0.0.1:5170:5170 "
    "-p 127.0.0.1:9100:9100 -v \"$PWD/my.yaml:/etc/ttlog/ttlog.yaml:ro\" "
    "-v ttlog-state:/var/lib/ttlog ttlog-agent":
        (CT, '-v "$tmp/my.yaml:/etc/ttlog/ttlog.yaml:ro" '
             '-v "$vol:/var/lib/ttlog"'),
}


def covered(top, cmd, how):
    script, form = how
    with open(os.path.join(top, script)) as f:
        text = f.read()
    want = form if form is not None else cmd
    check(want in text, "README command %r: %r is not in %s, which should "
          "run it" % (cmd, want, script))


def check_usage(top, build):
    """The first ``` block after the heading "## ttlog-agent" is exactly
    what `ttlog-agent --help` prints."""
    with open(os.path.join(top, "README.md")) as f:
        text = f.read()
    _, found, rest = text.partition("\n## ttlog-agent\n")
    section = rest.split("\n## ", 1)[0]
    parts = section.split("```\n")
    check(found and len(parts) >= 3,
          "README.md has no ``` block under \"## ttlog-agent\"")
    shown = parts[1]
    r = subprocess.run([os.path.join(build, "agent", "ttlog-agent"),
                        "--help"], capture_output=True, timeout=DEADLINE)
    check(r.returncode == 0, "ttlog-agent --help: exit %d" % r.returncode)
    want = r.stdout.decode()
    check(shown == want,
          "README.md's usage block differs from ttlog-agent --help:\n"
          "README:\n%s\n--help:\n%s" % (shown, want))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--top", required=True)
    p.add_argument("--build", required=True)
    p.add_argument("--only")
    args = p.parse_args()
    cmds = readme_commands(os.path.join(args.top, "README.md"))
    check(cmds, "no commands found in README.md")
    tmp = tempfile.mkdtemp(prefix="ttlog-readme-")
    ctx = Ctx(args.top, args.build, tmp)
    failed = 0
    quick = {}
    for no, cmd in cmds:
        if args.only and args.only not in cmd:
            continue
        try:
            # A command may stand in two places of the README (the quick
            # start's hello is also the container's): each way applies.
            how = []
            if cmd in COVERED:
                covered(args.top, cmd, COVERED[cmd])
                how.append("in " + COVERED[cmd][0])
            if RUN.get(cmd) == "quick_start":
                quick.setdefault(cmd, no)
                how.append("with the quick start")
            elif cmd in RUN:
                RUN[cmd](ctx, cmd)
                how.append("run")
            if not how:
                raise Failure("README.md:%d: %r is run by no test; add it to "
                              "tests/readme/test_readme.py" % (no, cmd))
            print("ok   README.md:%d %s (%s)" % (no, cmd[:70],
                                              ", ".join(how)))
        except Failure as e:
            failed += 1
            print("FAIL README.md:%d %s" % (no, e))
        sys.stdout.flush()
    if not args.only:
        try:
            check_usage(args.top, args.build)
            print("ok   README.md's ttlog-agent usage is ttlog-agent --help")
        except Failure as e:
            failed += 1
            print("FAIL usage: %s" % e)
    if quick:
        names = [c for c in RUN if RUN[c] == "quick_start"]
        try:
            check(sorted(quick) == sorted(names),
                  "the quick start needs both of %r" % names)
            run_quick_start(ctx, names[0], names[1])
            print("ok   quick start: %s" % ", ".join(
                "README.md:%d" % quick[c] for c in names))
        except Failure as e:
            failed += 1
            print("FAIL quick start: %s" % e)
    if failed == 0:
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print("kept %s" % tmp)
    print("%d failed" % failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
