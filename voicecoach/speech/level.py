"""The level a quiet utterance is decoded again at.

The small Vosk model hears the same words worse when they arrive quiet: its
features carry the absolute level, and one short command is too little for
its adaptation to follow. A USB microphone across a room gives speech 20-30
dB under what the model was trained on. The first decode hears the
microphone as it is (a gain set while listening would be set by whatever
sounded before the person, a television, music); an utterance that gave no
phrase is heard again raised (:func:`raised`), its own loudest moment known.
docs/recognizer.md ("Level") has the figures.
"""

from __future__ import annotations

import numpy as np

from voicecoach.speech.echo import frame_power

LEVEL_FRAMES = 3
"""Loudness is judged over 30 ms (three 10 ms frames): about a syllable's vowel."""


def loudest_dbfs(pcm: np.ndarray) -> float:
    """The loudest 30 ms of int16 ``pcm`` (mean power, in 10 ms steps), dB under full scale; -120 for silence."""
    frames = frame_power(pcm)
    if len(frames) == 0:
        return -120.0
    if len(frames) >= LEVEL_FRAMES:
        frames = np.convolve(frames, np.ones(LEVEL_FRAMES) / LEVEL_FRAMES, "valid")
    return float(10 * np.log10(frames.max() + 1e-12))


def raised(pcm: np.ndarray, target_dbfs: float, min_gain_db: float, max_gain_db: float) -> np.ndarray | None:
    """int16 ``pcm`` raised so its loudest 30 ms is at ``target_dbfs`` (by at most
    ``max_gain_db``), or None when that would take less than ``min_gain_db``: it
    is loud enough as it is."""
    gain_db = min(max_gain_db, target_dbfs - loudest_dbfs(pcm))
    if gain_db < min_gain_db:
        return None
    return amplified(pcm, 10 ** (gain_db / 20))


def amplified(pcm: np.ndarray, gain: float) -> np.ndarray:
    """int16 ``pcm`` times ``gain``, rounded and clipped at full scale as a sound card would."""
    if gain == 1.0:
        return pcm
    return np.clip(np.rint(pcm.astype(np.float32) * gain), -32768, 32767).astype(np.int16)
