"""Integration tests of what a relay's disk spool loses, and how it says
so: an application (ttlog-seqgen) -> a relay ttlog-agent whose forward
listener has a spool -> a collector ttlog-agent over TLS, all real
processes on 127.0.0.1. Events carry a sequence number, so the loss is
measured at the collector, and the counters (/metrics of both agents), the
relay's log and that measure must agree, before and after a restart of
the relay. The helpers are test_forward.py's and test_forward_reload.py's;
waits are on events (metrics, lines in files) with deadlines.

Usage: test_spool_loss.py --agent PATH --seqgen PATH --plugins DIR
                          --certs-script PATH [--only NAME]
"""

import argparse
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, check, free_port, metrics, run_tests  # noqa
from test_forward import (Certs, app_config, collector, finish_app,  # noqa
                          kill_app, read_events, seqs_of, start_app,
                          wait_for)
from test_forward_reload import BASE, relay_body  # noqa

UP = '{listener="up"}'
DROPPED_EV = "ttlog_listener_forward_spool_dropped_events_total" + UP
DROPPED_REC = "ttlog_listener_forward_spool_dropped_records_total" + UP
HELD_EV = "ttlog_listener_forward_spool_held_events" + UP
CORRUPT_REC = "ttlog_listener_forward_spool_corrupt_records_total" + UP
CORRUPT_EV = "ttlog_listener_forward_spool_corrupt_events_total" + UP
CORRUPT_BYTES = "ttlog_listener_forward_spool_corrupt_bytes_total" + UP
ACKED_EV = "ttlog_listener_forward_events_acked_total" + UP
UNACKED = "ttlog_listener_forward_unacked_frames" + UP
MISSING = 'ttlog_input_missing_frames_total{input="native",type="ttlog"}'
TAKEN = 'ttlog_listener_events_out_total{listener="up"}'
RECEIVED = 'ttlog_input_events_total{input="native",type="ttlog"}'


def start_relay(args, tmp, certs, sock, port, http, spool, name, **opts):
    """The relay of test_forward_reload.py (inputs app and marks, spool
    segments of 1 MiB) with the forward options of BASE changed by opts."""
    o = dict(BASE)
    o.update(opts)
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    return Agent(args, d, relay_body(certs, sock, free_port(), port, http,
                                     spool, o), 2)


def drained(http):
    """The relay has every frame it holds acknowledged."""
    m = metrics(http)
    return m.get(UNACKED, -1) == 0 and m


def settled(rhttp, chttp):
    """(relay metrics, collector metrics) once the relay has everything
    acknowledged and took nothing new while the collector was read: the
    relay's own log events go to the collector too."""
    def once():
        r = drained(rhttp)
        c = r and metrics(chttp)
        return r and metrics(rhttp)[TAKEN] == r[TAKEN] and (r, c)
    return wait_for("the relay to have everything acknowledged", once)


def records(path):
    """(offset, length, seq, count) of each record of an intact segment."""
    with open(path, "rb") as f:
        data = f.read()
    out, off = [], 0
    while off + 28 <= len(data):
        magic, blen = struct.unpack_from("<4sI", data, off)
        check(magic == b"TSR1", "%s: no record at %d" % (path, off))
        seq, _flags, count = struct.unpack_from("<QII", data, off + 12)
        out.append((off, 12 + blen, seq, count))
        off += 12 + blen
    return out


def test_cap_loss_is_counted_across_a_relay_kill(args, tmp):
    """max_bytes 2MiB, drop_oldest, collector down, 300k events, relay
    SIGKILLed and restarted: what the cap deleted is counted (held in
    memory before the kill, dropped after it), logged, and the collector
    counts the frames as missing although they lie before the first frame
    it ever sees."""
    n = 300000
    certs = Certs(args, tmp)
    port, rhttp, chttp = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    a = start_relay(args, tmp, certs, sock, port, rhttp, spool, "relay",
                    **{"spool.max_bytes": "2MiB"})
    app = start_app(args, tmp, app_config(args, tmp, sock), n)
    b = None
    try:
        finish_app(app)  # all of it taken by the relay (spooled)
        before = metrics(rhttp)
        check(before[DROPPED_EV] + before.get(HELD_EV, 0) > 0,
              "the 2 MiB cap deleted nothing: %s" % before)
        a.kill()  # SIGKILL: its memory window goes with it
        b = collector(args, tmp, certs, port, out, http=chttp)
        a = start_relay(args, tmp, certs, sock, port, rhttp, spool,
                        "relay2", **{"spool.max_bytes": "2MiB"})
        after, cm = settled(rhttp, chttp)
        seqs = seqs_of(out)
        got = set(seqs)
        check(len(seqs) == len(got), "%d duplicates" % (len(seqs) - len(got)))
        check(got <= set(range(n)), "unexpected seqs")
        check(n - len(got) > 0, "nothing lost: the test proves nothing")
        # Every event either relay took (the app's seq events and the
        # relays' own log events) reached the collector, but the loss.
        lost = before[TAKEN] + after[TAKEN] - cm[RECEIVED]
        # The figures first (printed before they are checked, so that a
        # run on a version without some of the metrics shows them: -1).
        print("     cap loss: %d events lost (%d seqs); relay before "
              "the kill: dropped %d + held %d; after the restart: dropped "
              "%d events in %d frames; collector missing_frames %d; "
              "events_acked %d of %d delivered"
              % (lost, n - len(got), before.get(DROPPED_EV, -1),
                 before.get(HELD_EV, -1), after.get(DROPPED_EV, -1),
                 after.get(DROPPED_REC, -1), cm.get(MISSING, -1),
                 after.get(ACKED_EV, -1), cm.get(RECEIVED, -1)))
        check(lost >= n - len(got), "%d events lost, %d of them seqs"
              % (lost, n - len(got)))
        # Before the kill the loss was counted or held; after it, all of
        # it is counted as dropped, and nothing is held any more.
        check(before[DROPPED_EV] + before[HELD_EV] == lost,
              "before the kill: %d dropped + %d held, %d lost"
              % (before[DROPPED_EV], before[HELD_EV], lost))
        check(after[DROPPED_EV] == lost, "after the restart: %d dropped, "
              "%d lost" % (after[DROPPED_EV], lost))
        check(after[HELD_EV] == 0, "still held: %d" % after[HELD_EV])
        # Everything delivered after the restart came from the spool.
        check(after[ACKED_EV] == cm[RECEIVED], "events_acked %d, the "
              "collector received %d" % (after[ACKED_EV], cm[RECEIVED]))
        check(cm[MISSING] == after[DROPPED_REC] and cm[MISSING] > 0,
              "collector missing_frames %d, relay dropped frames %d"
              % (cm[MISSING], after[DROPPED_REC]))
        err = a.stderr()
        check(re.search(r"spool dropped.*held in memory by the previous "
                        r"run", err), "no line of the loss: %s" % err)
        check(err.count("spool dropped") == 1, err)
        gap = [e for e in read_events(out)
               if e.get("msg") == "sender lost frames"]
        check(len(gap) == 1 and gap[0].get("missing") == cm[MISSING]
              and gap[0].get("input") == "native",
              "the collector's line of the gap: %s" % gap)
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        kill_app(app)
        a.kill()
        if b:
            b.kill()


def test_cap_deletions_the_window_still_sends_are_not_lost(args, tmp):
    """The same cap and outage, but the relay keeps running: what the
    cap deleted is still in the relay's memory window and is delivered
    from there, so nothing is counted as dropped (it is held until the
    collector acknowledges it) and nothing is missing."""
    n = 300000
    certs = Certs(args, tmp)
    port, rhttp, chttp = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    a = start_relay(args, tmp, certs, sock, port, rhttp, spool, "relay",
                    **{"spool.max_bytes": "2MiB"})
    app = start_app(args, tmp, app_config(args, tmp, sock), n)
    b = None
    try:
        finish_app(app)
        before = metrics(rhttp)
        b = collector(args, tmp, certs, port, out, http=chttp)
        after, cm = settled(rhttp, chttp)
        got = set(seqs_of(out))
        print("     cap, no kill: %d of %d seqs delivered; relay dropped "
              "%d, held %d before the collector came, dropped %d, held "
              "%d after; collector missing_frames %d"
              % (len(got), n, before.get(DROPPED_EV, -1),
                 before.get(HELD_EV, -1), after.get(DROPPED_EV, -1),
                 after.get(HELD_EV, -1), cm.get(MISSING, -1)))
        check(got == set(range(n)), "%d seqs missing" % (n - len(got)))
        check(before[HELD_EV] > 0, "the cap deleted nothing")
        check(before[DROPPED_EV] == 0 and after[DROPPED_EV] == 0,
              "counted as dropped though delivered: %d, %d"
              % (before[DROPPED_EV], after[DROPPED_EV]))
        check(after[HELD_EV] == 0, "still held: %d" % after[HELD_EV])
        check(cm[MISSING] == 0, "missing frames: %d" % cm[MISSING])
        check("spool dropped" not in a.stderr(), a.stderr())
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        kill_app(app)
        a.kill()
        if b:
            b.kill()


def flip(path, off, mask=0x5A):
    with open(path, "r+b") as f:
        f.seek(off)
        byte = f.read(1)
        f.seek(off)
        f.write(bytes([byte[0] ^ mask]))


def test_damaged_segments_are_counted_logged_and_kept(args, tmp):
    """Three damaged segments (payload bytes flipped in 4 records, record
    headers flipped in 3, a tail cut in its last record): exactly those 8
    records are lost, counted in records, events and bytes, logged once
    per segment with its name and offset, and the counts survive a
    restart without being counted again."""
    n = 500000
    certs = Certs(args, tmp)
    port, http, chttp = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    # The collector is not there yet: everything stays in the spool.
    a = start_relay(args, tmp, certs, sock, port, http, spool, "relay")
    app = start_app(args, tmp, app_config(args, tmp, sock), n, burst=2000)
    b = None
    try:
        finish_app(app)
        check(a.stop() == 0, "relay exit status")
        segs = sorted(os.path.join(spool, f) for f in os.listdir(spool)
                      if f.endswith(".seg"))
        check(len(segs) >= 4, "only %d segments" % len(segs))
        victims = []  # (segment, first damaged offset, records, bytes)
        events = 0
        r = records(segs[0])
        check(len(r) >= 10, "segment 0 has %d records" % len(r))
        for k in (2, 4, 5, 7):  # a flipped byte in each payload
            off, length, _seq, count = r[k]
            flip(segs[0], off + length - 3)
            events += count
        victims.append((segs[0], r[2][0], 4,
                        sum(r[k][1] for k in (2, 4, 5, 7))))
        r = records(segs[1])
        for k, field in ((1, 0), (3, 5), (6, 9)):  # magic, length, CRC
            off, length, _seq, count = r[k]
            flip(segs[1], off + field, 0x80)
            events += count
        victims.append((segs[1], r[1][0], 3,
                        sum(r[k][1] for k in (1, 3, 6))))
        r = records(segs[2])
        off, length, _seq, count = r[-1]
        os.truncate(segs[2], off + length // 2)
        events += count
        victims.append((segs[2], off, 1, length // 2))

        b = collector(args, tmp, certs, port, out, http=chttp)
        a = start_relay(args, tmp, certs, sock, port, http, spool, "relay2")
        m, cm = settled(http, chttp)
        # The damaged records hold seq events only (the relay's own
        # events are in its first frames, which are left intact).
        lost = n - len(set(seqs_of(out)))
        check(lost == events, "%d events lost, the damaged records held %d"
              % (lost, events))
        nbytes = sum(v[3] for v in victims)
        print("     3 damaged segments: %d records, %d events, %d bytes "
              "lost; counted %d records, %d events, %d bytes; %d lines "
              "logged" % (8, events, nbytes, m[CORRUPT_REC],
                          m.get(CORRUPT_EV, -1), m.get(CORRUPT_BYTES, -1),
                          a.stderr().count("spool damaged")))
        check(m[CORRUPT_REC] == 8, "corrupt records: %d" % m[CORRUPT_REC])
        check(m[CORRUPT_EV] == events, "corrupt events: %d of %d"
              % (m[CORRUPT_EV], events))
        check(m[CORRUPT_BYTES] == nbytes, "corrupt bytes: %d of %d"
              % (m[CORRUPT_BYTES], nbytes))
        err = a.stderr()
        lines = [ln for ln in err.splitlines() if "spool damaged" in ln]
        check(len(lines) == 3, "want one line per segment: %s" % err)
        for (path, off, nrec, _nb), line in zip(victims, sorted(lines)):
            want = "%s: damaged from byte %d" % (os.path.basename(path),
                                                 off)
            check(want in line and ("%d records" % nrec) in line,
                  "%r not in %r" % (want, line))
        check(a.stop() == 0, "relay exit status")
        # Once more: the totals come back from the spool directory, and
        # the damage still on disk is not counted twice.
        a = start_relay(args, tmp, certs, sock, port, http, spool, "relay3")
        m2 = metrics(http)
        for k in (CORRUPT_REC, CORRUPT_EV, CORRUPT_BYTES):
            check(m2[k] == m[k], "%s: %d after a restart, %d before"
                  % (k, m2[k], m[k]))
        check("spool damaged" not in a.stderr(), a.stderr())
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        kill_app(app)
        a.kill()
        if b:
            b.kill()


TESTS = [
    test_cap_loss_is_counted_across_a_relay_kill,
    test_cap_deletions_the_window_still_sends_are_not_lost,
    test_damaged_segments_are_counted_logged_and_kept,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-sl-")


if __name__ == "__main__":
    sys.exit(main())
