"""Synthesised ticks and earcons: short tones with click-free envelopes.

Every tone starts at phase 0 with a raised-cosine attack and ends with a
raised-cosine release, so placing or cutting one never clicks. The first
sample is the start of the sound (its value is 0, the attack rises from there).

Earcon names (:data:`EARCONS`): ``mark`` (a mark was taken), ``ack`` (a control
was understood), ``start`` and ``end`` (of a set or session), ``chime`` (the
wake phrase was heard), ``error`` (not understood / cannot do that).
"""

from __future__ import annotations

import numpy as np

from voicecoach.audio.clips import Clip

PEAK = 0.5
"""Peak level of every tone: leaves headroom when a tone overlaps speech."""


def _note(samplerate: int, freqs: tuple[float, ...], dur: float, *, attack: float = 0.004,
          release: float = 0.02, decay: float = 0.0, weights: tuple[float, ...] | None = None) -> np.ndarray:
    n = max(int(round(dur * samplerate)), 8)
    t = np.arange(n, dtype=np.float64) / samplerate
    weights = weights or tuple(1.0 for _ in freqs)
    x = sum(w * np.sin(2 * np.pi * f * t) for f, w in zip(freqs, weights))
    env = np.ones(n)
    a = min(max(int(attack * samplerate), 2), n // 2)
    r = min(max(int(release * samplerate), 2), n - a)
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    env[n - r:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(r) + 1) / r)
    if decay > 0:
        env *= np.exp(-t / decay)
    x = x * env
    peak = np.max(np.abs(x))
    return x / peak if peak > 0 else x


def _sequence(samplerate: int, parts: list[tuple[np.ndarray, float]]) -> np.ndarray:
    """Lay notes out at the given onsets (seconds) and sum them."""
    end = max(int(round(onset * samplerate)) + len(x) for x, onset in parts)
    out = np.zeros(end)
    for x, onset in parts:
        i = int(round(onset * samplerate))
        out[i:i + len(x)] += x
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out


def tick(samplerate: int) -> Clip:
    """A short, bright click-free tick (about 40 ms) for counting seconds."""
    x = _note(samplerate, (1760.0, 3520.0), 0.04, attack=0.001, release=0.01, decay=0.012,
              weights=(1.0, 0.35))
    return Clip((PEAK * x).astype(np.float32), samplerate, "tick")


def _earcon(name: str, sr: int) -> np.ndarray:
    if name == "mark":  # two quick rising notes: "got it, noted"
        return _sequence(sr, [(_note(sr, (988.0,), 0.07, decay=0.08), 0.0),
                              (_note(sr, (1319.0,), 0.09, decay=0.08), 0.075)])
    if name == "ack":  # one soft note
        return _note(sr, (880.0, 1760.0), 0.12, decay=0.06, weights=(1.0, 0.2))
    if name == "start":  # rising major triad
        return _sequence(sr, [(_note(sr, (f,), 0.11, decay=0.1), i * 0.09)
                              for i, f in enumerate((523.25, 659.25, 783.99))])
    if name == "end":  # falling triad, longer last note
        return _sequence(sr, [(_note(sr, (f,), 0.11 if i < 2 else 0.3, decay=0.12 if i < 2 else 0.2), i * 0.1)
                              for i, f in enumerate((783.99, 659.25, 523.25))])
    if name == "chime":  # bell-like two-note chime with inharmonic partial
        return _sequence(sr, [(_note(sr, (1318.5, 3296.0), 0.25, decay=0.12, weights=(1.0, 0.3)), 0.0),
                              (_note(sr, (1046.5, 2616.0), 0.35, decay=0.15, weights=(1.0, 0.3)), 0.12)])
    if name == "error":  # two low, slightly rough pulses
        return _sequence(sr, [(_note(sr, (220.0, 233.0, 440.0), 0.12, weights=(1.0, 0.6, 0.3)), 0.0),
                              (_note(sr, (196.0, 207.7, 392.0), 0.16, weights=(1.0, 0.6, 0.3)), 0.16)])
    raise ValueError(f"unknown earcon {name!r}; known: {', '.join(EARCONS)}")


EARCONS = ("mark", "ack", "start", "end", "chime", "error")


def earcon(name: str, samplerate: int) -> Clip:
    """The earcon ``name`` (one of :data:`EARCONS`) at ``samplerate``.

    Raises ValueError for an unknown name (a programming error, not a user one).
    """
    x = _earcon(name, samplerate)
    return Clip((PEAK * x).astype(np.float32), samplerate, name)
