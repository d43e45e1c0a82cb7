"""Interoperability: ttlog-agent's forward listener (format syslog) sends
to a real rsyslogd, started here as a mutual-TLS collector on loopback
(imtcp with the ossl stream driver, x509/name authentication). N events
with a sequence number go into the agent as JSON lines; all N must come
out of rsyslog in order, each with its fields as RFC 5424 structured data
and the relay's own header. Then syslog messages sent to the agent's syslog
input (RFC 5424 and RFC 3164) must reach rsyslog with their original PRI,
HOSTNAME, APP-NAME, PROCID and MSGID (rsyslog's %pri% %hostname%
%app-name% %procid% %msgid%), those fields no longer repeated in the
structured data.

Usage: test_rsyslog_forward.py --agent PATH --plugins DIR
                               --certs-script PATH [--n N]
Exit 77 (skipped) where rsyslogd or its ossl driver is not installed.
"""

import argparse
import os
import re
import shutil
import socket
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import rsyslog  # noqa: E402
from test_agent import Agent, check, free_port, metrics  # noqa: E402


# Syslog messages for the agent's syslog input and what rsyslog must read
# from the relay: (line, PRI, HOSTNAME, APP-NAME, PROCID, MSGID, SD). What
# the original lacked stays "-": the relay's pid would name another host's
# process.
RELAYED = [
    (b'<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su 77 ID47 '
     b'[exampleSDID@32473 iut="3" eventSource="Application"] relayed 5424',
     "34", "mymachine.example.com", "su", "77", "ID47",
     '[fields@32473 exampleSDID@32473.iut="3" '
     'exampleSDID@32473.eventSource="Application"]'
     '[src@32473 file="syslog" line="0"]'),
    (b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc - - - "
     b"relayed nil",
     "165", "192.0.2.1", "myproc", "-", "-",
     '[src@32473 file="syslog" line="0"]'),
    (b"<13>Oct 11 22:14:15 oldhost cron[123]: relayed 3164",
     "13", "oldhost", "cron", "123", "-",
     '[src@32473 file="syslog" line="0"]'),
]


def check_relayed(coll, sport, n):
    """Sends RELAYED to the agent's syslog input (LF-framed TCP) and checks
    what rsyslog read; returns one header as rsyslog read it, to show."""
    with socket.create_connection(("127.0.0.1", sport)) as s:
        s.sendall(b"".join(m[0] + b"\n" for m in RELAYED))
    recs = coll.wait_records(n + len(RELAYED))
    got = {r.msg: r for r in recs if r.msg.startswith("relayed ")}
    for line, pri, host, app, procid, msgid, sd in RELAYED:
        msg = line[line.index(b"relayed "):].decode()
        r = got.get(msg)
        check(r is not None, "%r did not arrive; got %r" % (msg, list(got)))
        want = (pri, host, app, procid, msgid, sd)
        have = (r.pri, r.host, r.app, r.procid, r.msgid, r.sd)
        check(have == want, "relayed %r:\n  got  %r\n  want %r"
              % (msg, have, want))
    r = got["relayed 5424"]
    return (r.pri, r.host, r.app, r.procid, r.msgid)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--n", type=int, default=20000)
    args = p.parse_args()
    try:
        rsyslog.find_rsyslogd()
        rsyslog.find_ossl_driver()
    except Exception as e:  # not installed: skipped, and said so
        print("skipped: %s" % e)
        return 77
    tmp = tempfile.mkdtemp(prefix="ttlog-rsyslog-")
    coll = agent = None
    try:
        certs = os.path.join(tmp, "certs")
        rsyslog.make_certs(args.certs_script, certs)
        work = os.path.join(tmp, "rsyslog")
        os.makedirs(work)
        coll = rsyslog.Collector(certs, work)
        coll.write_config()
        coll.validate()
        coll.start()
        jport, sport, http = free_port(), free_port(), free_port()
        d = os.path.join(tmp, "agent")
        os.makedirs(d)
        agent = Agent(args, d,
                      "  http:\n    listen: 127.0.0.1:%d\n"
                      "inputs:\n  - {name: js, type: jsonl, "
                      "listen: 'tcp://127.0.0.1:%d'}\n"
                      "  - {name: sl, type: syslog, "
                      "listen: 'tcp://127.0.0.1:%d'}\n"
                      "listeners:\n  - name: siem\n    type: forward\n"
                      "    level: info\n"
                      "    endpoints: 'tls://localhost:%d'\n"
                      "    format: syslog\n"
                      "    tls: {ca_file: '%s/ca.pem', cert: '%s/client.pem',"
                      " key: '%s/client.key'}\n"
                      "    syslog: {app_name: seqapp, facility: 16}\n"
                      % (http, jport, sport, coll.port, certs, certs,
                         certs), 2)
        n = args.n
        with socket.create_connection(("127.0.0.1", jport)) as s:
            s.sendall(b"".join(
                b'{"msg":"event %d","seq":%d,"who":"a \\"b\\" [c]"}\n'
                % (i, i) for i in range(n)))
        recs = coll.wait_records(n)
        recs = [r for r in recs if r.msg.startswith("event ")]
        seq_re = re.compile(r'seq="(\d+)"')
        seqs = []
        for r in recs:
            m = seq_re.search(r.sd)
            check(m is not None, "no seq in the structured data: %r" % r.sd)
            seqs.append(int(m.group(1)))
            check('who="a \\"b\\" [c\\]"' in r.sd,
                  "escaped value not intact: %r" % r.sd)
            check("[fields@32473 " in r.sd and "[src@32473 " in r.sd,
                  "structured data elements: %r" % r.sd)
            check(r.msg == "event %d" % seqs[-1], r)
        check(seqs == list(range(n)),
              "%d of %d in order; first difference at %s"
              % (len(seqs), n, next((i for i, v in enumerate(seqs)
                                     if v != i), len(seqs))))
        # An application's events carry the relay's header: this host,
        # the configured APP-NAME and facility (16, INFO: 134), the
        # agent's pid, no MSGID.
        host = "".join(c if "!" <= c <= "~" else "_"
                       for c in socket.gethostname()[:255]) or "-"
        own = {(r.pri, r.host, r.app, r.procid, r.msgid) for r in recs}
        want = ("134", host, "seqapp", str(agent.proc.pid), "-")
        check(own == {want}, "application headers %r, wanted only %r"
              % (sorted(own)[:3], want))
        relayed_checked = check_relayed(coll, sport, n)
        m = metrics(http)
        sent = m.get('ttlog_listener_forward_bytes_sent_total'
                     '{listener="siem"}', 0)
        check(sent > 0, "bytes sent %s" % sent)
        check(agent.stop() == 0, "agent exit status")
        print("ok   %d events through rsyslog with structured data; e.g. %s"
              % (n, recs[0].sd))
        print("ok   %d syslog messages relayed with their own header; e.g. "
              "PRI, HOSTNAME, APP-NAME, PROCID, MSGID %r"
              % (len(RELAYED), relayed_checked))
        return 0
    except Exception as e:
        print("FAIL %s" % e)
        if coll is not None:
            print(coll.diagnostics())
        if agent is not None:
            err = agent.stderr()
            # The start of a sanitizer report names the leak; the end
            # says how the agent stopped.
            print(err if len(err) <= 8000 else
                  err[:5000] + "\n[...]\n" + err[-3000:])
        return 1
    finally:
        if agent is not None:
            agent.kill()
        if coll is not None:
            coll.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
