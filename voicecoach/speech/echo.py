"""Removing the coach's own voice from the microphone signal.

:class:`EchoCanceller` wraps WebRTC's AEC3 (``pywebrtc-audio``) for a stream
of blocks of any length: it feeds AEC3 whole 10 ms frames and keeps the
remainder for the next block, so its output lags its input by less than
10 ms. The far end (``reference``) is what the speaker played over the same
span of time as the mic block; AEC3 finds the acoustic delay itself.

When pywebrtc-audio is missing, :class:`EchoGate` is the fallback: it only
says when the coach was audible, so a caller can ignore what was heard then
(half-duplex: commands spoken over the coach are lost).
"""

from __future__ import annotations

import numpy as np

FRAME = 160
"""Samples per AEC3 frame at 16 kHz (10 ms)."""


def aec_available() -> bool:
    """True when WebRTC's echo canceller can be loaded."""
    try:
        import pywebrtc_audio  # noqa: F401
    except Exception:
        return False
    return True


class EchoCanceller:
    """Streaming AEC3 at 16 kHz mono int16, for blocks of any length.

    ``process(near, far)`` returns the cleaned samples that are ready: the
    first ``len(near) // 160 * 160``-ish samples, the rest follow with the
    next call. ``far`` is float32 in [-1, 1] (or None for silence).
    """

    def __init__(self, samplerate: int = 16000, *, noise_suppression: int | None = None):
        import pywebrtc_audio

        if samplerate != 16000:
            raise ValueError("EchoCanceller runs at 16 kHz")
        self._aec = pywebrtc_audio.EchoCanceller(sample_rate=samplerate, num_channels=1)
        self._ns = (
            pywebrtc_audio.NoiseSuppressor(sample_rate=samplerate, num_channels=1, level=noise_suppression)
            if noise_suppression is not None
            else None
        )
        self._near = np.zeros(0, dtype=np.int16)
        self._far = np.zeros(0, dtype=np.int16)

    def process(self, near: np.ndarray, far: np.ndarray | None) -> np.ndarray:
        near = np.asarray(near, dtype=np.int16)
        if far is None:
            far16 = np.zeros(len(near), dtype=np.int16)
        else:
            far = np.asarray(far, dtype=np.float32)
            if len(far) != len(near):
                # A reference of the wrong length is cut or padded: the
                # canceller must stay aligned with the mic stream.
                far = np.resize(far, len(near)) if len(far) else np.zeros(len(near), np.float32)
            far16 = (np.clip(far, -1.0, 1.0) * 32767.0).astype(np.int16)
        self._near = np.concatenate([self._near, near])
        self._far = np.concatenate([self._far, far16])
        n = len(self._near) // FRAME * FRAME
        if n == 0:
            return np.zeros(0, dtype=np.int16)
        out = np.asarray(self._aec.process(self._near[:n], self._far[:n]), dtype=np.int16)
        if self._ns is not None:
            out = np.asarray(self._ns.process(out), dtype=np.int16)
        self._near = self._near[n:]
        self._far = self._far[n:]
        return out

    def flush(self) -> np.ndarray:
        """The held-back remainder, unprocessed (end of input)."""
        rest, self._near, self._far = self._near, np.zeros(0, np.int16), np.zeros(0, np.int16)
        return rest

    def reset(self) -> None:
        self._aec.reset()
        if self._ns is not None:
            self._ns.reset()
        self._near = np.zeros(0, dtype=np.int16)
        self._far = np.zeros(0, dtype=np.int16)


class EchoGate:
    """Remembers when the coach was audible (reference above ``threshold_db`` dBFS).

    ``hangover_s`` covers the room's echo tail and the output latency.
    """

    def __init__(self, *, threshold_db: float = -45.0, hangover_s: float = 0.4):
        self.threshold_db = threshold_db
        self.hangover_s = hangover_s
        self._spans: list[tuple[float, float]] = []

    def update(self, reference: np.ndarray | None, start: float, samplerate: int) -> None:
        if reference is None or len(reference) == 0:
            return
        ref = np.asarray(reference, dtype=np.float32)
        n = len(ref) // FRAME
        if n == 0:
            return
        frames = ref[: n * FRAME].reshape(n, FRAME)
        db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        loud = np.flatnonzero(db > self.threshold_db)
        if loud.size == 0:
            return
        s = start + loud[0] * FRAME / samplerate
        e = start + (loud[-1] + 1) * FRAME / samplerate + self.hangover_s
        if self._spans and s <= self._spans[-1][1]:
            self._spans[-1] = (self._spans[-1][0], max(e, self._spans[-1][1]))
        else:
            self._spans.append((s, e))
        if len(self._spans) > 256:
            del self._spans[:128]

    def overlaps(self, start: float, end: float) -> bool:
        return any(s < end and start < e for s, e in self._spans)

    def reset(self) -> None:
        self._spans.clear()
