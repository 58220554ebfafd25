"""The second detector of enrollment: a person's takes matched by dynamic time warping.

The warping distance is checked against the textbook recurrence; the
detector against real espeak-ng speech and the real model: a voice that
says "dom" for "doming" (a word the decoder cannot make of it) is heard once
its takes are enrolled, and other short words and sentences are not.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import arrays

from speech_support import speak, to_int16, write_wav
from voicecoach.speech.templates import TakeMatcher, dtw_distance, mfcc, speech_stretch


def textbook_dtw(a: np.ndarray, b: np.ndarray) -> float:
    """The symmetric recurrence cell by cell (diagonal steps weigh twice), over n + m."""
    cost = np.sqrt(((a[:, None] - b[None]) ** 2).sum(2))
    n, m = cost.shape
    d = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            if i == j == 0:
                d[0, 0] = 2 * cost[0, 0]
                continue
            d[i, j] = min(d[i - 1, j - 1] + 2 * cost[i, j] if i and j else np.inf,
                          d[i - 1, j] + cost[i, j] if i else np.inf,
                          d[i, j - 1] + cost[i, j] if j else np.inf)
    return d[-1, -1] / (n + m)


frames = st.integers(1, 12).flatmap(lambda n: arrays(np.float64, (n, 3), elements=st.floats(-5, 5)))


@settings(max_examples=60, deadline=None)
@given(frames, frames)
def test_the_warping_distance_is_the_textbook_recurrence(a, b):
    assert dtw_distance(a, b) == pytest.approx(textbook_dtw(a, b), rel=1e-9, abs=1e-9)


def test_the_same_words_slower_are_near_and_other_words_far():
    fast = mfcc(speak("back arched", speed=175))
    slow = mfcc(speak("back arched", speed=120))
    other = mfcc(speak("stop point", speed=175))
    assert len(slow) > 1.3 * len(fast)
    assert dtw_distance(fast, fast) == 0.0
    assert dtw_distance(fast, slow) < 0.5 * dtw_distance(fast, other)
    assert dtw_distance(fast, np.zeros((0, fast.shape[1]))) == float("inf")


TAKES = ((140, 45), (165, 55), (155, 62))
"""Rates and pitches of the takes; every clip heard below is another rendering."""


def said(text: str, voice: str = "en-us", speed: int = 150, pitch: int = 50) -> np.ndarray:
    """int16 speech with a moment of quiet around it, as a take is recorded."""
    quiet = np.zeros(4800, np.float32)
    return to_int16(np.concatenate([quiet, speak(text, voice=voice, speed=speed, pitch=pitch), quiet]))


def takes_of(text: str, voice: str = "en-us") -> list[np.ndarray]:
    return [said(text, voice, s, p) for s, p in TAKES]


def dom_takes() -> dict[str, list[np.ndarray]]:
    """A person who says "dom" for "doming", and two marks as written."""
    return {"doming": takes_of("dom"), "back_arched": takes_of("back arched"), "stop_point": takes_of("stop point")}


def test_an_intent_needs_two_takes_and_a_match_must_be_clearly_nearest():
    matcher = TakeMatcher({"doming": takes_of("dom")[:1], "back_arched": takes_of("back arched")})
    assert list(matcher.cepstra) == ["back_arched"]  # one take of "dom" is no description of it
    assert not TakeMatcher({})
    # Two intents whose takes are the same words: neither is clearly nearer.
    same = TakeMatcher({"doming": takes_of("dom"), "pause": takes_of("dom")})
    dom = said("dom")
    assert same.match(dom, *speech_stretch(dom)) is None
    apart = TakeMatcher({"doming": takes_of("dom"), "pause": takes_of("pause")})
    assert apart.match(dom, *speech_stretch(dom)).intent == "doming"


def heard(model, grammar, text, enrollment, *, speed=150, pitch=50):
    from speech_support import to_int16
    from voicecoach.speech.calibration import listen
    from voicecoach.speech.recognizer import CommandRecognizer

    rec = CommandRecognizer(model, grammar, echo_canceller=False, enrollment=enrollment)
    return listen(rec, to_int16(speak(text, speed=speed, pitch=pitch))).heard


@pytest.mark.model
def test_a_voice_that_says_dom_is_heard_once_its_takes_are_enrolled(vosk_model):
    from voicecoach.speech.calibration import take_matcher
    from voicecoach.speech.enrollment import Enrollment
    from voicecoach.speech.grammar import load_grammar

    grammar = load_grammar(model=vosk_model)
    with_takes = Enrollment().with_takes(take_matcher(dom_takes()))
    for speed, pitch in ((150, 50), (175, 35), (135, 70)):
        assert heard(vosk_model, grammar, "dom", Enrollment(), speed=speed, pitch=pitch) == []
        assert heard(vosk_model, grammar, "dom", with_takes, speed=speed, pitch=pitch) == ["doming"]
    # The decoder's own phrases are the decoder's: unchanged.
    assert heard(vosk_model, grammar, "back arched", with_takes) == ["back_arched"]
    assert heard(vosk_model, grammar, "pause", with_takes) == ["pause"]
    # Other words, short or long, are nobody's command.
    for text in ("down", "done", "good job", "how are you doing", "that was hard", "let me rest a moment"):
        assert heard(vosk_model, grammar, text, with_takes) == [], text


@pytest.mark.model
def test_recognize_matches_the_stored_takes_unless_told_not_to(tmp_path, isolated_dirs, model_path):
    """The takes are kept in the enrollment file; the matcher is built from them when it loads."""
    from test_enroll import voicecoach
    from test_recognizer import placed
    from voicecoach.enroll import file as enrollment_file
    from voicecoach.speech.enrollment import Enrollment

    enrollment_file.save(enrollment_file.Enrolled(
        {intent: [enrollment_file.Take(pcm) for pcm in pcms] for intent, pcms in dom_takes().items()}, Enrollment()))
    wav = tmp_path / "dom.wav"
    write_wav(wav, placed("dom", voice="en-us")[0])
    r = voicecoach("recognize", "--json", str(wav))
    assert r.returncode == 0, r.stderr
    assert [json.loads(line)["intent"] for line in r.stdout.splitlines()] == ["doming"]
    r = voicecoach("recognize", "--json", "--no-enrollment", str(wav))
    assert r.returncode == 0 and r.stdout == "", r.stderr
