"""Integration test of the origin of events through two relay hops, with
real processes on 127.0.0.1:

    app (ttlog-seqgen, service.name app-x, its own UTS namespace when
         unprivileged user namespaces allow it, so that its host name
         differs from the relays')
      -- TLS with a client certificate -->
    relay-1 (ttlog-agent, native input "in-r1", forward listener)
      -- plain TCP -->
    relay-2 (ttlog-agent, native input "in-r2", forward listener)
      -- plain TCP -->
    collector (ttlog-agent, native input "in-c"; a json file and a
               binary file listener)

The collector's JSON file is checked event by event: the app's events
keep the app's host and service, and the input, peer and certificate
subject relay-1 gave them; their relay is relay-2's address (the source
address of relay-2's connection to the collector, read from /proc). The
relays' own events ("agent started") carry their own service names.
Then ttlog-view --service and --host on the binary file select exactly the
app's events. Waits are on lines in files with deadlines.

Usage: test_origin.py --agent PATH --seqgen PATH --view PATH
                      --plugins DIR --certs-script PATH [--only NAME]
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_agent import Agent, Failure, check, free_port, run_tests  # noqa
from test_forward import (Certs, read_events, wait_for,  # noqa
                          wait_seqs, check_exact)

N = 3000  # events of the app
APP_HOST = "ttlog-origin-app"  # the app's host name in its namespace
ADDR = re.compile(r"^127\.0\.0\.1:\d+$")


def own_uts_namespace():
    """True when this user may run a process with a host name of its own
    (an unprivileged user and UTS namespace, unshare(1))."""
    try:
        r = subprocess.run(["unshare", "-r", "-u", "sh", "-c",
                            "hostname %s && hostname" % APP_HOST],
                           capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return r.returncode == 0 and r.stdout.strip() == APP_HOST


def tcp_addresses(pid, remote_port):
    """The local addresses ("127.0.0.1:PORT") of the established TCP
    connections of process `pid` to 127.0.0.1:remote_port: its socket
    descriptors' inodes looked up in /proc/net/tcp."""
    inodes = set()
    fd_dir = "/proc/%d/fd" % pid
    try:
        for fd in os.listdir(fd_dir):
            try:
                link = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return []
    out = []
    with open("/proc/%d/net/tcp" % pid) as f:
        for line in f.readlines()[1:]:
            p = line.split()
            local, remote, state, inode = p[1], p[2], p[3], p[9]
            if state != "01" or inode not in inodes:
                continue
            rip, rport = remote.split(":")
            lip, lport = local.split(":")
            if rip == "0100007F" and int(rport, 16) == remote_port and \
                    lip == "0100007F":
                out.append("127.0.0.1:%d" % int(lport, 16))
    return out


def one_address(what, pid, remote_port, procs=()):
    addrs = wait_for("%s's connection to port %d" % (what, remote_port),
                     lambda: tcp_addresses(pid, remote_port), procs=procs)
    check(len(addrs) == 1, "%s: one connection expected: %s" % (what, addrs))
    return addrs[0]


def start_agent(args, tmp, name, body):
    """A ttlog-agent with one input, in tmp/name."""
    d = os.path.join(tmp, name)
    os.makedirs(d, exist_ok=True)
    return Agent(args, d, body, 1)


def relay_agent(args, tmp, name, service, inp, port, upstream, tls=""):
    body = ("  name: %s\n"
            "inputs:\n"
            "  - name: %s\n    type: ttlog\n    listen: '%s://127.0.0.1:%d'\n"
            "%s"
            "listeners:\n"
            "  - name: up\n    type: forward\n"
            "    endpoints: 'tcp://127.0.0.1:%d'\n"
            "    reconnect: {initial: 100ms, max: 1s}\n"
            "    drain_timeout: 5s\n"
            % (service, inp, "tls" if tls else "tcp", port, tls, upstream))
    return start_agent(args, tmp, name, body)


def collector_agent(args, tmp, port, out_json, out_bin):
    body = ("  name: collector\n"
            "inputs:\n"
            "  - name: in-c\n    type: ttlog\n"
            "    listen: 'tcp://127.0.0.1:%d'\n"
            "listeners:\n"
            "  - name: js\n    type: file\n    format: json\n"
            "    fsync: never\n    rotate: {size: 0}\n    path: '%s'\n"
            "  - name: bin\n    type: file\n    format: binary\n"
            "    fsync: never\n    rotate: {size: 0}\n    path: '%s'\n"
            % (port, out_json, out_bin))
    return start_agent(args, tmp, "collector", body)


def start_app(args, tmp, certs, port, host):
    conf = os.path.join(tmp, "app.yaml")
    with open(conf, "w") as f:
        f.write("service:\n  name: app-x\n  plugin_dir: '%s'\n"
                "  flush_interval: 5ms\n"
                "listeners:\n"
                "  - name: up\n    type: forward\n"
                "    endpoints: 'tls://localhost:%d'\n"
                "    tls: {ca_file: '%s', cert: '%s', key: '%s'}\n"
                "    reconnect: {initial: 50ms, max: 500ms}\n"
                "    drain_timeout: 10s\n"
                % (args.plugins, port, certs["ca.pem"], certs["client.pem"],
                   certs["client.key"]))
    # Paced (about 1.5 s) so that its connection can be read from /proc.
    cmd = [args.seqgen, "-c", conf, "-n", str(N), "-r", "2000", "-b", "100"]
    if host != socket.gethostname():
        cmd = ["unshare", "-r", "-u", "sh", "-c",
               'hostname "$0" && exec "$@"', host] + cmd
    out = open(os.path.join(tmp, "app.out"), "wb")
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                         stderr=subprocess.STDOUT)
    p.out = out
    return p


def app_done(tmp, p):
    code = p.wait(20)
    p.out.close()
    with open(os.path.join(tmp, "app.out")) as f:
        text = f.read()
    check(code == 0, "ttlog-seqgen exited %d: %s" % (code, text))


def view(args, *argv):
    r = subprocess.run([args.view] + list(argv), capture_output=True,
                       text=True, timeout=20)
    check(r.returncode == 0, "ttlog-view %s: %d %s" % (" ".join(argv),
                                                       r.returncode,
                                                       r.stderr))
    return r.stdout


def view_json(args, *argv):
    return [json.loads(x) for x in view(args, "--json", *argv).splitlines()]


def by_service(events, service):
    return [e for e in events if e.get("service") == service]


# ---------------------------------------------------------------- tests


def test_origin_through_two_relays(args, tmp):
    """app -> relay-1 (TLS) -> relay-2 -> collector: every app event keeps
    the app's host and service, relay-1's input, the app's address and
    certificate subject, and names relay-2 as its relay; the relays' own
    events carry their own services; ttlog-view selects by service and
    host."""
    certs = Certs(args, tmp)
    me = socket.gethostname()
    app_host = APP_HOST if own_uts_namespace() else me
    p1, p2, p3 = free_port(), free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    out_bin = os.path.join(tmp, "out.bin")
    agents, app = [], None
    try:
        col = collector_agent(args, tmp, p3, out, out_bin)
        agents.append(col)
        r2 = relay_agent(args, tmp, "relay2", "relay-2", "in-r2", p2, p3)
        agents.append(r2)
        r1 = relay_agent(args, tmp, "relay1", "relay-1", "in-r1", p1, p2,
                         tls="    tls: {cert: '%s', key: '%s', "
                         "ca_file: '%s', client_auth: required}\n"
                         % (certs["server.pem"], certs["server.key"],
                            certs["ca.pem"]))
        agents.append(r1)
        procs = [a.proc for a in agents]
        r2_addr = one_address("relay-2", r2.proc.pid, p3, procs)
        r1_addr = one_address("relay-1", r1.proc.pid, p2, procs)
        app = start_app(args, tmp, certs, p1, app_host)
        app_addr = one_address("the app", app.pid, p1, procs + [app])
        check(ADDR.match(r2_addr) and ADDR.match(app_addr),
              (r2_addr, app_addr))
        seqs = wait_seqs(out, N, 20, procs)
        app_done(tmp, app)
        app = None
        dups = check_exact(seqs, N)
        check(dups == 0, "%d duplicates" % dups)
        # The relays' own "agent started" have come too (sent before the
        # app's first event, but waited for all the same).
        wait_for("the relays' own events", lambda: by_service(
            read_events(out), "relay-1") and by_service(
            read_events(out), "relay-2"), 20, procs)
        events = read_events(out)

        app_ev = [e for e in events if e.get("msg") == "seq"]
        check(len(app_ev) == N, "%d app events" % len(app_ev))
        want = {"host": app_host, "service": "app-x", "input": "in-r1",
                "peer": app_addr, "peer_id": "/CN=ttlog-client",
                "relay": r2_addr}
        for e in app_ev:
            got = {k: e.get(k) for k in want}
            check(got == want, "app event seq %s: origin %s, expected %s"
                  % (e.get("seq"), got, want))
        check(by_service(events, "app-x") == app_ev,
              "events of service app-x that are not the app's")

        # relay-1's own events: taken in by relay-2 (no certificate on that
        # hop), delivered by relay-2 as well.
        for e in by_service(events, "relay-1"):
            check(e.get("host") == me and e.get("input") == "in-r2" and
                  e.get("peer") == r1_addr and "peer_id" not in e and
                  e.get("relay") == r2_addr, "relay-1's event: %s" % e)
        check(any(e.get("msg") == "agent started"
                  for e in by_service(events, "relay-1")),
              "relay-1's 'agent started' did not arrive")
        # relay-2's own: taken in by the collector, no relay.
        for e in by_service(events, "relay-2"):
            check(e.get("host") == me and e.get("input") == "in-c" and
                  e.get("peer") == r2_addr and "relay" not in e and
                  "peer_id" not in e, "relay-2's event: %s" % e)
        # The collector's own: no input, peer or relay.
        mine = by_service(events, "collector")
        check(mine, "the collector's own events are missing")
        for e in mine:
            check(not {"input", "peer", "peer_id", "relay"} & set(e),
                  "collector's event: %s" % e)
        services = {e.get("service") for e in events}
        check(services == {"app-x", "relay-1", "relay-2", "collector"},
              "services: %s" % services)

        # ttlog-view on the binary file: the same events, selected by the
        # origin. Stopped from the first hop on, each drains into the next,
        # and the collector's file is complete.
        for a in reversed(agents):
            code = a.stop()
            check(code == 0, "%s exited %d: %s" % (a.tmp, code, a.stderr()))
        got = view_json(args, "--service", "app-x", out_bin)
        check(sorted(e.get("seq") for e in got) == list(range(N)) and
              all(e.get("service") == "app-x" and e.get("host") == app_host
                  for e in got), "ttlog-view --service app-x: %d events"
              % len(got))
        text = view(args, "--service", "app-x", out_bin).splitlines()
        check(len(text) == N and all(
            x.endswith(" (app-x@%s)" % app_host) for x in text),
            "ttlog-view --service app-x (text): %d lines, first %r"
            % (len(text), text[:1]))
        allv = view_json(args, out_bin)
        if app_host != me:
            got = view_json(args, "--host", app_host, out_bin)
            check(got == [e for e in allv if e.get("msg") == "seq"],
                  "ttlog-view --host %s: %d events" % (app_host, len(got)))
            rest = view_json(args, "--host", me, out_bin)
            check(len(rest) + N == len(allv) and
                  all(e.get("service") != "app-x" for e in rest),
                  "ttlog-view --host %s: %d of %d" % (me, len(rest),
                                                      len(allv)))
        else:  # every process has the same host name
            got = view_json(args, "--host", me, out_bin)
            check(len(got) == len(allv), "ttlog-view --host %s" % me)
        got = view_json(args, "--host", "no-such-host", out_bin)
        check(got == [], "ttlog-view --host no-such-host: %d" % len(got))
        got = view_json(args, "--service", "app-x", "--host", me + "-x",
                        out_bin)
        check(got == [], "--service and --host must both match")
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait()
        for a in agents:
            a.kill()


TESTS = [test_origin_through_two_relays]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--seqgen", required=True)
    p.add_argument("--view", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--certs-script", required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-origin-")


if __name__ == "__main__":
    sys.exit(main())
