"""The scheduler places every clip at its exact sample, mixes, cancels and ducks without clicks."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach.audio import tones
from voicecoach.audio.clips import Clip
from voicecoach.audio.scheduler import Scheduler

SR = 8000


def ramp_clip(n: int = 100, label: str = "ramp", scale: float = 1.0) -> Clip:
    # A clip with no zero samples, so its first sample is findable exactly.
    return Clip(scale * (np.arange(1, n + 1, dtype=np.float32) / n), SR, label)


def run(sched: Scheduler, total: int, blocks: list[int]) -> np.ndarray:
    """Render ``total`` samples in blocks cycling through ``blocks``."""
    out = np.zeros(total, dtype=np.float32)
    i = k = 0
    while i < total:
        n = min(blocks[k % len(blocks)], total - i)
        sched.render(out[i:i + n])
        i += n
        k += 1
    return out


@pytest.mark.parametrize("blocksize", [1, 7, 64, 100, 441, 512, 1023, 4096])
def test_clip_starts_exactly_at_planned_sample(blocksize):
    sched = Scheduler(SR)
    clip = ramp_clip(300)
    planned = [0, 1, 99, 100, 101, 511, 512, 513, 2999, 4095, 4096, 7000]
    ids = {sched.submit(clip, at, tag=str(at)): at for at in planned[::2]}
    out = np.zeros(0, dtype=np.float32)
    parts = []
    # Submit the rest while rendering, always ahead of the clock.
    pending = planned[1::2]
    while sched.now < 8000:
        for at in list(pending):
            if at >= sched.now + blocksize:
                ids[sched.submit(clip, at)] = at
                pending.remove(at)
        buf = np.zeros(blocksize, dtype=np.float32)
        sched.render(buf)
        parts.append(buf)
    out = np.concatenate(parts)
    started = dict(sched.started())
    assert sched.late == 0
    assert {cue: started[cue] for cue in ids} == ids
    expected = np.zeros_like(out)
    for at in ids.values():
        expected[at:at + len(clip)] += clip.samples
    np.clip(expected, -1, 1, out=expected)
    # Summation order differs by one float32 rounding; a one-sample shift would be 100x off.
    np.testing.assert_allclose(out, expected, atol=1e-6, rtol=0)


@settings(max_examples=60, deadline=None)
@given(
    ats=st.lists(st.integers(0, 3000), min_size=1, max_size=8),
    blocks=st.lists(st.integers(1, 700), min_size=1, max_size=5),
    gains=st.lists(st.floats(0.0, 1.0), min_size=8, max_size=8),
)
def test_overlapping_clips_sum_exactly(ats, blocks, gains):
    sched = Scheduler(SR)
    clip = ramp_clip(200, scale=0.1)
    for i, at in enumerate(ats):
        sched.submit(clip, at, gain=gains[i])
    out = run(sched, 3500, blocks)
    expected = np.zeros(3500, dtype=np.float64)
    for i, at in enumerate(ats):
        expected[at:at + 200] += gains[i] * clip.samples
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert sorted(s for _, s in sched.started()) == sorted(at for i, at in enumerate(ats) if gains[i] >= 0)


def test_mix_is_clipped_not_wrapped():
    sched = Scheduler(SR)
    loud = Clip(np.full(50, 0.8, dtype=np.float32), SR, "loud")
    sched.submit(loud, 10)
    sched.submit(loud, 10)
    out = run(sched, 100, [32])
    assert out.max() == pytest.approx(1.0)
    assert out.min() >= -1.0


def test_cancel_fades_out_then_silence():
    sched = Scheduler(SR)
    tone = Clip(np.full(SR, 0.5, dtype=np.float32), SR, "tone")
    cue = sched.submit(tone, 100)
    later = sched.submit(tone, 5000)  # not started when cancelled: dropped
    head = run(sched, 1000, [64])
    sched.cancel(cue)
    sched.cancel(later)
    tail = run(sched, 7000, [64])
    fade = int(0.010 * SR)
    assert head[999] == pytest.approx(0.5)
    # The fade is monotone, starts from the playing level and reaches 0 within 10 ms.
    seg = tail[:fade + 1]
    assert seg[0] <= 0.5 and seg[0] > 0.45
    assert np.all(np.diff(seg) <= 1e-7)
    assert np.all(tail[fade:] == 0.0)
    # No click: no step larger than the fade's own slope.
    assert np.max(np.abs(np.diff(np.concatenate([head[-1:], tail])))) < 0.5 * np.pi / fade
    assert [c for c, _ in sched.started()] == [cue]


def test_cancel_by_tag_and_all():
    sched = Scheduler(SR)
    clip = ramp_clip(400, scale=0.1)
    a = sched.submit(clip, 0, tag="speech")
    b = sched.submit(clip, 0, tag="tick")
    run(sched, 50, [50])
    sched.cancel(tag="speech")
    out = run(sched, 400, [50])
    # Only the tick remains after the fade.
    fade = int(0.010 * SR)
    np.testing.assert_allclose(out[fade:350], clip.samples[50 + fade:400], atol=1e-7)
    sched.submit(clip, sched.now + 10)
    sched.submit(clip, sched.now + 20)
    sched.cancel()
    assert np.all(run(sched, 1000, [100]) == 0.0)
    assert not sched.busy
    assert {c for c, _ in sched.started()} == {a, b}


def test_duck_ramps_to_gain_and_back():
    sched = Scheduler(SR)
    tone = Clip(np.full(SR, 0.5, dtype=np.float32), SR, "tone")
    cue = sched.submit(tone, 0, tag="speech")
    run(sched, 200, [64])
    sched.duck(0.2, tag="speech")
    ducked = run(sched, 400, [64])
    fade = int(0.010 * SR)
    assert ducked[0] == pytest.approx(0.5, abs=0.01)
    np.testing.assert_allclose(ducked[fade:], 0.1, atol=1e-6)
    assert np.all(np.diff(ducked[:fade + 1]) <= 1e-7)
    sched.duck(1.0, cue_id=cue)
    back = run(sched, 400, [64])
    np.testing.assert_allclose(back[fade:], 0.5, atol=1e-6)


def test_late_cue_starts_at_once_and_is_counted():
    sched = Scheduler(SR)
    run(sched, 1000, [100])
    cue = sched.submit(ramp_clip(50), 500)
    out = run(sched, 100, [100])
    assert sched.late == 1
    assert sched.started() == [(cue, 1000)]
    np.testing.assert_array_equal(out[:50], ramp_clip(50).samples)


def test_max_voices_drops_extra_cues():
    sched = Scheduler(SR, max_voices=2)
    for _ in range(3):
        sched.submit(ramp_clip(100, scale=0.1), 0)
    run(sched, 200, [64])
    assert sched.dropped == 1
    assert len(sched.started()) == 2


def test_submit_from_other_threads_lands_exactly():
    sched = Scheduler(SR)
    clip = ramp_clip(10, scale=0.01)
    planned: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def producer(seed: int) -> None:
        rng = np.random.default_rng(seed)
        while not stop.is_set() and len(planned) < 400:
            at = sched.now + 2048 + int(rng.integers(0, 4000))
            cue = sched.submit(clip, at)
            with lock:
                planned[cue] = at

    threads = [threading.Thread(target=producer, args=(s,)) for s in range(3)]
    for t in threads:
        t.start()
    buf = np.zeros(256, dtype=np.float32)
    while any(t.is_alive() for t in threads) or sched.busy:
        sched.render(buf)
        if sched.now > SR * 600:
            break
    stop.set()
    for t in threads:
        t.join()
    started = dict(sched.started())
    assert sched.late == 0
    assert started == planned


def test_int16_clip_mixes_as_its_float_samples():
    # Speech clips are held as int16; mixed (with a gain, a duck and a cancel) they
    # must sound exactly like the same clip given as float32.
    rng = np.random.default_rng(3)
    pcm = rng.integers(-20000, 20000, 5000).astype(np.int16)
    as_int = Clip(pcm, SR, "int16")
    as_float = Clip(pcm.astype(np.float32) / 32768, SR, "float32")
    assert as_int.pcm.dtype == np.int16 and as_int.pcm.nbytes == len(pcm) * 2
    np.testing.assert_array_equal(as_int.samples, as_float.samples)
    outs = []
    for clip in (as_int, as_float):
        sched = Scheduler(SR, volume=0.9)
        first = sched.submit(clip, 10, gain=0.7)
        sched.submit(clip, 1234)
        out = run(sched, 1000, [160])
        sched.duck(0.2, cue_id=first)
        out = np.concatenate([out, run(sched, 2000, [160])])
        sched.cancel()
        outs.append(np.concatenate([out, run(sched, 4000, [333])]))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert np.max(np.abs(outs[0])) > 0.3


def test_wrong_rate_is_refused():
    with pytest.raises(ValueError):
        Scheduler(SR).submit(tones.tick(16000), 0)


@pytest.mark.parametrize("name", ["tick", "mark", "ack", "start", "end", "chime", "error"])
def test_tones_are_click_free(name):
    clip = tones.tick(22050) if name == "tick" else tones.earcon(name, 22050)
    x = clip.samples
    assert clip.label == name and clip.samplerate == 22050
    assert 0.02 < clip.duration < 1.0
    assert abs(x[0]) < 1e-3 and abs(x[-1]) < 1e-3
    assert 0.3 < np.max(np.abs(x)) <= 0.5 + 1e-6
    # Starts at once: the sound is audible within the first 5 ms.
    assert np.max(np.abs(x[: int(0.005 * 22050)])) > 0.05


def test_unknown_earcon():
    with pytest.raises(ValueError, match="known"):
        tones.earcon("nope", 22050)


def test_render_allocates_no_sample_buffers():
    # The output callback must not allocate: after warm-up, rendering many blocks with
    # many voices, cancels and ducks must not grow memory by even one block's buffer.
    import tracemalloc

    sched = Scheduler(SR)
    # int16 clips (speech) are converted block by block: that must not allocate either.
    pcm16 = Clip((np.arange(3000) % 200).astype(np.int16), SR, "pcm16")
    clips = [ramp_clip(3000, scale=0.01), tones.tick(SR), tones.earcon("chime", SR), pcm16]
    buf = np.zeros(4096, dtype=np.float32)
    sched.reserve(4096)
    for k in range(40):
        sched.submit(clips[k % len(clips)], 800 * k, gain=0.5)
    for _ in range(2):
        sched.render(buf)
    tracemalloc.start()
    try:
        base = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        start_size, _ = tracemalloc.get_traced_memory()
        for i in range(12):
            if i == 3:
                sched.duck(0.3)
            sched.render(buf)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del base
    assert len(sched.started()) == 40  # every voice was mixed during the measured blocks
    # One float32 block is 16 KiB; views, command tuples and started() entries are far smaller.
    assert peak - start_size < 16384
