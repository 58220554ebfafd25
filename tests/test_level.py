"""How loud a stretch is, and raising a quiet one for the decoder (voicecoach.speech.level)."""

from __future__ import annotations

import numpy as np

from voicecoach.speech.level import amplified, loudest_dbfs, raised


def tone(dbfs: float, seconds: float = 0.2) -> np.ndarray:
    """A sine whose mean power is ``dbfs``, int16 at 16 kHz."""
    t = np.arange(int(seconds * 16000)) / 16000
    return np.rint(np.sqrt(2) * 10 ** (dbfs / 20) * 32768 * np.sin(2 * np.pi * 200 * t)).astype(np.int16)


def test_the_loudest_30_ms_sets_the_level_not_the_quiet_around_it():
    stretch = np.concatenate([tone(-50.0, 1.0), tone(-20.0, 0.03), tone(-50.0, 1.0)])
    assert abs(loudest_dbfs(stretch) - (-20.0)) < 0.5
    assert loudest_dbfs(np.zeros(1600, np.int16)) == -120.0


def test_a_quiet_stretch_is_raised_to_the_target_and_a_loud_one_is_left_alone():
    quiet = raised(tone(-40.0), target_dbfs=-12.0, min_gain_db=10.0, max_gain_db=30.0)
    assert quiet is not None and abs(loudest_dbfs(quiet) - (-12.0)) < 0.5
    assert raised(tone(-20.0), target_dbfs=-12.0, min_gain_db=10.0, max_gain_db=30.0) is None


def test_the_gain_is_at_most_the_largest_allowed():
    very_quiet = raised(tone(-70.0), target_dbfs=-12.0, min_gain_db=10.0, max_gain_db=30.0)
    assert abs(loudest_dbfs(very_quiet) - (-40.0)) < 0.5


def test_amplified_rounds_and_clips_as_a_sound_card_does():
    pcm = np.array([0, 100, -100, 20000, -20000], dtype=np.int16)
    assert amplified(pcm, 1.0) is pcm
    assert amplified(pcm, 2.0).tolist() == [0, 200, -200, 32767, -32768]
