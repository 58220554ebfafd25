#!/usr/bin/env python3
"""Benchmark the coach in simulation; prints figures, asserts nothing.

1. Count placement: every count cue (tick and word) of a 3 x 10 session, as
   planned by the pure session, against where the run logged it and where the
   tick really is in the output WAV (cross-correlation, ticks-only run).
   Target: 0 samples.
2. Mark -> earcon: marks spoken (real espeak-ng speech, several voices) during
   the reps of the same 3 x 10 session; time from the true end of the words
   in the mic track to the earcon placed for them. Target p95 <= 350 ms.
3. Speed: wall time of the 3 x 10 simulated session against its length.
   Target: under 1/20 of real time.

Usage: python scripts/bench_coach.py [--sets 3 --reps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from session_support import drive, heard  # noqa: E402
from speech_support import build_track, speak, speech_bounds, write_wav  # noqa: E402

from voicecoach import cli  # noqa: E402
from voicecoach.coach import program as P  # noqa: E402
from voicecoach.coach.session import Session  # noqa: E402
from voicecoach.config import validate  # noqa: E402
from voicecoach.events import Cue  # noqa: E402
from voicecoach.runtime import SIMULATED  # noqa: E402
from voicecoach.history.planning import plan_today  # noqa: E402
from voicecoach.speech.voice import Voice  # noqa: E402

SR = 22050
MARKS = [("good rep", "good_rep"), ("back arched", "back_arched"), ("good rep", "good_rep")]
VOICES = [("en-us", 150), ("en-us+f2", 140), ("en-us+m3", 160), ("en-us+f4", 160)]


def plan(cfg: dict, voice: Voice, marks=()) -> list[Cue]:
    program, floor, greeting = plan_today(cfg, [], None)
    session = Session(program, SR, floor=floor, greeting=greeting, durations=voice.seconds,
                      start=round(SIMULATED.lookahead_s * SR))
    return [e for e in drive(session, 3600, list(marks), step_s=0.02, lookahead_s=SIMULATED.lookahead_s)
            if isinstance(e, Cue)]


def lowering_ticks(cues, beats: int) -> list[list[Cue]]:
    """The count ticks of each lowering: the first ``beats`` ticks after each "lower" cue."""
    out: list[list[Cue]] = []
    for c in cues:
        if c.kind == "speech" and c.text == P.lower_phrase("standard"):
            out.append([])
        elif c.kind == "tick" and out and len(out[-1]) < beats:
            out[-1].append(c)
    return out


def counts(cues) -> list[Cue]:
    return [c for c in cues if c.kind == "tick" or c.text.endswith("-one-thousand") or c.text in ("one", "two", "three", "four")]


def simulate(tmp: Path, name: str, track: np.ndarray, program: dict, *extra: str) -> tuple[list[dict], float, Path]:
    config = tmp / f"{name}.toml"
    config.write_text("[program]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in program.items()))
    mic, out, ev = tmp / f"{name}-mic.wav", tmp / f"{name}-out.wav", tmp / f"{name}.jsonl"
    write_wav(mic, track)
    t0 = time.perf_counter()
    code = cli.main(["simulate", "--mic", str(mic), "--out", str(out), "--events", str(ev),
                     "--config", str(config), "--db", str(tmp / f"{name}.db"), *extra])
    wall = time.perf_counter() - t0
    assert code == 0
    return [json.loads(x) for x in ev.read_text().splitlines()], wall, out


def simulate_in_process(tmp: Path, name: str, track: np.ndarray, cfg: dict):
    """Like ``voicecoach simulate`` (model loaded, store opened), keeping the Runtime to look into."""
    from voicecoach.audio.streams import SimulatedIO
    from voicecoach.runtime import Runtime
    from voicecoach.commands import make_recognizer, open_store

    mic = tmp / f"{name}-mic.wav"
    write_wav(mic, track)
    t0 = time.perf_counter()
    recognizer, _ = make_recognizer(cfg)
    store, _ = open_store(str(tmp / f"{name}.db"), cfg)
    io = SimulatedIO(mic, tmp / f"{name}-out.wav", samplerate=SR)
    with open(tmp / f"{name}.jsonl", "w") as ev:
        rt = Runtime(cfg, io, recognizer=recognizer, store=store, events=ev)
        rt.run()
    store.close()
    wall = time.perf_counter() - t0
    return [json.loads(x) for x in (tmp / f"{name}.jsonl").read_text().splitlines()], wall, rt


def tick_positions(wav: Path, expected: list[int], tick: np.ndarray, search: int = 400) -> list[int]:
    from voicecoach.audio.wavio import read_wav

    x, rate = read_wav(wav)
    assert rate == SR
    found = []
    for s in expected:
        lo = max(0, s - search)
        seg = x[lo:s + search + len(tick)]
        corr = np.correlate(seg, tick, mode="valid")
        found.append(lo + int(np.argmax(corr)))
    return found


def report_latency(label: str, events: list[dict], truth) -> None:
    commands = [e for e in events if e["type"] == "command"]
    earcons = [e for e in events if e["type"] == "cue" and e["kind"] == "earcon"]
    lat = []
    for intent, s, e in truth:
        cmd = next((c for c in commands if c["intent"] == intent and abs(c["start"] - s) < 0.5), None)
        if cmd is None:
            continue
        # A mark's earcon sounds on the provisional result, before the final
        # one the command is logged for: the first earcon after the words.
        ear = min((x for x in earcons if e - 0.05 <= x["t"] <= cmd["t"] + 1e-6), key=lambda x: x["t"], default=None)
        if ear is not None:
            lat.append(ear["t"] - e)
    print(f"[{label}] marks: {len(lat)} of {len(truth)} spoken marks recognised and acknowledged "
          f"({len(commands)} commands in all)")
    if lat:
        print(f"[{label}] end of spoken mark -> earcon: p50 {pct(lat, 50) * 1000:.0f} ms, "
              f"p95 {pct(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms (n={len(lat)})")


def split_latency(rt) -> None:
    """Split the mark -> earcon time: the recognizer (end of words -> emitted) and the
    coach (emitted -> the sample at which the session placed the earcon)."""
    first = {}
    for h, at in rt.heard:  # a provisional result, when there is one, comes first and sounds the earcon
        first.setdefault((h.intent, h.start, h.end), (h, at))
    rec_part = [h.emitted - h.end for h, _ in first.values()]
    coach_part = [at / SR - h.emitted for h, at in first.values()]
    if rec_part:
        print(f"  of which the recognizer (end of the words it heard -> emitted): p50 {pct(rec_part, 50) * 1000:.0f} ms, "
              f"p95 {pct(rec_part, 95) * 1000:.0f} ms (n={len(rec_part)})")
        print(f"  and the coach (emitted -> earcon): p50 {pct(coach_part, 50) * 1000:.0f} ms, "
              f"p95 {pct(coach_part, 95) * 1000:.0f} ms, max {max(coach_part) * 1000:.0f} ms (n={len(coach_part)})")


def pct(values, q):
    return float(np.percentile(values, q)) if len(values) else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=3)
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-coach-"))
    os.environ.setdefault("VOICECOACH_CACHE", str(tmp / "cache"))
    program = dict(sets=args.sets, reps=args.reps, warmup=False, rest_s=30.0)
    cfg = validate({"program": program})
    voice = Voice(SR, cfg["speech"])

    # -- 1. placement, ticks only (so the tick can be found in the WAV by correlation)
    ticks_cfg = validate({"program": dict(program, count_words=False)})
    planned = plan(ticks_cfg, voice)
    length = max(c.t for c in planned) + 5
    events, wall_ticks, out = simulate(tmp, "ticks", np.zeros(int(length * 16000), np.float32),
                                       dict(program, count_words=False))
    planned_ticks = [c.sample for c in counts(planned)]
    logged_ticks = [e["sample"] for e in events if e["type"] == "cue" and e["kind"] == "tick"]
    in_wav = tick_positions(out, planned_ticks, voice.tick.samples)
    err_log = [a - b for a, b in zip(logged_ticks, planned_ticks)]
    err_wav = [a - b for a, b in zip(in_wav, planned_ticks)]
    print(f"count placement, ticks only ({args.sets} x {args.reps}): {len(planned_ticks)} planned, "
          f"{len(logged_ticks)} logged; logged-planned max |error| {max(map(abs, err_log), default=0)} samples; "
          f"found in the output WAV by correlation: max |error| {max(map(abs, err_wav), default=0)} samples")

    # -- 1b + 2 + 3. the default session (ticks and words) with spoken marks
    base = plan(cfg, voice)
    lowerings = lowering_ticks(base, P.beats(cfg["program"]["descent_s"]))
    placements, truth = [], []
    for i, ticks in enumerate(lowerings):
        text, intent = MARKS[i % len(MARKS)]
        v, speed = VOICES[i % len(VOICES)]
        clip = speak(text, voice=v, speed=speed)
        # Over the count (the core case: said while the coach counts) on even reps,
        # in the quiet at the bottom, just after the lowering, on odd ones.
        at = ticks[0].t + 0.4 if i % 2 == 0 else ticks[-1].t + 1.05
        a, b = speech_bounds(clip)
        placements.append((at, clip))
        truth.append((intent, at + a, at + b))
    marks = [heard(intent, s, e, latency=0.3) for intent, s, e in truth]
    expected = plan(cfg, voice, marks)
    length = max(c.t for c in expected) + 5
    track = build_track(placements, length)
    events, wall, rt = simulate_in_process(tmp, "full", track, cfg)
    logged = [e for e in events if e["type"] == "cue"]
    planned_counts = [c.sample for c in counts(base)]
    logged_counts = [e["sample"] for e in logged if e["kind"] == "tick" or e["text"].endswith("-one-thousand")]
    print(f"count cues with words: {len(logged_counts)} logged ({len(planned_counts)} planned without marks); "
          "every logged cue sample == round(t * rate): "
          + str(all(e["sample"] == round(e["t"] * SR) for e in logged)))
    # Each lowering's counts sit exactly one second apart from its first.
    ticks = [e["sample"] for e in logged if e["kind"] == "tick"]
    groups, cur = [], [ticks[0]] if ticks else []
    for s in ticks[1:]:
        if s - cur[-1] <= SR + 1:
            cur.append(s)
        else:
            groups.append(cur)
            cur = [s]
    groups.append(cur)
    beat_err = [s - (g[0] + k * SR) for g in groups for k, s in enumerate(g)]
    print(f"beat error within each run of ticks ({len(groups)}: lowerings and rest countdowns): max |error| "
          f"{max(map(abs, beat_err), default=0)} samples")

    report_latency("recognizer", events, truth)
    split_latency(rt)
    reps = [e for e in events if e["type"] == "rep"]
    print(f"session: {len(reps)} reps logged, {sum(r['counted'] for r in reps)} counted")
    print(f"speed: {length:.0f} s session simulated in {wall:.1f} s wall "
          f"= {wall / length:.3f} of real time (1/{length / wall:.0f}); ticks-only silent run {wall_ticks:.1f} s")
    _, wall_cue_only, _ = simulate(tmp, "cueonly", track, program, "--cue-only")

    print(f"speed without the recognizer (--cue-only, same track): {wall_cue_only:.1f} s "
          f"= {wall_cue_only / length:.3f} of real time (1/{length / wall_cue_only:.0f}); "
          f"so the recognizer took about {wall - wall_cue_only:.1f} s")
    voice.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
