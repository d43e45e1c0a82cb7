"""Integration tests of the journal input (type: journal) with real
journal files made without journald: entries in the journal export format
are written by systemd-journal-remote (Debian systemd-journal-remote) into
a directory that a ttlog-agent reads with a journal input and a JSON file
listener. Checks the mapping (message, level, service and host origin,
fields, a binary field skipped and counted), entries appended to a file
and a new file in the directory, a SIGKILL and restart resuming by the
saved cursor (no entry lost, duplicates exactly those handed on after the
saved cursor), match filters, a damaged state file, a reload that keeps
the position, and --check's errors. Waits are on lines in files with
deadlines.

Usage: test_journal.py --agent PATH --plugins DIR [--only NAME]
"""

import argparse
import collections
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, Failure, check, free_port,  # noqa
                        metrics, read_jsonl, run_tests)

DEADLINE = 10
REMOTE = None  # systemd-journal-remote's path, found in main()
BOOT = "0123456789abcdef0123456789abcdef"


def export_entry(fields, seq, t_us):
    """One entry in the export format: text fields as NAME=value lines, a
    bytes value in the binary form (NAME, newline, 64-bit little-endian
    length, the bytes, newline)."""
    out = b"__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n" % (
        t_us, 1000 + seq)
    out += b"_BOOT_ID=%s\n" % BOOT.encode()
    for k, v in fields:
        if isinstance(v, bytes):
            out += k.encode() + b"\n" + struct.pack("<Q", len(v)) + v + b"\n"
        else:
            out += ("%s=%s\n" % (k, v)).encode()
    return out + b"\n"


def write_journal(path, entries, first_seq=0):
    """Appends entries (lists of (name, value)) to the journal file at
    path through systemd-journal-remote; each gets SEQ=first_seq+i."""
    t = int(time.time() * 1e6)
    data = b"".join(export_entry(list(e) + [("SEQ", str(first_seq + i))],
                                 first_seq + i, t + first_seq + i)
                    for i, e in enumerate(entries))
    r = subprocess.run([REMOTE, "--output=" + path, "-"], input=data,
                       capture_output=True, timeout=DEADLINE)
    check(r.returncode == 0, "journal-remote: %r" % r.stderr)


def plain(n, first=0, unit="app.service"):
    return [[("MESSAGE", "entry %d" % (first + i)), ("PRIORITY", "6"),
             ("_HOSTNAME", "jhost"), ("_SYSTEMD_UNIT", unit)]
            for i in range(n)]


def config(tmp, inputs, state=True, http=None):
    out = os.path.join(tmp, "out.json")
    body = "  level: debug\n"  # PRIORITY 7 is debug
    if state:
        os.makedirs(os.path.join(tmp, "state"), exist_ok=True)
        body += "  state_dir: %s\n" % os.path.join(tmp, "state")
    if http:
        body += "  http:\n    listen: 127.0.0.1:%d\n" % http
    body += ("listeners:\n  - name: out\n    type: file\n    format: json\n"
             "    fsync: never\n    path: %s\ninputs:\n%s" % (out, inputs))
    return body, out


def journal_input(paths, extra=""):
    return ("  - name: j\n    type: journal\n    paths: [%s]\n"
            "    start_at: beginning\n%s"
            % (", ".join('"%s"' % p for p in paths), extra))


def start(args, tmp, rows, extra="", name="remote.journal", path=None,
          **kw):
    """A journal directory tmp/journal with rows written to NAME in it,
    and an agent reading it (or `path` in it) from the beginning.
    Returns (agent, out, the journal file's path, the body)."""
    jdir = os.path.join(tmp, "journal")
    os.makedirs(jdir, exist_ok=True)
    jf = os.path.join(jdir, name)
    write_journal(jf, rows)
    body, out = config(tmp, journal_input(
        [os.path.join(jdir, path) if path else jdir], extra), **kw)
    return Agent(args, tmp, body, 1), out, jf, body


def entries(out):
    # A SIGKILL mid-batch may tear the output's last line (mended with a
    # newline at the next start): one at most.
    torn = []
    got = [e for e in read_jsonl(out, torn) if e.get("input") == "j"]
    check(len(torn) <= 1, "%d torn lines: %r" % (len(torn), torn[:2]))
    return got


def wait_entries(out, n, what=""):
    end = time.monotonic() + DEADLINE
    got = []
    while time.monotonic() < end:
        got = entries(out)
        if len(got) >= n:
            return got
        time.sleep(0.02)
    raise Failure("%s: %d of %d entries within %ss" % (what or out,
                                                        len(got), n,
                                                        DEADLINE))


def seqs(evs):
    return [int(e["SEQ"]) for e in evs]


def saved_seqnum(tmp):
    """The seqnum (i=) of the cursor in the state file, or -1."""
    path = os.path.join(tmp, "state", "input-j.journal")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return -1
    check(data[:8] == b"TTLOGCKP", "state file magic: %r" % data[:16])
    pos, best = 16, -1
    for _ in range(struct.unpack(">I", data[12:16])[0]):
        kl, vl = struct.unpack(">II", data[pos:pos + 8])
        val = data[pos + 8 + kl:pos + 8 + kl + vl].decode()
        pos += 8 + kl + vl + 4
        m = re.search(r"(?:^|;)i=([0-9a-f]+)", val)
        best = max(best, int(m.group(1), 16))
    return best


# ---------------------------------------------------------------- tests


def test_fields_map_to_message_level_origin_and_fields(args, tmp):
    jdir = os.path.join(tmp, "journal")
    os.makedirs(jdir)
    rows = []
    for p in range(8):
        rows.append([("MESSAGE", "prio %d" % p), ("PRIORITY", str(p)),
                     ("_HOSTNAME", "jhost"), ("SYSLOG_IDENTIFIER", "ident"),
                     ("CODE_FUNC", "f%d" % p)])
    rows[0].append(("_SYSTEMD_UNIT", "unit-a.service"))
    rows[1].append(("BLOB", b"\xff\xfe not utf-8"))
    # Past sd-journal's own 64 KiB cut and the input's max_message.
    rows.append([("MESSAGE", "L" * 70000), ("PRIORITY", "6")])
    write_journal(os.path.join(jdir, "remote.journal"), rows)
    port = free_port()
    body, out = config(tmp, journal_input([jdir]), http=port)
    a = Agent(args, tmp, body.replace(
        "    start_at: beginning\n",
        "    start_at: beginning\n    max_message: 66000\n"), 1)
    try:
        evs = wait_entries(out, 9)
        long_msg = [e for e in evs if e["msg"].startswith("LLL")]
        check(len(long_msg) == 1 and len(long_msg[0]["msg"]) == 66000,
              "cut at max_message, not at 64 KiB: %d"
              % len(long_msg[0]["msg"]) if long_msg else "none")
        by = {e["msg"]: e for e in evs}
        levels = [by["prio %d" % p]["level"] for p in range(8)]
        check(levels == ["FATAL", "FATAL", "FATAL", "ERROR", "WARN", "INFO",
                         "INFO", "DEBUG"], "levels: %r" % levels)
        e0, e2 = by["prio 0"], by["prio 2"]
        check(e0["service"] == "unit-a.service", "unit first: %r" % e0)
        check(e2["service"] == "ident", "identifier else: %r" % e2)
        check(e2["host"] == "jhost" and e2["peer"] == "journal", repr(e2))
        check(e2["CODE_FUNC"] == "f2" and e2["SEQ"] == "2", repr(e2))
        check("PRIORITY" not in e2 and "MESSAGE" not in e2, repr(e2))
        check("_HOSTNAME" not in e2, repr(e2))
        check(e2["time"].startswith(time.strftime("%Y-", time.gmtime())),
              "time from __REALTIME_TIMESTAMP: %r" % e2["time"])
        check("BLOB" not in by["prio 1"], repr(by["prio 1"]))
        m = metrics(port)
        lab = '{input="j",type="journal"}'
        check(m["ttlog_input_events_total" + lab] == 9, repr(m))
        check(m["ttlog_input_fields_skipped_total" + lab] == 2,
              "the binary field and the long message counted")
        check(m["ttlog_input_bytes_total" + lab] > 0, "bytes")
    finally:
        a.kill()


def test_appended_entries_and_new_files_arrive(args, tmp):
    a, out, jf, _ = start(args, tmp, plain(5))
    jdir = os.path.dirname(jf)
    try:
        wait_entries(out, 5)
        write_journal(jf, plain(3, 5), 5)
        wait_entries(out, 8, "appended to the file")
        write_journal(os.path.join(jdir, "b.journal"), plain(4, 8), 8)
        evs = wait_entries(out, 12, "a new file in the directory")
        time.sleep(0.3)
        evs = entries(out)
        check(sorted(seqs(evs)) == list(range(12)),
              "each once: %r" % sorted(seqs(evs)))
    finally:
        a.kill()


def test_file_path_reads_one_file(args, tmp):
    jdir = os.path.join(tmp, "journal")
    os.makedirs(jdir)
    write_journal(os.path.join(jdir, "other.journal"), plain(2, 100), 100)
    a, out, f, _ = start(args, tmp, plain(3), name="only.journal",
                         path="only.journal")
    try:
        wait_entries(out, 3)
        write_journal(f, plain(2, 3), 3)
        wait_entries(out, 5, "appended to the named file")
        time.sleep(0.3)
        check(sorted(seqs(entries(out))) == list(range(5)),
              "only that file: %r" % seqs(entries(out)))
    finally:
        a.kill()


def test_sigkill_resumes_by_cursor_without_loss(args, tmp):
    a, out, jf, body = start(args, tmp, plain(20000))
    # Killed in the middle of the backlog, once a cursor was saved.
    end = time.monotonic() + DEADLINE
    while saved_seqnum(tmp) < 1 and time.monotonic() < end:
        time.sleep(0.005)
    a.proc.send_signal(signal.SIGKILL)
    a.kill()
    saved = saved_seqnum(tmp)
    before = seqs(entries(out))
    check(saved >= 1, "a cursor was saved before the kill")
    check(len(before) == len(set(before)), "no duplicate before the kill")
    check(len(before) >= saved, "saved %d, only %d written" % (saved,
                                                                len(before)))
    write_journal(jf, plain(50, 20000), 20000)
    a = Agent(args, tmp, body, 1)
    try:
        wait_entries(out, 20050 + len(before) - saved, "after restart")
        time.sleep(0.3)
        got = seqs(entries(out))
        check(set(got) == set(range(20050)), "no entry lost")
        # Seqnums start at 1, SEQ at 0: the saved cursor is SEQ saved-1.
        # Re-read: exactly those handed on after the saved cursor.
        counts = collections.Counter(got)
        dups = sorted(s for s, c in counts.items() if c > 1)
        check(len(got) - len(set(got)) == len(before) - saved,
              "duplicates %d, bound %d" % (len(got) - len(set(got)),
                                           len(before) - saved))
        check(all(s >= saved for s in dups), "duplicates after the cursor")
        # A quiet restart after a save: nothing again.
        end = time.monotonic() + DEADLINE
        while saved_seqnum(tmp) < 20050 and time.monotonic() < end:
            time.sleep(0.02)
        check(saved_seqnum(tmp) == 20050, "the last cursor saved")
    finally:
        a.proc.send_signal(signal.SIGKILL)
        a.kill()
    n = len(entries(out))
    write_journal(jf, plain(3, 20050), 20050)
    a = Agent(args, tmp, body, 1)
    try:
        wait_entries(out, n + 3, "after the second restart")
        time.sleep(0.3)
        check(len(entries(out)) == n + 3, "nothing read twice")
    finally:
        a.kill()


def test_sigterm_restart_reads_nothing_twice(args, tmp):
    a, out, jf, body = start(args, tmp, plain(20000))
    # Stopped in the middle of the backlog: the last entries handed on
    # are not durable yet when the input stops.
    wait_entries(out, 1)
    check(a.stop() == 0, "clean stop: %s" % a.stderr())
    n = len(entries(out))
    write_journal(jf, plain(5, 20000), 20000)
    a = Agent(args, tmp, body, 1)
    try:
        wait_entries(out, 20005, "after restart")
        time.sleep(0.3)
        got = seqs(entries(out))
        check(len(got) == 20005 and set(got) == set(range(20005)),
              "each once (%d before the stop, %d in all)" % (n, len(got)))
    finally:
        a.kill()


def test_match_filters_with_or(args, tmp):
    rows = plain(3, 0, "a.service") + plain(3, 3, "b.service")
    rows[4] = rows[4][:1] + [("PRIORITY", "3")] + rows[4][2:]
    extra = ('    match: ["_SYSTEMD_UNIT=a.service", "+", "PRIORITY=3"]\n')
    a, out, _, _ = start(args, tmp, rows, extra)
    try:
        wait_entries(out, 4)
        time.sleep(0.3)
        check(sorted(seqs(entries(out))) == [0, 1, 2, 4],
              "matched: %r" % seqs(entries(out)))
    finally:
        a.kill()


def test_damaged_state_file_said_and_start_at_used(args, tmp):
    port = free_port()
    state = os.path.join(tmp, "state", "input-j.journal")
    os.makedirs(os.path.dirname(state))
    with open(state, "wb") as f:
        f.write(b"TTLOGCKP\x00\x00\x00\x01\x00\x00\x00\x01garbage")
    a, out, _, _ = start(args, tmp, plain(4), http=port)
    try:
        wait_entries(out, 4)
        m = metrics(port)
        check(m['ttlog_input_state_damaged_total{input="j",type="journal"}']
              == 1, "counted")
        warn = [e for e in read_jsonl(out)
                if "state file is damaged" in e.get("msg", "")]
        check(len(warn) == 1 and warn[0].get("path") == state,
              "said once with the path: %r" % warn)
    finally:
        a.kill()


def test_reload_keeps_position_unless_options_change(args, tmp):
    port = free_port()
    # No state_dir: only a kept input can know its position.
    a, out, jf, body = start(args, tmp, plain(5), state=False, http=port)
    jdir = os.path.dirname(jf)
    try:
        wait_entries(out, 5)

        def reload(new_body):
            with open(a.config, "w") as f:
                f.write("service:\n  plugin_dir: %s\n  flush_interval: "
                        "5ms\n%s" % (args.plugins, new_body))
            before = metrics(port)["ttlog_agent_reloads_total"]
            a.proc.send_signal(signal.SIGHUP)
            end = time.monotonic() + DEADLINE
            while metrics(port)["ttlog_agent_reloads_total"] == before:
                check(time.monotonic() < end, "reload not applied: %s"
                      % a.stderr())
                time.sleep(0.02)
        reload(body)
        write_journal(jf, plain(2, 5), 5)
        wait_entries(out, 7)
        time.sleep(0.3)
        check(sorted(seqs(entries(out))) == list(range(7)),
              "kept: %r" % sorted(seqs(entries(out))))
        body2, _ = config(tmp, journal_input(
            [jdir], '    match: "_SYSTEMD_UNIT=app.service"\n'),
            state=False, http=port)
        reload(body2)
        # A new input: start_at beginning again.
        wait_entries(out, 14, "a changed input starts over")
    finally:
        a.kill()


def test_check_reports_journal_errors_with_places(args, tmp):
    cfg = os.path.join(tmp, "bad.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: %s\n"
                "listeners:\n  - name: out\n    type: stdout\n"
                "inputs:\n"
                "  - name: j1\n    type: journal\n"
                "    listen: tcp://127.0.0.1:1\n"
                "  - name: j2\n    type: journal\n"
                "    match: [\"PRIORITY=3\", \"+\", \"lower=x\"]\n"
                "  - name: j3\n    type: journal\n"
                "    paths: [%s/missing]\n"
                "  - name: j4\n    type: journal\n"
                "    match: [\"+\"]\n"
                "    exclude: [\"*.gz\"]\n"
                "  - name: j5\n    type: journal\n"
                "    start_at: middle\n" % (args.plugins, tmp))
    r = subprocess.run([args.agent, "--check", cfg], capture_output=True,
                       text=True, timeout=DEADLINE)
    check(r.returncode != 0, "refused")
    err = r.stderr
    for want in [r"bad\.yaml:9:13: inputs\[0\] \(j1\): .*remove `listen`",
                 r"bad\.yaml:12:12: inputs\[1\] \(j2\): match\[2\]: "
                 r"\"lower=x\" is not FIELD=value",
                 r"bad\.yaml:15:12: inputs\[2\] \(j3\): paths\[0\]: .*"
                 r"missing: No such file",
                 r"bad\.yaml:19:14: inputs\[3\] \(j4\): exclude: is not "
                 r"an option of journal inputs",
                 r"bad\.yaml:22:15: inputs\[4\]\.start_at: "]:
        check(re.search(want, err), "want %r in:\n%s" % (want, err))


TESTS = [
    test_fields_map_to_message_level_origin_and_fields,
    test_appended_entries_and_new_files_arrive,
    test_file_path_reads_one_file,
    test_sigkill_resumes_by_cursor_without_loss,
    test_sigterm_restart_reads_nothing_twice,
    test_match_filters_with_or,
    test_damaged_state_file_said_and_start_at_used,
    test_reload_keeps_position_unless_options_change,
    test_check_reports_journal_errors_with_places,
]


def main():
    global REMOTE
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--test-plugins")
    p.add_argument("--only")
    args = p.parse_args()
    for c in ("/usr/lib/systemd/systemd-journal-remote",
              "/lib/systemd/systemd-journal-remote"):
        if os.access(c, os.X_OK):
            REMOTE = c
            break
    if REMOTE is None:
        print("SKIP: systemd-journal-remote is not installed "
              "(Debian package systemd-journal-remote)")
        return 77
    return run_tests(TESTS, args, "ttlog-journal-")


if __name__ == "__main__":
    sys.exit(main())
