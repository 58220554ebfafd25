#!/usr/bin/env python3
"""Long runs in simulated time (issue 8): does anything drift, leak or pile up?

Part 1, a whole coached session of ``--minutes`` (default 90) through the real
:class:`voicecoach.runtime.Runtime`: real clip rendering, the real scheduler,
the real Vosk recognizer (unless ``--cue-only``) hearing a quiet room with an
occasional cough or sentence that is not a command. The microphone is generated
block by block (nothing the length of the session is held), the output is
rendered block by block and dropped. Figures:

- count drift: for every count cue (tick and spoken count), the sample the
  session planned vs the sample the scheduler started it at, and each tick's
  distance from its lowering's first tick vs the beat grid (both expected 0);
- the output clock: samples the scheduler counted vs samples rendered;
- resident memory sampled every simulated minute and its slope (MB/hour,
  least squares after the first 5 %), open file descriptors and threads at
  the start and the end.

Part 2, ``serve`` waiting for "start workout" for ``--serve-minutes`` (default
360) of simulated time: the real :class:`voicecoach.service.wake.WakeListener` (sound
gate + recognizer) on quiet room noise with a loud noise or a spoken
non-command every 10 minutes, and the idle output scheduler rendering, as the
serve loop does. At the end "start workout" is said; it must be heard. Same
figures, plus how much of the audio the recognizer had to decode.

Not covered here: the serve loop's device handling (ResilientIO, live streams)
and its systemd threads; they need real time (tests/test_serve.py).

    python scripts/bench_longrun.py                 # 90 min + 6 h (about 10 min here)
    python scripts/bench_longrun.py --minutes 5     # quick check: 5 min + 20 min
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from voicecoach.audio.wavio import VOSK_RATE  # noqa: E402

VOSK = VOSK_RATE


# --- measuring the process ---------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def native_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


class Probe:
    """Samples (simulated seconds, RSS, fds, threads) every ``every_s`` of simulated time."""

    def __init__(self, every_s: float):
        self.every_s = every_s
        self.rows: list[tuple[float, float, int, int]] = []
        self._next = 0.0

    def maybe(self, sim_s: float, force: bool = False) -> None:
        if sim_s >= self._next or force:
            self.rows.append((sim_s, rss_mb(), open_fds(), native_threads()))
            self._next = sim_s + self.every_s

    def report(self, label: str) -> None:
        rows = np.array(self.rows, dtype=np.float64)
        t_h, mem = rows[:, 0] / 3600, rows[:, 1]
        skip = max(1, len(rows) // 20)
        def slope(a: int) -> float:
            return np.polyfit(t_h[a:], mem[a:], 1)[0] if len(rows) - a >= 3 else float("nan")

        half = len(rows) // 2
        print(f"  {label}: resident memory {mem[0]:.1f} MB at start, {mem[skip]:.1f} MB after warm-up (5 %), "
              f"{mem[half]:.1f} MB at half time, {mem[-1]:.1f} MB at the end (max {mem.max():.1f})")
        print(f"  {label}: memory slope {slope(skip):+.2f} MB/hour after warm-up, {slope(half):+.2f} MB/hour over "
              f"the second half ({t_h[-1] - t_h[half]:.2f} simulated hours; {len(rows)} samples in all)")
        picks = np.unique(np.linspace(0, len(rows) - 1, 10).round().astype(int))
        print(f"  {label}: memory over time (simulated min: MB): "
              + ", ".join(f"{rows[i, 0] / 60:.0f}: {rows[i, 1]:.0f}" for i in picks))
        print(f"  {label}: open file descriptors {int(rows[0, 2])} -> {int(rows[skip, 2])} (warm) -> "
              f"{int(rows[-1, 2])} (end); native threads {int(rows[0, 3])} -> {int(rows[skip, 3])} -> "
              f"{int(rows[-1, 3])}; Python threads now {threading.active_count()}")


# --- a simulated IO that generates the microphone ------------------------------------------


class GeneratedIO:
    """:class:`voicecoach.audio.streams.SimulatedIO`'s contract (render the output up to
    the end of each mic block, then return that block, on one timeline), but the mic
    comes from ``mic(start16, n)`` block by block and the output is handed to
    ``on_output(block, first_sample)`` and dropped: hours of audio in constant memory."""

    def __init__(self, seconds: float, mic, *, samplerate: int = 22050, block_ms: float = 20, on_output=None):
        self.samplerate = int(samplerate)
        self.xruns = {"output_underflow": 0, "output_overflow": 0, "input_underflow": 0, "input_overflow": 0}
        self._n16 = int(seconds * VOSK)
        self._block16 = int(round(block_ms * VOSK / 1000))
        self._buf = np.zeros(int(round(block_ms * self.samplerate / 1000)), dtype=np.float32)
        self._mic = mic
        self._ring = np.zeros(1 << 18, dtype=np.float32)  # 16 s of the far end at 16 kHz
        self._ref_len = 0
        self._pos16 = 0
        self.rendered = 0
        self.on_output = on_output
        self._render = None
        self._stopped = False

    def start(self, render) -> None:
        import soxr

        self._render = render
        self._rs = (soxr.ResampleStream(self.samplerate, VOSK, 1, dtype="float32", quality="HQ")
                    if self.samplerate != VOSK else None)

    def _render_block(self) -> None:
        buf = self._buf
        self._render(buf)
        if self.on_output is not None:
            self.on_output(buf, self.rendered)
        self.rendered += len(buf)
        ref = self._rs.resample_chunk(buf) if self._rs is not None else buf
        idx = (self._ref_len + np.arange(len(ref))) % len(self._ring)
        self._ring[idx] = ref
        self._ref_len += len(ref)

    listening = True

    def device_events(self) -> list:
        return []

    def read_mic(self, timeout=None):
        from voicecoach.audio.streams import MicBlock
        from voicecoach.audio.wavio import float_to_int16

        a = self._pos16
        if self._stopped or a >= self._n16:
            return None
        b = min(a + self._block16, self._n16)
        while self._ref_len < b:
            self._render_block()
        ref = self._ring[np.arange(a, b) % len(self._ring)]
        self._pos16 = b
        return MicBlock(float_to_int16(self._mic(a, b - a)), a / VOSK, ref)

    def stop(self) -> None:
        self._stopped = True

    @property
    def seconds(self) -> float:
        return self._pos16 / VOSK


class Room:
    """A quiet room (white noise at about -50 dBFS) with an event every ``every_s``:
    a loud 1.5 s noise (a cough, a door) or a spoken sentence that is not a command,
    alternately; and optionally one phrase at a given second. Generated on demand."""

    def __init__(self, every_s: float = 600.0, seed: int = 1, phrase: tuple[float, str] | None = None):
        from speech_support import speak

        self.rng = np.random.default_rng(seed)
        self.every = int(every_s * VOSK)
        self.burst = (self.rng.standard_normal(int(1.5 * VOSK)) * 0.2).astype(np.float32)
        self.sentence = 0.5 * speak("what time is it now, I think the weather is nice").astype(np.float32)
        self.phrase_at = int(phrase[0] * VOSK) if phrase else None
        self.phrase = 0.5 * speak(phrase[1]).astype(np.float32) if phrase else None

    def __call__(self, a: int, n: int) -> np.ndarray:
        x = (self.rng.standard_normal(n) * 0.003).astype(np.float32)
        k = a // self.every
        for kk in (k, k + 1):  # the event may start inside this block
            if kk >= 1:
                self._add(x, a, kk * self.every, self.burst if kk % 2 else self.sentence)
        if self.phrase_at is not None:
            self._add(x, a, self.phrase_at, self.phrase)
        return x

    @staticmethod
    def _add(x: np.ndarray, a: int, at: int, clip: np.ndarray) -> None:
        lo, hi = max(a, at), min(a + len(x), at + len(clip))
        if hi > lo:
            x[lo - a:hi - a] += clip[lo - at:hi - at]


# --- part 1: a long session ----------------------------------------------------------------


def program_for(minutes: float, cfg_base: dict, voice, sr: int) -> tuple[dict, float]:
    """A program that fills about ``minutes`` (the rest between sets stretched to fit),
    and its planned length from a dry run of the pure session."""
    from voicecoach.coach.session import Session
    from voicecoach.config import validate
    from voicecoach.history.planning import plan_today

    def length(sets, reps, rest):
        cfg = validate({**cfg_base, "program": dict(sets=sets, reps=reps, rest_s=rest, warmup=False)})
        program, floor, greeting = plan_today(cfg, [], None)
        s = Session(program, sr, floor=floor, greeting=greeting, durations=voice.seconds, start=0)
        now, step = 0, sr
        while not s.finished and now < 10 * 3600 * sr:
            s.advance(now + sr, now)
            now += step
        return cfg, now / sr / 60

    target = minutes
    sets, reps = 10, 30
    cfg, full = length(sets, reps, 10.0)
    if full > target:  # a short check: fewer reps
        while full > target and (sets > 1 or reps > 2):
            if sets > 1:
                sets -= 1
            else:
                reps = max(2, reps // 2)
            cfg, full = length(sets, reps, 10.0)
        return cfg, full
    lo, hi = 10.0, 600.0
    for _ in range(12):
        mid = (lo + hi) / 2
        cfg, got = length(sets, reps, mid)
        lo, hi = (mid, hi) if got < target else (lo, mid)
    return length(sets, reps, hi)


def bench_session(minutes: float, cue_only: bool) -> None:
    from voicecoach.coach import program as P
    from voicecoach.config import validate
    from voicecoach.events import Cue, Rep
    from voicecoach.runtime import Runtime
    from voicecoach.speech.voice import Voice

    sr = 22050
    base = validate({})
    voice = Voice(sr, base["speech"])
    cfg, planned_min = program_for(minutes, {}, voice, sr)
    prog = cfg["program"]
    print(f"Part 1: one session, {prog['sets']} sets x {prog['reps']} reps, rest {prog['rest_s']:.0f} s "
          f"(planned {planned_min:.1f} min), recognizer {'off' if cue_only else 'on (real Vosk)'}")
    recognizer = None
    if not cue_only:
        from voicecoach.model import load_model
        from voicecoach.speech.grammar import load_grammar
        from voicecoach.speech.recognizer import CommandRecognizer

        model = load_model()
        recognizer = CommandRecognizer(model, load_grammar(model=model))
    probe = Probe(60.0)
    rendered = [0]

    def on_output(block, first):
        rendered[0] = first + len(block)

    room = Room(every_s=600.0, seed=2)
    io = GeneratedIO(planned_min * 60 + 30, room, samplerate=sr, on_output=on_output)
    logged: list = []
    rt = Runtime(cfg, io, recognizer=recognizer, voice=voice, on_event=logged.append)
    starts: list[tuple[str, str, int, int]] = []  # (kind, text, planned sample, started sample)
    started = rt.scheduler.started

    def watching_started():
        got = started()
        for cue, sample in got:
            if isinstance(cue, Cue):  # the scheduler's key for a session cue
                starts.append((cue.kind, cue.text, cue.sample, sample))
        return got

    rt.scheduler.started = watching_started
    read = io.read_mic

    def reading(timeout=None):
        probe.maybe(io.seconds)
        return read(timeout)

    io.read_mic = reading
    probe.maybe(0.0)
    t0 = time.monotonic()
    result = rt.run()
    wall = time.monotonic() - t0
    probe.maybe(io.seconds, force=True)

    all_drift = [b - a for _, _, a, b in starts]
    ticks = [s[3] for s in starts if s[0] == "tick"]
    reps = [e for e in logged if isinstance(e, Rep)]
    grid = []
    groups, cur = [], []
    for t in ticks:
        if cur and t - cur[-1] > 1.5 * sr:
            groups.append(cur)
            cur = []
        cur.append(t)
    if cur:
        groups.append(cur)
    # A lowering's ticks come with spoken counts; the rest countdown's ticks ("3, 2, 1") do not.
    spoken = {s[3] for s in starts if s[1].endswith("-one-thousand")}
    others = len(groups)
    groups = [g for g in groups if spoken & set(g)]
    others -= len(groups)
    lowering_ticks = {t for g in groups for t in g}
    counts = [s for s in starts if s[1].endswith("-one-thousand") or (s[0] == "tick" and s[3] in lowering_ticks)]
    drift = [b - a for _, _, a, b in counts]
    for g, rep in zip(groups, reps):
        beat = rep.descent_s / P.beats(rep.descent_s)
        grid += [(t - g[0]) - round(k * beat * sr) for k, t in enumerate(g)]
    s = result.summary
    print(f"  simulated {io.seconds / 60:.1f} min in {wall:.0f} s wall ({io.seconds / wall:.0f}x real time); "
          f"session {s.status}: {s.counted} of {s.attempted} reps in {s.sets} sets; "
          f"{sum(isinstance(e, Cue) for e in logged)} cues logged")
    print(f"  count drift: {len(counts)} count cues (ticks and spoken counts of the lowerings); started - planned: "
          f"max |{max(map(abs, drift), default=0)}| samples; "
          f"all {len(starts)} cues: max |{max(map(abs, all_drift), default=0)}|; "
          f"late cues {result.late_cues}")
    print(f"  beat grid: {len(groups)} lowerings ({len(reps)} reps; {others} rest countdowns left out), "
          f"tick offset from its lowering's first tick "
          f"vs k*beat: max |{max(map(abs, grid), default=0)}| samples")
    print(f"  output clock: scheduler at {rt.scheduler.now} samples, rendered {rendered[0]} "
          f"(difference {rt.scheduler.now - rendered[0]})")
    probe.report("session")


# --- part 2: serve idle ------------------------------------------------------------------


def bench_serve(minutes: float) -> None:
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.model import load_model
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.service.wake import WakeListener

    seconds = minutes * 60
    said_at = seconds - 20.0
    print(f"Part 2: serve idle for {minutes / 60:.2f} simulated hours (wake listener + idle output), "
          f"a noise or a sentence every 10 min, 'start workout' at {said_at:.0f} s")
    model = load_model()
    wake = WakeListener(model, load_grammar(model=model))
    sr = 22050
    sched = Scheduler(sr)
    rendered = [0]

    def on_output(block, first):
        rendered[0] = first + len(block)

    room = Room(every_s=600.0, seed=3, phrase=(said_at, "start workout"))
    io = GeneratedIO(seconds, room, samplerate=sr, block_ms=50, on_output=on_output)
    io.start(sched)
    probe = Probe(300.0)
    heard = []
    t0 = time.monotonic()
    while True:
        probe.maybe(io.seconds)
        block = io.read_mic()
        if block is None:
            break
        for h in wake.feed(block.samples, block.start):
            heard.append(h)
    wall = time.monotonic() - t0
    probe.maybe(io.seconds, force=True)
    print(f"  simulated {io.seconds / 3600:.2f} h in {wall:.0f} s wall ({io.seconds / wall:.0f}x real time); "
          f"recognizer ran on {wake.fed_s:.0f} s of {wake.heard_s:.0f} s heard "
          f"({100 * wake.fed_s / wake.heard_s:.2f} %)")
    wanted = [h for h in heard if abs(h.start - said_at) < 2.0]
    false = [h for h in heard if h not in wanted]
    print(f"  wake phrase: heard {len(wanted)} time(s) at {[round(h.start, 2) for h in wanted]} s "
          f"(said at {said_at:.0f} s); false wakes {len(false)} {[(round(h.start), h.text) for h in false]}")
    print(f"  output clock: scheduler at {sched.now} samples, rendered {rendered[0]} "
          f"(difference {sched.now - rendered[0]})")
    probe.report("serve")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=90.0,
                        help="session length in simulated minutes (default 90); also sets the serve run to 4x this "
                             "unless --serve-minutes is given")
    parser.add_argument("--serve-minutes", type=float, default=None,
                        help="serve idle run, simulated minutes (default 360)")
    parser.add_argument("--cue-only", action="store_true", help="session without the recognizer (faster)")
    parser.add_argument("--skip-session", action="store_true")
    parser.add_argument("--skip-serve", action="store_true")
    args = parser.parse_args()
    serve_minutes = args.serve_minutes or (360.0 if args.minutes == 90.0 else 4 * args.minutes)
    import vosk

    vosk.SetLogLevel(-1)
    if not args.skip_session and not args.skip_serve:
        # Each part in its own process: its memory, files and threads are its own.
        import subprocess

        print(f"bench_longrun: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
        common = [sys.executable, __file__, "--minutes", str(args.minutes), "--serve-minutes", str(serve_minutes)]
        code = subprocess.call(common + ["--skip-serve"] + (["--cue-only"] if args.cue_only else []))
        return code or subprocess.call(common + ["--skip-session"])
    if not args.skip_session:
        bench_session(args.minutes, args.cue_only)
    if not args.skip_serve:
        bench_serve(serve_minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
