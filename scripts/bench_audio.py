#!/usr/bin/env python3
"""Benchmark the audio engine; prints figures, asserts nothing.

1. Offline: a 10-minute cue schedule (speech, a tick every second, overlapping
   earcons; some cues planned upfront, some submitted just ahead of the clock as
   the coach does) through SimulatedIO. For every cue: |actual - planned| first
   sample, from the scheduler's started() AND from the written WAV (each cue
   located by correlation in the output minus every other cue).
2. Live, PortAudio's "pulse" device into a private PulseAudio null sink,
   recorded from its monitor by parecord (an independent recorder): ticks planned 1.000 s apart; interval errors
   p50/p99/max, under/overruns, dropped ticks. Then the naive loop (pyttsx3
   say()+runAndWait() per count, sleeping to a 1 s grid, 10 counts) measured the
   same way in the same run.
3. Live: time from "cue requested now" to the callback that places its first
   sample (and that plus the reported output latency), and the audio thread's
   CPU share.

4. Live: how well LiveIO's mic timeline (MicBlock.start) matches the output
   clock, and where the echo reference sits.

Usage: python scripts/bench_audio.py [--minutes 10] [--seconds 60] [--skip-live]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import null_sinks  # noqa: E402
from voicecoach.audio import tones  # noqa: E402
from voicecoach.audio.scheduler import Scheduler  # noqa: E402
from voicecoach.audio.streams import SimulatedIO  # noqa: E402
from voicecoach.audio.wavio import read_wav, resample, write_wav  # noqa: E402
from voicecoach.speech.tts import ClipCache  # noqa: E402

SR = 22050
REC_RATE = 48000


def pct(values, q) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else float("nan")


def xcorr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Cross-correlation of x with template y, 'valid' part, by FFT."""
    n = len(x) + len(y)
    nfft = 1 << (n - 1).bit_length()
    c = np.fft.irfft(np.fft.rfft(x, nfft) * np.conj(np.fft.rfft(y, nfft)), nfft)
    return c[: len(x) - len(y) + 1]


# --- 1. offline ---------------------------------------------------------------------


def offline(minutes: float, tmp: Path) -> None:
    print(f"== 1. offline: {minutes:g}-minute schedule through SimulatedIO at {SR} Hz")
    seconds = int(minutes * 60)
    mic = tmp / "mic.wav"
    rng = np.random.default_rng(1)
    write_wav(mic, (0.003 * rng.standard_normal(seconds * 16000)).astype(np.float32), 16000)
    cache = ClipCache(SR, cache_dir=tmp / "clips")
    words = ["one", "two", "three", "four", "lower slowly", "breathe out", "back arched", "stop point"]
    cache.prepare(words)
    tick = tones.tick(SR)
    earcons = {n: tones.earcon(n, SR) for n in tones.EARCONS}

    plan: list[tuple[int, object, float]] = []  # (sample, clip, gain)
    for s in range(1, seconds - 2):
        plan.append((s * SR, tick, 1.0))
        if s % 4 == 1:  # speech over the tick, starting 37 samples after it: overlap
            plan.append((s * SR + 37, cache.get(words[(s // 4) % len(words)]), 0.8))
        if s % 7 == 3:  # an earcon landing inside the speech or on top of the next tick
            plan.append((s * SR + int(rng.integers(0, SR)), earcons[tones.EARCONS[s % 6]], 0.7))
    plan.sort(key=lambda p: p[0])
    io = SimulatedIO(mic, tmp / "out.wav", samplerate=SR, block_ms=20)
    sched = Scheduler(SR)
    io.start(sched)
    planned: dict[int, tuple[int, object, float]] = {}
    upfront = len(plan) // 3  # the first third submitted before the run, the rest just in time
    for at, clip, gain in plan[:upfront]:
        planned[sched.submit(clip, at, gain=gain)] = (at, clip, gain)
    nxt = upfront
    t0 = time.perf_counter()
    while io.read_mic() is not None:
        # As the coach does: submit what falls within the next 200 ms.
        while nxt < len(plan) and plan[nxt][0] < sched.now + SR // 5:
            at, clip, gain = plan[nxt]
            planned[sched.submit(clip, at, gain=gain)] = (at, clip, gain)
            nxt += 1
    io.stop()
    wall = time.perf_counter() - t0
    started = dict(sched.started())
    errors = [abs(started[c] - at) if c in started else None for c, (at, _, _) in planned.items()]
    missing = sum(e is None for e in errors)
    errors = [e for e in errors if e is not None]
    print(f"   cues: {len(planned)} ({sum(1 for p in plan if p[1] is tick)} ticks), late: {sched.late}, "
          f"dropped: {sched.dropped}, not started: {missing}")
    print(f"   started(): |actual - planned| max {max(errors)} samples, "
          f"{sum(e == 0 for e in errors)}/{len(errors)} exactly 0")
    print(f"   ran {seconds} s of audio in {wall:.1f} s ({seconds / wall:.0f}x real time)")

    out, rate = read_wav(tmp / "out.wav")
    expected = np.zeros(len(out) + SR * 2, dtype=np.float64)
    for at, clip, gain in planned.values():
        expected[at:at + len(clip)] += gain * clip.samples
    expected = np.clip(expected[: len(out)], -1, 1)
    resid = np.max(np.abs(out - expected))
    print(f"   written WAV: {len(out)} samples ({len(out) / SR:.3f} s; mic {seconds:.3f} s), "
          f"max |output - plan| = {resid * 32768:.2f} LSB")
    # Locate every cue in the WAV by itself: correlate (output - all other cues) with its clip.
    lags = []
    search = 200
    for at, clip, gain in planned.values():
        lo, hi = at - search, at + len(clip) + search
        if lo < 0 or hi > len(out):
            continue
        others = expected[lo:hi] - np.concatenate(
            [np.zeros(search), gain * clip.samples.astype(np.float64), np.zeros(search)])
        target = out[lo:hi] - others
        c = xcorr(target, clip.samples.astype(np.float64))
        lags.append(abs(int(np.argmax(c)) - search))
    print(f"   WAV correlation: {len(lags)} cues located, |lag| max {max(lags)} samples, "
          f"{sum(lag == 0 for lag in lags)}/{len(lags)} exactly 0")


def render_cost() -> None:
    """Cost of Scheduler.render per block with many voices sounding (the callback's work)."""
    print("== 1b. render() cost per 256-sample block at 44100 Hz (5.8 ms of audio)")
    rate, block = 44100, 256
    clip = tones.earcon("end", rate)
    for voices in (1, 8, 64):
        sched = Scheduler(rate, max_voices=64)
        for v in range(voices):
            sched.submit(clip, v % 50, gain=0.5)
        buf = np.zeros(block, dtype=np.float32)
        sched.reserve(block)
        n = min(len(clip) // block - 1, 80)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            sched.render(buf)
            times.append(time.perf_counter() - t)
        us = np.asarray(times) * 1e6
        print(f"   {voices:2d} voices: p50 {pct(us, 50):.0f} us, max {us.max():.0f} us per block "
              f"= {100 * pct(us, 50) / (1e6 * block / rate):.2f}% of real time")


# --- 2. live ---------------------------------------------------------------------------


SINK = f"voicecoach_bench_{os.getpid()}"


class PrivateSink:
    """A null sink of our own (why: tests/null_sinks.py), the default device while entered."""

    def __enter__(self):
        self.module = null_sinks.load(SINK, rate=REC_RATE, mono=True)
        os.environ["PULSE_SINK"] = SINK
        os.environ["PULSE_SOURCE"] = f"{SINK}.monitor"
        return self

    def __exit__(self, *exc):
        os.environ.pop("PULSE_SINK", None)
        os.environ.pop("PULSE_SOURCE", None)
        null_sinks.unload(self.module)


class Recorder:
    """parecord on our sink's monitor into a WAV: an independent witness of what was played."""

    def __init__(self, path: Path):
        self.path = path
        self.proc = subprocess.Popen(
            ["parecord", f"--device={SINK}.monitor", f"--rate={REC_RATE}", "--channels=1",
             "--format=s16le", "--latency-msec=20", "--file-format=wav", str(path)],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)

    def stop(self) -> np.ndarray:
        time.sleep(0.5)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        x, rate = read_wav(self.path)
        assert rate == REC_RATE
        return x


def find_ticks(rec: np.ndarray, tick48: np.ndarray) -> np.ndarray:
    """Sample positions of ticks in the recording (matched filter, peaks >= 0.5 of the best)."""
    c = xcorr(rec.astype(np.float64), tick48.astype(np.float64))
    thr = 0.5 * c.max()
    peaks = []
    i = 0
    guard = REC_RATE // 2
    cand = np.flatnonzero(c > thr)
    while i < len(cand):
        j = cand[i]
        window = c[j:j + guard]
        p = j + int(np.argmax(window))
        peaks.append(p)
        i = np.searchsorted(cand, p + guard)
    return np.asarray(peaks)


def speech_onsets(rec: np.ndarray, gap_s: float = 0.15) -> np.ndarray:
    """Onsets (samples) of sounds after at least ``gap_s`` of quiet, 10 ms frames."""
    frame = REC_RATE // 100
    n = len(rec) // frame
    energy = np.sqrt(np.mean(rec[: n * frame].reshape(n, frame).astype(np.float64) ** 2, axis=1))
    if not n or energy.max() == 0:
        return np.zeros(0)
    loud = energy > energy.max() * 10 ** (-30 / 20)
    onsets, quiet = [], int(gap_s * 100)
    run = quiet
    for i, is_loud in enumerate(loud):
        if is_loud and run >= quiet:
            # refine to the first sample above threshold within the frame before and this one
            lo = max(i - 1, 0) * frame
            seg = np.abs(rec[lo:(i + 1) * frame])
            k = np.flatnonzero(seg > energy.max() * 10 ** (-30 / 20))
            onsets.append(lo + (int(k[0]) if len(k) else frame))
        run = 0 if is_loud else run + 1
    return np.asarray(onsets)


def live(seconds: int, tmp: Path, latency) -> None:
    from voicecoach.audio.streams import LiveIO

    print(f"== 2. live: ticks 1.000 s apart for {seconds} s, PortAudio 'pulse' -> a private PulseAudio "
          f"null sink -> parecord on its monitor at {REC_RATE} Hz")
    rec = Recorder(tmp / "live.wav")
    io = LiveIO(output_device="pulse", use_input=False, latency=latency)
    sched = Scheduler(io.samplerate)
    tick = tones.tick(io.samplerate)
    io.start(sched)
    flowing = io.wait_flowing(timeout=5)
    sr = io.samplerate
    first = sched.now + sr // 2
    planned = [first + k * sr for k in range(seconds)]
    t_start = time.monotonic()
    # Submit each tick ~300 ms ahead of the clock, from this (non-audio) thread, as the coach does.
    ids = []
    for at in planned:
        while sched.now < at - int(0.3 * sr):
            time.sleep(0.01)
        ids.append(sched.submit(tick, at, tag="tick"))
    while sched.now < planned[-1] + sr // 2:
        time.sleep(0.02)
    wall = time.monotonic() - t_start
    cpu, cb_wall, blocks = io.cpu_seconds, io.callback_seconds, io.blocks
    xr_ticks = dict(io.xruns)

    # 3. latency of "now" requests, on the same stream.
    lat_cb, lat_dac, late_before = [], [], sched.late
    earcon = tones.earcon("ack", sr)
    rng = np.random.default_rng(3)
    for _ in range(30):
        time.sleep(float(rng.uniform(0.05, 0.25)))
        t_req = time.monotonic()
        cue = sched.submit(earcon, sched.now, gain=0.2, tag="now")
        while True:
            got = [s for c, s in sched.started() if c == cue]
            if got:
                break
            time.sleep(0.001)
        time.sleep(0.02)  # the callback logs its block after render() returns
        sample = got[0]
        # the block whose callback placed it
        n = min(io.blocks, io.LOG_BLOCKS)
        idx = [(j % io.LOG_BLOCKS) for j in range(io.blocks - n, io.blocks)]
        for j in reversed(idx):
            if io.log_first[j] <= sample < io.log_first[j] + io.log_frames[j]:
                d = io.log_mono[j] - t_req
                lat_cb.append(d)
                lat_dac.append(d + (sample - io.log_first[j]) / sr + io.output_latency())
                break
    io.stop()
    recorded = rec.stop()

    tick48 = resample(tick.samples, sr, REC_RATE)
    found = find_ticks(recorded, tick48)
    # keep only the tick phase: the earcons of phase 3 come after the last tick
    found = found[: len(planned) + 2]
    intervals = np.diff(found) / REC_RATE
    err_ms = np.abs(intervals - 1.0) * 1000
    good = err_ms[err_ms < 500]  # a missing tick shows as a 2 s interval: counted as dropped
    dropped = len(planned) - len(found)
    print(f"   device {io.output.name!r} at {sr} Hz, reported output latency {io.output_latency() * 1000:.1f} ms, "
          f"stream flowing before the run: {flowing}")
    print(f"   ticks planned {len(planned)}, found in recording {len(found)}, dropped {max(dropped, 0)}; "
          f"late cues {late_before}")
    bad = np.flatnonzero(np.abs(intervals - 1.0) * 1000 > 1.0)
    if len(bad):
        print("   intervals off by > 1 ms (s): " + ", ".join(
            f"#{i}: {intervals[i]:.5f}" for i in bad[:10]))
    if len(good):
        print(f"   interval error |dt - 1.000 s|: p50 {pct(good, 50):.3f} ms, p99 {pct(good, 99):.3f} ms, "
              f"max {good.max():.3f} ms (n={len(good)})")
    print(f"   xruns: {xr_ticks}")
    print(f"   audio thread: {blocks} callbacks, CPU in callback {cpu:.3f} s over {wall:.1f} s "
          f"= {100 * cpu / wall:.2f}% of one core (wall time in callback {100 * cb_wall / wall:.2f}%)")
    if lat_cb:
        ms = np.asarray(lat_cb) * 1000
        md = np.asarray(lat_dac) * 1000
        print(f"== 3. 'cue requested now' -> callback placing its first sample: p50 {pct(ms, 50):.1f} ms, "
              f"p99 {pct(ms, 99):.1f} ms, max {ms.max():.1f} ms (n={len(ms)}); "
              f"+ reported output latency -> DAC: p50 {pct(md, 50):.1f} ms, max {md.max():.1f} ms; "
              f"late: {sched.late - late_before}")
    naive(tmp)
    alignment(calibrate=False)
    alignment(calibrate=False, stream_times=False)
    alignment(calibrate=True)


def chirp(rate: int) -> np.ndarray:
    n = int(0.3 * rate)
    t = np.arange(n) / rate
    return (0.5 * np.sin(2 * np.pi * (300 * t + 4500 * t**2)) * np.hanning(n)).astype(np.float32)


def alignment(calibrate: bool, stream_times: bool = True) -> None:
    """Where LiveIO's MicBlock.start puts a sound the speaker played, vs the output clock."""
    from voicecoach.audio.clips import Clip
    from voicecoach.audio.streams import LiveIO

    print("== 4. live mic timeline: a chirp played at output sample S, found in LiveIO's mic "
          "(the sink's monitor) at MicBlock time T: T - S/rate")
    io = LiveIO(output_device="pulse", input_device="pulse", stream_times=stream_times)
    sched = Scheduler(io.samplerate)
    clip = Clip(chirp(io.samplerate), io.samplerate, "chirp")
    io.start(sched)
    io.wait_flowing(timeout=5)
    if calibrate:
        err = io.calibrate(sched)
        print(f"   LiveIO.calibrate(): measured {err * 1000 if err is not None else float('nan'):+.1f} ms, corrected")
    planned = [sched.now + int((0.5 + 2.5 * k) * io.samplerate) for k in range(5)]
    for at in planned:
        sched.submit(clip, at)
    blocks = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        b = io.read_mic(timeout=0.5)
        if b is not None:
            blocks.append(b)
            if b.start > planned[-1] / io.samplerate + 2.0:
                break
    io.stop()
    if not blocks:
        print("   no mic blocks")
        return
    mic = np.concatenate([b.samples for b in blocks]).astype(np.float64) / 32768
    ref = np.concatenate([b.reference for b in blocks]).astype(np.float64)
    t0 = blocks[0].start
    c16 = resample(clip.samples, io.samplerate, 16000).astype(np.float64)
    errs, ref_errs = [], []
    for at in planned:
        want = at / io.samplerate
        lo = max(int((want - t0 - 1.0) * 16000), 0)
        for sig, out in ((mic, errs), (ref, ref_errs)):
            seg = sig[lo:lo + 2 * 16000 + len(c16)]
            if len(seg) <= len(c16):
                out.append(float("nan"))
                continue
            c = xcorr(seg, c16)
            lag = int(np.argmax(c))
            part = seg[lag:lag + len(c16)]
            score = c[lag] / (np.linalg.norm(part) * np.linalg.norm(c16) or 1.0)
            out.append((t0 + (lo + lag) / 16000 - want) * 1000 if score > 0.5 else float("nan"))
    gaps = np.diff([b.start for b in blocks]) - np.array([b.duration for b in blocks[:-1]])
    print(f"   anchored on {io.anchor}{', then calibrated' if calibrate else ''}; "
          f"mic (T - S/rate): " + ", ".join(f"{e:+.1f} ms" for e in errs))
    print(f"   echo reference (same): " + ", ".join(f"{e:+.1f} ms" for e in ref_errs))
    print(f"   mic blocks: {len(blocks)}, max |gap| between consecutive blocks {np.abs(gaps).max() * 1000:.3f} ms; "
          f"xruns {io.xruns}")


NAIVE = textwrap.dedent("""
    import sys, time, pyttsx3
    words = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
    engine = pyttsx3.init()
    t0 = time.monotonic() + 0.5
    for i, w in enumerate(words):
        target = t0 + i
        now = time.monotonic()
        if target > now:
            time.sleep(target - now)
        engine.say(w)
        engine.runAndWait()
    print(time.monotonic() - t0)
""")


def naive(tmp: Path) -> None:
    print("== 2b. naive loop: pyttsx3 say()+runAndWait() per count, sleeping to a 1 s grid, 10 counts")
    env = dict(os.environ)
    if not shutil.which("aplay"):
        # pyttsx3's espeak driver plays each utterance with `aplay FILE`; alsa-utils is not
        # installed here, so stand in with paplay (also blocks until played, via PulseAudio).
        shim = tmp / "bin"
        shim.mkdir(exist_ok=True)
        (shim / "aplay").write_text(f'#!/bin/sh\necho "$1" >> {shim}/plays\nexec paplay "$1"\n')
        (shim / "aplay").chmod(0o755)
        env["PATH"] = f"{shim}:{env['PATH']}"
        print("   (aplay is not installed: pyttsx3's `aplay FILE` runs paplay through a PATH shim)")
    rec = Recorder(tmp / "naive.wav")
    proc = subprocess.run([sys.executable, "-c", NAIVE], env=env, capture_output=True, text=True, timeout=120)
    recorded = rec.stop()
    if proc.returncode != 0:
        print(f"   naive loop failed: {proc.stderr.strip().splitlines()[-1:]}")
        return
    onsets = speech_onsets(recorded)
    took = float(proc.stdout.strip().splitlines()[-1])
    print(f"   loop took {took:.2f} s for 10 counts (a 1 s grid: 9 s from first to last)")
    plays = tmp / "bin" / "plays"
    if plays.exists():
        print(f"   utterances pyttsx3 handed to aplay: {len(plays.read_text().splitlines())} of 10")
    print(f"   words found in recording (onsets after >= 150 ms of quiet): {len(onsets)} of 10")
    if len(onsets) > 1:
        iv = np.diff(onsets) / REC_RATE
        err = np.abs(iv - 1.0) * 1000
        print(f"   interval between counted words: mean {iv.mean():.3f} s; |dt - 1.000 s| p50 "
              f"{pct(err, 50):.1f} ms, p99 {pct(err, 99):.1f} ms, max {err.max():.1f} ms")
        print("   intervals (s): " + " ".join(f"{v:.3f}" for v in iv))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="offline schedule length")
    ap.add_argument("--seconds", type=int, default=60, help="live tick run length")
    ap.add_argument("--latency", default="0.1", help='output latency: "high", "low" or seconds')
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-offline", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as tmp:
        if not args.skip_offline:
            offline(args.minutes, Path(tmp))
            render_cost()
        if not args.skip_live:
            latency = args.latency if args.latency in ("high", "low") else float(args.latency)
            subprocess.run([str(ROOT / "scripts" / "pulse-null-sink")], check=True)
            with PrivateSink():
                live(args.seconds, Path(tmp), latency)


if __name__ == "__main__":
    main()
