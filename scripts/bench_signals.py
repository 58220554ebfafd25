#!/usr/bin/env python3
"""SIGTERM at random moments: how a real ``voicecoach simulate`` process ends.

Each trial starts a cue-only session of 4 sets of 10 and sends one SIGTERM,
aimed at start-up, inside the session, or at the exit path right after the
summary is printed (tests/signal_support.py runs and checks a trial). Prints the
outcome table: clean outcomes per aim, deaths by the signal's default action,
crashes (any other signal, e.g. SIGSEGV, with faulthandler's stack), and failed
checks (history and events file disagree: a completed rep lost).

    python scripts/bench_signals.py                # 500 trials, 2 at a time
    python scripts/bench_signals.py --trials 40 --jobs 1
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from signal_support import AIMS, MANY, OUTCOMES, STARTUP, sigterm_trial, silent_wav  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2, help="trials run at once (default 2)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    plan = []
    for n in range(args.trials):
        aim = AIMS[n % len(AIMS)]
        plan.append((n, aim, rng.uniform(0.0, 0.6 if aim == STARTUP else 0.5)))
    table = collections.Counter()
    failures: list[str] = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "many.toml"
        config.write_text(MANY)
        mic = silent_wav(work / "mic.wav", 300.0)

        def one(trial):
            n, aim, delay = trial
            try:
                outcome = sigterm_trial(work, f"t{n}", aim, delay, mic, config)
            except AssertionError as err:
                first = str(err).splitlines()[0] if str(err) else "check failed"
                outcome = "death by SIGTERM" if first.startswith("exit -15") else (
                    "crash" if first.startswith("exit -") else "failed check")
                failures.append(f"trial {n} ({aim}, {delay:.3f} s): {str(err)[:600]}")
            for suffix in (".jsonl", ".db", ".db-wal", ".db-shm", ".wav", ".err"):
                (work / f"t{n}{suffix}").unlink(missing_ok=True)
            return aim, outcome

        with ThreadPoolExecutor(args.jobs) as pool:
            for aim, outcome in pool.map(one, plan):
                table[aim, outcome] += 1
    columns = list(OUTCOMES) + ["death by SIGTERM", "crash", "failed check"]
    print(f"{args.trials} trials, {args.jobs} at a time, seed {args.seed}, {time.monotonic() - t0:.0f} s")
    width = max(len(c) for c in columns)
    print(f"{'outcome':<{width}}  " + "  ".join(f"{a:>17}" for a in AIMS) + "  total")
    for column in columns:
        counts = [table[aim, column] for aim in AIMS]
        print(f"{column:<{width}}  " + "  ".join(f"{c:>17}" for c in counts) + f"  {sum(counts):>5}")
    for line in failures:
        print(line)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
