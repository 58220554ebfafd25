"""What an output underrun does to the echo against LiveIO's reference.

    python scripts/bench_underrun.py [--gaps 0.12,0.2] [--runs 3] [--without]

LiveIO plays noise to a private null sink whose monitor is the microphone; at
5 s the whole process is stopped for GAP seconds (SIGSTOP, SIGCONT from a
child), which underruns the output. Printed per run: the underruns PortAudio
reported, the silence LiveIO counted into its reference, and how far the
echo moved against the reference (GCC-PHAT lag, median after the stop minus
median before). ``--without`` leaves the silence out of the reference (LiveIO's
``count_underruns=False``: as it was before it counted it), to compare.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.null_sinks import null_sink  # noqa: E402
from tests.room_support import echo_lags  # noqa: E402


def one_run(gap: float, without: bool) -> dict:
    from voicecoach.audio.streams import LiveIO

    name = f"vc_underrun_{os.getpid()}"
    with null_sink(name, rate=48000, mono=True):
        os.environ.update(PULSE_SINK=name, PULSE_SOURCE=f"{name}.monitor")
        io = LiveIO(samplerate=48000, count_underruns=not without)
        rng = np.random.default_rng(1)

        def render(buf):
            buf[:] = rng.standard_normal(len(buf)).astype(np.float32) * 0.2

        mic, ref, stop = [], [], threading.Event()

        def reader():
            while not stop.is_set():
                block = io.read_mic(timeout=0.5)
                if block is not None:
                    mic.append(block.samples.astype(np.float32) / 32768)
                    ref.append(block.reference.copy())

        io.start(render)
        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        time.sleep(5.0)
        subprocess.run(["sh", "-c", f"kill -STOP {os.getpid()}; sleep {gap}; kill -CONT {os.getpid()}"], check=True)
        time.sleep(7.0)
        stop.set()
        thread.join()
        io.stop()
    lags = echo_lags(np.concatenate(mic), np.concatenate(ref), window_s=1.0, step_s=0.5,
                     max_lead_s=1.0, max_lag_s=1.5, min_peak=5)
    before = [lag for t, lag in lags if t < 4.5]
    after = [lag for t, lag in lags if t > 6.5]
    moved = (np.median(after) - np.median(before)) / 16 if before and after else float("nan")
    return {"underruns": io.xruns["output_underflow"], "silence_ms": 1000 * io.underrun_frames / io.samplerate,
            "moved_ms": moved}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gaps", default="0.12,0.2", help="seconds the process is stopped, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help="runs per gap")
    ap.add_argument("--without", action="store_true", help="leave the underrun's silence out of the reference")
    args = ap.parse_args()
    print(f"| stop (s) | underruns reported | silence counted (ms) | echo moved against the reference (ms) |\n|---|---|---|---|")
    for gap in (float(g) for g in args.gaps.split(",")):
        for _ in range(args.runs):
            r = one_run(gap, args.without)
            print(f"| {gap:g} | {r['underruns']} | {r['silence_ms']:.1f} | {r['moved_ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
