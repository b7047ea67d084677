#!/usr/bin/env python3
"""CPU time of a running `krun train` per update: polls /proc/PID/stat
(user + system time of all its threads) and the line count of its
log.jsonl every 20 ms, and records the CPU seconds at each new line.
On a shared machine CPU time is the load-robust measure of work (wall time
depends on the share of the cores the process gets).

usage: cpuwatch.py PID LOG.jsonl OUT.json
Writes OUT.json: {"cpu_s_at_update": [...], "wall_s_at_update": [...]}.
"""
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def lines(path):
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except OSError:
        return 0


def main():
    pid, log, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    t0 = time.monotonic()
    cpu, wall = [], []
    seen = 0
    while True:
        try:
            c = cpu_seconds(pid)
        except (OSError, IndexError):
            break
        n = lines(log)
        while seen < n:
            seen += 1
            cpu.append(c)
            wall.append(time.monotonic() - t0)
        time.sleep(0.02)
    json.dump({"cpu_s_at_update": cpu, "wall_s_at_update": wall}, open(out, "w"))


if __name__ == "__main__":
    main()
