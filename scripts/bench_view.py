#!/usr/bin/env python3
"""The live view's cost to the audio path: the same live session with no view, with
the plain lines (to /dev/null) and with the rich panel (on a pseudo-terminal).

Each run is a real :class:`~voicecoach.runtime.Runtime` over real PortAudio
streams into a private PulseAudio null sink (its monitor is the microphone: the
coach hears itself), the real recognizer, no history. Printed per run: the
audio thread's CPU inside its callback (``time.thread_time``) and its wall time
in the callback (the GIL shows there), the process's CPU, xruns and late cues.

    .venv/bin/python scripts/bench_view.py [--reps N] [--repeat K]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import null_sinks  # noqa: E402


def drain(fd: int, stop: threading.Event) -> None:
    import select

    while not stop.is_set():
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                if not os.read(fd, 65536):
                    return
            except OSError:
                return


def one(kind: str, reps: int) -> dict:
    from voicecoach import runtime, view
    from voicecoach.commands import make_recognizer
    from voicecoach.speech.voice import Voice
    from voicecoach.config import validate
    from voicecoach.audio.resilient import ResilientIO

    cfg = validate({"program": {"sets": 1, "reps": reps, "warmup": False}})
    recognizer, _ = make_recognizer(cfg)
    io = ResilientIO(cfg["audio"], log=lambda line: None)
    voice = Voice(io.samplerate, cfg["speech"])
    stop, master, shown, sink = threading.Event(), None, None, None
    if kind == "lines":
        sink = open(os.devnull, "w")
        shown = view.LinesView(write=lambda line: print(line, file=sink, flush=True))
    elif kind == "panel":
        master, slave = pty.openpty()
        threading.Thread(target=drain, args=(master, stop), daemon=True).start()
        sink = os.fdopen(slave, "w", buffering=1)
        shown = view.LiveView(sink)
        shown.console.size = (100, 30)
    rt = runtime.Runtime(cfg, io, recognizer=None if io.cue_only else recognizer, timing=runtime.LIVE, simulated=False,
                         voice=voice, view=shown)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    if shown is not None:
        shown.start()
    try:
        rt.run()
    finally:
        if shown is not None:
            shown.stop()
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    live = io.io
    out = dict(kind=kind, wall=wall, cpu=live.cpu_seconds, cb_wall=live.callback_seconds, blocks=live.blocks,
               proc=(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime), xruns=dict(io.xruns),
               late=rt.result.late_cues)
    io.stop()
    stop.set()
    if sink is not None:
        sink.close()
    if master is not None:
        os.close(master)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    tag = f"vcbench_view_{os.getpid()}"
    module = null_sinks.load(tag)
    os.environ.update(PULSE_SINK=tag, PULSE_SOURCE=f"{tag}.monitor")
    try:
        print(f"one set of {args.reps} reps, first-session greeting, through a private null sink; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}")
        for _ in range(args.repeat):
            for kind in ("none", "lines", "panel"):
                r = one(kind, args.reps)
                print(f"  view {r['kind']:5}: {r['wall']:5.1f} s, {r['blocks']} callbacks; audio thread CPU "
                      f"{r['cpu']:.3f} s = {100 * r['cpu'] / r['wall']:.2f}% of a core, wall in callback "
                      f"{100 * r['cb_wall'] / r['wall']:.2f}%; process CPU {100 * r['proc'] / r['wall']:.1f}%; "
                      f"xruns {r['xruns']}; late cues {r['late']}", flush=True)
    finally:
        null_sinks.unload(module)


if __name__ == "__main__":
    main()
