#!/usr/bin/python3
"""Run a command and record its peak resident set size.

usage: maxrss.py FILE CMD [ARG...]

Runs CMD (stdin, stdout and stderr passed through), then writes to FILE
one JSON object {"maxrss_kib": K}: ru_maxrss of
resource.getrusage(RUSAGE_CHILDREN) after CMD has been waited for, which
on Linux is the largest resident set, in KiB, that CMD (or any process it
waited for) reached. `env VAR=... prog` execs prog in the same process, so
it is prog's peak. Exits with CMD's status (128 + N when killed by signal
N). The wrapper itself is not counted (RUSAGE_CHILDREN), and nothing of it
runs while CMD does.
"""
import json
import resource
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        rc = subprocess.call(sys.argv[2:])
    except OSError as e:
        print(f"maxrss.py: {sys.argv[2]}: {e}", file=sys.stderr)
        return 127
    kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with open(sys.argv[1], "w") as f:
        json.dump({"maxrss_kib": kib}, f)
        f.write("\n")
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main())
