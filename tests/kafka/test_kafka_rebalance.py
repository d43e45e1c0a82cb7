#!/usr/bin/env python3
"""Two agents' kafka inputs in one consumer group on a topic of 4
partitions; sequence-numbered messages produced with kcat -P while one
agent is SIGKILLed: every message is delivered at least once across the
two outputs, and the duplicates stay within the bound the input states
(docs/kafka.md): what the killed agent had read past its last
commit, at most what it wrote of the messages produced after the first
phase was committed. Prints the figure. Exits 77 without kcat or the
mock."""
import os
import threading
import time

from kafka_input_util import (check, file_out, free_port, kafka_input, main,
                              metric, Mock, produce, seqs, start_agent,
                              wait_for)


def test_rebalance_after_sigkill_at_least_once(args, tmp):
    m = Mock(args.mock, "t:4:1")
    n1, n2, chunk = 4000, 40000, 2000
    agents, outs, https = [], [], []
    try:
        for name in ("a", "b"):
            d = os.path.join(tmp, name)
            os.makedirs(d)
            outs.append(os.path.join(d, "out.jsonl"))
            https.append(free_port())
            agents.append(start_agent(
                args, d, kafka_input("k", m.boot, ["t"], "g"),
                file_out(outs[-1]), https[-1]))
        # Both members hold partitions before anything is produced.
        wait_for("the group split 2 + 2", lambda: all(
            metric(h, "ttlog_input_kafka_assigned_partitions") == 2
            for h in https), 30)

        def all_seqs():
            return seqs(outs[0]) + seqs(outs[1])

        # Keyed: without a key librdkafka sends a whole batch to one
        # partition, and one member could get everything.
        produce(m.boot, "t", ["k%d:seq %d" % (i % 16, i)
                              for i in range(n1)], key=True)
        wait_for("phase 1 delivered", lambda: len(set(all_seqs())) >= n1)
        c0 = metric(https[0], "ttlog_input_kafka_commits_total")
        wait_for("phase 1 committed by a", lambda: metric(
            https[0], "ttlog_input_kafka_commits_total") > c0)
        time.sleep(0.3)  # past one more commit period

        def producer():
            for s in range(n1, n1 + n2, chunk):
                produce(m.boot, "t", ["k%d:seq %d" % (i % 16, i)
                                      for i in range(s, s + chunk)],
                        key=True)
                time.sleep(0.05)
        p = threading.Thread(target=producer)
        p.start()
        wait_for("a reading phase 2", lambda: len(
            [s for s in seqs(outs[0]) if s >= n1]) >= 10000)
        agents[0].proc.kill()
        agents[0].kill()
        a_out = seqs(outs[0])
        a_read2 = len([s for s in a_out if s >= n1])
        p.join()
        wait_for("b took over and delivered everything",
                 lambda: len(set(all_seqs())) >= n1 + n2, 30)
        check(metric(https[1], "ttlog_input_kafka_assigned_partitions") == 4,
              "b does not hold all 4 partitions")
        got = all_seqs()
        check(sorted(set(got)) == list(range(n1 + n2)), "lost messages")
        dups = len(got) - len(set(got))
        phase1_dups = len([s for s in got if s < n1]) - n1
        print("     %d messages, a killed after writing %d of phase 2: "
              "%d duplicates (bound %d), %d of phase 1"
              % (n1 + n2, a_read2, dups, a_read2, phase1_dups))
        check(phase1_dups == 0, "phase 1 delivered twice: offsets lost")
        check(dups <= a_read2, "%d duplicates past the bound %d"
              % (dups, a_read2))
        code = agents[1].stop()
        check(code == 0, "b exited with %d" % code)
    finally:
        for a in agents:
            a.kill()
        m.close()


TESTS = [test_rebalance_after_sigkill_at_least_once]


if __name__ == "__main__":
    raise SystemExit(main(TESTS, "ttlog-kreb-"))
