"""jsonl_check.py - a strict reader of ttlog's JSON-lines encoding, run by
test_encode_text.c.

Usage: python3 jsonl_check.py FILE

The file must be UTF-8 and every line, each ended by a newline, must hold
exactly one JSON object with no surrounding white space. Duplicate keys and
the non-standard constants NaN, Infinity and -Infinity are rejected (Python's
json module accepts both by default). For each member of each object, in
order, one line is printed:

    LINE KEY TYPE:VALUE

LINE counts from 0 and KEY is printed as it is. TYPE is s for a string (VALUE
is the hex of its UTF-8 encoding), i for an integer and f for a float (VALUE
is repr()), b for true/false and n for null. Anything else, including a
nested array or object, exits with status 1 and a message on stderr.
"""

import json
import sys


class Rejected(Exception):
    pass


def no_duplicates(pairs):
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise Rejected("duplicate key %r" % key)
        seen.add(key)
    return dict(pairs)


def no_constants(name):
    raise Rejected("non-standard constant %s" % name)


def show(value):
    # bool before int: in Python, True is an int.
    if isinstance(value, bool):
        return "b:" + ("true" if value else "false")
    if isinstance(value, int):
        return "i:" + repr(value)
    if isinstance(value, float):
        return "f:" + repr(value)
    if isinstance(value, str):
        return "s:" + value.encode("utf-8").hex()
    if value is None:
        return "n:"
    raise Rejected("unexpected %s value" % type(value).__name__)


def main():
    if len(sys.argv) != 2:
        print("usage: jsonl_check.py FILE", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        raw = f.read()
    out = []
    try:
        text = raw.decode("utf-8", errors="strict")
        if text and not text.endswith("\n"):
            raise Rejected("the last line has no newline")
        lines = text.split("\n")[:-1] if text else []
        for n, line in enumerate(lines):
            if line != line.strip() or not line:
                raise Rejected("line %d: empty or padded" % n)
            obj = json.loads(line, object_pairs_hook=no_duplicates,
                             parse_constant=no_constants)
            if not isinstance(obj, dict):
                raise Rejected("line %d: not an object" % n)
            for key, value in obj.items():
                out.append("%d %s %s" % (n, key, show(value)))
    except (Rejected, ValueError) as e:
        # json.JSONDecodeError and UnicodeDecodeError are ValueErrors.
        print("jsonl_check: %s" % e, file=sys.stderr)
        return 1
    for line in out:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
