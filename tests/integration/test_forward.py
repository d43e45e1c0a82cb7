"""Integration tests of forwarding: an application (ttlog-seqgen, libttlog
with the forward listener) -> a relay ttlog-agent -> a collector
ttlog-agent over TLS, all real processes on 127.0.0.1, with certificates
made for the run by tests/certs/make_certs.sh. Events carry a sequence
number; every test checks the collector's output for gaps and counts
duplicates. Waits are on events (lines in files, metrics, stderr) with
deadlines.

Usage: test_forward.py --agent PATH --seqgen PATH --plugins DIR
                       --certs-script PATH [--only NAME]
"""

import argparse
import json
import signal
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import (Agent, Failure, check, free_port, metrics,  # noqa
                        run_tests)

DEADLINE = 60.0
_decoder = json.JSONDecoder()


def read_events(path):
    """Every JSON object in a JSON-lines file. A collector killed in the
    middle of a write leaves a torn line that the next run appends to; the
    objects are found by position, so the torn part is skipped and the
    rest of that line still counts."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", "replace")
    out = []
    for line in data.split("\n")[:-1]:
        try:
            out.append(json.loads(line))
            continue
        except ValueError:
            pass
        pos = line.find('{"', 1)
        while pos >= 0:
            try:
                obj, _ = _decoder.raw_decode(line, pos)
                out.append(obj)
                break
            except ValueError:
                pos = line.find('{"', pos + 1)
    return out


def seqs_of(path):
    return [e["seq"] for e in read_events(path)
            if e.get("msg") == "seq" and "seq" in e]


def wait_for(what, fn, deadline=DEADLINE, procs=()):
    end = time.monotonic() + deadline
    last = None
    while time.monotonic() < end:
        last = fn()
        if last:
            return last
        for p in procs:
            if p.poll() is not None and p.returncode not in (0, None):
                raise Failure("%s: a process exited with %d while waiting"
                              % (what, p.returncode))
        time.sleep(0.05)
    raise Failure("%s: not within %ss (last: %r)" % (what, deadline, last))


def wait_seqs(path, n, deadline=DEADLINE, procs=()):
    """Waits until every seq 0..n-1 is in the file; returns all seqs."""
    state = {}

    def done():
        s = seqs_of(path)
        state["s"] = s
        return len(set(s)) >= n
    try:
        wait_for("%d sequence numbers in %s" % (n, path), done, deadline,
                 procs)
    except Failure:
        s = set(state.get("s", []))
        missing = sorted(set(range(n)) - s)
        raise Failure("%d of %d arrived; first missing: %s"
                      % (len(s), n, missing[:10]))
    return state["s"]


def check_exact(seqs, n):
    got = set(seqs)
    missing = sorted(set(range(n)) - got)
    extra = sorted(got - set(range(n)))
    check(not missing, "%d missing, first: %s" % (len(missing), missing[:10]))
    check(not extra, "unexpected seqs: %s" % extra[:10])
    return len(seqs) - n  # duplicates


class Certs:
    def __init__(self, args, tmp):
        self.dir = os.path.join(tmp, "certs")
        subprocess.run(["bash", args.certs_script, self.dir], check=True)

    def __getitem__(self, name):
        return os.path.join(self.dir, name)


def collector(args, tmp, certs, port, out, http=None, cert="server",
              client_auth="required", name="collector", extra="",
              state_dir=None):
    """A ttlog-agent receiving the native protocol over TLS into a JSON
    lines file."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    body = ""
    if http:
        body += "  http:\n    listen: 127.0.0.1:%d\n" % http
    if state_dir:
        body += "  state_dir: '%s'\n" % state_dir
    body += ("inputs:\n"
             "  - name: native\n    type: ttlog\n"
             "    listen: 'tls://127.0.0.1:%d'\n"
             "    tls: {cert: '%s', key: '%s', ca_file: '%s', "
             "client_auth: %s}\n%s"
             "listeners:\n"
             "  - name: out\n    type: file\n    format: json\n"
             "    fsync: never\n    rotate: {size: 0}\n    path: '%s'\n"
             % (port, certs[cert + ".pem"], certs[cert + ".key"],
                certs["ca.pem"], client_auth, extra, out))
    return Agent(args, d, body, 1)


def relay(args, tmp, certs, sock, upstream, http=None, spool=None,
          name="relay", client_cert=True, expect_inputs=1, jsonl_port=None,
          ca_file=True, tls_more="", ack_timeout="10s", extra_inputs="",
          more=""):
    """A ttlog-agent that takes the native protocol on a unix socket (or,
    without one, JSON lines on TCP) and forwards to `upstream` over TLS
    with a client certificate. tls_more is added inside `tls: {...}`;
    extra_inputs (YAML list items) after the first input; more (YAML
    lines) to the forward listener."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    body = ""
    if http:
        body += "  http:\n    listen: 127.0.0.1:%d\n" % http
    body += "inputs:\n"
    if sock:
        body += ("  - {name: app, type: ttlog, listen: 'unix://%s'}\n"
                 % sock)
    else:
        body += ("  - {name: app, type: jsonl, listen: 'tcp://127.0.0.1:%d'}\n"
                 % (jsonl_port or free_port()))
    body += extra_inputs
    tls = []
    if ca_file:
        tls.append("ca_file: '%s'" % certs["ca.pem"])
    if client_cert:
        tls.append("cert: '%s', key: '%s'" % (certs["client.pem"],
                                              certs["client.key"]))
    if tls_more:
        tls.append(tls_more)
    body += ("listeners:\n"
             "  - name: up\n    type: forward\n"
             "    endpoints: '%s'\n"
             "    tls: {%s}\n"
             "    reconnect: {initial: 100ms, max: 1s}\n"
             "    ack_timeout: %s\n    drain_timeout: 2s\n"
             "    queue: {max_bytes: 1GiB}\n%s"
             % (upstream, ", ".join(tls), ack_timeout, more))
    if spool:
        body += ("    spool: {dir: '%s', fsync: never, max_bytes: 1GiB, "
                 "segment_bytes: 1MiB}\n" % spool)
    return Agent(args, d, body, expect_inputs)


def app_config(args, tmp, sock, name="app.yaml"):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("service:\n  plugin_dir: '%s'\n  flush_interval: 5ms\n"
                "  ring_size: 16MiB\n"
                "listeners:\n"
                "  - name: up\n    type: forward\n"
                "    endpoints: 'unix://%s'\n"
                "    reconnect: {initial: 50ms, max: 500ms}\n"
                "    drain_timeout: 60s\n"
                "    queue: {max_bytes: 2GiB}\n"
                % (args.plugins, sock))
    return path


def start_app(args, tmp, config, n, rate=0, name="app", burst=None):
    err = open(os.path.join(tmp, name + ".stderr"), "wb")
    out = open(os.path.join(tmp, name + ".stdout"), "wb")
    cmd = [args.seqgen, "-c", config, "-n", str(n)]
    if rate:
        cmd += ["-r", str(rate), "-b", str(burst or 1000)]
    elif burst:
        cmd += ["-b", str(burst)]
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=err)
    p.files = (out, err)
    p.tmp, p.name = tmp, name
    return p


def finish_app(p, deadline=DEADLINE * 2):
    code = p.wait(deadline)
    for f in p.files:
        f.close()
    with open(os.path.join(p.tmp, p.name + ".stdout")) as f:
        out = f.read()
    with open(os.path.join(p.tmp, p.name + ".stderr")) as f:
        err = f.read()
    check(code == 0, "seqgen exited %d: %s %s" % (code, out, err))
    return json.loads(out.strip().splitlines()[-1])


def kill_app(p):
    if p.poll() is None:
        p.kill()
        p.wait()
    for f in p.files:
        f.close()


# ---------------------------------------------------------------- tests


def test_1m_events_app_relay_collector_over_tls(args, tmp):
    """1M events, app -> relay -> collector over TLS: exactly 0..N-1."""
    n = args.n
    certs = Certs(args, tmp)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    b = collector(args, tmp, certs, port, out, http=http)
    a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port)
    app = None
    try:
        app = start_app(args, tmp, app_config(args, tmp, sock), n)
        seqs = wait_seqs(out, n, DEADLINE * 3, [app])
        stats = finish_app(app)
        check(stats["produced"] == n, stats)
        seqs = seqs_of(out)
        dup = check_exact(seqs, n)
        check(dup == 0, "%d duplicates without any failure" % dup)
        m = metrics(http)
        check(m['ttlog_input_duplicate_frames_total{input="native",'
                'type="ttlog"}'] == 0, "duplicate frames")
        check(m['ttlog_input_tls_failures_total{input="native",'
                'type="ttlog"}'] == 0, "tls failures")
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        if app:
            kill_app(app)
        a.kill()
        b.kill()


def stopped(pid):
    """The process is stopped (SIGSTOP has taken effect)."""
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def line_count(path):
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        return f.read().count(b"\n")


def test_collector_killed_three_times_loses_nothing(args, tmp):
    """The collector SIGKILLed 3 times while args.n events flow, the
    second time after 10 s stopped. With service.state_dir it keeps its
    senders' progress on disk: nothing is lost, and nothing is written
    twice except what it counted as in doubt (a frame torn by the kill
    in the middle of its write, resent and written whole)."""
    n = args.n
    state = None if args.no_state_dir else os.path.join(tmp, "state")
    certs = Certs(args, tmp)
    port, rhttp, mport, chttp = (free_port(), free_port(), free_port(),
                                 free_port())
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")

    def start_collector():
        return collector(args, tmp, certs, port, out, http=chttp,
                         state_dir=state)

    b = start_collector()
    # With a spool, as in the field: after a reconnect the relay replays
    # what its segments still hold, acknowledged frames among them, and
    # only the collector's memory of the sender keeps them out.
    a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port,
              http=rhttp, expect_inputs=2,
              spool=os.path.join(tmp, "spool"),
              extra_inputs="  - {name: marks, type: jsonl, listen: "
                           "'tcp://127.0.0.1:%d'}\n" % mport)
    unacked_key = 'ttlog_listener_forward_unacked_frames{listener="up"}'
    ikey = '{input="native",type="ttlog"}'
    seen = {"dup": 0, "doubt_frames": 0, "doubt_events": 0}

    def scrape():
        """The figures of the collector that is about to be killed."""
        m = metrics(chttp)
        for k, name in (("dup", "duplicate_frames"),
                        ("doubt_frames", "doubtful_frames"),
                        ("doubt_events", "doubtful_events")):
            seen[k] += m.get("ttlog_input_%s_total%s" % (name, ikey), 0)

    app = None
    try:
        # As fast as it goes: the collector is busy writing when killed.
        app = start_app(args, tmp, app_config(args, tmp, sock), n)
        for k in range(3):
            want = n * (k + 1) // 4
            wait_for("%d events before kill %d" % (want, k + 1),
                     lambda: line_count(out) >= want, DEADLINE * 2)
            scrape()
            if k == 1:
                # Frozen for 10 s first. A frame the relay has out once
                # the collector is seen stopped can never be acknowledged
                # by it, so the kill leaves it unacknowledged and the
                # protocol must resend it. A mark event sent through the
                # relay's second input makes sure there is such a frame
                # even if the app has already sent everything (if the
                # relay's window is full, its frames are such frames).
                b.proc.send_signal(signal.SIGSTOP)
                wait_for("the collector to stop",
                         lambda: stopped(b.proc.pid))
                with socket.create_connection(("127.0.0.1", mport)) as s:
                    s.sendall(b'{"msg":"mark"}\n')
                wait_for("a frame out to the stopped collector",
                         lambda: metrics(rhttp).get(unacked_key, 0) > 0)
                time.sleep(10.0)
            # Otherwise killed while frames flow: some are written and
            # not yet acknowledged, the case that used to duplicate.
            b.kill()  # SIGKILL
            time.sleep(2.0)  # an outage: the relay retries meanwhile
            b = start_collector()
        finish_app(app)
        seqs = wait_seqs(out, n, DEADLINE * 3)
        dup = check_exact(seqs, n)
        wait_for("the mark at the collector", lambda: any(
            e.get("msg") == "mark" for e in read_events(out)))
        scrape()
        m = metrics(rhttp)
        lost_conns = m['ttlog_listener_forward_disconnects_total'
                       '{listener="up"}']
        resent = m['ttlog_listener_forward_frames_resent_total'
                   '{listener="up"}']
        print("     collector killed 3 times (state_dir %s): %d events, "
              "%d written twice; the collectors counted %d duplicate "
              "frames dropped and %d frames (%d events) in doubt; the "
              "relay lost %d connections and resent %d frames"
              % ("set" if state else "unset", n, dup, seen["dup"],
                 seen["doubt_frames"], seen["doubt_events"], lost_conns,
                 resent))
        # The stopped collector's kill broke a working connection of the
        # relay and left at least the mark's frame unacknowledged: sent
        # again. (A collector killed while the relay is between
        # connections breaks none.)
        check(lost_conns >= 1, "relay saw %d disconnects" % lost_conns)
        check(resent >= 1, "relay resent %d frames" % resent)
        if state:
            check(dup <= seen["doubt_events"],
                  "%d events written twice, only %d counted in doubt"
                  % (dup, seen["doubt_events"]))
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        if app:
            kill_app(app)
        a.kill()
        b.kill()


def test_relay_killed_with_spool_delivers_everything_accepted(args, tmp):
    n = 150000
    certs = Certs(args, tmp)
    port = free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    rhttp = free_port()
    b = collector(args, tmp, certs, port, out)
    a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port,
              http=rhttp, spool=spool)
    app = None
    key = 'ttlog_input_events_total{input="app",type="ttlog"}'
    try:
        app = start_app(args, tmp, app_config(args, tmp, sock), n,
                        rate=25000)
        # Killed while the application is still sending (at 25,000 a
        # second it needs 4 s more for the rest), whatever the collector
        # has written by then: its output may lag far behind on a loaded
        # machine, and a kill after the application had everything
        # acknowledged would test nothing of the reconnect.
        wait_for("a third of the events at the relay",
                 lambda: metrics(rhttp).get(key, 0) >= n // 3)
        check(app.poll() is None, "the app finished before the kill")
        a.kill()  # SIGKILL: the spool and the app's window must cover it
        a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port,
                  spool=spool, name="relay2")
        finish_app(app)
        seqs = wait_seqs(out, n)
        dup = check_exact(seqs, n)
        with open(os.path.join(tmp, "app.stderr")) as f:
            err = f.read()
        # The application noticed the relay go and came back to it.
        check("connected" in err, "the app did not reconnect: %s" % err)
        print("     relay SIGKILLed: %d events, %d delivered twice"
              % (n, dup))
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        if app:
            kill_app(app)
        a.kill()
        b.kill()


def spool_records(path):
    """(offset, length, seq, count, payload) of each record of a segment."""
    data = open(path, "rb").read()
    recs, off = [], 0
    while off + 12 <= len(data):
        magic, blen, _crc = struct.unpack_from("<4sII", data, off)
        if magic != b"TSR1":
            raise Failure("segment %s: no record at %d" % (path, off))
        seq, _flags, count = struct.unpack_from("<QII", data, off + 12)
        recs.append((off, 12 + blen, seq, count,
                     data[off + 28:off + 12 + blen]))
        off += 12 + blen
    return recs


def payload_seqs(payload):
    """The seq fields of a frame payload, decoded with the lz4 command and
    python's cbor2 (not with ttlog's own reader)."""
    import cbor2
    raw = subprocess.run(["lz4", "-dc"], input=payload, check=True,
                         stdout=subprocess.PIPE).stdout
    batch = cbor2.loads(raw)
    sites = batch["callsites"]
    out = []
    # [time, tid, callsite, flags, origin (v3), msg (flag 2), values...]
    at = 5 if batch["v"] >= 3 else 4
    for ev in batch["events"]:
        site = sites[ev[2]]
        own = 1 if batch["v"] >= 2 and ev[3] & 2 else 0
        if (ev[at] if own else site[0]) == "seq":
            out.append(ev[at + own + site[4].index("seq")])
    return out


def test_corrupt_spool_records_are_skipped_and_counted(args, tmp):
    n = 20000
    certs = Certs(args, tmp)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    sock = os.path.join(tmp, "relay.sock")
    spool = os.path.join(tmp, "spool")
    # The collector is not there yet: everything stays in the spool.
    a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port,
              spool=spool)
    # Small bursts: many frames, so many spool records to pick from.
    app = start_app(args, tmp, app_config(args, tmp, sock), n, burst=500)
    b = None
    try:
        finish_app(app)
        check(a.stop() == 0, "relay exit status")
        segs = sorted(f for f in os.listdir(spool) if f.endswith(".seg"))
        recs = []
        for s in segs:
            recs += [(os.path.join(spool, s),) + r
                     for r in spool_records(os.path.join(spool, s))]
        data_recs = [r for r in recs if payload_seqs(r[5])]
        check(len(data_recs) >= 6, "only %d data records" % len(data_recs))
        lost = set()
        # A flipped byte inside one record's payload (CRC mismatch), a
        # zeroed length in another, and the last record cut short.
        victims = [data_recs[1], data_recs[3], recs[-1]]
        for (path, off, length, seq, count, payload) in victims:
            lost |= set(payload_seqs(payload))
        path, off, length = victims[0][:3]
        with open(path, "r+b") as f:
            f.seek(off + length - 5)
            byte = f.read(1)
            f.seek(off + length - 5)
            f.write(bytes([byte[0] ^ 0x5A]))
        path, off = victims[1][:2]
        with open(path, "r+b") as f:
            f.seek(off + 4)
            f.write(b"\0\0\0\0")
        path, off, length = victims[2][:3]
        os.truncate(path, off + length // 2)
        b = collector(args, tmp, certs, port, out)
        a = relay(args, tmp, certs, sock, "tls://localhost:%d" % port,
                  spool=spool, http=http, name="relay2")
        want = set(range(n)) - lost
        wait_for("the %d intact events" % len(want),
                 lambda: want <= set(seqs_of(out)))
        got = set(seqs_of(out))
        check(not (got & lost), "corrupt records were delivered: %s"
              % sorted(got & lost)[:5])
        m = metrics(http)
        bad = m.get('ttlog_listener_forward_spool_corrupt_records_total'
                    '{listener="up"}', 0)
        check(bad >= 3, "corrupt records counted: %s" % bad)
        print("     %d records corrupted (%d events), %d counted, %d events "
              "delivered" % (len(victims), len(lost), bad, len(got)))
        check(a.stop() == 0 and b.stop() == 0, "exit status")
    finally:
        kill_app(app)
        a.kill()
        if b:
            b.kill()


def tls_refusal(args, tmp, certs, cert, reason, needle, client_auth="none",
                client_cert=True):
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out-%s.jsonl" % reason)
    b = collector(args, tmp, certs, port, out, http=http, cert=cert,
                  client_auth=client_auth, name="collector-" + reason)
    ahttp = free_port()
    a = relay(args, tmp, certs, None, "tls://localhost:%d" % port,
              http=ahttp, name="relay-" + reason, client_cert=client_cert)
    try:
        a.wait_stderr(needle)
        key = ('ttlog_listener_forward_tls_failures_total{listener="up",'
               'reason="%s"}' % reason)
        m = wait_for("counter " + key, lambda: metrics(ahttp).get(key, 0))
        check(m >= 1, key)
        return a, b, http
    except Exception:
        a.kill()
        b.kill()
        raise


def test_tls_refusals_are_clear_and_counted(args, tmp):
    certs = Certs(args, tmp)
    cases = [("wronghost", "hostname", "hostname mismatch"),
             ("stranger", "unknown_ca", "unable to get local issuer"),
             ("expired", "expired", "certificate has expired")]
    for cert, reason, needle in cases:
        a, b, _ = tls_refusal(args, tmp, certs, cert, reason, needle)
        a.kill()
        b.kill()
    # Mutual TLS: a sender without a certificate is refused by the
    # collector, which says so and counts it.
    port, http = free_port(), free_port()
    b = collector(args, tmp, certs, port, os.path.join(tmp, "m.jsonl"),
                  http=http, name="collector-mtls")
    a = relay(args, tmp, certs, None, "tls://localhost:%d" % port,
              name="relay-mtls", client_cert=False)
    try:
        # The agent logs about itself through its listeners: the file.
        wait_for("the refusal in the collector's log",
                 lambda: "did not return a certificate" in
                 open(os.path.join(tmp, "m.jsonl")).read())
        key = 'ttlog_input_tls_failures_total{input="native",type="ttlog"}'
        check(wait_for(key, lambda: metrics(http).get(key, 0)) >= 1, key)
        # The sender names the cause each time, whether it read the
        # collector's alert or only saw the connection end (TLS 1.3).
        fails = wait_for("three refusals on the sender", lambda: (
            lambda f: f if len(f) >= 3 else None)(
            [ln for ln in a.stderr().splitlines()
             if "connection failed" in ln]))
        for ln in fails:
            check("client certificate" in ln and "tls.cert" in ln, ln)
    finally:
        a.kill()
        b.kill()
    # Plaintext to the TLS port, and a client offering only TLS 1.0.
    port, http = free_port(), free_port()
    b = collector(args, tmp, certs, port, os.path.join(tmp, "p.jsonl"),
                  http=http, client_auth="none", name="collector-plain")
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"TTLG" + b"\0" * 64)
            s.settimeout(DEADLINE)
            try:
                s.recv(100)
            except OSError:
                pass
        wait_for("the plaintext refusal in the collector's log",
                 lambda: "plaintext" in
                 open(os.path.join(tmp, "p.jsonl")).read())
        key = 'ttlog_input_tls_failures_total{input="native",type="ttlog"}'
        check(wait_for(key, lambda: metrics(http).get(key, 0) >= 1), key)
    finally:
        b.kill()
    # A client offering only TLS 1.0 (its own collector: the agent logs
    # one closed connection a second and counts the rest as suppressed).
    port, http = free_port(), free_port()
    b = collector(args, tmp, certs, port, os.path.join(tmp, "q.jsonl"),
                  http=http, client_auth="none", name="collector-tls10")
    try:
        r = subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
             "-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, timeout=DEADLINE)
        check(r.returncode != 0, "TLS 1.0 handshake succeeded")
        wait_for("the TLS 1.0 refusal in the collector's log",
                 lambda: "TLS 1.0" in
                 open(os.path.join(tmp, "q.jsonl")).read())
        check(wait_for(key, lambda: metrics(http).get(key, 0) >= 1), key)
    finally:
        b.kill()
    # A collector that offers only TLS 1.0: the forwarder refuses it.
    port, ahttp = free_port(), free_port()
    srv = subprocess.Popen(
        ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port,
         "-cert", certs["server.pem"], "-key", certs["server.key"],
         "-tls1", "-cipher", "DEFAULT@SECLEVEL=0", "-quiet"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        wait_for("openssl s_server listening",
                 lambda: socket.socket().connect_ex(("127.0.0.1", port)) == 0)
        a = relay(args, tmp, certs, None, "tls://localhost:%d" % port,
                  http=ahttp, name="relay-tls10")
        try:
            a.wait_stderr("accepts none of TLS 1.2")
            key = ('ttlog_listener_forward_tls_failures_total'
                   '{listener="up",reason="protocol_version"}')
            check(wait_for(key, lambda: metrics(ahttp).get(key, 0)) >= 1,
                  key)
        finally:
            a.kill()
    finally:
        srv.kill()
        srv.wait()


# ------------------------------------------------- the receiving side, raw


class Peer:
    """A hand-written native-protocol sender over plain TCP, to poke the
    agent's ttlog input with exactly the bytes a test wants."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port),
                                          timeout=DEADLINE)
        self.buf = b""

    def send(self, typ, body):
        self.s.sendall(struct.pack(">IB", len(body) + 1, typ) + body)

    def hello(self, ident, v_min=1, v_max=1):
        import cbor2
        self.s.sendall(b"TTLG")
        self.send(1, cbor2.dumps({"v_min": v_min, "v_max": v_max,
                                  "role": 0, "id": ident,
                                  "max_frame": 65536,
                                  "some_future_key": [1, {"x": 2}]}))

    def data(self, seq, payload, flags=0, count=1):
        self.send(2, struct.pack(">QII", seq, flags, count) + payload)

    def _fill(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise Failure("connection closed by the agent after %r"
                              % self.buf[:200])
            self.buf += chunk

    def magic(self):
        self._fill(4)
        check(self.buf[:4] == b"TTLG", "magic %r" % self.buf[:4])
        self.buf = self.buf[4:]

    def message(self):
        """(type, body) of the next message from the agent."""
        self._fill(5)
        length, typ = struct.unpack(">IB", self.buf[:5])
        self._fill(4 + length)
        body = self.buf[5:4 + length]
        self.buf = self.buf[4 + length:]
        return typ, body

    def closed(self):
        """True once the agent has closed the connection."""
        try:
            return self.s.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.s.close()


def batch(seq_values, msg="raw"):
    """A plain-CBOR batch (docs/cbor-batch.md) of events with a seq field."""
    import cbor2
    return cbor2.dumps({"v": 1, "seq": 1,
                        "callsites": [[msg, "peer.c", 7, 2, ["seq"]]],
                        "events": [[1700000000000000000 + v, 42, 0, 0, v]
                                   for v in seq_values]})


def test_a_pending_tls_handshake_is_named(args, tmp):
    """A TCP peer that never speaks TLS: the forwarder's state is
    tls_handshake (not connecting: TCP is up) and its timeout says what
    did not finish."""
    certs = Certs(args, tmp)
    port, ahttp = free_port(), free_port()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as srv:
        srv.bind(("127.0.0.1", port))
        srv.listen(64)  # the kernel completes TCP; nobody answers
        a = relay(args, tmp, certs, None, "tls://127.0.0.1:%d" % port,
                  http=ahttp, more="    connect_timeout: 500ms\n")
        try:
            key = ('ttlog_listener_forward_state{listener="up",'
                   'state="tls_handshake"}')
            wait_for(key, lambda: metrics(ahttp).get(key) == 1)
            a.wait_stderr("not connected after 500 ms (TCP is up; the TLS "
                          "handshake did not finish)")
        finally:
            a.kill()


def test_native_input_checks_the_protocol(args, tmp):
    import cbor2
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "  http:\n    listen: 127.0.0.1:%d\n"
              "inputs:\n  - {name: raw, type: ttlog, listen: "
              "'tcp://127.0.0.1:%d', max_frame: 64KiB}\n"
              "listeners:\n  - name: out\n    type: file\n"
              "    format: json\n    fsync: never\n    path: '%s'\n"
              % (http, port, out), 1)
    key = lambda name: ('ttlog_input_%s{input="raw",type="ttlog"}' % name)
    try:
        ident = os.urandom(16)
        # A newer sender: refused with the versions named.
        p = Peer(port)
        p.hello(ident, v_min=2, v_max=3)
        p.magic()
        typ, body = p.message()
        check(typ == 5, "expected CLOSE, got %d" % typ)
        code = struct.unpack(">H", body[:2])[0]
        check(code == 2 and b"2..3" in body, "CLOSE %d %r" % (code, body))
        p.close()
        # Something that is not the protocol at all.
        p = Peer(port)
        p.s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        check(wait_for("closed", p.closed), "not closed")
        p.close()
        # A good hello, then data, a resend, a poison frame.
        p = Peer(port)
        p.hello(ident)
        p.magic()
        typ, body = p.message()
        check(typ == 1, "expected HELLO, got %d" % typ)
        h = cbor2.loads(body)
        check(h["role"] == 1 and h["v_min"] == h["v_max"] == 1, h)
        check(h["last_seq"] == 0 and h["max_frame"] == 65536, h)
        p.data(1, batch([0, 1, 2]), count=3)
        check(p.message() == (3, struct.pack(">Q", 1)), "ACK 1")
        p.data(1, batch([0, 1, 2]), count=3)  # sent again
        check(p.message() == (3, struct.pack(">Q", 1)), "ACK of a resend")
        p.data(2, b"\xa1\x61v\x02", count=1)  # CBOR, but not a batch
        check(p.message() == (3, struct.pack(">Q", 2)), "ACK of poison")
        p.send(4, struct.pack(">Q", 77))  # heartbeat: answered
        check(p.message() == (4, struct.pack(">Q", 77)), "heartbeat echo")
        p.data(4, batch([3]), count=1)  # seq 3 never came: a gap
        check(p.message() == (3, struct.pack(">Q", 4)), "ACK 4")
        # Over max_frame: CLOSE TOO_LARGE.
        p.s.sendall(struct.pack(">IB", 70000, 2))
        typ, body = p.message()
        check(typ == 5 and struct.unpack(">H", body[:2])[0] == 3,
              "CLOSE too large: %d %r" % (typ, body))
        p.close()
        # The same sender again: its last seq is remembered.
        p = Peer(port)
        p.hello(ident)
        p.magic()
        typ, body = p.message()
        check(cbor2.loads(body)["last_seq"] == 4, "last_seq after reconnect")
        p.close()
        got = wait_for("4 events", lambda: (lambda s: s if len(s) >= 4
                                            else None)(
            [e for e in read_events(out) if e.get("msg") == "raw"]))
        check(sorted(e["seq"] for e in got) == [0, 1, 2, 3], got)
        e = got[0]
        check(e["file"] == "peer.c" and e["line"] == 7 and e["tid"] == 42
              and e["level"] == "INFO", e)
        m = metrics(http)
        check(m[key("frames_total")] == 3, "frames %s" % m[key("frames_total")])
        check(m[key("duplicate_frames_total")] == 1, "duplicates")
        check(m[key("bad_frames_total")] == 1, "bad frames")
        check(m[key("missing_frames_total")] == 1, "missing")
        check(m[key("protocol_errors_total")] >= 3, "protocol errors")
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_native_input_keeps_its_senders_across_a_kill(args, tmp):
    """With service.state_dir a ttlog input remembers, across a SIGKILL,
    the last frame its listeners took from each sender (announced in its
    hello, resends dropped and counted), and counts as in doubt a frame it
    had handed on but not seen taken when it died."""
    import cbor2
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    state = os.path.join(tmp, "state")
    slow = os.path.join(args.test_plugins, "slow.so")
    key = lambda name: ('ttlog_input_%s{input="raw",type="ttlog"}' % name)

    def start(hold):
        # `hold`: a second listener that never takes a batch and must
        # not lose one (block), so that what the input hands on is
        # written to `out` but never taken.
        extra = ("  - name: hold\n    plugin: '%s'\n"
                 "    queue: {max_bytes: 1GiB, when_full: block}\n"
                 % slow if hold else "")
        return Agent(args, tmp,
                     "  http:\n    listen: 127.0.0.1:%d\n"
                     "  state_dir: '%s'\n"
                     "inputs:\n  - {name: raw, type: ttlog, listen: "
                     "'tcp://127.0.0.1:%d'}\n"
                     "listeners:\n  - name: out\n    type: file\n"
                     "    format: json\n    fsync: never\n"
                     "    path: '%s'\n%s" % (http, state, port, out, extra),
                     1)

    def hello(ident):
        p = Peer(port)
        p.hello(ident)
        p.magic()
        typ, body = p.message()
        check(typ == 1, "expected HELLO, got %d" % typ)
        return p, cbor2.loads(body)["last_seq"]

    def raw_seqs():
        return sorted(e["seq"] for e in read_events(out)
                      if e.get("msg") == "raw")

    ident = os.urandom(16)
    a = start(False)
    try:
        p, last = hello(ident)
        check(last == 0, "a new sender: last_seq %d" % last)
        p.data(1, batch([0, 1]), count=2)
        check(p.message() == (3, struct.pack(">Q", 1)), "ACK 1")
        p.data(2, batch([2]), count=1)
        check(p.message() == (3, struct.pack(">Q", 2)), "ACK 2")
        p.close()
        a.kill()  # SIGKILL

        a = start(True)
        p, last = hello(ident)
        check(last == 2, "last_seq after a kill: %d" % last)
        p.data(2, batch([2]), count=1)  # already taken: not written
        check(p.message() == (3, struct.pack(">Q", 2)), "ACK of a resend")
        # Written by `out`, held by `hold`: no ACK, and in doubt once
        # the agent dies.
        p.data(3, batch([3]), count=1)
        wait_for("seq 3 written", lambda: 3 in raw_seqs())
        m = metrics(http)
        check(m[key("duplicate_frames_total")] == 1, "duplicates")
        check(m[key("frames_total")] == 1, "frames")
        a.kill()
        p.close()

        a = start(False)
        p, last = hello(ident)
        check(last == 2, "frame 3 was never taken: last_seq %d" % last)
        p.data(3, batch([3]), count=1)
        check(p.message() == (3, struct.pack(">Q", 3)), "ACK 3")
        p.data(4, batch([4]), count=1)
        check(p.message() == (3, struct.pack(">Q", 4)), "ACK 4")
        wait_for("seq 4 written", lambda: 4 in raw_seqs())
        # 3 twice (before and after the kill), everything else once; the
        # second 3 is what the input counted as in doubt.
        check(raw_seqs() == [0, 1, 2, 3, 3, 4], raw_seqs())
        m = metrics(http)
        check(m[key("doubtful_frames_total")] == 1, "doubtful frames")
        check(m[key("doubtful_events_total")] == 1, "doubtful events")
        check(m[key("state_damaged_total")] == 0, "damaged")
        check(m[key("missing_frames_total")] == 0, "missing")
        p.close()
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


def test_jsonl_format_resends_what_was_not_written(args, tmp):
    """A JSON-lines collector that drops the connection: the forwarder
    reconnects and sends again every line the kernel had not taken, whole;
    the collector sees every seq, and no line cut in two."""
    n = 200000
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    cfg = os.path.join(tmp, "app.yaml")
    with open(cfg, "w") as f:
        f.write("service:\n  plugin_dir: '%s'\n  flush_interval: 5ms\n"
                "  ring_size: 16MiB\n"
                "listeners:\n  - name: up\n    type: forward\n"
                "    format: jsonl\n    endpoints: 'tcp://127.0.0.1:%d'\n"
                "    reconnect: {initial: 50ms, max: 200ms}\n"
                "    drain_timeout: 30s\n    queue: {max_bytes: 1GiB}\n"
                % (args.plugins, port))
    app = start_app(args, tmp, cfg, n)
    try:
        srv.settimeout(DEADLINE)
        lines = []
        # First connection: read a little, then reset it.
        c, _ = srv.accept()
        got = b""
        while len(got) < 300000:
            got += c.recv(65536)
        # What the collector's kernel holds and this program never reads
        # is all that may be lost: the forwarder keeps every byte the
        # peer's TCP has not acknowledged and sends it again.
        import fcntl
        import termios
        unread = struct.unpack("i", fcntl.ioctl(
            c.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        c.close()
        lines += got.split(b"\n")[:-1]  # the torn last line is dropped
        c, _ = srv.accept()
        rest = b""
        c.settimeout(DEADLINE)
        while True:
            chunk = c.recv(1 << 20)
            if not chunk:
                break
            rest += chunk
            if rest.count(b"\n") and b'"seq":%d,' % (n - 1) in rest:
                break
        c.close()
        check(rest.endswith(b"\n"), "the last line is whole")
        lines += rest.split(b"\n")[:-1]
        seqs = []
        for line in lines:
            e = json.loads(line)  # a cut line would not parse
            if e.get("msg") == "seq":
                seqs.append(e["seq"])
        missing = sorted(set(range(n)) - set(seqs))
        line_len = min(len(x) for x in lines) + 1
        # The unread bytes, plus what arrived between the measurement
        # and the reset (at most one receive window, 64 KiB here).
        check(len(missing) * line_len <= unread + 65536,
              "%d lines lost, more than the %d bytes the collector's "
              "kernel held" % (len(missing), unread))
        check(not missing or missing[-1] - missing[0] + 1 == len(missing),
              "the lost lines are not one run: %s" % missing[:20])
        dup = len(seqs) - len(set(seqs))
        print("     jsonl: reset after %d bytes with %d unread in the "
              "collector's kernel: %d lines lost there, %d sent twice"
              % (len(got), unread, len(missing), dup))
        finish_app(app)
    finally:
        kill_app(app)
        srv.close()


def test_failover_ack_timeout_pins_and_verify_off(args, tmp):
    """The first endpoint takes frames and never acknowledges them: after
    ack_timeout the forwarder moves to the second endpoint and sends them
    again there. Then pins and tls.verify off."""
    import cbor2
    n = 20000
    certs = Certs(args, tmp)
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen(4)
    b = collector(args, tmp, certs, port, out)
    jport = free_port()
    a = relay(args, tmp, certs, None,
              "tcp://127.0.0.1:%d, tls://localhost:%d"
              % (mute.getsockname()[1], port),
              http=http, jsonl_port=jport, ack_timeout="1s")
    try:
        mute.settimeout(DEADLINE)
        c, _ = mute.accept()
        c.settimeout(DEADLINE)
        hello = c.recv(4096)
        check(hello.startswith(b"TTLG"), "magic %r" % hello[:8])
        c.sendall(b"TTLG")
        body = cbor2.dumps({"v_min": 1, "v_max": 1, "role": 1,
                            "id": b"m" * 16, "max_frame": 1 << 20,
                            "window": 1 << 30, "last_seq": 0})
        c.sendall(struct.pack(">IB", len(body) + 1, 1) + body)
        with socket.create_connection(("127.0.0.1", jport)) as s:
            s.sendall(b"".join(b'{"msg":"seq","seq":%d}\n' % i
                               for i in range(n)))
        seqs = wait_seqs(out, n)
        check_exact(seqs, n)
        m = metrics(http)
        check(m['ttlog_listener_forward_ack_timeouts_total{listener="up"}']
              >= 1, "ack timeouts")
        check(m['ttlog_listener_forward_endpoint_index{listener="up"}'] == 1,
              "endpoint index")
        check(m['ttlog_listener_forward_frames_resent_total{listener="up"}']
              >= 1, "resent frames")
        c.close()
        check(a.stop() == 0, "relay exit status")
    finally:
        a.kill()
        b.kill()
        mute.close()
    # Pins: the collector's own certificate is accepted, another is not.
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                         "-sha256", "-in", certs["server.pem"]],
                        check=True, capture_output=True, text=True)
    good = fp.stdout.strip().split("=", 1)[1]
    fp = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                         "-sha256", "-in", certs["client.pem"]],
                        check=True, capture_output=True, text=True)
    wrong = fp.stdout.strip().split("=", 1)[1]
    for pin, ok in ((wrong, False), (good, True)):
        port, ahttp = free_port(), free_port()
        out = os.path.join(tmp, "pin-%s.jsonl" % ok)
        b = collector(args, tmp, certs, port, out, name="collector-pin%s" % ok)
        a = relay(args, tmp, certs, None, "tls://localhost:%d" % port,
                  http=ahttp, name="relay-pin%s" % ok,
                  tls_more="pin_sha256: '%s'" % pin)
        try:
            key = ('ttlog_listener_forward_%s{listener="up"%s}'
                   % (("connects_total", "") if ok else
                      ("tls_failures_total", ',reason="pin"')))
            check(wait_for(key, lambda: metrics(ahttp).get(key, 0) >= 1),
                  key)
            if not ok:
                a.wait_stderr("matches no tls.pin")
        finally:
            a.kill()
            b.kill()
    # tls.verify off: connects to a certificate nobody vouches for, and
    # says so at start.
    port, ahttp = free_port(), free_port()
    b = collector(args, tmp, certs, port, os.path.join(tmp, "nv.jsonl"),
                  cert="stranger", name="collector-noverify")
    a = relay(args, tmp, certs, None, "tls://localhost:%d" % port,
              http=ahttp, name="relay-noverify", ca_file=False,
              tls_more="verify: false")
    try:
        check("tls.verify is off" in a.stderr(), a.stderr())
        key = 'ttlog_listener_forward_connects_total{listener="up"}'
        check(wait_for(key, lambda: metrics(ahttp).get(key, 0) >= 1), key)
    finally:
        a.kill()
        b.kill()


TESTS = [
    test_1m_events_app_relay_collector_over_tls,
    test_collector_killed_three_times_loses_nothing,
    test_relay_killed_with_spool_delivers_everything_accepted,
    test_corrupt_spool_records_are_skipped_and_counted,
    test_tls_refusals_are_clear_and_counted,
    test_a_pending_tls_handshake_is_named,
    test_native_input_checks_the_protocol,
    test_native_input_keeps_its_senders_across_a_kill,
    test_jsonl_format_resends_what_was_not_written,
    test_failover_ack_timeout_pins_and_verify_off,
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--test-plugins")
    p.add_argument("--n", type=int)
    # For figures: the collector-kill test without service.state_dir.
    p.add_argument("--no-state-dir", action="store_true")
    p.add_argument("--only")
    # A sanitizer build: 250,000 events unless --n says otherwise (the
    # same paths, a quarter of the time; the plain build sends 1M).
    p.add_argument("--sanitized", action="store_true")
    args = p.parse_args()
    if args.n is None:
        args.n = 250000 if args.sanitized else 1000000
    return run_tests(TESTS, args, "ttlog-fw-")


if __name__ == "__main__":
    sys.exit(main())
