"""The live path for real: PortAudio -> a PulseAudio null sink -> its monitor.

Needs the ``pulse`` fixture (a real PulseAudio server); each test that listens
plays into a null sink of its own (``private_sink``, tests/audio_support.py) so
other audio on the machine cannot mix in. No sound card, nothing mocked.
"""

from __future__ import annotations

import subprocess
import time

import numpy as np
import pytest

from voicecoach.audio import tones
from voicecoach.audio.clips import Clip
from voicecoach.audio.scheduler import Scheduler
from voicecoach.audio.streams import LiveIO
from voicecoach.audio.wavio import read_wav, resample
from voicecoach.errors import UserError

from audio_support import private_sink  # noqa: F401  (fixture)

pytestmark = pytest.mark.audio


def probe(rate: int) -> Clip:
    """A chirp: its cross-correlation has one sharp peak (a tick's is periodic)."""
    n = int(0.3 * rate)
    t = np.arange(n) / rate
    x = np.sin(2 * np.pi * (300 * t + (3000 - 300) / (2 * 0.3) * t**2)) * np.hanning(n)
    return Clip((0.5 * x).astype(np.float32), rate, "chirp")


def find(recording: np.ndarray, clip: np.ndarray) -> tuple[int, float]:
    """Best lag of ``clip`` in ``recording`` and the normalised correlation there."""
    spec = np.fft.rfft(recording, len(recording) + len(clip))
    corr = np.fft.irfft(spec * np.conj(np.fft.rfft(clip, len(recording) + len(clip))))[: len(recording)]
    lag = int(np.argmax(corr))
    seg = recording[lag:lag + len(clip)]
    norm = np.linalg.norm(seg) * np.linalg.norm(clip[: len(seg)])
    return lag, float(corr[lag] / norm) if norm else 0.0


def record_monitor(sink: str, path) -> subprocess.Popen:
    """An independent recorder (parecord) of ``sink``'s monitor, 16 kHz mono, into ``path``."""
    return subprocess.Popen(
        ["parecord", f"--device={sink}.monitor", "--rate=16000", "--channels=1", "--format=s16le",
         "--file-format=wav", str(path)],
        stderr=subprocess.PIPE,
    )


def test_clip_played_through_null_sink_is_recorded_from_its_monitor(private_sink, tmp_path):
    rec = tmp_path / "monitor.wav"
    parec = record_monitor(private_sink, rec)
    try:
        time.sleep(0.3)  # parecord connects before the clip plays
        io = LiveIO(output_device="pulse", input_device="pulse")
        sched = Scheduler(io.samplerate)
        clip = probe(io.samplerate)
        io.start(sched.render)
        cue = sched.submit(clip, sched.now + io.samplerate // 2)
        end = cue_end = None
        blocks = []
        # An idle null sink may hold a new stream for up to 2 s before serving it (see
        # LiveIO.wait_flowing): wait on the sample clock, not on a fixed wall time.
        deadline = time.monotonic() + 15.0
        while time.monotonic() < deadline:
            block = io.read_mic(timeout=0.5)
            if block is not None:
                blocks.append(block)
            if cue_end is None and io.frames_out > sched.samplerate // 2 + len(clip):
                cue_end = io.frames_out
            if cue_end is not None and blocks and blocks[-1].end > (cue_end / io.samplerate) + 0.5:
                end = blocks[-1].end
                break
        io.stop()
    finally:
        parec.terminate()
        parec.wait(timeout=5)
    assert end is not None, "the output or the input did not advance within 15 s"
    assert [c for c, _ in sched.started()] == [cue]
    assert sched.late == 0
    clip16 = resample(clip.samples, io.samplerate, 16000)
    # 1) an independent recorder (parecord) heard the clip, intact.
    recorded, rate = read_wav(rec)
    assert rate == 16000
    _, score = find(recorded, clip16)
    assert score > 0.9, f"clip not found in the monitor recording (correlation {score:.2f})"
    # 2) our own input stream heard it too, and its reference holds what was played.
    mic = np.concatenate([b.samples for b in blocks]).astype(np.float32) / 32768
    _, score = find(mic, clip16)
    assert score > 0.9, f"clip not found by LiveIO's input (correlation {score:.2f})"
    ref = np.concatenate([b.reference for b in blocks])
    _, score = find(ref, clip16)
    assert score > 0.9
    starts = [b.start for b in blocks]
    assert all(b > a for a, b in zip(starts, starts[1:]))


def test_play_a_tone_through_the_default_device(private_sink):
    io = LiveIO(use_input=False)
    sched = Scheduler(io.samplerate)
    io.start(sched.render)
    sched.submit(tones.earcon("chime", io.samplerate), sched.now)
    deadline = time.monotonic() + 15.0
    while sched.busy and time.monotonic() < deadline:
        time.sleep(0.05)
    io.stop()
    assert len(sched.started()) == 1
    assert io.frames_out >= len(tones.earcon("chime", io.samplerate))
    assert io.read_mic(timeout=0.1) is None


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"output_device": "no such speaker"}, "no output device named 'no such speaker'; available: "),
        ({"output_device": 999}, "no output device with index 999"),
        ({"input_device": "nope"}, "no input device named 'nope'"),
        ({"samplerate": 1}, "refuses 1 Hz"),
    ],
)
def test_device_errors_list_the_devices(pulse, kwargs, words):
    with pytest.raises(UserError, match=words) as err:
        LiveIO(**kwargs)
    msg = str(err.value)
    assert "\n" not in msg
    assert "pulse" in msg or "default" in msg


def test_say_command_plays_the_phrase(private_sink, tmp_path):
    import sys

    from voicecoach.speech.tts import ClipCache

    rec = tmp_path / "monitor.wav"
    parec = record_monitor(private_sink, rec)
    try:
        time.sleep(0.3)
        proc = subprocess.run([sys.executable, "-m", "voicecoach", "say", "testing one two three",
                               "--device", "pulse", "--samplerate", "16000"],
                              capture_output=True, text=True, timeout=60)
        time.sleep(0.3)
    finally:
        parec.terminate()
        parec.wait(timeout=5)
    assert proc.returncode == 0, proc.stderr
    recorded, _ = read_wav(rec)
    expected = ClipCache(16000).get("testing one two three").samples
    _, score = find(recorded, expected)
    assert score > 0.8, f"phrase not found in the monitor recording (correlation {score:.2f})"


def test_devices_command_lists_devices(pulse):
    import sys

    proc = subprocess.run([sys.executable, "-m", "voicecoach", "devices"], capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0
    assert "pulse" in proc.stdout and "default output" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "voicecoach", "say", "hi", "--device", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0
    assert bad.stderr.count("\n") == 1 and "available:" in bad.stderr and "Traceback" not in bad.stderr


def test_calibrate_puts_the_mic_on_the_output_clock(private_sink):
    # The null sink's monitor hears exactly what is played, so after calibration a
    # sound played at output second t is in the mic at second t. The bound is loose
    # (one 20 ms block): this checks the timeline arithmetic, not speed.
    io = LiveIO(output_device="pulse", input_device="pulse")
    sched = Scheduler(io.samplerate)
    io.start(sched.render)
    try:
        io.wait_flowing(timeout=5)
        error = io.calibrate(sched)
        assert error is not None, "calibration chirp not heard in the monitor"
        clip = probe(io.samplerate)
        at = sched.now + io.samplerate // 2
        sched.submit(clip, at)
        blocks = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            b = io.read_mic(timeout=0.5)
            if b is not None:
                blocks.append(b)
                if b.start > at / io.samplerate + 1.0:
                    break
    finally:
        io.stop()
    mic = np.concatenate([b.samples for b in blocks]).astype(np.float32) / 32768
    lag, score = find(mic, resample(clip.samples, io.samplerate, 16000))
    assert score > 0.9
    heard_at = blocks[0].start + lag / 16000
    assert abs(heard_at - at / io.samplerate) < 0.02


@pytest.mark.parametrize("rate", [44100, 48000, 22050])
def test_echo_reference_blocks_equal_one_resampling_of_the_output(pulse, rate):
    # White-box: fill the output history as the callback would, then ask for the
    # reference of consecutive 20 ms mic blocks at an arbitrary mic offset.
    io = LiveIO(output_device="pulse", samplerate=rate, use_input=False)
    rng = np.random.default_rng(0)
    played = (0.3 * rng.standard_normal(rate * 3)).astype(np.float32)
    io._hist[: len(played)] = played
    io._frames_out = len(played)
    whole = resample(played, rate, 16000)
    offset = round(0.123456 * 16000) / 16000
    for k in range(3, 120):
        start = offset + k * 0.02
        i0 = round(start * 16000)
        np.testing.assert_allclose(io._reference(start, 320), whole[i0:i0 + 320], atol=1e-5)


class _Status:
    def __init__(self, underflow: bool):
        self.output_underflow, self.output_overflow = underflow, False

    def __bool__(self):
        return self.output_underflow


class _Times:
    def __init__(self, dac: float):
        self.outputBufferDacTime, self.currentTime = dac, dac - 0.1


def test_the_silence_of_an_output_underrun_is_in_the_reference_so_the_echo_does_not_jump(pulse):
    # White-box, the callback called by hand: a null sink cannot be made to underrun on cue
    # (a stopped process underruns it only sometimes, and PortAudio does not always say so).
    rate, block = 48000, 1200
    io = LiveIO(output_device="pulse", samplerate=rate, use_input=False)
    played = iter(np.arange(1, 100 * block + 1, dtype=np.float32) / (100 * block))
    io._render = lambda buf: buf.__setitem__(slice(None), [next(played) for _ in range(len(buf))])
    out = np.zeros((block, 1), np.float32)
    dac = 10.0
    for k in range(8):
        underrun = k == 5
        dac += 0.05 if underrun else 0.0  # the device played 50 ms of silence before block 5
        dac += 0.003 if k == 3 else 0.0  # the DAC estimate's jitter, with no underrun: no silence
        io._out_callback(out, block, _Times(dac), _Status(underrun))
        dac += block / rate
    assert io.xruns["output_underflow"] == 1 and io.underrun_frames == round(0.05 * rate)
    gap_at = 5 * block / rate  # device-timeline seconds where the silence starts
    ref = io._reference(0.0, round((gap_at + 0.1) * 16000))
    silence = ref[round((gap_at + 0.005) * 16000):round((gap_at + 0.045) * 16000)]
    assert np.abs(silence).max() < 1e-3
    resumed = ref[round((gap_at + 0.055) * 16000):]
    expected = (5 * block + 1 + 0.005 * rate + np.arange(len(resumed)) * rate / 16000) / (100 * block)
    np.testing.assert_allclose(resumed[: len(resumed) // 2], expected[: len(resumed) // 2], atol=2e-3)


def test_with_count_underruns_off_the_silence_is_left_out_but_the_underrun_is_counted(pulse):
    # White-box, the callback called by hand (as above): the switch bench_underrun.py's
    # --without compares against.
    rate, block = 48000, 1200
    io = LiveIO(output_device="pulse", samplerate=rate, use_input=False, count_underruns=False)
    io._render = lambda buf: buf.fill(0.1)
    out = np.zeros((block, 1), np.float32)
    dac = 10.0
    for k in range(4):
        dac += 0.05 if k == 2 else 0.0  # the device played 50 ms of silence before block 2
        io._out_callback(out, block, _Times(dac), _Status(k == 2))
        dac += block / rate
    assert io.xruns["output_underflow"] == 1 and io.underrun_frames == 0
    played_s = 4 * block / rate
    ref = io._reference(0.01, round((played_s - 0.02) * 16000))  # clear of the resampler's edges
    assert np.abs(ref - 0.1).max() < 0.01  # no gap where the silence was


def test_after_an_output_underrun_the_mic_and_the_output_clock_count_its_silence(pulse):
    # White-box, the callback called by hand (as above): the mic timeline is placed
    # on the device timeline, so the silence an underrun played is in it.
    rate, block = 48000, 1200
    io = LiveIO(output_device="pulse", samplerate=rate, use_input=False)
    io._render = lambda buf: buf.fill(0.1)
    out = np.zeros((block, 1), np.float32)
    dac = 10.0
    for k in range(4):
        dac += 0.05 if k == 2 else 0.0  # 50 ms of silence before block 2
        io._out_callback(out, block, _Times(dac), _Status(k == 2))
        last_dac, dac = dac, dac + block / rate
    assert io.underrun_frames == round(0.05 * rate)
    last_start = (3 * block + io.underrun_frames) / rate  # block 3's first frame on the device timeline
    assert io._place_mic(320, adc=last_dac + 0.2, now=1.0, mono=0.0) == pytest.approx(last_start + 0.2)
    assert io.anchor == "stream times"
    assert io.output_clock_at(io.log_mono[3] + 0.2) == pytest.approx(last_start + 0.2)
