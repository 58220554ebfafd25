"""``voicecoach enroll`` run live through a private null sink, answered by a simulated person.

For tests/test_enroll_live.py and scripts/bench_enroll_time.py. The room is
one null sink: the coach's speaker plays into it and its monitor is the
coach's microphone (:func:`room_env`). Each time the coach prints
"listening:", the person answers after ``reaction_s`` by playing a take into
the room. Every line the coach prints is stamped with when it was printed: a
thread reads them, so a take being played does not delay the stamps.

Imports only the standard library: the benchmark uses it too.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


def room_env(sink: str) -> dict[str, str]:
    """The environment that makes libpulse clients play into ``sink`` and record its monitor."""
    return {"PULSE_SINK": sink, "PULSE_SOURCE": f"{sink}.monitor"}


@dataclass
class EnrollRun:
    """What one ``voicecoach enroll`` printed, each line with its time (seconds since the process started)."""

    returncode: int
    lines: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    stderr: str = ""
    wall_s: float = 0.0


def enroll_live(args: list[str], answer: Callable[[int, str], Path], env: dict[str, str], *,
                reaction_s: float = 0.3, timeout_s: float = 120.0) -> EnrollRun:
    """Run ``voicecoach enroll ARGS`` with ``env``; the n-th "listening:" line (from 0) is
    answered, ``reaction_s`` later, by playing ``answer(n, line)`` (a WAV) into ``env``'s sink.
    RuntimeError, with the process killed, when it runs over ``timeout_s``."""
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-u", "-m", "voicecoach", "enroll", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stamped: queue.SimpleQueue = queue.SimpleQueue()
    err: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            stamped.put((time.monotonic() - t0, line.rstrip("\n")))
        stamped.put(None)

    threads = [threading.Thread(target=pump, daemon=True),
               threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True)]
    for t in threads:
        t.start()
    run = EnrollRun(returncode=-1)
    try:
        heard = 0
        while True:
            try:
                item = stamped.get(timeout=max(0.0, t0 + timeout_s - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"voicecoach enroll ran over {timeout_s:.0f} s; last lines: {run.lines[-3:]}")
            if item is None:
                break
            run.times.append(item[0])
            run.lines.append(item[1])
            if item[1].startswith("listening:"):
                time.sleep(reaction_s)
                subprocess.run(["paplay", str(answer(heard, item[1]))], env=env, check=True)
                heard += 1
        proc.wait(timeout=max(1.0, t0 + timeout_s - time.monotonic()))
        run.wall_s = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for t in threads:
            t.join(timeout=5)
    run.returncode, run.stderr = proc.returncode, "".join(err)
    return run
