"""Is a recorded take of a phrase usable for enrollment? Too quiet, clipped or cut is not.

:func:`take_problem` looks at one recording (float32 mono, 16 kHz) in 10 ms
frames and says what is wrong with it in a few words, or None. A take must
hold speech (sound well above the recording's own noise floor), not touch
full scale, start and end in quiet (a phrase cut off by the start or end of
the recording teaches the wrong sound), and be as short as one phrase.
:func:`speech_span` gives where the speech is, for trimming.
"""

from __future__ import annotations

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE

FRAME_S = 0.01
QUIET_DBFS = -35.0
"""The loudest 10 ms of a take must reach this level (about 1.8 % of full scale)."""
ABOVE_FLOOR_DB = 15.0
"""Speech frames are this far above the take's noise floor (its quietest 10 %)."""
EDGE_DB = 20.0
"""The first and last 30 ms must be this far below the loudest frame: else the phrase is cut."""
CLIP_LEVEL = 0.99
CLIPPED_SAMPLES = 3
"""This many samples at or past ``CLIP_LEVEL`` of full scale make a take clipped."""
MIN_SPEECH_S = 0.15
MAX_SPEECH_S = 4.0


def _levels(x: np.ndarray, samplerate: int) -> np.ndarray:
    n = int(FRAME_S * samplerate)
    frames = x[: len(x) // n * n].reshape(-1, n).astype(np.float64)
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def speech_span(x: np.ndarray, samplerate: int = VOSK_RATE) -> tuple[float, float] | None:
    """(start, end) seconds of the speech in ``x``: the first to the last frame
    ``ABOVE_FLOOR_DB`` over the noise floor; None when there is none."""
    db = _levels(x, samplerate)
    if len(db) == 0:
        return None
    floor = np.percentile(db, 10)
    loud = np.flatnonzero(db > max(floor + ABOVE_FLOOR_DB, db.max() - 40.0))
    if len(loud) == 0:
        return None
    return loud[0] * FRAME_S, (loud[-1] + 1) * FRAME_S


def take_problem(x: np.ndarray, samplerate: int = VOSK_RATE) -> str | None:
    """What makes ``x`` (float32 in [-1, 1]) a bad take, in a few words, or None when it is usable."""
    x = np.asarray(x, dtype=np.float32)
    db = _levels(x, samplerate)
    if len(db) < 10:
        return "too short: no phrase in it"
    peak = float(db.max())
    if peak < QUIET_DBFS:
        return f"too quiet (its loudest part is {peak:.0f} dBFS): speak up or move closer to the microphone"
    if int(np.sum(np.abs(x) >= CLIP_LEVEL)) >= CLIPPED_SAMPLES:
        return "clipped (too loud for the microphone): speak a little softer or move back"
    span = speech_span(x, samplerate)
    floor = float(np.percentile(db, 10))
    if span is None or peak - floor < ABOVE_FLOOR_DB:
        return "no speech above the background noise"
    edge = 3
    if db[:edge].max() > peak - EDGE_DB:
        return "cut off at the start: leave a moment of quiet before the phrase"
    if db[-edge:].max() > peak - EDGE_DB:
        return "cut off at the end: leave a moment of quiet after the phrase"
    length = span[1] - span[0]
    if length < MIN_SPEECH_S:
        return "too short for a phrase"
    if length > MAX_SPEECH_S:
        return f"too long ({length:.1f} s of sound): say only the phrase"
    return None
