#!/usr/bin/python3
"""Shipper agent -> Kafka -> collector agent, in every format the listener
writes: a shipper's kafka listeners write the same events to one topic per
format (json, cbor, ttlog, syslog); a collector's kafka input reads the
four topics with `format: auto` into a file. Every event arrives once per
format, and its origin survives the trip: host, service and message
always; the shipper's input name wherever the format carries it (json,
cbor, ttlog), the collector's where it cannot (syslog).

Usage: test_kafka_roundtrip.py --agent PATH --plugins DIR --mock PATH
Exits 77 when kcat is missing."""
import json
import os
import socket
import sys
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kafka_input_util import (Agent, DEADLINE, Mock, check, file_out,  # noqa
                              free_port, kafka_input, main, read_jsonl,
                              wait_for)

FORMATS = ("json", "cbor", "ttlog", "syslog")
N = 3000


def shipper(args, tmp, boot, port):
    out = ""
    for f in FORMATS:
        # ttlog sends whole batches: its key cannot vary per event.
        key = "h" if f == "ttlog" else "'${host}'"
        out += ("  - name: k-%s\n    type: kafka\n    brokers: '%s'\n"
                "    topic: rt-%s\n    format: %s\n    key: %s\n"
                "    match: input == \"app\"\n" % (f, boot, f, f, key))
    body = ("inputs:\n  - {name: app, type: jsonl, "
            "listen: 'tcp://127.0.0.1:%d'}\nlisteners:\n%s" % (port, out))
    os.makedirs(tmp)
    return Agent(args, tmp, body, 1)


def test_every_format_round_trips_with_its_origin(args, tmp):
    m = Mock(args.mock, *("rt-%s:3:1" % f for f in FORMATS))
    agents = []
    try:
        port = free_port()
        agents.append(shipper(args, os.path.join(tmp, "s"), m.boot, port))
        out = os.path.join(tmp, "out.jsonl")
        body = ("inputs:\n%slisteners:\n%s" % (
            kafka_input("from-kafka", m.boot,
                        ["rt-%s" % f for f in FORMATS], "collectors"),
            file_out(out) + "    match: 'service != \"ttlog-agent\"'\n"))
        os.makedirs(os.path.join(tmp, "c"))
        agents.append(Agent(args, os.path.join(tmp, "c"), body, 1))
        sent = {}
        with socket.create_connection(("127.0.0.1", port),
                                      timeout=DEADLINE) as s:
            lines = []
            for i in range(N):
                e = {"msg": "seq %d" % i, "host": "h%d" % (i % 4),
                     "service": ("web", "db")[i % 2], "seq": i}
                sent[i] = e
                lines.append(json.dumps(e) + "\n")
            s.sendall("".join(lines).encode())

        def mine():
            return [e for e in read_jsonl(out)
                    if str(e.get("msg", "")).startswith("seq ")]
        got = wait_for("%d events x %d formats" % (N, len(FORMATS)),
                       lambda: len(mine()) >= N * len(FORMATS) and mine(),
                       deadline=3 * DEADLINE)
        by_seq = defaultdict(list)
        for e in got:
            by_seq[int(e["msg"].split()[1])].append(e)
        check(sorted(by_seq) == list(range(N)), "sequence numbers differ")
        for i, copies in by_seq.items():
            want = sent[i]
            check(len(copies) == len(FORMATS),
                  "seq %d arrived %d times: %s" % (i, len(copies), copies))
            for c in copies:
                check(c.get("host") == want["host"] and
                      c.get("service") == want["service"],
                      "seq %d lost its origin: %s" % (i, c))
            inputs = sorted(c.get("input") for c in copies)
            # json, cbor and ttlog carry the shipper's input; an RFC 5424
            # message has no place for it: the collector's own.
            check(inputs == ["app", "app", "app", "from-kafka"],
                  "seq %d inputs %s" % (i, inputs))
        for a in agents:
            check(a.stop() == 0, a.stderr()[-2000:])
    finally:
        for a in agents:
            a.kill()
        m.close()


if __name__ == "__main__":
    sys.exit(main([test_every_format_round_trips_with_its_origin],
                  "ttlog-kafka-rt-"))
