#!/usr/bin/env python3
"""The flight recorder with real processes: an application that crashes
(SIGSEGV, abort(), a stack overflow, SIGFPE; and one whose own SIGSEGV
handler must still run after ttlog's) leaves a snapshot whose last events
are the last it logged, read with the lz4 command and python's cbor2 and
with ttlog-view; ttlog-agent writes one on SIGUSR1.

  test_snapshot.py --crashgen PATH --agent PATH --plugins DIR [--view PATH]
"""
import argparse
import glob
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, check, free_port, metrics,  # noqa: E402
                        run_tests)

DEADLINE = 30.0
N = 2000  # events logged before the crash

# A sanitizer build would report a fault itself and exit with its own
# status: leave faults to ttlog's handler and the default action.
CHILD_ENV = dict(os.environ,
                 ASAN_OPTIONS="handle_segv=0:handle_abort=0:handle_sigbus=0:"
                              "handle_sigfpe=0:handle_sigill=0:"
                              "detect_leaks=0:use_sigaltstack=0",
                 UBSAN_OPTIONS="handle_segv=0:handle_sigfpe=0:"
                               "handle_sigill=0:handle_sigbus=0")


def no_core():
    # The child still dies by its signal; only the core file is skipped.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def decode(path):
    """(header, events) of a snapshot, with the lz4 command and cbor2 only;
    each event as a dict with strings resolved."""
    import cbor2
    raw = subprocess.run(["lz4", "-dc", path], check=True,
                         capture_output=True).stdout
    f = io.BytesIO(raw)
    dec = cbor2.CBORDecoder(f)
    head = dec.decode()
    check(head["format"] == "ttlog-snapshot" and head["v"] == 1,
          "%s: header %r" % (path, head))
    strings = head["strings"]

    def ref(r):
        return strings[r] if isinstance(r, int) else r
    events = []
    while True:
        item = dec.decode()
        if isinstance(item, dict):
            check(item.get("end") == len(events),
                  "%s: trailer %r after %d events" % (path, item,
                                                       len(events)))
            check(f.tell() == len(raw), "%s: bytes after the trailer" % path)
            return head, events
        t, tid, level, msg, file, line, flags, *kv = item
        events.append({"time": t, "tid": tid, "level": level,
                       "msg": ref(msg), "file": ref(file), "line": line,
                       "fields": {ref(k): v for k, v in zip(kv[0::2],
                                                            kv[1::2])}})


def check_last_events(events, mode):
    """The events end with 'step' 0..N-1 then 'about to crash'."""
    check(len(events) == N + 1, "%d events, want %d" % (len(events), N + 1))
    seqs = [e["fields"].get("seq") for e in events[:-1]]
    check(seqs == list(range(N)), "the steps are not 0..%d in order: %r..."
          % (N - 1, seqs[:5]))
    last = events[-1]
    check(last["msg"] == "about to crash" and last["level"] == 4
          and last["fields"] == {"mode": mode},
          "last event %r" % last)
    times = [e["time"] for e in events]
    check(times == sorted(times), "events not in time order")


def view_json(args, path):
    """ttlog-view --json of a snapshot, as parsed objects."""
    r = subprocess.run([args.view, "--json", path], capture_output=True,
                       timeout=DEADLINE)
    check(r.returncode == 0, "ttlog-view %s: exit %d: %s"
          % (path, r.returncode, r.stderr.decode(errors="replace")))
    return [json.loads(line) for line in r.stdout.splitlines() if line]


def crash(args, tmp, mode, want_sig, want_exit=None):
    d = os.path.join(tmp, "snaps")
    r = subprocess.run([args.crashgen, d, mode, str(N)], env=CHILD_ENV,
                       preexec_fn=no_core, capture_output=True,
                       timeout=DEADLINE)
    err = r.stderr.decode(errors="replace")
    if want_exit is not None:
        check(r.returncode == want_exit,
              "exit %d, want %d: %s" % (r.returncode, want_exit, err))
    else:
        check(r.returncode == -want_sig,
              "%s: died with %d, want signal %d: %s"
              % (mode, r.returncode, want_sig, err))
    check("ttlog: crash snapshot " in err, "no report on stderr: %r" % err)
    files = glob.glob(os.path.join(d, "crashgen-*-crash.ttsnap"))
    check(len(files) == 1, "crash snapshots: %r" % os.listdir(d))
    check(not glob.glob(os.path.join(d, ".*.tmp")), "a temporary file left")
    head, events = decode(files[0])
    check(head["trigger"] == "crash" and head["service"] == "crashgen",
          "header %r" % head)
    check(head["reason"] == signal.Signals(want_sig).name,
          "reason %r for %s" % (head["reason"], mode))
    check_last_events(events, mode)
    if args.view:
        got = view_json(args, files[0])
        check([(o["msg"], o.get("seq")) for o in got] ==
              [(e["msg"], e["fields"].get("seq")) for e in events],
              "ttlog-view and cbor2 disagree on %s" % files[0])
    return files[0]


def test_sigsegv(args, tmp):
    crash(args, tmp, "segv", signal.SIGSEGV)


def test_abort(args, tmp):
    crash(args, tmp, "abort", signal.SIGABRT)


def test_stack_overflow(args, tmp):
    crash(args, tmp, "stack", signal.SIGSEGV)


def test_sigfpe(args, tmp):
    crash(args, tmp, "fpe", signal.SIGFPE)


def test_previous_handler_runs_after(args, tmp):
    crash(args, tmp, "chain", signal.SIGSEGV, want_exit=42)


def test_requested_snapshot(args, tmp):
    d = os.path.join(tmp, "snaps")
    r = subprocess.run([args.crashgen, d, "request", str(N)],
                       capture_output=True, timeout=DEADLINE)
    check(r.returncode == 0, "exit %d: %r" % (r.returncode, r.stderr))
    files = glob.glob(os.path.join(d, "crashgen-*-request.ttsnap"))
    check(len(files) == 1, "snapshots: %r" % os.listdir(d))
    head, events = decode(files[0])
    check(head["trigger"] == "request" and head["reason"] == "asked",
          "header %r" % head)
    check_last_events(events, "request")


def test_agent_writes_a_snapshot_on_sigusr1(args, tmp):
    d = os.path.join(tmp, "snaps")
    port, http = free_port(), free_port()
    a = Agent(args, tmp,
              "  snapshot:\n    dir: %s\n"
              "  http:\n    listen: 127.0.0.1:%d\n"
              "inputs:\n"
              "  - {name: sl, type: syslog, listen: 'tcp://127.0.0.1:%d'}\n"
              "listeners:\n"
              "  - {name: out, type: file, path: %s, format: json}\n"
              % (d, http, port, os.path.join(tmp, "out.jsonl")), 1)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"".join(b"<14>1 - web1 shop 7 - - relayed %d\n" % i
                               for i in range(100)))
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            if metrics(http).get("ttlog_events_ingested_total", 0) >= 100:
                break
            time.sleep(0.01)
        a.proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + DEADLINE
        files = []
        while time.monotonic() < end and not files:
            files = glob.glob(os.path.join(d, "*-signal.ttsnap"))
            time.sleep(0.01)
        check(files, "no snapshot after SIGUSR1: %s" % a.stderr())
        head, events = decode(files[0])
        check(head["trigger"] == "signal" and head["reason"] == "SIGUSR1",
              "header %r" % head)
        relayed = [e for e in events if e["msg"].startswith("relayed ")]
        check([e["msg"] for e in relayed] ==
              ["relayed %d" % i for i in range(100)],
              "relayed events in the snapshot: %r"
              % [e["msg"] for e in relayed][:5])
        check(relayed[0]["fields"].get("host") == "web1",
              "fields %r" % relayed[0]["fields"])
        check(any(e["msg"] == "agent started" for e in events),
              "the agent's own log is not in the snapshot")
        m = metrics(http)
        check(m.get('ttlog_snapshots_total{result="written"}') == 1,
              "metrics: %r" % {k: v for k, v in m.items()
                               if "snapshot" in k})
    finally:
        code = a.stop()
    check(code == 0, "agent exit %d" % code)


TESTS = [test_sigsegv, test_abort, test_stack_overflow, test_sigfpe,
         test_previous_handler_runs_after, test_requested_snapshot,
         test_agent_writes_a_snapshot_on_sigusr1]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--crashgen", required=True)
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--view")
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-snap-")


if __name__ == "__main__":
    sys.exit(main())
