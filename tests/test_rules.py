"""The rejection rules' list (voicecoach.speech.rules) as data: named, documented, in order.

What each rule rejects, with real speech, is in tests/test_recognizer.py."""

from __future__ import annotations

from voicecoach.speech import rules
from voicecoach.speech.grammar import Intent


def test_every_rule_says_in_one_line_what_failure_it_prevents():
    for rule in rules.AT_ONCE + rules.ON_SETTLING:
        doc = (rule.__doc__ or "").strip()
        assert doc and "\n" not in doc, rule.__name__


class Evidence:
    """Answers every question about the audio with the same value."""

    def __init__(self, answer: bool):
        from voicecoach.speech.recognizer import RecognizerSettings

        self.settings = RecognizerSettings(min_confidence=0.6, verify=True)
        self.answer = answer

    def confirmed(self, c):
        return not self.answer

    def min_confidence(self, c):
        return self.settings.min_confidence

    def __getattr__(self, name):
        return lambda *args: self.answer


def candidate(conf: float) -> rules.Candidate:
    words = ({"word": "okay", "conf": 0.1}, {"word": "stop", "conf": conf}, {"word": "point", "conf": 1.0})
    return rules.Candidate(words, 1, Intent("stop_point", "mark", ("stop point",)), 0, 16000)


def test_the_first_rule_that_rejects_names_the_verdict():
    assert rules.first_rejection(rules.AT_ONCE, Evidence(False), candidate(0.9)) is None
    assert rules.first_rejection(rules.ON_SETTLING, Evidence(False), candidate(0.9)) is None
    # The fillers' confidence does not count; the phrase's lowest word does.
    assert rules.first_rejection(rules.AT_ONCE, Evidence(False), candidate(0.5)) == "low_confidence"
    # min_confidence is the lowest confidence accepted (RecognizerSettings): that one is taken.
    assert rules.first_rejection(rules.AT_ONCE, Evidence(False), candidate(0.6)) is None
    assert rules.first_rejection(rules.AT_ONCE, Evidence(True), candidate(0.9)) == "broken_spelling"
    assert rules.first_rejection(rules.ON_SETTLING, Evidence(True), candidate(0.9)) == "words_after"


def test_a_control_rule_leaves_marks_alone():
    ev = Evidence(True)
    assert not rules.control_after_voice(ev, candidate(0.9))


def test_a_hiss_after_a_word_that_ends_in_a_hiss_of_its_own_is_not_another_word():
    # Some voices draw out the /tS t/ of "arched" past where the decoder ends the word
    # (RHVoice's and Pico's female voices: docs/recognizer.md); after "help" a hiss is an /s/.
    hisses = Evidence(True)
    for word, own in (("arched", True), ("pause", True), ("reps", True), ("help", False), ("set", False), ("point", False)):
        c = rules.Candidate(({"word": word, "conf": 1.0},), 0, Intent("x", "mark", (word,)), 0, 16000)
        assert rules.ends_in_hiss(hisses, c) is not own, word
