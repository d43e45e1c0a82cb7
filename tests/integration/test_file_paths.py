#!/usr/bin/env python3
"""The file listener with a templated path, through the real ttlog-agent:
JSON lines from three apps land in one file each, the path written with
$${fields.app} in ttlog.yaml (the agent's own events, without the field,
go to "_"); an app named ../../x stays in the directory; a mistake in
the template is refused at load with its place."""
import argparse
import os
import socket
import subprocess
import sys
import time

from test_agent import (Agent, check, free_port, run_tests, wait_lines)


def test_one_file_per_app_and_no_escape(args, tmp):
    js = free_port()
    logs = os.path.join(tmp, "logs")
    a = Agent(args, tmp,
              "inputs:\n"
              "  - {name: js, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n"
              "  - name: out\n    type: file\n    format: json\n"
              "    fsync: never\n"
              "    path: %s/$${fields.app}/%%Y.jsonl\n" % (js, logs), 1)
    try:
        services = ["a", "b", "a", "../../x", "b", "a"]
        with socket.create_connection(("127.0.0.1", js)) as s:
            for i, svc in enumerate(services):
                s.sendall(b'{"msg":"m%d","app":"%s"}\n'
                          % (i, svc.encode()))
        year = None
        for svc, want in (("a", ["m0", "m2", "m5"]), ("b", ["m1", "m4"]),
                          ("_._.._x", ["m3"])):
            d = os.path.join(logs, svc)
            year = wait_for_dir(d)[0]
            got = wait_lines(os.path.join(d, year), len(want))
            check([e["msg"] for e in got] == want,
                  "%s: %r" % (svc, [e["msg"] for e in got]))
        check(sorted(os.listdir(tmp)) ==
              sorted(["agent.stderr", "logs", "ttlog.yaml"]),
              "only logs/ was made: %r" % os.listdir(tmp))
        check(year.endswith(".jsonl") and len(year) == 10, year)
    finally:
        a.stop()


def wait_for_dir(d):
    end = time.monotonic() + 10
    while time.monotonic() < end:
        if os.path.isdir(d) and os.listdir(d):
            return os.listdir(d)
        time.sleep(0.02)
    raise AssertionError("no file in %s" % d)


def test_template_error_is_refused_with_its_place(args, tmp):
    cfg = os.path.join(tmp, "ttlog.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\n"
                "listeners:\n"
                "  - {name: out, type: file, path: '%s/$${service/x.log'}\n"
                % (args.plugins, tmp))
    r = subprocess.run([args.agent, "-c", cfg, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=20)
    out = r.stdout.decode("utf-8", "replace")
    check(r.returncode != 0, "accepted: %s" % out)
    check("ttlog.yaml:4:" in out and "path: column" in out
          and "unterminated ${" in out, out)


TESTS = [
    test_one_file_per_app_and_no_escape,
    test_template_error_is_refused_with_its_place,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins", "--test-plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-paths-")


if __name__ == "__main__":
    sys.exit(main())
