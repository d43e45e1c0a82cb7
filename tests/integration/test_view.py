"""Integration tests of ttlog-view: the real binary on snapshots made here
from docs/snapshot-format.md (python's cbor2 and the lz4 command, not
ttlog's writer) and on a binary log written by a real ttlog-agent's file
listener, next to its text and json files of the same events.

Usage: test_view.py --view PATH [--agent PATH --plugins DIR] [--only NAME]
Prints one line per test and ends with "N passed, N failed". Without
--agent the test that needs the agent is skipped (and says so).
"""

import argparse
import datetime
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, Failure, check, free_port, run_tests  # noqa: E402

import cbor2  # noqa: E402

DEADLINE = 20.0  # seconds for any one run of ttlog-view
LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
T0 = 1764102698123456789  # 2025-11-25T20:31:38.123456789Z


# ------------------------------------------------------------ snapshots


def lz4_frame(raw):
    """One LZ4 frame as the spec describes it (FLG 0x64, BD 0x40), made
    by the lz4 command: 64 KiB independent blocks, content checksum."""
    out = subprocess.run(["lz4", "-B4", "-c", "-q"], input=raw,
                         capture_output=True, check=True).stdout
    check(out[:4] == b"\x04\x22\x4d\x18" and out[4] == 0x64
          and out[5] == 0x40, "lz4 frame header %s" % out[:8].hex())
    return out


class Ev:
    """An event as the test wrote it."""

    def __init__(self, t, tid, level, msg, file, line, fields,
                 truncated=False):
        self.t, self.tid, self.level = t, tid, level
        self.msg, self.file, self.line = msg, file, line
        self.fields, self.truncated = fields, truncated


def snapshot_bytes(events, service="shop", table=(), trailer=True,
                   count=None, extra=None):
    """A snapshot file: strings in `table` are written as indexes, the
    others inline (both forms of a string reference)."""
    strings = list(table)

    def ref(s):
        return strings.index(s) if s in strings else s

    head = {"format": "ttlog-snapshot", "v": 1, "service": service,
            "host": "web1", "pid": 4242, "trigger": "crash",
            "reason": "SIGSEGV", "time_ns": T0 + 10**9,
            "strings": strings, "omitted": 3}
    head.update(extra or {})
    items = [head]
    for e in events:
        item = [e.t, e.tid, e.level, ref(e.msg), ref(e.file), e.line,
                1 if e.truncated else 0]
        for k, v in e.fields:
            item += [ref(k), v]
        items.append(item)
    if trailer:
        items.append({"end": len(events) if count is None else count})
    return lz4_frame(b"".join(cbor2.dumps(i) for i in items))


EVENTS = [
    Ev(T0, 4242, 2, "request done", "shop.c", 12,
       [("id", 42), ("path", "/a b"), ("ms", 4.2)]),
    Ev(T0 + 1000000, 4242, 1, "cache miss", "cache.c", 40,
       [("key", "user:7"), ("hit", False)]),
    Ev(T0 + 2000000, 4243, 3, "slow query", "db.c", 88,
       [("ms", 1500.5), ("rows", -1)]),
    Ev(T0 + 3000000, 4243, 4, "payment failed", "pay.c", 7,
       [("id", 43), ("reason", "card declined"), ("retry", True)],
       truncated=True),
    Ev(T0 + 4000000, 4242, 5, "about to crash", "shop.c", 99, []),
    Ev(T0 + 5000000, 4242, 0, "tick", "shop.c", 5,
       [("n", 18446744073709551615), ("msg", "a key named msg")]),
]
TABLE = ["request done", "shop.c", "id", "ms", "cache miss", "key"]


def iso(t, digits):
    d = datetime.datetime.fromtimestamp(t // 10**9, datetime.timezone.utc)
    frac = "%09d" % (t % 10**9)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + "." + frac[:digits] + "Z"


def text_value(v):
    """A value as the text encoding writes it (docs/file-format.md)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if v == "" or re.search(r'[\s="\\\x00-\x1f\x7f]', v):
        return json.dumps(v, ensure_ascii=False)
    return v


def text_line(e):
    out = "%s %s %s" % (iso(e.t, 6), LEVELS[e.level], e.msg)
    for k, v in e.fields:
        out += " %s=%s" % (k, text_value(v))
    return out + (" truncated=true" if e.truncated else "") + "\n"


def json_items(e, service):
    """The members a JSON line must have, in order."""
    reserved = ("time", "level", "msg", "tid", "file", "line", "truncated")
    items = [("time", iso(e.t, 9)), ("level", LEVELS[e.level])]
    # A snapshot's events have its service as their origin's.
    if service is not None:
        items.append(("service", service))
        reserved += ("service",)
    items.append(("msg", e.msg))
    if e.line != 0:
        items += [("tid", e.tid), ("file", e.file), ("line", e.line)]
    for k, v in e.fields:
        items.append(("_" + k if k.lstrip("_") in reserved else k, v))
    if e.truncated:
        items.append(("truncated", True))
    return items


def run(args, *argv, env=None, stdin=None, input=None):
    """Runs ttlog-view; returns (status, stdout bytes, stderr text)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    p = subprocess.run([args.view] + list(argv), input=input,
                       stdin=stdin if input is None else None,
                       capture_output=True, env=full_env, timeout=DEADLINE)
    check(p.returncode >= 0, "killed by signal %d: %s"
          % (-p.returncode, p.stderr))
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def write(tmp, name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


def shown(out):
    return out.decode("utf-8").splitlines(keepends=True)


# ---------------------------------------------------------------- tests


def test_text_output_and_header(args, tmp):
    path = write(tmp, "a.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    rc, out, err = run(args, path)
    check(rc == 0, "status %d: %s" % (rc, err))
    want = [text_line(e) for e in EVENTS]
    check(shown(out) == want, "text:\n%s\nwanted:\n%s"
          % (out.decode(), "".join(want)))
    head = ("# %s: shop pid 4242 on web1: crash (SIGSEGV) at %s, "
            "3 events omitted\n" % (path, iso(T0 + 10**9, 6)))
    check(err == head, "stderr %r, wanted %r" % (err, head))
    rc, out2, err = run(args, "-q", path)
    check(rc == 0 and out2 == out and err == "", "--quiet: %r" % err)


def test_json_parses_back_to_the_events(args, tmp):
    path = write(tmp, "a.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    rc, out, err = run(args, "--json", path)
    check(rc == 0, "status %d: %s" % (rc, err))
    lines = shown(out)
    check(len(lines) == len(EVENTS), "%d lines" % len(lines))
    for line, e in zip(lines, EVENTS):
        got = list(json.loads(line).items())
        check(got == json_items(e, "shop"), "%s\nwanted %s"
              % (got, json_items(e, "shop")))


def filtered(args, tmp, pred, *opts):
    path = write(tmp, "f.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    rc, out, err = run(args, *opts, path)
    check(rc == 0, "%s: status %d: %s" % (opts, rc, err))
    want = [text_line(e) for e in EVENTS if pred(e)]
    check(shown(out) == want, "%s:\n%s\nwanted:\n%s"
          % (opts, out.decode(), "".join(want)))
    check(len(want) < len(EVENTS) or "--service" in opts,
          "%s: a filter that keeps everything checks little" % (opts,))


def field(e, k):
    return [v for key, v in e.fields if key == k]


def test_each_filter(args, tmp):
    filtered(args, tmp, lambda e: e.level >= 3, "--level", "WARN")
    filtered(args, tmp, lambda e: e.level >= 1, "--level", "debug")
    # RFC 3339 with a fraction, and with an offset.
    filtered(args, tmp, lambda e: e.t >= T0 + 2000000,
             "--since", iso(T0 + 2000000, 6))
    filtered(args, tmp, lambda e: T0 + 1000000 <= e.t <= T0 + 3000000,
             "--since", "2025-11-25T21:31:38.124456789+01:00",
             "--until", "2025-11-25T15:31:38.126456789-05:00")
    filtered(args, tmp, lambda e: re.search("^(request|payment)", e.msg),
             "--grep", "^(request|payment)")
    filtered(args, tmp, lambda e: 42 in field(e, "id"), "--field", "id=42")
    filtered(args, tmp, lambda e: -1 in field(e, "rows"),
             "--field", "rows=-1")
    filtered(args, tmp, lambda e: True in field(e, "retry"),
             "--field", "retry=true")
    filtered(args, tmp, lambda e: False in field(e, "hit"),
             "--field", "hit=false")
    filtered(args, tmp, lambda e: 1500.5 in field(e, "ms"),
             "--field", "ms=1500.5")
    filtered(args, tmp, lambda e: "/a b" in field(e, "path"),
             "--field", "path=/a b")
    filtered(args, tmp, lambda e: 2**64 - 1 in field(e, "n"),
             "--field", "n=18446744073709551615")
    # Every --field must match, and with the other filters.
    filtered(args, tmp, lambda e: 43 in field(e, "id"),
             "--field", "id=43", "--field", "retry=true")
    filtered(args, tmp, lambda e: False,
             "--field", "id=43", "--field", "retry=false")
    filtered(args, tmp, lambda e: e.level >= 4 and "id" in dict(e.fields),
             "--level", "error", "--grep", "fail|crash", "--field", "id=43")
    filtered(args, tmp, lambda e: True, "--service", "shop")
    filtered(args, tmp, lambda e: False, "--service", "sho")


def test_relative_times(args, tmp):
    now = time.time_ns()
    evs = [Ev(now - ago * 10**9, 1, 2, "ago %d" % ago, "t.c", 1, [])
           for ago in (3 * 3600, 90 * 60, 20 * 60, 30)]
    path = write(tmp, "r.ttsnap", snapshot_bytes(evs))
    for opts, keep in ((("--since", "1h"), [2, 3]),
                       (("--since", "2h", "--until", "30m"), [1]),
                       (("--since", "1d"), [0, 1, 2, 3]),
                       (("--until", "10800s"), [0]),
                       (("--since", "45m", "--until", "1m"), [2])):
        rc, out, err = run(args, *opts, path)
        check(rc == 0, "%s: %s" % (opts, err))
        check(shown(out) == [text_line(evs[i]) for i in keep],
              "%s: %s" % (opts, out))


def read_pty(args, path, env):
    """Runs ttlog-view with its stdout on a terminal; returns what the
    terminal received."""
    master, slave = pty.openpty()
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env)
    p = subprocess.Popen([args.view, "-q", path], stdout=slave,
                         stderr=subprocess.DEVNULL, env=full_env)
    os.close(slave)
    data = b""
    end = time.monotonic() + DEADLINE
    try:
        while time.monotonic() < end:
            r, _, _ = select.select([master], [], [], 0.5)
            if not r:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed
                break
            if not chunk:
                break
            data += chunk
        check(p.wait(DEADLINE) == 0, "status %s" % p.returncode)
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
    return data


def test_colors(args, tmp):
    path = write(tmp, "c.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    info = b"\x1b[32mINFO\x1b[0m request done"
    rc, out, _ = run(args, "--color=always", path)
    check(rc == 0 and info in out, out)
    check(b"\x1b[1;31mFATAL\x1b[0m" in out and b"\x1b[90mTRACE" in out, out)
    check(out.count(b"\x1b[") == 2 * len(EVENTS), "one color per line")
    # Without the escapes, the lines are the plain text.
    check(re.sub(rb"\x1b\[[0-9;]*m", b"", out) == run(args, path)[1],
          "colors change nothing else")
    for opts in (("--color=never",), ("--color=auto",), ()):
        rc, out, _ = run(args, *opts, path)  # a pipe: auto is off
        check(rc == 0 and b"\x1b" not in out and out, "%s: %s" % (opts, out))
    rc, bare, _ = run(args, "--color", path)  # as ls and grep: always
    check(info in bare, "bare --color")
    # An explicit --color=always wins over NO_COLOR (no-color.org).
    rc, out, _ = run(args, "--color=always", path, env={"NO_COLOR": "1"})
    check(info in out, "always with NO_COLOR")
    rc, out, _ = run(args, "--json", "--color=always", path)
    check(b"\x1b" not in out, "no colors in JSON")
    # auto: colors on a terminal, none with NO_COLOR set and not empty.
    check(info in read_pty(args, path, {}), "auto on a terminal")
    check(info in read_pty(args, path, {"NO_COLOR": ""}), "NO_COLOR empty")
    tty = read_pty(args, path, {"NO_COLOR": "1"})
    check(b"\x1b" not in tty and b"INFO request done" in tty,
          "NO_COLOR=1 on a terminal: %r" % tty)


def prefix_of(lines, full):
    return lines == full[:len(lines)]


def offsets(args, n):
    """0..n-1; under the sanitizers, where each run of ttlog-view costs
    about 0.2 s, the first and last 64 and every 5th in between (the
    fuzz targets read every cut and change in-process there)."""
    if not args.sanitized:
        return range(n)
    return sorted(set(range(min(n, 64))) | set(range(max(0, n - 64), n))
                  | set(range(0, n, 5)))


def test_snapshot_cut_at_every_offset(args, tmp):
    data = snapshot_bytes(EVENTS[:5], table=TABLE)
    check(150 < len(data) < 1000, "a small snapshot: %d bytes" % len(data))
    full = [text_line(e) for e in EVENTS[:5]]
    for cut in offsets(args, len(data) + 1):
        path = write(tmp, "cut.ttsnap", data[:cut])
        rc, out, err = run(args, "-q", path)
        lines = shown(out)
        check(prefix_of(lines, full), "cut %d: not a prefix: %s"
              % (cut, lines))
        if cut == len(data):
            check(rc == 0 and lines == full and err == "", "whole: %s" % err)
        elif cut == 0:
            # An empty file is an empty binary log (the file listener
            # makes them): nothing to show, nothing wrong.
            check(rc == 0 and not lines and err == "", "empty: %s" % err)
        else:
            check(rc == 3, "cut %d: status %d" % (cut, rc))
            want = "ttlog-view: %s: byte %d: truncated: " % (path, cut)
            check(err.startswith(want), "cut %d: %r" % (cut, err))


def test_corrupt_bytes(args, tmp):
    data = snapshot_bytes(EVENTS, table=TABLE)
    full = [text_line(e) for e in EVENTS]
    # A byte in the middle: reported, with the file and an offset.
    mid = bytearray(data)
    mid[len(data) // 2] ^= 0x20
    path = write(tmp, "mid.ttsnap", bytes(mid))
    rc, out, err = run(args, "-q", path)
    check(rc == 3, "status %d" % rc)
    check(re.match(r"ttlog-view: %s: byte \d+: corrupt" % re.escape(path),
                   err), err)
    # The content checksum, named where it is; the events came before.
    last = bytearray(data)
    last[-1] ^= 1
    path = write(tmp, "sum.ttsnap", bytes(last))
    rc, out, err = run(args, "-q", path)
    check(rc == 3 and shown(out) == full, "checksum: %d %s" % (rc, out))
    check("byte %d: corrupt LZ4 frame: ERROR_contentChecksum_invalid"
          % (len(data) - 4) in err, err)
    # Any one byte changed anywhere: reported with the file and an
    # offset, and never a crash. A change in a compressed block can turn
    # a match into an equivalent one (the content and its checksum stay
    # the same): such a file is read whole, with the very same events.
    same = 0
    tried = 0
    for i in offsets(args, len(data)):
        tried += 1
        bad = bytearray(data)
        bad[i] ^= 0x01
        path = write(tmp, "bad.ttsnap", bytes(bad))
        rc, out, err = run(args, "-q", path)
        if rc == 0:
            check(shown(out) == full and err == "",
                  "byte %d changed: read as whole, but differs" % i)
            same += 1
            continue
        check(rc in (1, 3), "byte %d changed: status %d" % (i, rc))
        check(err.startswith("ttlog-view: %s: byte " % path),
              "byte %d changed: %r" % (i, err))
    check(same < tried // 10, "%d changes went unseen" % same)


def test_other_files_are_still_read(args, tmp):
    good = write(tmp, "good.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    data = snapshot_bytes(EVENTS, table=TABLE)
    bad = write(tmp, "bad.ttsnap", data[:len(data) - 20])
    full = [text_line(e) for e in EVENTS]
    rc, out, err = run(args, "-q", bad, good)
    lines = shown(out)
    check(rc == 3, "status %d" % rc)
    check(lines[len(lines) - len(full):] == full, "second file: %s" % lines)
    check(prefix_of(lines[:len(lines) - len(full)], full), "first file")
    check(err.startswith("ttlog-view: %s: byte %d: truncated"
                         % (bad, len(data) - 20)), err)
    # A file that cannot be opened: 1, unless another one is damaged.
    missing = os.path.join(tmp, "missing.ttsnap")
    rc, out, err = run(args, "-q", missing, good)
    check(rc == 1 and shown(out) == full, "missing: %d" % rc)
    check("ttlog-view: %s: cannot open: No such file" % missing in err, err)
    rc, out, err = run(args, "-q", missing, bad, good)
    check(rc == 3, "missing and damaged: %d" % rc)
    # Not a ttlog file at all.
    text = write(tmp, "notes.txt", b"hello\n")
    rc, out, err = run(args, text)
    check(rc == 1 and out == b"", "text file: %d" % rc)
    check("not a ttlog snapshot or binary log" in err, err)
    # Of another version.
    newer = write(tmp, "v2.ttsnap", snapshot_bytes(EVENTS, extra={"v": 2}))
    rc, out, err = run(args, newer)
    check(rc == 1 and out == b"", "version 2: %d" % rc)
    check("snapshot format version 2, this build reads version 1" in err,
          err)


def test_stdin(args, tmp):
    data = snapshot_bytes(EVENTS, table=TABLE)
    full = [text_line(e) for e in EVENTS]
    for argv in ((), ("-",)):
        rc, out, err = run(args, *argv, input=data)
        check(rc == 0 and shown(out) == full, "%s: %d %s" % (argv, rc, err))
        check(err.startswith("# (stdin): shop pid 4242"), err)
    rc, out, err = run(args, "-", input=data[:100])
    check(rc == 3 and "ttlog-view: (stdin): byte 100: truncated" in err, err)


def test_usage_errors(args, tmp):
    path = write(tmp, "u.ttsnap", snapshot_bytes(EVENTS, table=TABLE))
    for argv, needle in ((["--bogus"], "--bogus: unknown option"),
                         (["--level", "loud"], "--level: unknown level"),
                         ([path, "--level"], "--level: needs a value"),
                         (["--grep", "a("], "--grep: bad regular expression"),
                         (["--since", "yesterday"], "--since: \"yesterday\""),
                         (["--until", "2025-11-25T20:31:38"], "--until: "),
                         (["--field", "novalue"], "--field: \"novalue\""),
                         (["--color=rainbow"], "--color: WHEN is")):
        rc, out, err = run(args, *(argv if path in argv else argv + [path]))
        check(rc == 2 and out == b"", "%s: status %d" % (argv, rc))
        check(err.startswith("ttlog-view: " + needle), "%s: %r"
              % (argv, err))
    rc, out, err = run(args, "--help")
    check(rc == 0 and out.startswith(b"usage: ttlog-view"), out)
    rc, out, err = run(args, "--version")
    check(rc == 0 and re.match(rb"ttlog-view \d+\.\d+\.\d+ ", out), out)


def batch_frame(v, seq, sites, events):
    """One batch of cbor-batch.md in an LZ4 frame, as in a binary log."""
    return lz4_frame(cbor2.dumps({"v": v, "seq": seq, "callsites": sites,
                                  "events": events}))


def read_line(p, end):
    """The next line of p's stdout, waiting until the deadline."""
    line = b""
    while not line.endswith(b"\n"):
        r, _, _ = select.select([p.stdout], [], [], max(0, end -
                                                        time.monotonic()))
        check(r, "no line within %ss (got %r)" % (DEADLINE, line))
        c = os.read(p.stdout.fileno(), 1)
        check(c, "stdout closed after %r" % line)
        line += c
    return line.decode()


def test_streams_a_growing_pipe(args, tmp):
    site = ["request done", "app.c", 12, 2, ["id"]]
    own = ["", "syslog", 0, 3, ["host"]]
    frames = [batch_frame(1, 1, [site], [[T0, 7, 0, 0, 1]]),
              batch_frame(2, 2, [own], [[T0 + 1, 1, 0, 2, "disk full",
                                         "db1"]]),
              batch_frame(1, 3, [site], [[T0 + 2, 7, 0, 0, 3]])]
    want = [text_line(Ev(T0, 7, 2, "request done", "app.c", 12,
                         [("id", 1)])),
            text_line(Ev(T0 + 1, 1, 3, "disk full", "syslog", 0,
                         [("host", "db1")])),
            text_line(Ev(T0 + 2, 7, 2, "request done", "app.c", 12,
                         [("id", 3)]))]
    p = subprocess.Popen([args.view], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE)
    try:
        end = time.monotonic() + DEADLINE
        # Each batch is shown while the next has not been written yet.
        for frame, line in zip(frames, want):
            p.stdin.write(frame)
            p.stdin.flush()
            got = read_line(p, end)
            check(got == line, "%r, wanted %r" % (got, line))
        p.stdin.close()
        check(p.stdout.read() == b"" and p.wait(DEADLINE) == 0, "the end")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def read_text(path):
    with open(path, "rb") as f:
        return f.read()


def test_binary_log_of_a_real_agent(args, tmp):
    if not args.agent:
        print("     skipped: no --agent")
        return
    port = free_port()
    paths = {fmt: os.path.join(tmp, "app." + fmt)
             for fmt in ("binary", "text", "json")}
    listeners = "".join(
        "  - name: %s\n    type: file\n    format: %s\n    fsync: never\n"
        "    path: %s\n" % (fmt, fmt, p) for fmt, p in paths.items())
    # service.level filters the inputs' events too: debug ones are sent.
    a = Agent(args, tmp, "  level: debug\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s" % (port, listeners), 1)
    n = 3000
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            lines = []
            for i in range(n):
                lines.append(json.dumps(
                    {"msg": "event %d" % i,
                     "level": ["debug", "info", "warn", "error"][i % 4],
                     "i": i, "neg": -i, "ok": i % 2 == 0, "ratio": i / 8,
                     "who": "a b" if i % 3 else "x"}).encode() + b"\n")
            s.sendall(b"".join(lines))
        end = time.monotonic() + DEADLINE
        while read_text(paths["json"]).count(b'"msg":"event ') < n:
            check(time.monotonic() < end, "the agent wrote too little")
            time.sleep(0.02)
        check(a.stop() == 0, "agent exit status")
    finally:
        a.kill()
    binary, text, jsonl = (read_text(paths[f])
                           for f in ("binary", "text", "json"))
    check(binary[:4] == b"\x04\x22\x4d\x18", "binary: %r" % binary[:8])
    check(text.count(b"\n") >= n, "text lines")
    # Byte for byte what the file listener's other formats wrote, except
    # that ttlog-view names the sender (service@host) of every event that
    # has one: a binary log does not record which origin was the writer's
    # own, which the text listener leaves unnamed.
    rc, out, err = run(args, paths["binary"])
    check(rc == 0 and err == "", "status %d: %s" % (rc, err))
    text_want = []
    for t, j in zip(text.splitlines(), jsonl.splitlines()):
        o = json.loads(j)
        tail = b""
        if o.get("host") or o.get("service"):
            tail = (" (%s@%s)" % (o.get("service") or "-",
                                  o.get("host") or "-")).encode()
        text_want.append(t if t.endswith(tail) else t + tail)
    check(len(text_want) >= n and any(w != t for w, t in
                                 zip(text_want, text.splitlines())),
          "the agent's events have no host")
    got = out.splitlines()
    bad = [(g, w) for g, w in zip(got, text_want) if g != w]
    check(len(got) == len(text_want) and not bad,
          "text differs from the text listener's file: %d lines, %d "
          "wanted; first difference %r" % (len(got), len(text_want),
                                           bad[:1]))
    rc, out, err = run(args, "--json", paths["binary"])
    check(rc == 0 and out == jsonl, "json differs from the json file")
    # A filter on it, checked against the json file.
    rc, out, err = run(args, "--json", "--level", "warn", "--field",
                       "ok=true", paths["binary"])
    want = [ln for ln in jsonl.splitlines(keepends=True)
            if LEVELS.index(json.loads(ln)["level"]) >= 3
            and json.loads(ln).get("ok") is True]
    check(rc == 0 and len(want) > 0 and shown(out) == [
        w.decode() for w in want], "filtered: %d lines" % len(shown(out)))
    # --service and --host: the events' origin (batch version 3). The
    # agent's own events are service ttlog on its host; the JSON lines
    # named neither, so they have none.
    own = [ln for ln in jsonl.splitlines(keepends=True)
           if json.loads(ln).get("service") == "ttlog"]
    sent = [ln for ln in jsonl.splitlines(keepends=True)
            if "service" not in json.loads(ln)]
    check(len(own) > 0 and len(sent) == n and len(own) + n ==
          len(jsonl.splitlines()), "own %d, sent %d" % (len(own), len(sent)))
    rc, out, err = run(args, "--json", "--service", "ttlog", "--service",
                       "nope", paths["binary"])
    check(rc == 0 and out == b"".join(own), "--service ttlog on a binary log")
    rc, out, err = run(args, "--json", "--service", "", paths["binary"])
    check(rc == 0 and out == b"".join(sent), "--service '' on a binary log")
    rc, out, err = run(args, "--service", "nope", paths["binary"])
    check(rc == 0 and out == b"", "--service nope on a binary log")
    host = json.loads(own[0])["host"]
    rc, out, err = run(args, "--json", "--host", host, "--service", "ttlog",
                       paths["binary"])
    check(rc == 0 and out == b"".join(own),
          "--host %s on a binary log" % host)
    rc, out, err = run(args, "--host", host + "x", "--service", "ttlog",
                       paths["binary"])
    check(rc == 0 and out == b"", "--host on a binary log")
    # A torn last frame (a run that stopped mid-write): the frames
    # before it are shown, then the cut is reported.
    torn = write(tmp, "torn.log", binary[:len(binary) - 7])
    rc, out, err = run(args, torn)
    check(rc == 3 and "byte %d: truncated" % (len(binary) - 7) in err, err)
    check(prefix_of(shown(out), [w.decode() + "\n" for w in text_want])
          and len(out) > 0, "torn: not a prefix")


TESTS = [
    test_text_output_and_header,
    test_json_parses_back_to_the_events,
    test_each_filter,
    test_relative_times,
    test_colors,
    test_snapshot_cut_at_every_offset,
    test_corrupt_bytes,
    test_other_files_are_still_read,
    test_stdin,
    test_streams_a_growing_pipe,
    test_usage_errors,
    test_binary_log_of_a_real_agent,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--view", required=True)
    p.add_argument("--agent")
    p.add_argument("--plugins")
    p.add_argument("--only")
    p.add_argument("--sanitized", action="store_true",
                   help="a sanitizer build: fewer offsets (offsets())")
    return run_tests(TESTS, p.parse_args(), "ttlog-view-it-")


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
