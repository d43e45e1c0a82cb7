"""What a reader of ttlog-tailgen's files delivered, read from the sink's
output file while it grows (python3 standard library only).

Every line of the sink that holds "seq=NNNNNNNNN file=K" counts, whatever
is around it: a JSON line of ttlog's file listener (format json, the line
in "msg"), or a line of an rsyslog omfile. The generator wrote sequence
number i to file i % K, so within a file the numbers rise.

    c = Tally(n, files)      # n lines expected over `files` files
    c.feed_file(path)        # reads what was appended since the last call
    c.missing(), c.dups, c.out_of_order, c.last[k], c.complete()

Order is judged on first deliveries: a line delivered again (at-least-once
after a restart) is a duplicate, not a reordering; a line delivered for
the first time after a later line of the same file is out of order. With
`rotations` (ttlog-tailgen's -R), each file's lines are also told apart by
the file they were written to (before the first rotation, between the
first and the second, ...): a line first delivered after a later line of
the same written file is `out_of_order`; one first delivered after a line
of a later written file under the same path (the old file's last lines
after the new file's first ones) is `across_rotation` only.

Command line: tailcheck.py N FILES SINK_PATH prints the summary as JSON
and exits 1 when a line is missing or out of order.
"""

import json
import re
import sys

SEQ = re.compile(rb"seq=(\d{9}) file=(\d+)")


class Tally:
    def __init__(self, n, files, rotations=0):
        self.n = n
        self.files = files
        self.rotations = rotations
        self.across_rotation = 0
        self.seen = bytearray(n)
        self.count = 0  # distinct sequence numbers delivered
        self.lines = 0  # lines of the sink that carried one
        self.dups = 0
        self.out_of_order = 0
        self.foreign = 0  # a number past n or a file that does not match
        self.last = [-1] * files  # highest first delivery per file
        self.first_bad = None  # (file, seq, after) of the first reordering
        self._off = 0
        self._rest = b""

    def feed(self, data):
        """Takes a chunk of the sink's bytes; a line cut at the end of the
        chunk waits for the rest."""
        data = self._rest + data
        cut = data.rfind(b"\n") + 1
        self._rest = data[cut:]
        seen, last = self.seen, self.last
        for m in SEQ.finditer(data, 0, cut):
            seq, k = int(m.group(1)), int(m.group(2))
            self.lines += 1
            if seq >= self.n or k >= self.files or seq % self.files != k:
                self.foreign += 1
                continue
            if seen[seq]:
                self.dups += 1
                continue
            seen[seq] = 1
            self.count += 1
            if seq < last[k]:
                if self.rotations and \
                        self.written_to(seq) != self.written_to(last[k]):
                    self.across_rotation += 1
                    continue
                self.out_of_order += 1
                if self.first_bad is None:
                    self.first_bad = (k, seq, last[k])
            else:
                last[k] = seq

    def feed_file(self, path):
        """Reads what the file gained since the last call; returns the
        number of bytes read."""
        try:
            with open(path, "rb") as f:
                f.seek(self._off)
                data = f.read()
        except FileNotFoundError:
            return 0
        self._off += len(data)
        self.feed(data)
        return len(data)

    def written_to(self, seq):
        """Which of its file's generations ttlog-tailgen wrote seq to: 0
        before the first rotation, 1 after it, ... It rotates file k
        after line count c (1-based, within the file) once
        c * (R + 1) >= j * share for rotation j."""
        k, r = seq % self.files, self.rotations
        share = self.n // self.files + (1 if k < self.n % self.files else 0)
        count = seq // self.files + 1
        # Rotation j is done before line `count` when its threshold line
        # count ceil(j * share / (r + 1)) is below count.
        gen = 0
        for j in range(1, r + 1):
            if -(-j * share // (r + 1)) < count:
                gen = j
            else:
                break
        return gen

    def complete(self):
        return self.count == self.n

    def has(self, seq):
        return 0 <= seq < self.n and self.seen[seq] == 1

    def missing(self, limit=10):
        """The first `limit` numbers not delivered, and how many."""
        out, total = [], 0
        start = 0
        while True:
            i = self.seen.find(b"\x00", start)
            if i < 0:
                break
            total += 1
            if len(out) < limit:
                out.append(i)
            start = i + 1
        return out, total

    def summary(self):
        first, total = self.missing()
        return {"expected": self.n, "delivered": self.count,
                "sink_lines": self.lines, "missing": total,
                "first_missing": first, "duplicates": self.dups,
                "out_of_order": self.out_of_order,
                "across_rotation": self.across_rotation,
                "first_out_of_order": self.first_bad,
                "foreign": self.foreign}


def main():
    n, files, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    t = Tally(n, files)
    t.feed_file(path)
    s = t.summary()
    print(json.dumps(s))
    return 0 if s["missing"] == 0 and s["out_of_order"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
