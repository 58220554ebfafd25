"""A speaker and a microphone on two clocks: two null sinks and a room between them.

The coach plays to a speaker sink at one nominal rate; the microphone records
a room sink's monitor at another; a relay carries the speaker's monitor into
the room sink with a known clock offset:

    python tests/room_support.py SOURCE SINK --rate-in 44100 --rate-out 48000 --ppm 100

The relay reads ``SOURCE`` with parec, resamples it with soxr as if it had been
played ``ppm`` parts per million faster than its nominal rate, scales it by
``--gain``, adds a noise floor, and plays it into ``SINK`` with pacat.

Why a relay: two null sinks both run on the system clock, so they never drift
apart by themselves, and PulseAudio's module-loopback adapts its rate to keep
its latency constant, which removes a drift rather than making one. The relay
runs in real time between two real sinks; the offset it imposes is the one a
speaker crystal ``ppm`` fast would make: for positive ``ppm`` the echo comes
earlier and earlier against what the coach says it played (as ``simulate
--echo-drift-ppm`` makes it).

The difference in sample count (6 ms a minute at 100 ppm) must be absorbed
without a glitch. A faster speaker hands the room sink less than it plays:
when its buffer runs dry, PulseAudio plays silence and then skips as much of
what comes next, so the echo jumps earlier (seen: 1 ms at 184 s with a
174 ms ``--latency-msec``, which PulseAudio kept only partly filled). So the
relay starts ``--cushion-msec`` of noise ahead of the echo, which waits in
the pipe to pacat and is drawn on as the speaker runs ahead: it must exceed
what a run drifts. A slower speaker only makes the backlog grow. A stall of
the relay longer than its cushion does the same as a dry buffer (seen under a
load of 3 on 2 cores: jumps of 425 and 67 ms), so the relay runs at
PulseAudio's own real-time priority where it may.

Imports only numpy and soxr (and the standard library): the benchmark uses it too.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading

import numpy as np


def start_relay(source: str, sink: str, *, rate_in: int, rate_out: int, ppm: float, gain: float = 0.5,
                noise: float = 0.002, cushion_ms: int = 50) -> subprocess.Popen:
    """The relay as a process of its own (it must keep real time beside the caller's audio)."""
    return subprocess.Popen(
        [sys.executable, __file__, source, sink, f"--rate-in={rate_in}", f"--rate-out={rate_out}",
         f"--ppm={ppm}", f"--gain={gain}", f"--noise={noise}", f"--cushion-msec={cushion_ms}"],
        stderr=subprocess.PIPE, text=True,
    )


def stop_relay(relay: subprocess.Popen) -> tuple[str, list[str]]:
    """Stop the relay: (an explanation if it had stopped by itself, else ''; the under- and
    overruns parec and pacat reported, each of which makes the echo jump)."""
    died = relay.poll()
    if died is None:
        relay.send_signal(signal.SIGTERM)
    try:
        _, err = relay.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        relay.kill()
        _, err = relay.communicate()
    err = err or ""
    runs = [line for line in err.splitlines() if line.startswith(("Stream underrun.", "Stream overrun."))]
    return ("" if died is None else f"the relay stopped by itself (exit {died}): {err.strip()[-300:]}"), runs


def play_through_the_room(speaker: str, room: str, *, speaker_rate: int, mic_rate: int, ppm: float,
                          clips: list, seconds: float, cushion_ms: int = 50):
    """Play ``clips`` ([(seconds from the start, Clip)], fed to the scheduler 2 s ahead)
    through LiveIO to ``speaker`` with the relay carrying it into ``room``, and record
    the microphone until ``seconds`` after the start (0.2 s after the streams start).

    Returns (the mic blocks, the stopped LiveIO, the relay's under- and overruns).
    RuntimeError if the relay stops by itself or the microphone is silent for 2 s.
    """
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.audio.streams import LiveIO

    relay = start_relay(f"{speaker}.monitor", room, rate_in=speaker_rate, rate_out=mic_rate, ppm=ppm,
                        cushion_ms=cushion_ms)
    blocks = []
    try:
        io = LiveIO(output_device="pulse", input_device="pulse", samplerate=speaker_rate)
        sched = Scheduler(io.samplerate)
        io.start(sched)
        try:
            t0 = sched.now + speaker_rate // 5
            queue = sorted(clips, key=lambda c: c[0])
            while not blocks or blocks[-1].end < t0 / speaker_rate + seconds:
                while queue and t0 + queue[0][0] * speaker_rate < sched.now + 2 * speaker_rate:
                    at, clip = queue.pop(0)
                    sched.submit(clip, t0 + int(at * speaker_rate))
                block = io.read_mic(timeout=2.0)
                if block is None:
                    raise RuntimeError("the microphone delivered nothing for 2 s")
                blocks.append(block)
        finally:
            io.stop()
    finally:
        relay_error, relay_runs = stop_relay(relay)
    if relay_error:
        raise RuntimeError(relay_error)
    return blocks, io, relay_runs


def echo_lags(mic: np.ndarray, ref: np.ndarray, *, rate: int = 16000, window_s: float = 2.0, step_s: float = 1.0,
              max_lead_s: float = 0.1, max_lag_s: float = 0.5, min_peak: float = 20.0) -> list[tuple[float, float]]:
    """(second, samples) of the echo's delay behind ``ref`` in ``mic``, one per window.

    GCC-PHAT over ``window_s`` windows every ``step_s`` (the peak refined to a
    fraction of a sample by a parabola); a window whose peak is less than
    ``min_peak`` times the median (no clear echo: silence) is left out.
    This is the test's own measurement, independent of the project's aligner.
    """
    mic = np.asarray(mic, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    w, step = int(window_s * rate), int(step_s * rate)
    lead, lag = int(max_lead_s * rate), int(max_lag_s * rate)
    size = 1 << int(np.ceil(np.log2(2 * w + lag + lead)))
    ks = np.arange(-lead, lag + 1)
    out = []
    for a in range(lag, len(mic) - w - lead + 1, step):
        cross = np.fft.rfft(mic[a:a + w], size) * np.conj(np.fft.rfft(ref[a - lag:a + w + lead], size))
        cross /= np.abs(cross) + 1e-12
        values = np.fft.irfft(cross, size)[(ks - lag) % size]
        i = int(np.argmax(values))
        if not 0 < i < len(values) - 1 or values[i] < min_peak * np.median(np.abs(values)):
            continue
        y0, y1, y2 = values[i - 1:i + 2]
        out.append(((a + w / 2) / rate, float(ks[i] + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2))))
    return out


def _pass_runs(stream) -> None:
    """Copy parec's or pacat's under- and overrun reports to stderr, and drop the rest: --verbose
    also prints its latency many times a second, which would fill an unread pipe in half a minute."""
    carry = ""
    for chunk in iter(lambda: stream.read1(4096), b""):
        *lines, carry = re.split(r"[\r\n]", carry + chunk.decode(errors="replace"))
        for line in lines:
            if "Stream underrun." in line or "Stream overrun." in line:
                print(line.replace("\x1b[K", "").strip(), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    import soxr

    ap = argparse.ArgumentParser(description="carry SOURCE into SINK with a clock offset (a room)")
    ap.add_argument("source")
    ap.add_argument("sink")
    ap.add_argument("--rate-in", type=int, required=True, help="the source's rate (the speaker's nominal rate)")
    ap.add_argument("--rate-out", type=int, required=True, help="the sink's rate (the microphone's nominal rate)")
    ap.add_argument("--ppm", type=float, default=0.0, help="how much faster the speaker's clock runs")
    ap.add_argument("--gain", type=float, default=0.5)
    ap.add_argument("--noise", type=float, default=0.002, help="RMS of the room's noise floor (full scale 1)")
    ap.add_argument("--cushion-msec", type=int, default=50,
                    help="noise played before the echo starts: more than a faster speaker gains in the run")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:  # as PulseAudio's own sink threads run (parec and pacat inherit it)
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(5))
    except (AttributeError, OSError):
        pass  # a stall then shows as a jump in the echo's lag, which the callers check for
    rec = subprocess.Popen(
        ["parec", f"--device={args.source}", f"--rate={args.rate_in}", "--channels=1", "--format=float32le",
         "--raw", "--latency-msec=10", "--verbose"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    play = subprocess.Popen(
        ["pacat", "--playback", f"--device={args.sink}", f"--rate={args.rate_out}", "--channels=1",
         "--format=float32le", "--raw", "--latency-msec=50", "--verbose"], stdin=subprocess.PIPE,
        stderr=subprocess.PIPE)
    for p in (rec, play):
        threading.Thread(target=_pass_runs, args=(p.stderr,), daemon=True).start()
    rs = soxr.ResampleStream(args.rate_in * (1 + args.ppm * 1e-6), args.rate_out, 1, dtype="float32",
                             quality="HQ")
    rng = np.random.default_rng(1)
    rest = b""
    try:
        cushion = args.noise * rng.standard_normal(args.rate_out * args.cushion_msec // 1000)
        play.stdin.write(cushion.astype(np.float32).tobytes())
        while True:
            data = rec.stdout.read1(4096)
            if not data:
                return 1
            data = rest + data
            cut = len(data) // 4 * 4
            rest = data[cut:]
            y = rs.resample_chunk(np.frombuffer(data[:cut], dtype=np.float32)) * args.gain
            y += args.noise * rng.standard_normal(len(y))
            play.stdin.write(y.astype(np.float32).tobytes())
            play.stdin.flush()
    except BrokenPipeError:
        return 1
    finally:
        for p in (rec, play):
            p.terminate()
            p.wait(timeout=5)


if __name__ == "__main__":
    sys.exit(main())
