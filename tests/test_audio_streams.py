"""SimulatedIO: the file timeline, output length, echo mix, and the scheduler through it."""

from __future__ import annotations

import numpy as np
import pytest

from voicecoach.audio import tones
from voicecoach.audio.scheduler import Scheduler
from voicecoach.audio.streams import SimulatedIO, room_impulse
from voicecoach.audio.wavio import read_wav, write_wav
from voicecoach.errors import UserError


def mic_file(path, seconds=2.0, rate=44100, channels=1, tone_at=None):
    n = int(seconds * rate)
    x = np.zeros(n, dtype=np.float32)
    if tone_at is not None:
        i = int(tone_at * rate)
        t = np.arange(int(0.05 * rate)) / rate
        x[i:i + len(t)] = 0.3 * np.sin(2 * np.pi * 500 * t)
    if channels == 1:
        write_wav(path, x, rate)
    else:  # a stereo float file via the raw writer of the wavio tests' kind
        import struct

        inter = np.repeat(x[:, None], channels, axis=1).reshape(-1).astype("<f4").tobytes()
        fmt = struct.pack("<HHIIHH", 3, channels, rate, rate * 4 * channels, 4 * channels, 32)
        body = b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", len(inter)) + inter
        path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    return path


def drain(io):
    blocks = []
    while (b := io.read_mic()) is not None:
        blocks.append(b)
    return blocks


@pytest.mark.parametrize("rate, out_rate, block_ms", [(44100, 22050, 20), (16000, 48000, 30), (8000, 16000, 7)])
def test_timeline_and_output_length(tmp_path, rate, out_rate, block_ms):
    mic = mic_file(tmp_path / "mic.wav", 1.7, rate, tone_at=0.5)
    io = SimulatedIO(mic, tmp_path / "out.wav", samplerate=out_rate, block_ms=block_ms)
    sched = Scheduler(io.samplerate)
    io.start(sched.render)
    blocks = drain(io)
    io.stop()
    starts = [b.start for b in blocks]
    assert starts[0] == 0.0
    np.testing.assert_allclose(np.diff(starts)[:-1], block_ms / 1000, atol=1 / 16000)
    mic16 = np.concatenate([b.samples for b in blocks])
    assert abs(len(mic16) - 1.7 * 16000) <= 1
    assert all(b.samples.dtype == np.int16 and len(b.reference) == len(b.samples) for b in blocks)
    # The mic content is where the file has it.
    onset = np.flatnonzero(np.abs(mic16) > 1000)[0] / 16000
    assert onset == pytest.approx(0.5, abs=0.002)
    out, sr = read_wav(tmp_path / "out.wav")
    assert sr == out_rate and len(out) == round(1.7 * out_rate)


def test_cue_lands_on_planned_sample_in_output_and_reference(tmp_path):
    mic = mic_file(tmp_path / "mic.wav", 3.0, 16000, channels=2)
    io = SimulatedIO(mic, tmp_path / "out.wav", samplerate=22050)
    sched = Scheduler(io.samplerate)
    io.start(sched.render)
    tick = tones.tick(22050)
    planned = []
    refs = []
    while (b := io.read_mic()) is not None:
        refs.append(b.reference)
        # React to the mic as the coach does: plan a tick a little ahead of now.
        if not planned or (sched.now > planned[-1] + 22050 and len(planned) < 4):
            planned.append(sched.now + 1234)
            sched.submit(tick, planned[-1])
    io.stop()
    assert [s for _, s in sched.started()] == planned
    out, _ = read_wav(tmp_path / "out.wav")
    for at in planned:
        seg = out[at - 100:at + len(tick)]
        assert np.all(seg[:100] == 0) and abs(seg[100 + 5]) > 0  # silence, then the tick from `at`
        np.testing.assert_allclose(seg[100:], tick.samples, atol=2 / 32768)
    # The far-end reference is the output at 16 kHz on the same timeline.
    ref = np.concatenate(refs)
    tick16 = tones.tick(16000).samples
    for at in planned:
        i = int(round(at / 22050 * 16000))
        window = ref[i - 80:i + 80 + len(tick16)]
        lag = int(np.argmax(np.correlate(window, tick16, "valid"))) - 80
        assert abs(lag) <= 1


def test_echo_is_mixed_back_with_gain_and_delay(tmp_path):
    mic = mic_file(tmp_path / "mic.wav", 2.0, 16000)
    io = SimulatedIO(mic, tmp_path / "out.wav", samplerate=16000, echo_gain=0.5, echo_ms=40)
    sched = Scheduler(16000)
    io.start(sched.render)
    sched.submit(tones.earcon("chime", 16000), 8000)
    blocks = drain(io)
    io.stop()
    mic16 = np.concatenate([b.samples for b in blocks]).astype(np.float32) / 32768
    ref = np.concatenate([b.reference for b in blocks])
    expected = np.zeros_like(ref)
    expected[640:] = 0.5 * ref[:-640]
    np.testing.assert_allclose(mic16, expected, atol=2 / 32768)


def test_reverb_is_the_room_impulse_applied_to_the_delayed_output(tmp_path):
    mic = mic_file(tmp_path / "mic.wav", 2.0, 16000)
    got = []
    for reverb in (False, True):
        io = SimulatedIO(mic, tmp_path / "o.wav", samplerate=16000, echo_gain=0.5, echo_ms=10,
                          echo_ir=room_impulse() if reverb else None)
        sched = Scheduler(16000)
        io.start(sched.render)
        sched.submit(tones.tick(16000), 4000)
        blocks = drain(io)
        io.stop()
        got.append(np.concatenate([b.samples for b in blocks]).astype(np.float32) / 32768)
        ref = np.concatenate([b.reference for b in blocks])
    dry_mic, wet_mic = got
    end = 4000 + 160 + len(tones.tick(16000)) + 200  # well after the direct echo ends
    assert np.max(np.abs(dry_mic[end:])) == 0.0
    assert np.max(np.abs(wet_mic[end:end + 1600])) > 1e-3  # the room's tail
    expected = 0.5 * np.convolve(ref, room_impulse())[: len(ref)]
    expected = np.concatenate([np.zeros(160), expected[:-160]])
    np.testing.assert_allclose(wet_mic, expected, atol=3 / 32768)


@pytest.mark.parametrize("ppm", [5000.0, -5000.0])
def test_clock_drift_slides_the_echo_against_the_reference(tmp_path, ppm):
    """With the speaker's clock faster (positive ppm), a sound played at
    reference sample r reaches the mic at r / (1 + ppm 1e-6), plus the delay:
    earlier and earlier; slower, later and later."""
    mic = mic_file(tmp_path / "mic.wav", 2.5, 16000)
    io = SimulatedIO(mic, tmp_path / "o.wav", samplerate=16000, echo_gain=0.5, echo_ms=100, echo_drift_ppm=ppm)
    sched = Scheduler(16000)
    io.start(sched.render)
    tick = tones.tick(16000).samples.astype(np.float64)
    played = (4000, 28000)
    for at in played:
        sched.submit(tones.tick(16000), at)
    blocks = drain(io)
    io.stop()
    heard = np.concatenate([b.samples for b in blocks]).astype(np.float64) / 32768
    ref = np.concatenate([b.reference for b in blocks])
    assert np.argmax(np.correlate(ref[:12000], tick, "valid")) == played[0]  # the reference does not drift
    for at in played:
        window = heard[at - 2000:at + 4000]
        found = at - 2000 + int(np.argmax(np.correlate(window, tick, "valid")))
        assert found == pytest.approx(at / (1 + ppm * 1e-6) + 1600, abs=1.5)


def test_what_is_rendered_beyond_a_block_comes_with_it(tmp_path):
    """``ahead`` is the output after the block, as the next blocks' references will show it."""
    mic = mic_file(tmp_path / "mic.wav", 2.5, 16000)
    io = SimulatedIO(mic, tmp_path / "o.wav", samplerate=16000, echo_gain=0.5, echo_drift_ppm=20000)
    sched = Scheduler(16000)
    io.start(sched.render)
    sched.submit(tones.earcon("chime", 16000), 1000)
    blocks = drain(io)
    io.stop()
    ref = np.concatenate([b.reference for b in blocks])
    assert max(len(b.ahead) for b in blocks) > 0  # a speaker clock 2 % fast has played ahead
    for i, b in enumerate(blocks):
        at = int(round(b.end * 16000))
        known = ref[at:at + len(b.ahead)]  # the mic ends before the output does
        np.testing.assert_array_equal(b.ahead[:len(known)], known)
        np.testing.assert_array_equal(b.far_end, np.concatenate([b.reference, b.ahead]))


def test_a_person_can_answer_the_coach_in_the_audio_not_yet_read(tmp_path):
    mic = mic_file(tmp_path / "mic.wav", 1.0, 16000)
    io = SimulatedIO(mic, tmp_path / "o.wav", samplerate=16000)
    io.start(Scheduler(16000).render)
    first = io.read_mic()
    io.add_to_mic(0.0, np.full(16000, 0.25, dtype=np.float32))  # the first block was heard already
    rest = np.concatenate([b.samples for b in drain(io)])
    io.stop()
    assert not first.samples.any()
    assert np.all(rest == round(0.25 * 32767))


def test_bad_mic_file(tmp_path):
    (tmp_path / "bad.wav").write_bytes(b"nope")
    with pytest.raises(UserError, match="bad.wav"):
        SimulatedIO(tmp_path / "bad.wav", tmp_path / "out.wav")
