#!/usr/bin/python3
"""Checks that the source folders include each other only downwards, and
only through the headers named here (python3 standard library only).

    python3 tests/layers/check_layers.py SOURCE_DIR

Every `#include "x.h"` in a .c or .h outside tests/ is resolved to the
folder that holds x.h (the including file's own folder first). An include
that crosses folders must be listed in ALLOWED below: a new one is a
decision about the architecture (README, "Layout"), made by editing this
list, not something that happens by accident. Exit status 1 names every
include that is not allowed, with file and line.
"""
import os
import re
import sys

# from folder -> {to folder: headers it may include from there}; "*" = any
# header of that folder. Folders not named may include only common/.
ALLOWED = {
    "config": {"common": "*"},
    # Routing (core/route/) compiles match: and processors: from config's
    # document tree: a step down, as the order config -> core says.
    "core": {"common": "*", "config": {"config_internal.h"}},
    "tls": {"common": "*"},
    # The native protocol; the receiving side's decoder hands out core's
    # ingest events (wire_payload.h).
    "wire": {"common": "*",
             "core": {"ingest_internal.h", "origin_internal.h"}},
    # The registry: starts the library as a host does (keeping the
    # pipeline until shutdown), checks listener tables, reads config's
    # document tree.
    "listeners": {"common": "*", "config": "*",
                  "core": {"host_internal.h", "listener_abi.h", "route.h"}},
    # The agent reaches core through its one seam, the message parsers
    # (core/parse/, shared with the processors) and origins.
    "agent": {"common": "*", "config": "*", "listeners": "*", "wire": "*",
              "tls": "*", "kafka": {"kafka_conf.h"}, "core": {"host_internal.h", "parse_internal.h",
                                   "multiline_internal.h",
                                   "origin_internal.h"}},
    # Plugins are loaded into any process: no core or registry internals.
    "plugins/stdout": {"common": "*"},
    "plugins/file": {"common": "*"},
    # Code plugins share (the disk spool, the syslog formatter).
    "plugins/shared": {"common": "*"},
    "plugins/forward": {"common": "*", "wire": {"wire.h"}, "tls": "*",
                        "plugins/shared": "*"},
    # Kafka (librdkafka): the spool and the formatter, and the native
    # payload for format: ttlog.
    "plugins/kafka": {"common": "*", "wire": {"wire.h"},
                      "plugins/shared": "*", "kafka": {"kafka_conf.h"}},
    # The librdkafka configuration and message formats the Kafka listener
    # and input share.
    "kafka": {"common": "*"},
    # ttlog-view decodes batches and snapshots offline.
    "tools/view": {"common": "*", "wire": "*",
                   "core": {"batch_internal.h", "ingest_internal.h",
                            "origin_internal.h"}},
    "examples": {},
}
SKIP_TOP = {"tests", "build", ".git", ".ci", "packaging", "docs", "conf",
            "cmake"}


def folder(rel):
    parts = rel.split("/")
    if parts[0] in ("plugins", "tools", "examples") and len(parts) > 2:
        return "/".join(parts[:2]) if parts[0] != "examples" else parts[0]
    return parts[0] if len(parts) > 1 else "."


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    headers = {}
    files = []
    for root, dirs, names in os.walk(top):
        rel_root = os.path.relpath(root, top)
        first = rel_root.split("/")[0]
        if first in SKIP_TOP or first.startswith("build"):
            dirs[:] = []
            continue
        for n in names:
            rel = os.path.normpath(os.path.join(rel_root, n))
            if n.endswith(".h"):
                headers.setdefault(n, []).append(os.path.dirname(rel))
            if n.endswith((".c", ".h", ".cpp")):
                files.append(rel)
    bad = []
    checked = 0
    for rel in sorted(files):
        here = folder(rel)
        with open(os.path.join(top, rel), encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                name = os.path.basename(m.group(1))
                dirs = headers.get(name)
                if not dirs:
                    continue  # generated (build tree) or a system header
                where = (os.path.dirname(rel) if os.path.dirname(rel) in dirs
                         else dirs[0])
                there = folder(os.path.join(where, name))
                checked += 1
                if there == here or there == "include":
                    continue
                allowed = ALLOWED.get(here, {}).get(there)
                if allowed == "*" or (allowed and name in allowed):
                    continue
                bad.append("%s:%d: %s includes %s/%s" %
                           (rel, lineno, here, there, name))
    for b in bad:
        print("layers: not allowed: " + b)
    print("layers: %d includes checked, %d across folders not allowed" %
          (checked, len(bad)))
    if checked == 0:
        print("layers: no includes found under %s" % top)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
