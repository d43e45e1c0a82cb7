"""Helpers of the kafka input tests: the mock cluster, kcat as producer,
an agent whose inputs read the mock and whose file listener the test
reads. Built on tests/integration/test_agent.py."""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from test_agent import (Agent, Failure, check, free_port, metrics,  # noqa
                        read_jsonl, run_tests)
from test_kafka_mock import Mock as MockTool  # noqa: E402

DEADLINE = 20.0


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(77)


class Mock(MockTool):
    """ttlog-kafka-mock with the given topics ("NAME:PARTITIONS:REPLICAS");
    one broker unless told."""

    def __init__(self, path, *topics, brokers=1):
        args = ["--brokers", str(brokers)]
        for t in topics:
            args += ["--topic", t]
        super().__init__(path, *args)

    def close(self):
        try:
            super().close()
        except Exception:  # already gone, or stuck: make sure it ends
            self.p.kill()
            self.p.wait()


def produce(boot, topic, lines, headers=(), key=False, partition=None):
    """One message per line (kcat -P), each with the headers given."""
    cmd = ["kcat", "-b", boot, "-t", topic, "-P", "-X", "acks=all"]
    if partition is not None:
        cmd += ["-p", str(partition)]
    for h in headers:
        cmd += ["-H", h]
    if key:
        cmd += ["-K", ":"]
    subprocess.run(cmd, input="".join(l + "\n" for l in lines), text=True,
                   check=True, timeout=DEADLINE)


def produce_files(boot, topic, paths, headers=()):
    """One message per file (binary values)."""
    cmd = ["kcat", "-b", boot, "-t", topic, "-P", "-X", "acks=all"]
    for h in headers:
        cmd += ["-H", h]
    subprocess.run(cmd + list(paths), check=True, timeout=DEADLINE)


def kafka_input(name, boot, topics, group, extra=""):
    """An `inputs:` entry; the group's session is short so that a member
    killed is replaced within a test's time."""
    return ("  - name: %s\n    type: kafka\n    brokers: '%s'\n"
            "    topics: [%s]\n    group: %s\n    start_at: beginning\n"
            "    properties:\n      session.timeout.ms: 6000\n"
            "      heartbeat.interval.ms: 500\n%s"
            % (name, boot, ", ".join(topics), group, extra))


def file_out(path):
    return ("  - name: out\n    type: file\n    format: json\n"
            "    fsync: never\n    path: %s\n" % path)


def start_agent(args, tmp, inputs, listeners, http=None):
    body = ""
    if http is not None:
        body += "  http:\n    listen: 127.0.0.1:%d\n" % http
    body += "inputs:\n%slisteners:\n%s" % (inputs, listeners)
    return Agent(args, tmp, body, inputs.count("type: kafka"))


def wait_for(what, pred, deadline=DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise Failure("%s: not within %ss" % (what, deadline))


def seqs(path, field="seq"):
    """The sequence numbers of the events in a file listener's output
    (message "seq N")."""
    out, torn = [], []
    # An agent SIGKILLed mid-batch leaves one torn line, which its next
    # start ends with a newline; more than one is damage.
    for e in read_jsonl(path, torn):
        m = e.get("msg", "")
        if m.startswith("seq "):
            out.append(int(m.split()[1]))
    check(len(torn) <= 1, "%s: %d torn lines" % (path, len(torn)))
    return out


def metric(port, name, input_name="k"):
    return metrics(port).get('%s{input="%s",type="kafka"}' % (name,
                                                               input_name))


def tools_or_skip(args):
    import shutil
    if not shutil.which("kcat"):
        skip("kcat is not installed (Debian: kcat)")
    if not os.access(args.mock, os.X_OK):
        skip("no ttlog-kafka-mock at " + args.mock)


def main(tests, prefix):
    """The command line of the kafka input tests; runs `tests`."""
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--agent", required=True)
    p.add_argument("--plugins", required=True)
    p.add_argument("--mock", required=True)
    p.add_argument("--only")
    a = p.parse_args()
    tools_or_skip(a)
    return run_tests(tests, a, prefix)


__all__ = ["main", "Agent", "Failure", "check", "free_port", "metrics", "read_jsonl",
           "run_tests", "Mock", "produce", "produce_files", "kafka_input",
           "file_out", "start_agent", "wait_for", "seqs", "metric",
           "tools_or_skip", "json", "DEADLINE"]
