"""What the frame features say about the audio around the words (voicecoach.speech.features)."""

from __future__ import annotations

import numpy as np

from voicecoach.speech.echo import FRAME
from voicecoach.speech.features import FrameHistory, Tail

WORDS_END = 50  # frames


def history(after_db: np.ndarray) -> FrameHistory:
    """Voiced words at 0 dB for frames 0-49, then voiced frames at ``after_db``."""
    power_db = np.concatenate([np.zeros(WORDS_END), after_db])
    n = len(power_db)
    frames = FrameHistory()
    frames.append(np.zeros(n), 10 ** (power_db / 10), np.ones(n, dtype=bool), np.zeros(n, dtype=bool))
    return frames


def voice_after_s(frames: FrameHistory, tail: Tail | None) -> float:
    return frames.their_voice_s(WORDS_END * FRAME, frames.decoded, tail=tail)


def test_a_voiced_tail_that_dies_away_as_a_room_does_is_not_the_person_talking_on():
    room = history(-1.0 * np.arange(1, 51))  # 100 dB/s: a room of RT60 0.6 s
    assert voice_after_s(room, None) == 0.5  # the voicing detector alone hears voice going on
    assert voice_after_s(room, Tail(WORDS_END * FRAME, rt60_s=1.0)) == 0.0


def test_sound_that_rises_again_after_the_words_is_the_person_talking_on():
    # 0.1 s of the room's tail, then 0.2 s of a word at the words' own level, then quiet.
    talk = history(np.concatenate([-1.0 * np.arange(1, 11), np.zeros(20), np.full(20, -80.0)]))
    assert voice_after_s(talk, Tail(WORDS_END * FRAME, rt60_s=1.0)) == 0.2


def test_a_tail_slower_than_the_longest_room_allowed_for_is_voice():
    slow = history(-0.3 * np.arange(1, 51))  # 30 dB/s: RT60 2 s, no living room
    assert voice_after_s(slow, Tail(WORDS_END * FRAME, rt60_s=1.0)) > 0.4


def test_voice_far_under_the_words_is_someone_farther_away():
    background = history(np.full(50, -25.0))  # a television 25 dB under the person
    assert voice_after_s(background, None) == 0.5
    assert abs(background.loudest_db(0, WORDS_END * FRAME)) < 1e-6
    assert background.their_voice_s(WORDS_END * FRAME, background.decoded, floor_db=-20.0) == 0.0
    assert background.their_voice_s(WORDS_END * FRAME, background.decoded, floor_db=-30.0) == 0.5
