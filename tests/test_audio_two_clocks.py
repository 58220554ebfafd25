"""The echo reference live, with the speaker and the microphone on two clocks.

The coach plays to a null sink at one rate (the speaker), the microphone
records another null sink at the other rate, and a relay between them
(tests/room_support.py, the room) carries what the speaker plays into the
microphone's sink at half level over a noise floor, with the speaker's clock
100 ppm fast or slow: the echo slides 1.6 samples (at 16 kHz) a second
against the reference. Everything runs for real: PortAudio and PulseAudio
through LiveIO, then the recognizer's own front end (FrontEnd: the aligner
and the linear canceller).

One thing is made up: PulseAudio's ALSA plugin records at whatever rate it is
asked, so LiveIO would open the microphone at the speaker's rate and let
PulseAudio resample. A USB microphone that records only at its own rate is
stood in for by ``devices.input_rate`` answering that rate.

A run in which LiveIO or the relay reports an under- or overrun, or the echo
jumps, is run once more: the gap makes the echo jump (seen by stopping the
test process for 0.4 s), which says nothing about rates and clocks.

The far end is noise in bursts (1 s on, 0.4 s off, low-passed at 4 kHz as
speech mostly is): what the aligner sees of any sound, and it keeps the test
short. scripts/bench_echo.py --live-two-sinks runs the same for minutes,
with the coach's own sentences.
"""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.audio import devices
from voicecoach.audio.clips import Clip
from voicecoach.audio.wavio import resample
from voicecoach.speech.echo import FrontEnd

from audio_support import two_sinks  # noqa: F401  (fixture)
from room_support import echo_lags, play_through_the_room

pytestmark = pytest.mark.audio

SR = 16000
SECONDS = 12.0


def bursts(rate: int, seconds: float) -> np.ndarray:
    """Noise in bursts, 1 s on and 0.4 s off, low-passed at 4 kHz, RMS 0.1 while on."""
    n = int(seconds * rate)
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    x = resample(resample(x, rate, 8000), 8000, rate)[:n]
    x *= 0.1 / np.sqrt(np.mean(x**2))
    return x * ((np.arange(len(x)) % int(1.4 * rate)) < rate)


def erle_db(mic: np.ndarray, out: np.ndarray, playing: np.ndarray) -> float:
    """Echo return loss enhancement over the samples where the echo plays."""
    m, o = mic[playing].astype(np.float64), out[playing].astype(np.float64)
    return float(10 * np.log10(np.sum(m**2) / np.sum(o**2)))


def through_the_room(speaker: str, room: str, speaker_rate: int, mic_rate: int, ppm: float):
    """Play the bursts through LiveIO with the relay running: (mic blocks, what went wrong on
    the way: LiveIO's xruns, the relay's, and an output callback later than the output's latency)."""
    far = bursts(speaker_rate, SECONDS)
    blocks, io, relay_runs = play_through_the_room(
        speaker, room, speaker_rate=speaker_rate, mic_rate=mic_rate, ppm=ppm,
        clips=[(0.0, Clip(far, speaker_rate, "bursts"))], seconds=SECONDS + 0.3)
    assert (io.samplerate, io.in_rate) == (speaker_rate, mic_rate)
    troubles = [f"LiveIO {k} {n}" for k, n in io.xruns.items() if n] + [f"relay: {r}" for r in relay_runs]
    # A callback that late may leave PulseAudio's stream dry without the ALSA plugin saying so.
    when = io.log_mono[:min(io.blocks, io.LOG_BLOCKS)]
    when = when[when > when[0] + 2.5]  # after an idle sink's first hold (LiveIO.wait_flowing)
    if len(when) > 1 and np.max(np.diff(when)) > io.output_latency():
        troubles.append(f"an output callback {1000 * np.max(np.diff(when)):.0f} ms after the one before")
    return blocks, troubles


def lags_of(blocks) -> list[tuple[float, float]]:
    mic = np.concatenate([b.samples for b in blocks]).astype(np.float64) / 32768
    return echo_lags(mic, np.concatenate([b.reference for b in blocks]))


def jumped(lags) -> bool:
    """Is any window more than 2 samples off the straight line through them all?"""
    if len(lags) < 3:
        return True
    t, d = np.array(lags).T
    return bool(np.max(np.abs(d - np.polyval(np.polyfit(t, d, 1), t))) > 2.0)


@pytest.mark.parametrize("speaker_rate, mic_rate, ppm", [(44100, 48000, 100.0), (48000, 44100, -100.0)],
                         ids=["speaker44k-mic48k-fast", "speaker48k-mic44k-slow"])
def test_the_echo_reference_stays_aligned_when_speaker_and_microphone_run_on_two_clocks(
        two_sinks, monkeypatch, speaker_rate, mic_rate, ppm):
    speaker, room = two_sinks(speaker_rate, mic_rate)
    monkeypatch.setattr(devices, "input_rate", lambda device, preferred: mic_rate)
    blocks, troubles = through_the_room(speaker, room, speaker_rate, mic_rate, ppm)
    if troubles or jumped(lags_of(blocks)):
        # An under- or overrun puts a gap between what was counted and what was played or
        # heard, so the echo jumps: a stall of the machine, not what this test checks. Once
        # in about 50 runs of each case the echo jumped with none of these seen (cause not
        # found); a broken rate or alignment fails the second run as it failed the first.
        print(f"\nthe echo jumped or {troubles}: run again; the first run's lags: "
              f"{[round(x, 1) for _, x in lags_of(blocks)]}")
        blocks, troubles = through_the_room(speaker, room, speaker_rate, mic_rate, ppm)

    mic = np.concatenate([b.samples for b in blocks])
    ref = np.concatenate([b.reference for b in blocks])
    fe = FrontEnd(SR, noise_suppression=None)
    out, fed, followed = [], [], []
    for b in blocks:
        out.append(fe.process(b.samples, b.reference, b.ahead).clean)
        fed.append((fed[-1] if fed else 0) + len(b.samples))
        followed.append(fe.aligner.delay_at(fed[-1]))
    out = np.concatenate(out)

    # The test's own measure of where the echo is: it slides by the room's drift and
    # by nothing else (LiveIO's two resamplings and its mic timeline add none).
    lags = lags_of(blocks)
    assert len(lags) >= 8, f"the echo was found in only {len(lags)} windows"
    t, d = np.array(lags).T
    slope, intercept = np.polyfit(t, d, 1)
    heard_ppm = slope / SR * 1e6
    line = intercept + slope * t
    print(f"\n{speaker_rate} Hz speaker, {mic_rate} Hz microphone, speaker clock {ppm:+g} ppm")
    print("  second  echo lag (samples at 16 kHz)  aligner's delay")
    for s, x in lags:
        now = followed[min(np.searchsorted(fed, s * SR), len(fed) - 1)]
        print(f"  {s:6.1f}  {x:10.2f}  {float('nan') if now is None else now:10.2f}")
    print(f"  drift heard {heard_ppm:+.1f} ppm, aligner's {fe.aligner.drift_ppm:+.1f} ppm; {troubles or 'no xrun'}")
    assert 0 < d[0] < 0.5 * SR, f"the echo is {d[0] / SR:.3f} s behind the reference: out of the aligner's reach"
    assert np.max(np.abs(d - line)) < 2.0, f"the echo's lag jumped ({troubles}): {np.round(d - line, 1)}"
    assert heard_ppm == pytest.approx(-ppm, abs=15), f"the echo slid by {heard_ppm:+.1f} ppm, not {-ppm:+g}"

    # What the project's alignment reports follows it.
    assert fe.aligner.drift_ppm == pytest.approx(-ppm, abs=15)
    assert fe.aligner.delay_at(len(mic)) == pytest.approx(intercept + slope * len(mic) / SR, abs=2.0)

    # And the echo is cancelled at the end of the run.
    shift = int(round(d[-1]))
    playing = np.zeros(len(out), dtype=bool)
    playing[shift:] = np.abs(ref[:len(out) - shift]) > 0
    last = slice(len(out) - 4 * SR, len(out))
    erle = erle_db(mic[:len(out)][last], out[last], playing[last])
    print(f"  ERLE over the last 4 s: {erle:.1f} dB")
    assert erle > 15.0
