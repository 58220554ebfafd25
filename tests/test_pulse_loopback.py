"""Real audio without a sound card: PortAudio through a PulseAudio null sink.

A clip played with sounddevice to the ``coach`` sink is recorded back from its
monitor, and found there by cross-correlation. This is the harness the live
tests of the scheduler, `run` and `serve` stand on.
"""

from __future__ import annotations

import threading

import numpy as np


def chirp(rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    sweep = np.sin(2 * np.pi * (300 * t + (3000 - 300) / (2 * seconds) * t**2))
    return (0.5 * sweep * np.hanning(len(t))).astype(np.float32)


def test_clip_played_to_the_null_sink_is_recorded_from_its_monitor(pulse):
    import sounddevice as sd

    rate = 48000
    clip = chirp(rate)
    names = [d["name"] for d in sd.query_devices()]
    assert "pulse" in names, names
    recorded: list[np.ndarray] = []
    delivering = threading.Event()

    def on_input(indata, frames, time_info, status):
        recorded.append(indata[:, 0].copy())
        if sum(map(len, recorded)) > rate // 5:
            delivering.set()

    with sd.InputStream(device="pulse", samplerate=rate, channels=1, dtype="float32",
                        latency="high", callback=on_input):
        # The monitor's first buffers arrive late; play only once it delivers,
        # or the head of the clip falls before the recording starts.
        assert delivering.wait(10), "the monitor source delivered no audio"
        sd.play(clip, rate, device="pulse", latency="high")
        sd.wait()
        sd.sleep(500)
    audio = np.concatenate(recorded)
    assert len(audio) > rate // 2
    corr = np.correlate(audio, clip, mode="valid")
    peak = float(np.max(np.abs(corr)))
    # Normalised against the clip's own energy: 1.0 is a perfect copy, noise is near 0.
    assert peak / float(np.dot(clip, clip)) > 0.5
