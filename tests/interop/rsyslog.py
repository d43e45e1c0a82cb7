#!/usr/bin/env python3
"""A real rsyslog as a mutual-TLS syslog collector on loopback, for
interoperability tests (python3 standard library only).

rsyslogd runs in the foreground with a configuration of its own written into
a temporary directory, so it touches neither the system instance nor any
privileged port:

* global(): its own workDirectory, the ossl stream driver with the CA,
  certificate and key made by tests/certs/make_certs.sh, a 1 MiB message
  size limit;
* imtcp on 127.0.0.1:PORT with TLS required (StreamDriver.Mode 1) and
  x509/name authentication: the sender must present a certificate from the
  test CA whose name is one of the permitted peers (by default the client
  certificate's CN, "ttlog-client");
* every message received there is written to out.log, one line each, as
  PRI, HOSTNAME, APP-NAME, PROCID, MSGID, MSG and STRUCTURED-DATA as
  rsyslog read them, separated by TABs. rsyslog escapes control characters
  on receipt (a line feed becomes "#012", a TAB "#011"), so neither the
  line end nor a TAB can come from a message;
* rsyslog's own messages go to rsyslogd.log in the same directory.

Module use:

    c = Collector(certs_dir, work_dir)   # picks a free port
    c.write_config(); c.validate()       # rsyslogd -N1
    c.start()                            # returns once the port listens
    ... send octet-counted RFC 5424 over TLS to 127.0.0.1:c.port ...
    records = c.wait_records(n)          # [Record(msg, sd, ...), ...]
    c.stop()                             # SIGTERM, then wait

Command line:

    rsyslog.py --selftest --fmt-dump PATH --certs-script PATH [--count N]
               [--runs R] [--keep]
        makes certificates, starts rsyslog, sends N messages made by the
        forward plugin's formatter (tests/interop/fmt_dump) over TLS with
        the client certificate, checks that all arrive in order with their
        structured data intact, and that a sender without a certificate is
        refused; stops rsyslog. Exit 0 on success, 1 on failure, 77 when
        rsyslogd or its ossl driver is not installed (a skip for ctest).
    rsyslog.py --serve --certs DIR --dir DIR [--port P]
        runs the collector until SIGINT/SIGTERM, printing "PORT OUTFILE".
    rsyslog.py --check-config --certs DIR --dir DIR [--port P]
        writes and validates the configuration and prints its path.

Where rsyslogd is: --rsyslogd, else $RSYSLOGD, else /usr/sbin/rsyslogd.
Its modules: --modules DIR (passed as -M DIR, for a package unpacked with
dpkg -x), else $RSYSLOG_MODULES, else rsyslogd's built-in directory.
"""

import argparse
import collections
import glob
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from test_agent import free_port  # noqa: E402,F401  (one port picker)

DEFAULT_RSYSLOGD = "/usr/sbin/rsyslogd"
PERMITTED_PEER = "ttlog-client"
MAX_FRAME = 1 << 20
POLL = 0.02  # seconds between two looks at something awaited
DEADLINE = 20.0  # seconds for any one wait
SKIP = 77

# One message as rsyslog read it: its properties %msg%, %structured-data%,
# %pri%, %hostname%, %app-name%, %procid%, %msgid%.
Record = collections.namedtuple("Record", "msg sd pri host app procid msgid")


class CollectorError(Exception):
    pass


def make_certs(script, outdir):
    """Runs tests/certs/make_certs.sh OUTDIR; returns OUTDIR."""
    r = subprocess.run(["bash", script, outdir], capture_output=True,
                       text=True, check=False)
    if r.returncode != 0:
        log = ""
        try:
            with open(os.path.join(outdir, "openssl.log")) as f:
                log = f.read()[-2000:]
        except OSError:
            pass
        raise CollectorError("make_certs.sh failed (%d): %s%s%s" %
                             (r.returncode, r.stdout, r.stderr, log))
    return outdir


def find_rsyslogd(path=None):
    return path or os.environ.get("RSYSLOGD") or DEFAULT_RSYSLOGD


def find_ossl_driver(modules=None):
    """Path of lmnsd_ossl.so, or None."""
    dirs = [modules] if modules else (
        glob.glob("/usr/lib/*/rsyslog") + ["/usr/lib/rsyslog",
                                           "/usr/lib64/rsyslog"])
    for d in dirs:
        p = os.path.join(d, "lmnsd_ossl.so")
        if os.path.exists(p):
            return p
    return None


def _quote(s):
    """A RainerScript string constant."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _listening(port):
    """Whether something listens on 127.0.0.1:port (from /proc/net/tcp, so
    that no probe connection makes rsyslog log a failed handshake); None
    when /proc cannot tell."""
    want = "0100007F:%04X" % port
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                cols = line.split()
                if len(cols) > 3 and cols[1] == want and cols[3] == "0A":
                    return True
    except (OSError, StopIteration):
        return None
    return False


class Collector:
    """One rsyslogd collecting TLS syslog on 127.0.0.1:port."""

    def __init__(self, certs, workdir, port=None, rsyslogd=None,
                 modules=None, permitted_peers=(PERMITTED_PEER,),
                 max_frame=MAX_FRAME):
        self.certs = os.path.abspath(certs)
        self.dir = os.path.abspath(workdir)
        self.port = port or free_port()
        self.rsyslogd = find_rsyslogd(rsyslogd)
        self.modules = modules or os.environ.get("RSYSLOG_MODULES")
        self.permitted_peers = list(permitted_peers)
        self.max_frame = max_frame
        self.conf = os.path.join(self.dir, "rsyslog.conf")
        self.out = os.path.join(self.dir, "out.log")
        self.internal = os.path.join(self.dir, "rsyslogd.log")
        self.pidfile = os.path.join(self.dir, "rsyslogd.pid")
        self.stderr_path = os.path.join(self.dir, "rsyslogd.stderr")
        self.spool = os.path.join(self.dir, "work")
        self.proc = None

    # -- configuration --

    def config_text(self):
        c = lambda name: _quote(os.path.join(self.certs, name))
        peers = ", ".join(_quote(p) for p in self.permitted_peers)
        return "\n".join([
            "# rsyslog as a TLS collector for ttlog's interop tests",
            "# (tests/interop/rsyslog.py); runs unprivileged with -n.",
            "global(",
            "  workDirectory=%s" % _quote(self.spool),
            '  maxMessageSize="%d"' % self.max_frame,
            '  net.enableDNS="off"',
            '  processInternalMessages="on"',
            '  defaultNetstreamDriver="ossl"',
            "  defaultNetstreamDriverCAFile=%s" % c("ca.pem"),
            "  defaultNetstreamDriverCertFile=%s" % c("server.pem"),
            "  defaultNetstreamDriverKeyFile=%s" % c("server.key"),
            ")",
            'module(load="imtcp"',
            '  streamDriver.name="ossl"',
            '  streamDriver.mode="1"',
            '  streamDriver.authMode="x509/name"',
            "  permittedPeer=[%s]" % peers,
            '  maxFrameSize="%d")' % self.max_frame,
            'template(name="ttlog_line" type="string"',
            '  string="%pri%\\t%hostname%\\t%app-name%\\t%procid%\\t'
            '%msgid%\\t%msg%\\t%structured-data%\\n")',
            'ruleset(name="ttlog_collect") {',
            '  action(type="omfile" file=%s template="ttlog_line")'
            % _quote(self.out),
            "}",
            'input(type="imtcp" address="127.0.0.1" port="%d"'
            % self.port,
            '  ruleset="ttlog_collect")',
            "# rsyslog's own messages, kept here rather than sent to the",
            "# system's log socket (the default ruleset sees nothing else).",
            '*.* action(type="omfile" file=%s)' % _quote(self.internal),
            "",
        ])

    def write_config(self):
        os.makedirs(self.spool, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        return self.conf

    def _cmd(self, *args):
        cmd = [self.rsyslogd]
        if self.modules:
            cmd += ["-M", self.modules]
        return cmd + list(args)

    def validate(self):
        """rsyslogd -N1: raises CollectorError with its output when the
        configuration is refused."""
        r = subprocess.run(self._cmd("-N1", "-f", self.conf),
                           capture_output=True, text=True, check=False,
                           timeout=DEADLINE)
        if r.returncode != 0:
            raise CollectorError("rsyslogd -N1 refused %s (exit %d):\n%s%s"
                                 % (self.conf, r.returncode, r.stdout,
                                    r.stderr))
        return r.stdout + r.stderr

    # -- running --

    def start(self, timeout=DEADLINE):
        """Starts rsyslogd and returns once it listens on the port."""
        if self.proc is not None:
            raise CollectorError("already started")
        for p in (self.out, self.internal, self.pidfile):
            if os.path.exists(p):
                os.unlink(p)
        self._stderr = open(self.stderr_path, "w")
        self.proc = subprocess.Popen(
            self._cmd("-n", "-f", self.conf, "-i", self.pidfile),
            stdin=subprocess.DEVNULL, stdout=self._stderr,
            stderr=self._stderr)
        end = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self._reap()
                raise CollectorError("rsyslogd exited (%s) while starting:"
                                     "\n%s" % (code, self.diagnostics()))
            up = _listening(self.port)
            if up is None:  # no /proc: a probe connection instead
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             timeout=POLL).close()
                    up = True
                except OSError:
                    up = False
            if up:
                return self
            if time.monotonic() > end:
                self.stop()
                raise CollectorError("rsyslogd did not listen on port %d "
                                     "within %.0f s:\n%s" %
                                     (self.port, timeout,
                                      self.diagnostics()))
            time.sleep(POLL)

    def stop(self, timeout=DEADLINE):
        """SIGTERM and wait; SIGKILL (and an error) past the deadline.
        Returns rsyslogd's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._reap()
                raise CollectorError("rsyslogd ignored SIGTERM for %.0f s"
                                     % timeout)
        code = self.proc.returncode
        self._reap()
        return code

    def _reap(self):
        self.proc = None
        if getattr(self, "_stderr", None) is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self):
        self.write_config()
        self.validate()
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def diagnostics(self):
        """The tail of rsyslogd's stderr and of its own log."""
        parts = []
        for p in (self.stderr_path, self.internal):
            try:
                with open(p, errors="replace") as f:
                    parts.append("== %s ==\n%s" % (p, f.read()[-3000:]))
            except OSError:
                pass
        return "\n".join(parts)

    # -- output --

    def records(self):
        """Every complete line of out.log as a Record (str, bytes not
        UTF-8 kept as surrogate escapes)."""
        try:
            with open(self.out, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        out = []
        for line in data.split(b"\n")[:-1]:
            cols = line.split(b"\t", 6)
            if len(cols) != 7:
                raise CollectorError("line without its 7 columns in %s: %r"
                                     % (self.out, line[:200]))
            pri, host, app, procid, msgid, msg, sd = (
                c.decode("utf-8", "surrogateescape") for c in cols)
            out.append(Record(msg, sd, pri, host, app, procid, msgid))
        return out

    def wait_records(self, n, timeout=DEADLINE):
        """Polls out.log until it holds n lines (or the deadline passes:
        returns what there is); the deadline restarts whenever the file
        grows, so a slow but steady collector is not cut off."""
        end = time.monotonic() + timeout
        size = -1
        while True:
            try:
                now_size = os.path.getsize(self.out)
            except OSError:
                now_size = 0
            if now_size != size:
                size = now_size
                end = time.monotonic() + timeout
                recs = self.records()
                if len(recs) >= n:
                    return recs
            if time.monotonic() > end:
                return self.records()
            if self.proc is not None and self.proc.poll() is not None:
                raise CollectorError("rsyslogd exited (%s):\n%s" %
                                     (self.proc.returncode,
                                      self.diagnostics()))
            time.sleep(POLL)


# ---------------------------------------------------------------------------
# sending, and reading what was sent


def tls_context(certs, client_cert=True):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH,
                                     cafile=os.path.join(certs, "ca.pem"))
    if client_cert:
        ctx.load_cert_chain(os.path.join(certs, "client.pem"),
                            os.path.join(certs, "client.key"))
    return ctx


def send_tls(port, certs, data, client_cert=True, timeout=DEADLINE):
    """Sends data to 127.0.0.1:port over TLS (server name "localhost"),
    presenting client.pem unless told not to, and closes cleanly."""
    ctx = tls_context(certs, client_cert)
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    with ctx.wrap_socket(raw, server_hostname="localhost") as s:
        s.sendall(data)
        try:
            s.unwrap()  # close_notify, so nothing sent is discarded
        except (OSError, ssl.SSLError):
            pass


def split_octet_counted(data):
    """RFC 6587 octet counting: the messages of a stream, as bytes."""
    msgs, i = [], 0
    while i < len(data):
        sp = data.index(b" ", i)
        n = int(data[i:sp])
        msgs.append(data[sp + 1:sp + 1 + n])
        if len(msgs[-1]) != n:
            raise ValueError("stream cut inside a message")
        i = sp + 1 + n
    return msgs


def parse_5424(m):
    """(header fields, STRUCTURED-DATA, MSG) of one RFC 5424 message, the
    SD as written (escapes kept)."""
    if not re.match(rb"<\d{1,3}>1 ", m):
        raise ValueError("not RFC 5424: %r" % m[:40])
    parts = m.split(b" ", 6)  # <PRI>1 TS HOST APP PROCID MSGID rest
    hdr, rest = parts[:6], parts[6]
    if rest.startswith(b"-"):
        return hdr, b"-", rest[2:]
    i = 0
    while i < len(rest) and rest[i:i + 1] == b"[":
        quoted = False
        while True:
            c = rest[i:i + 1]
            if not c:
                raise ValueError("unterminated SD-ELEMENT")
            if quoted and c == b"\\":
                i += 2
                continue
            if c == b'"':
                quoted = not quoted
            i += 1
            if c == b"]" and not quoted:
                break
    return hdr, rest[:i], rest[i + 1:]


def rsyslog_escaped(msg):
    """msg as rsyslog stores it with its default escaping of control
    characters on receipt: '#' and three octal digits."""
    return re.sub(rb"[\x00-\x1f]", lambda c: b"#%03o" % c.group(0)[0], msg)


# ---------------------------------------------------------------------------
# self-test


def selftest_once(args, run):
    tmp = tempfile.mkdtemp(prefix="ttlog-rsyslog-")
    ok = False
    try:
        certs = make_certs(args.certs_script, os.path.join(tmp, "certs"))
        data = subprocess.run([args.fmt_dump, str(args.count)],
                              capture_output=True, check=True).stdout
        sent = [parse_5424(m) for m in split_octet_counted(data)]
        if len(sent) != args.count:
            raise CollectorError("fmt_dump made %d messages, not %d" %
                                 (len(sent), args.count))
        c = Collector(certs, os.path.join(tmp, "rsyslog"),
                      rsyslogd=args.rsyslogd, modules=args.modules)
        t0 = time.monotonic()
        with c:
            t_up = time.monotonic() - t0
            # First a sender without a certificate, which must be refused.
            body = b'<14>1 - - - - - [x@32473 k="v"] NOCERT-MARKER'
            refused = b"%d %s" % (len(body), body)
            try:
                send_tls(c.port, certs, refused, client_cert=False)
            except (OSError, ssl.SSLError):
                pass  # refused during the handshake: as it should be
            t1 = time.monotonic()
            send_tls(c.port, certs, data)
            recs = c.wait_records(args.count)
            t_recv = time.monotonic() - t1
        check_records(recs, sent, args.count)
        print("run %d: %d messages sent over mutual TLS and read back in "
              "order, headers, structured data and messages as expected; "
              "rsyslog up in %.2f s, all received in %.2f s; no-cert "
              "sender refused" % (run, args.count, t_up, t_recv))
        if run == 1:
            show_rendering(recs, sent)
        ok = True
    finally:
        if args.keep or not ok:
            print("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return ok


def check_records(recs, sent, count):
    errors = []
    if any("NOCERT-MARKER" in r.msg for r in recs):
        errors.append("the sender without a certificate got through")
    recs = [r for r in recs if "NOCERT-MARKER" not in r.msg]
    if len(recs) != count:
        errors.append("%d of %d messages arrived" % (len(recs), count))
    for i, (r, (hdr, sd, msg)) in enumerate(zip(recs, sent)):
        seq = re.search(r'\bseq="(\d+)"', r.sd)
        if seq is None or int(seq.group(1)) != i:
            errors.append("line %d: seq %s, wanted %d" %
                          (i, seq and seq.group(1), i))
        want_sd = sd.decode("utf-8", "surrogateescape")
        if r.sd != want_sd:
            errors.append("line %d: structured data\n  got  %r\n  want %r"
                          % (i, r.sd, want_sd))
        want_msg = rsyslog_escaped(msg).decode("utf-8", "surrogateescape")
        if r.msg != want_msg:
            errors.append("line %d: message\n  got  %r\n  want %r" %
                          (i, r.msg, want_msg))
        want_hdr = [hdr[0][1:-2].decode()] + [h.decode() for h in hdr[2:]]
        got_hdr = [r.pri, r.host, r.app, r.procid, r.msgid]
        if got_hdr != want_hdr:
            errors.append("line %d: PRI, HOSTNAME, APP-NAME, PROCID, MSGID"
                          "\n  got  %r\n  want %r" % (i, got_hdr, want_hdr))
        if len(errors) > 10:
            break
    if errors:
        raise CollectorError("\n".join(errors[:10]))


def show_rendering(recs, sent):
    r = next(r for r in recs if "#012" in r.msg)
    s = re.search(r' s="((?:[^"\\]|\\.)*)"', r.sd).group(1)
    bad = re.search(r' bad="([^"]*)"', r.sd).group(1)
    print("rsyslog's rendering (%structured-data%, %msg%), first run:")
    print("  s as sent:      %s" %
          re.search(rb' s="((?:[^"\\]|\\.)*)"', sent[3][1]).group(1)
          .decode())
    print("  s in rsyslog:   %s" % s)
    print("  bad (U+FFFD):   %r" % bad)
    print("  a message with a line feed: %s" % r.msg)


def selftest(args):
    if not os.path.exists(find_rsyslogd(args.rsyslogd)):
        print("SKIP: no rsyslogd at %s" % find_rsyslogd(args.rsyslogd))
        return SKIP
    if find_ossl_driver(args.modules or os.environ.get("RSYSLOG_MODULES")) \
            is None:
        print("SKIP: rsyslog's ossl stream driver (lmnsd_ossl.so, package "
              "rsyslog-openssl) is not installed")
        return SKIP
    if not args.fmt_dump or not args.certs_script:
        print("--selftest needs --fmt-dump and --certs-script",
              file=sys.stderr)
        return 2
    failed = 0
    for run in range(1, args.runs + 1):
        try:
            if not selftest_once(args, run):
                failed += 1
        except (CollectorError, subprocess.CalledProcessError,
                ValueError) as e:
            print("run %d FAILED: %s" % (run, e))
            failed += 1
    print("%d passed, %d failed" % (args.runs - failed, failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--selftest", action="store_true")
    mode.add_argument("--serve", action="store_true")
    mode.add_argument("--check-config", action="store_true")
    ap.add_argument("--fmt-dump", help="the fmt_dump program")
    ap.add_argument("--certs-script", help="tests/certs/make_certs.sh")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    ap.add_argument("--certs", help="make_certs.sh output (--serve)")
    ap.add_argument("--dir", help="directory for config and output")
    ap.add_argument("--port", type=int)
    ap.add_argument("--rsyslogd")
    ap.add_argument("--modules")
    args = ap.parse_args()

    if args.selftest:
        return selftest(args)
    if not args.certs or not args.dir:
        ap.error("--serve and --check-config need --certs and --dir")
    c = Collector(args.certs, args.dir, port=args.port,
                  rsyslogd=args.rsyslogd, modules=args.modules)
    c.write_config()
    c.validate()
    if args.check_config:
        print(c.conf)
        return 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    c.start()
    print("%d %s" % (c.port, c.out), flush=True)
    try:
        while not stop and c.proc.poll() is None:
            time.sleep(0.2)
    finally:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
