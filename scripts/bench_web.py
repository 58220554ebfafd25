#!/usr/bin/env python3
"""Measure ``voicecoach web``: memory (RSS), CPU while idle, time and CPU per request.

Starts the real command on 127.0.0.1 over a history of SESSIONS sessions (built
with tests/web_support.py through the real Store), reads the server's own
/proc/PID figures, and requests the home page and one session page in a loop.

    .venv/bin/python scripts/bench_web.py [--sessions 9] [--requests 200] [--idle 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

TICK = os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def timed(url: str, n: int, pid: int) -> tuple[list[float], float]:
    times = []
    cpu0 = cpu_s(pid)
    for _ in range(n):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as r:
            r.read()
        times.append(time.perf_counter() - t)
    return times, (cpu_s(pid) - cpu0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=9)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--idle", type=float, default=10.0)
    args = ap.parse_args()
    from web_support import fill

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, VOICECOACH_DATA=tmp, VOICECOACH_DB=f"{tmp}/history.db",
                   VOICECOACH_CONFIG=f"{tmp}/config.toml")
        fill(Path(env["VOICECOACH_DB"]), args.sessions)
        proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "web", "--port", "0"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            url = proc.stdout.readline().split()[2]
            print(f"history: {args.sessions} sessions; server pid {proc.pid}; {url}")
            print(f"RSS at start: {rss_kib(proc.pid) / 1024:.1f} MiB")
            cpu0 = cpu_s(proc.pid)
            time.sleep(args.idle)
            idle = cpu_s(proc.pid) - cpu0  # /proc counts in clock ticks (1/TICK s)
            print(f"idle CPU: {idle * 1000:.0f} ms over {args.idle:g} s ({idle / args.idle * 100:.3f} % of one core; "
                  f"resolution {1000 / TICK:.0f} ms)")
            for name, path in (("home page", ""), ("session page", "session/1")):
                times, cpu = timed(url + path, args.requests, proc.pid)
                times.sort()
                print(f"{name}: {args.requests} requests, median {statistics.median(times) * 1000:.1f} ms, "
                      f"p95 {times[int(len(times) * 0.95)] * 1000:.1f} ms, server CPU {cpu * 1000:.1f} ms a request")
            print(f"RSS after: {rss_kib(proc.pid) / 1024:.1f} MiB")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
