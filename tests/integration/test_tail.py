"""Integration tests of the tail input (agent/inputs/tail*.c, docs/tail.md)
with the real ttlog-agent and a file listener as the sink: start_at,
rename+create rotation while a writer writes, copytruncate, a file deleted
while read, a file whose inode is reused, a line over max_line, SIGKILL
and restart, a reload that keeps the position, a stalled listener (reading
stops, memory stays bounded) and a 10,000-line Java stack trace joined into
one event.

Usage: test_tail.py --agent PATH --plugins DIR --test-plugins DIR
                    [--only NAME]
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

from test_agent import (DEADLINE, Agent, Failure, check, free_port, metrics,
                        read_jsonl, run_tests)


def body(logs, out, extra="", http=None, state=None, inputs=None,
         listeners=None):
    """A config with one tail input on LOGS/*.log and a file listener."""
    svc = ""
    if http:
        svc += "  http: {listen: '127.0.0.1:%d'}\n" % http
    if state:
        svc += "  state_dir: %s\n" % state
    if inputs is None:
        inputs = ("  - name: app\n    type: tail\n"
                  "    paths: ['%s/*.log']\n"
                  "    start_at: beginning\n"
                  "    rotate_wait: 1s\n    poll_interval: 200ms\n%s"
                  % (logs, extra))
    if listeners is None:
        listeners = ("  - {name: out, type: file, format: json, "
                     "fsync: never, path: '%s'}\n" % out)
    return svc + "inputs:\n" + inputs + "listeners:\n" + listeners


def from_tail(e):
    # The agent's own events about the input name it too; lines have a
    # peer (the file).
    return e.get("input") in ("app", "other") and "peer" in e


def seqs(out, pred=from_tail, torn=None):
    got = []
    for e in read_jsonl(out, torn):
        if pred(e) and e.get("msg", "").startswith("seq "):
            got.append(int(e["msg"].split()[1]))
    return got


def wait_seqs(out, want, pred=from_tail, torn=False):
    """Waits until every number in want was delivered; returns them all.
    torn: a line torn by a SIGKILL is passed over (the caller counts)."""
    end = time.monotonic() + DEADLINE
    got = []
    while time.monotonic() < end:
        got = seqs(out, pred, [] if torn else None)
        if set(want) <= set(got):
            return got
        time.sleep(0.05)
    missing = sorted(set(want) - set(got))
    raise Failure("%d of %d lines missing within %ss, first %r"
                  % (len(missing), len(want), DEADLINE, missing[:10]))


def append(path, first, n, fd=None):
    data = b"".join(b"seq %d\n" % i for i in range(first, first + n))
    if fd is not None:
        os.write(fd, data)
        return
    with open(path, "ab") as f:
        f.write(data)


def wait_metric(http, name, pred, what):
    end = time.monotonic() + DEADLINE
    m = {}
    while time.monotonic() < end:
        m = metrics(http)
        if pred(m.get(name)):
            return m
        time.sleep(0.05)
    raise Failure("%s: %s is %r" % (what, name, m.get(name)))


def M(name, input_name="app"):
    return '%s{input="%s",type="tail"}' % (name, input_name)


def all_once(out, n):
    """Waits for lines 0..n-1, then a little more for duplicates, and
    checks each came exactly once."""
    wait_seqs(out, range(n))
    time.sleep(0.3)
    exactly_once(seqs(out), n)


def exactly_once(got, n):
    dup = len(got) - len(set(got))
    check(dup == 0, "%d duplicates" % dup)
    extra = sorted(set(got) - set(range(n)))
    missing = sorted(set(range(n)) - set(got))
    check(not extra and not missing, "lines missing %r or foreign %r"
          % (missing[:10], extra[:10]))


def places(tmp, with_state=False):
    """The sink, the logs directory, its app.log, and a state_dir (made
    when with_state, else None)."""
    out, logs = os.path.join(tmp, "out.jsonl"), os.path.join(tmp, "logs")
    os.makedirs(logs)
    state = None
    if with_state:
        state = os.path.join(tmp, "state")
        os.makedirs(state)
    return out, logs, os.path.join(logs, "app.log"), state


# ---------------------------------------------------------------- tests


def test_start_at_beginning_and_end(args, tmp):
    out = os.path.join(tmp, "out.jsonl")
    d1, d2 = os.path.join(tmp, "b"), os.path.join(tmp, "e")
    os.makedirs(d1)
    os.makedirs(d2)
    append(os.path.join(d1, "x.log"), 0, 10)
    append(os.path.join(d2, "x.log"), 100, 10)
    inputs = ("  - {name: app, type: tail, paths: '%s/*.log', "
              "start_at: beginning, poll_interval: 200ms}\n"
              "  - {name: other, type: tail, paths: '%s/*.log', "
              "poll_interval: 200ms}\n" % (d1, d2))
    a = Agent(args, tmp, body(None, out, inputs=inputs), 2)
    try:
        time.sleep(0.3)  # the first scan placed "other" at the end
        append(os.path.join(d1, "x.log"), 10, 5)
        append(os.path.join(d2, "x.log"), 110, 5)
        # A file that appears later is read whole, whatever start_at.
        append(os.path.join(d2, "y.log"), 200, 3)
        got = wait_seqs(out, list(range(15)) + list(range(110, 115)) +
                        [200, 201, 202])
        check(not [s for s in got if 100 <= s < 110],
              "start_at: end read what was there before")
        check(sorted(s for s in got if s < 100) == list(range(15)),
              "start_at: beginning: %r" % sorted(got))
        a.stop()
    finally:
        a.kill()


def test_files_that_came_while_down_are_read_whole(args, tmp):
    out, logs, _, state = places(tmp, True)
    inputs = ("  - {name: app, type: tail, paths: '%s/*.log', "
              "start_at: end, poll_interval: 200ms}\n" % logs)
    append(os.path.join(logs, "a.log"), 1000, 10)  # before: skipped
    a = Agent(args, tmp, body(None, out, state=state, inputs=inputs), 1)
    try:
        time.sleep(0.3)
        append(os.path.join(logs, "a.log"), 0, 10)
        wait_seqs(out, range(10))
        a.stop()
    finally:
        a.kill()
    # While the agent is down: more in a.log, and a new b.log, which
    # start_at: end must not skip (the input ran before: it is new).
    append(os.path.join(logs, "a.log"), 10, 10)
    append(os.path.join(logs, "b.log"), 20, 10)
    a = Agent(args, tmp, body(None, out, state=state, inputs=inputs), 1)
    try:
        all_once(out, 30)
        a.stop()
    finally:
        a.kill()


def test_rename_create_rotation_while_writing(args, tmp):
    # Generation 4 is created, written and rotated while the agent is
    # stopped (SIGSTOP): it never sees it at its name, and must find it
    # by the rename inotify reports.
    rotation(args, tmp, "", 0.01, 4)


def test_rename_create_rotation_with_polling_only(args, tmp):
    # Polling sees a file only if it lives at its name for a poll
    # interval: the writer rotates every ~500 ms, polls are 200 ms apart.
    rotation(args, tmp, "    watch: poll\n", 0.08, None)


def rotation(args, tmp, extra, pause, unseen):
    http = free_port()
    out, logs, path, _ = places(tmp)
    append(path, 0, 0)
    a = Agent(args, tmp, body(logs, out, extra, http=http), 1)
    n, per = 30000, 3000
    try:
        for r in range(n // per):
            # Written in pieces, rotated by rename then create (to a name
            # the pattern does not match): the agent must finish each
            # renamed file from its open descriptor.
            if r == unseen:
                a.proc.send_signal(signal.SIGSTOP)
            for k in range(0, per, 500):
                append(path, r * per + k, 500)
                time.sleep(pause)  # a writer, not a copy
            os.rename(path, os.path.join(logs, "app.log.%d" % r))
            append(path, 0, 0)
            if r == unseen:
                a.proc.send_signal(signal.SIGCONT)
        got = wait_seqs(out, range(n))
        time.sleep(0.3)
        exactly_once(seqs(out), n)
        wait_metric(http, M("ttlog_input_rotations_total"),
                    lambda v: v == n // per, "each rotation counted")
        a.stop()
    finally:
        a.kill()
    check(len(got) >= n, "all delivered")


def test_copytruncate_reads_again_from_the_start(args, tmp):
    http = free_port()
    out, logs, path, _ = places(tmp)
    append(path, 0, 1000)
    a = Agent(args, tmp, body(logs, out, http=http), 1)
    try:
        wait_seqs(out, range(1000))
        # copytruncate: copy away, truncate in place, the writer goes on.
        with open(path, "rb") as f, open(path + ".1", "wb") as g:
            g.write(f.read())
        os.truncate(path, 0)
        append(path, 1000, 200)
        wait_seqs(out, range(1200))
        exactly_once(seqs(out), 1200)
        wait_metric(http, M("ttlog_input_truncations_total"),
                    lambda v: v == 1, "the truncation counted")
        # Again while the agent is stopped, and the writer writes more
        # than it had read before it looks again: the size alone does not
        # show the truncation, the first bytes do.
        a.proc.send_signal(signal.SIGSTOP)
        os.truncate(path, 0)
        append(path, 1200, 2000)
        a.proc.send_signal(signal.SIGCONT)
        all_once(out, 3200)
        wait_metric(http, M("ttlog_input_truncations_total"),
                    lambda v: v == 2, "the second truncation counted")
        a.stop()
    finally:
        a.kill()


def test_deleted_while_read_is_read_to_its_end(args, tmp):
    http = free_port()
    out, logs, path, _ = places(tmp)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    a = Agent(args, tmp, body(logs, out, http=http), 1)
    try:
        append(path, 0, 500, fd)
        wait_seqs(out, range(500))
        # Gone from the directory; its writer still writes.
        os.unlink(path)
        append(path, 500, 500, fd)
        wait_seqs(out, range(1000))
        os.close(fd)
        m = wait_metric(http, M("ttlog_input_files_watched"),
                        lambda v: v == 0, "closed after rotate_wait")
        check(m[M("ttlog_input_rotations_total")] == 1, "counted")
        exactly_once(seqs(out), 1000)
        a.stop()
    finally:
        a.kill()


def test_reused_inode_with_other_bytes_is_a_new_file(args, tmp):
    out, logs, path, state = places(tmp, True)
    with open(path, "wb") as f:
        f.write(b"".join(b"old %05d\n" % i for i in range(300)))
    a = Agent(args, tmp, body(logs, out, state=state), 1)
    try:
        end = time.monotonic() + DEADLINE
        while sum(1 for e in read_jsonl(out) if from_tail(e)) < 300:
            check(time.monotonic() < end, "old lines not read")
            time.sleep(0.05)
        a.stop()
    finally:
        a.kill()
    ino = os.stat(path).st_ino
    # While the agent is down the inode gets other bytes, more of them
    # than the saved offset: a position keyed by the inode alone would
    # skip the new file's first lines.
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(b"".join(b"seq %d\n" % i for i in range(2000)))
    check(os.stat(path).st_ino == ino, "same inode")
    a = Agent(args, tmp, body(logs, out, state=state), 1)
    try:
        wait_seqs(out, range(2000))
        exactly_once(seqs(out), 2000)
        a.stop()
    finally:
        a.kill()


def test_a_line_longer_than_max_line_is_cut_and_flagged(args, tmp):
    http = free_port()
    out, logs, path, _ = places(tmp)
    with open(path, "wb") as f:
        f.write(b"seq 0\n" + b"L" * 5000 + b"\nseq 1\n")
    a = Agent(args, tmp, body(logs, out, "    max_line: 1KiB\n", http=http),
              1)
    try:
        wait_seqs(out, [0, 1])
        long = [e for e in read_jsonl(out)
                if from_tail(e) and e["msg"].startswith("L")]
        check(len(long) == 1, "one event for the long line: %d" % len(long))
        check(long[0]["msg"] == "L" * 1024, "cut at max_line")
        check(long[0].get("truncated") is True, "flagged truncated")
        m = metrics(http)
        check(m[M("ttlog_input_lines_cut_total")] == 1, "counted")
        a.stop()
    finally:
        a.kill()


def test_multiline_cuts_are_flagged_and_dropped_lines_counted(args, tmp):
    # An event over multiline.max_bytes is cut and flagged, and the lines
    # after the cut are dropped and counted; a line over max_line inside
    # an event flags that event.
    http = free_port()
    out, logs, path, _ = places(tmp)
    with open(path, "wb") as f:
        f.write(b"seq 0\n")
        f.write(b"START big\n" + b"".join(b"  frame %03d\n" % i
                                           for i in range(100)))
        f.write(b"START long\n  " + b"L" * 3000 + b"\n  after\n")
        f.write(b"START end\n")
    extra = ("    max_line: 256\n"
             "    multiline: {start: '^(START|seq)', timeout: 200ms, "
             "max_bytes: 512}\n")
    a = Agent(args, tmp, body(logs, out, extra, http=http), 1)
    try:
        end = time.monotonic() + DEADLINE
        got = []
        while time.monotonic() < end:
            got = [e for e in read_jsonl(out)
                   if from_tail(e) and e["msg"].startswith(("START", "seq"))]
            if len(got) >= 4:
                break
            time.sleep(0.05)
        check(len(got) == 4, "4 events: %d" % len(got))
        big, long = got[1], got[2]
        check(big["msg"].startswith("START big\n  frame 000"), big["msg"][:40])
        check(len(big["msg"]) <= 512 and big.get("truncated") is True,
              "cut at max_bytes and flagged: %d bytes" % len(big["msg"]))
        kept = big["msg"].count("\n")  # frames kept after the first line
        check(long["msg"].startswith("START long\n  LLL")
              and long["msg"].endswith("\n  after")
              and long.get("truncated") is True,
              "the event with a cut line is flagged: %r" % long["msg"][-20:])
        m = metrics(http)
        check(m[M("ttlog_input_multiline_cut_total")] == 1, "one event cut")
        check(m[M("ttlog_input_multiline_dropped_lines_total")] == 100 - kept,
              "dropped lines counted: %r, %d kept"
              % (m[M("ttlog_input_multiline_dropped_lines_total")], kept))
        check(m[M("ttlog_input_dropped_total")] >= 100 - kept,
              "and in the input's dropped")
        check(m[M("ttlog_input_lines_cut_total")] == 1, "one line cut")
        a.stop()
    finally:
        a.kill()


def test_sigkill_and_restart_resumes_without_loss(args, tmp):
    out, logs, path, state = places(tmp, True)
    n = 40000
    a = Agent(args, tmp, body(logs, out, state=state), 1)
    stop = threading.Event()
    written = [0]

    def writer():
        while written[0] < n and not stop.is_set():
            append(path, written[0], 500)
            written[0] += 500
            time.sleep(0.005)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        end = time.monotonic() + DEADLINE
        while len(seqs(out)) < n // 3:
            check(time.monotonic() < end, "nothing read")
            time.sleep(0.02)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait()
        a.err.close()
        before = len(seqs(out))
        time.sleep(0.2)  # the writer goes on while the agent is down
        a = Agent(args, tmp, body(logs, out, state=state), 1)
        t.join(DEADLINE)
        got = wait_seqs(out, range(n), torn=True)
        time.sleep(0.3)
        torn = []
        got = seqs(out, torn=torn)
        # The output's last line may have been torn by the SIGKILL: one
        # damaged line at most, and its events come again.
        check(len(torn) <= 1, "%d torn lines: %r" % (len(torn), torn[:2]))
        dup = len(got) - len(set(got))
        print("     SIGKILL at %d lines delivered: %d duplicates"
              % (before, dup))
        check(set(got) == set(range(n)), "lines lost or foreign")
        # What may come twice is what was handed on after the last
        # saved position: the lines of the last ~50 ms (the writer
        # writes 500 every 5 ms), never the whole file.
        check(dup <= 10000, "far too many duplicates: %d" % dup)
        a.stop()
    finally:
        stop.set()
        a.kill()


def test_reload_with_the_same_paths_keeps_the_position(args, tmp):
    out, logs, path, _ = places(tmp)
    append(path, 0, 1000)
    # No state_dir: only the kept input can know where it was.
    a = Agent(args, tmp, body(logs, out), 1)
    try:
        wait_seqs(out, range(1000))
        append(path, 1000, 10)
        # An unfinished line waits across the reload too.
        with open(path, "ab") as f:
            f.write(b"seq 10")
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                    % (args.plugins,
                       body(logs, out, "    max_line: 32KiB\n")))
        a.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while b"configuration reloaded" not in open(out, "rb").read():
            check(time.monotonic() < end, "reload not reported: %s"
                  % a.stderr())
            time.sleep(0.02)
        with open(path, "ab") as f:
            f.write(b"10\n")
        append(path, 1011, 89)
        all_once(out, 1100)
        # Other paths: the input is replaced; the new one resumes where
        # the old one stood (in memory, there is no state_dir) rather
        # than by start_at: beginning.
        with open(a.config, "w") as f:
            f.write("service:\n  plugin_dir: %s\n  flush_interval: 5ms\n%s"
                    % (args.plugins,
                       body(logs, out, "    exclude: ['*.gz']\n")))
        a.proc.send_signal(signal.SIGHUP)
        end = time.monotonic() + DEADLINE
        while open(out, "rb").read().count(b"configuration reloaded") < 2:
            check(time.monotonic() < end, "reload not reported: %s"
                  % a.stderr())
            time.sleep(0.02)
        append(path, 1100, 100)
        all_once(out, 1200)
        a.stop()
    finally:
        a.kill()


def test_a_stalled_listener_stops_reading_with_bounded_memory(args, tmp):
    stalled(args, tmp, "block")


def test_a_stalled_listener_that_drops_when_full_loses_nothing(args, tmp):
    # The file keeps what is not read: a queue that would drop when full
    # pauses the input too, and drops nothing.
    stalled(args, tmp, "drop_oldest")


def stalled(args, tmp, when_full):
    http = free_port()
    out, logs, path, _ = places(tmp)
    line = b"x" * 1000 + b"\n"
    with open(path, "wb") as f:
        for _ in range(200):
            f.write(line * 1000)  # 200 MB
    stuck = ("  - name: stuck\n    plugin: %s\n"
             "    queue: {max_bytes: 8MiB, when_full: %s}\n"
             % (os.path.abspath(os.path.join(args.test_plugins, "slow.so")),
                when_full))
    a = Agent(args, tmp, body(logs, out, "    pause_backlog: 1MiB\n",
                              http=http, listeners=stuck), 1)
    try:
        m = wait_metric(http, M("ttlog_input_paused"), lambda v: v == 1,
                        "the input pauses")
        time.sleep(0.5)
        m1 = metrics(http)
        time.sleep(0.5)
        m2 = metrics(http)
        read = m2[M("ttlog_input_bytes_total")]
        check(m2[M("ttlog_input_paused")] == 1, "still paused")
        check(read == m1[M("ttlog_input_bytes_total")],
              "reading goes on while paused")
        check(read < 64 << 20, "read %d bytes of 200 MB" % read)
        check(m2[M("ttlog_input_lag_bytes")] == os.path.getsize(path) - read,
              "the lag is what is left: %r" % m2[M("ttlog_input_lag_bytes")])
        per_file = 'ttlog_input_file_lag_bytes{input="app",type="tail",' \
                   'path="%s"}' % path
        check(m2.get(per_file) == os.path.getsize(path) - read,
              "the file's own lag: %r" % m2.get(per_file))
        rss = a.rss_kib()
        check(rss < 96 * 1024, "RSS %d KiB" % rss)
        dropped = sum(v for k, v in m2.items() if k.startswith(
            'ttlog_listener_events_dropped_total{listener="stuck"'))
        check(dropped == 0, "the stuck listener dropped %d events" % dropped)
        print("     paused after %d MB read, RSS %d KiB"
              % (read // (1 << 20), rss))
    finally:
        a.kill()


def test_one_busy_file_does_not_starve_another(args, tmp):
    # Each turn reads at most 256 KiB of every file with data, in turn:
    # the small file's lines are all handed on while the big one has
    # been read for at most two turns, whatever the order of the files.
    out, logs, path, _ = places(tmp)
    line = b"b" * 1023 + b"\n"
    with open(os.path.join(logs, "big.log"), "wb") as f:
        for _ in range(64):
            f.write(line * 1024)  # 64 MiB, 65,536 lines
    with open(os.path.join(logs, "small.log"), "wb") as f:
        for i in range(100):
            f.write(b"seq %d\n" % i)
    a = Agent(args, tmp, body(logs, out), 1)
    try:
        wait_seqs(out, range(100))
        big_before = 0
        for e in read_jsonl(out):
            if not from_tail(e):
                continue
            if e["msg"].startswith("seq "):
                if int(e["msg"].split()[1]) == 99:
                    break
            else:
                big_before += 1
        check(big_before <= 2 * 256,
              "%d lines of the big file came before the small file's "
              "last" % big_before)
        a.stop()
    finally:
        a.kill()


def test_a_java_stack_trace_of_10000_lines_is_one_event(args, tmp):
    out, logs, path, _ = places(tmp)
    # As logback prints it: the logger's line, then the exception's own
    # line unindented, its frames, a cause.
    trace = [b"2026-12-08 00:00:00 ERROR request failed",
             b"java.lang.IllegalStateException: broken"]
    trace += [b"\tat com.example.Svc.m%d(Svc.java:%d)" % (i, i)
              for i in range(9996)]
    trace += [b"Caused by: java.io.IOException: disk",
              b"\tat com.example.Io.read(Io.java:1)"]
    with open(path, "wb") as f:
        f.write(b"2026-12-08 00:00:00 INFO before\n")
        f.write(b"\n".join(trace) + b"\n")
        f.write(b"2026-12-08 00:00:01 INFO after\n")
    a = Agent(args, tmp, body(logs, out, "    multiline: {preset: java, "
                              "timeout: 300ms}\n"), 1)
    try:
        end = time.monotonic() + DEADLINE
        got = []
        while time.monotonic() < end:
            got = [e for e in read_jsonl(out) if from_tail(e)]
            if len(got) >= 3:
                break
            time.sleep(0.05)
        check(len(got) == 3, "3 events: %d" % len(got))
        check(got[0]["msg"].endswith("INFO before"), got[0]["msg"][:80])
        check(got[1]["msg"] == b"\n".join(trace).decode(),
              "the trace is one event of %d lines"
              % got[1]["msg"].count("\n"))
        # The last line waited for the timeout, then came alone.
        check(got[2]["msg"].endswith("INFO after"), got[2]["msg"][:80])
        a.stop()
    finally:
        a.kill()


def test_check_reports_tail_errors_at_their_keys(args, tmp):
    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\n"
                "inputs:\n"
                "  - name: a\n    type: tail\n    paths: /x/*.log\n"
                "    multiline:\n      start: '^(\\d+'\n"
                "  - name: b\n    type: tail\n    paths: ['/x/*.log']\n"
                "    multiline: {start: x, preset: java}\n"
                "  - name: c\n    type: tail\n    paths: ['/x']\n"
                "    listen: tcp://127.0.0.1:1\n"
                "  - name: d\n    type: tail\n"
                "  - name: e\n    type: tail\n    paths: ['/x', '']\n"
                "  - name: f\n    type: tail\n    paths: /x\n"
                "    max_line: 0\n"
                "  - name: g\n    type: tail\n    paths: /x\n"
                "    multiline: {preset: ruby}\n"
                "listeners:\n  - {name: o, type: file, path: /dev/null}\n"
                % args.plugins)
    p = subprocess.run([args.agent, "--check", "-c", cfg],
                       capture_output=True, timeout=DEADLINE)
    err = p.stderr.decode()
    check(p.returncode != 0, "--check accepted it")
    for want in ["bad.yaml:8:14: inputs[0] (a): multiline.start: ",
                 "bad.yaml:12:16: inputs[1] (b): multiline: give exactly "
                 "one of start, continuation and preset",
                 "bad.yaml:16:13: inputs[2] (c): type tail reads files",
                 "bad.yaml:17:5: inputs[3] (d): type tail needs `paths`",
                 "bad.yaml:21:19: inputs[4].paths[1]",
                 "bad.yaml:25:15: inputs[5] (f): max_line must be",
                 "bad.yaml:29:25: inputs[6] (g): multiline.preset: unknown "
                 "preset \"ruby\""]:
        check(want in err, "no %r in: %s" % (want, err))


TESTS = [
    test_start_at_beginning_and_end,
    test_files_that_came_while_down_are_read_whole,
    test_rename_create_rotation_while_writing,
    test_rename_create_rotation_with_polling_only,
    test_copytruncate_reads_again_from_the_start,
    test_deleted_while_read_is_read_to_its_end,
    test_reused_inode_with_other_bytes_is_a_new_file,
    test_a_line_longer_than_max_line_is_cut_and_flagged,
    test_multiline_cuts_are_flagged_and_dropped_lines_counted,
    test_sigkill_and_restart_resumes_without_loss,
    test_reload_with_the_same_paths_keeps_the_position,
    test_a_stalled_listener_stops_reading_with_bounded_memory,
    test_a_stalled_listener_that_drops_when_full_loses_nothing,
    test_one_busy_file_does_not_starve_another,
    test_a_java_stack_trace_of_10000_lines_is_one_event,
    test_check_reports_tail_errors_at_their_keys,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-tail-")


if __name__ == "__main__":
    sys.exit(main())
