"""Integration tests of what ttlog-agent does to the data it relays
(docs/network-exposure.md, "What ttlog changes in your data"): a line it
drops is logged with its reason, a repeated key keeps its last value and
is counted and logged, a huge integer arrives exactly. The real binary on
loopback, with the helpers of test_agent.py; the agent's own warnings go
to the same file listener as the events.

Usage: test_data_changes.py --agent PATH --plugins DIR --test-plugins DIR
                            [--only NAME]
"""

import argparse
import os
import socket
import sys

from test_agent import (Agent, check, file_listener, free_port, metrics,
                        read_jsonl, run_tests, wait_lines)


def agent_with_jsonl(args, tmp):
    port, http = free_port(), free_port()
    out = os.path.join(tmp, "out.jsonl")
    a = Agent(args, tmp,
              "  http:\n    listen: 127.0.0.1:%d\n"
              "inputs:\n  - {name: js, type: jsonl, listen: "
              "'tcp://127.0.0.1:%d'}\nlisteners:\n%s"
              % (http, port, file_listener(out)), 1)
    return a, port, http, out


def counter_then_stop(a, http, name, want):
    """Checks ttlog_input_<name>_total of input js, then a clean stop."""
    m = metrics(http)
    got = m.get('ttlog_input_%s_total{input="js",type="jsonl"}' % name)
    check(got == want, "%s: %s, want %s" % (name, got, want))
    check(a.stop() == 0, "exit status")


def test_invalid_utf8_line_is_logged_with_its_reason(args, tmp):
    a, port, http, out = agent_with_jsonl(args, tmp)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            local = "127.0.0.1:%d" % s.getsockname()[1]
            s.sendall(b'{"msg":"bad \xff here"}\n')
            s.sendall(b'{"msg":"after"}\n')
            warns = wait_lines(out, 1, lambda e: e.get("msg") ==
                               "input dropped a message")
        wait_lines(out, 1, lambda e: e.get("msg") == "after")
        w = warns[0]
        check(w.get("level") == "WARN", w)
        check(w.get("input") == "js" and w.get("peer") == local, w)
        # The parser's reason: what and where (0xFF is byte 12).
        check(w.get("reason") == "byte 12: invalid UTF-8", w)
        check(w.get("head") == '{"msg":"bad \\xff here"}', w)
        check(w.get("bytes") == 20, w)
        counter_then_stop(a, http, "malformed", 1)
    finally:
        a.kill()


def test_repeated_key_keeps_last_value_counted_and_logged(args, tmp):
    a, port, http, out = agent_with_jsonl(args, tmp)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b'{"msg":"first","a":1,"b":2,"a":3,"msg":"d",'
                      b'"_msg":"u"}\n')
        ev = wait_lines(out, 1, lambda e: e.get("msg") == "d")[0]
        check(ev.get("a") == 3 and ev.get("b") == 2, ev)
        # A field named like a part of the event gets one more '_'.
        check(ev.get("__msg") == "u" and "_msg" not in ev, ev)
        w = wait_lines(out, 1, lambda e: e.get("msg") ==
                       "input kept the last of repeated keys")[0]
        check(w.get("input") == "js" and w.get("repeats") == 2, w)
        check(w.get("key") == "a", w)
        counter_then_stop(a, http, "duplicate_keys", 2)
    finally:
        a.kill()


def test_huge_integer_arrives_exactly(args, tmp):
    a, port, http, out = agent_with_jsonl(args, tmp)
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b'{"msg":"big","n":123456789012345678901234567890,'
                      b'"u":18446744073709551615,"d":1.5}\n')
        ev = wait_lines(out, 1, lambda e: e.get("msg") == "big")[0]
        check(ev.get("n") == "123456789012345678901234567890", ev)
        check(ev.get("u") == 18446744073709551615 and ev.get("d") == 1.5,
              ev)
        check(not [e for e in read_jsonl(out) if e.get("msg") ==
                   "input dropped a message"], "a warning")
        check(a.stop() == 0, "exit status")
    finally:
        a.kill()


TESTS = [
    test_invalid_utf8_line_is_logged_with_its_reason,
    test_repeated_key_keeps_last_value_counted_and_logged,
    test_huge_integer_arrives_exactly,
]


def main():
    p = argparse.ArgumentParser()
    for name in ("--agent", "--plugins", "--test-plugins"):
        p.add_argument(name, required=True)
    p.add_argument("--only")
    return run_tests(TESTS, p.parse_args(), "ttlog-data-")


if __name__ == "__main__":
    sys.exit(main())
