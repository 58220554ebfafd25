"""Why a phrase the decoder heard is not a command: the rejection rules, in order.

A :class:`Candidate` is a stretch of decoded words that is, exactly, the
leading words the grammar allows (fillers; before a mark, lead-ins too) and
one phrase (words that are the coach's echo were split out before). Each rule
looks at it and at the evidence the recognizer keeps about the audio around
it (levels, voicing, hiss, echo share per 10 ms frame: the :class:`Evidence`
protocol), and returns True when it rejects. A rule's name is the reason
``voicecoach recognize --explain`` prints. How each rule and its setting were
chosen is in docs/recognizer.md.

:data:`AT_ONCE` runs as soon as the words are decoded (a provisional command
comes out when all pass); :data:`ON_SETTLING` runs once ``run_on_s`` after the
words has been heard (the command is final when all pass).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Protocol

from voicecoach.speech.grammar import Intent


@dataclass(frozen=True)
class Candidate:
    """A phrase the decoder heard, with its fillers; sample indices count audio
    given to the decoder."""

    words: tuple[dict, ...]
    """Vosk's words (``word``, ``start``, ``end``, ``conf``), leading words first."""
    n_fillers: int
    """How many of ``words`` come before the phrase (fillers or lead-ins)."""
    intent: Intent
    start_n: int
    end_n: int

    @property
    def phrase_words(self) -> tuple[dict, ...]:
        return self.words[self.n_fillers:]

    @property
    def confidence(self) -> float:
        """The lowest confidence of the phrase's words (fillers aside)."""
        return min(float(w.get("conf", 0.0)) for w in self.phrase_words)


class Evidence(Protocol):
    """What the rules ask of the recognizer about the audio (see CommandRecognizer)."""

    settings: object

    def min_confidence(self, c: Candidate) -> float: ...
    def coach_was_speaking(self, c: Candidate) -> bool: ...
    def coach_said(self, c: Candidate) -> bool: ...
    def echo_moved(self, c: Candidate) -> bool: ...
    def broken_spelling(self, words) -> bool: ...
    def passes_over_voice(self, words) -> bool: ...
    def speech_after(self, c: Candidate) -> bool: ...
    def speech_before(self, c: Candidate) -> bool: ...
    def follows_voice(self, c: Candidate) -> bool: ...
    def confirmed(self, c: Candidate) -> bool: ...
    def word_starts_after(self, end_n: int) -> bool: ...
    def ends_in_hiss(self, end_n: int) -> bool: ...
    def voice_runs_on(self, c: Candidate) -> bool: ...


Rule = Callable[[Evidence, Candidate], bool]


def low_confidence(ev: Evidence, c: Candidate) -> bool:
    """A phrase word the decoder was unsure of: noise or other words forced into the grammar."""
    return c.confidence < ev.min_confidence(c)


def broken_spelling(ev: Evidence, c: Candidate) -> bool:
    """A word spelled with several ("doe ming") heard with a pause inside: two other words."""
    return ev.broken_spelling(c.phrase_words)


def voice_between_words(ev: Evidence, c: Candidate) -> bool:
    """Voice between the words: the decoder passed over a word ("good [next] rep")."""
    return ev.passes_over_voice(c.words)


def coach_speaking(ev: Evidence, c: Candidate) -> bool:
    """Heard while the coach was audible and no canceller ran (half-duplex fallback)."""
    return ev.coach_was_speaking(c)


def coach_said_it(ev: Evidence, c: Candidate) -> bool:
    """The coach was saying a sentence with this very phrase in it: its echo."""
    return ev.coach_said(c)


def echo_path_moved(ev: Evidence, c: Candidate) -> bool:
    """Heard while the coach played and its echo had moved from where the canceller read it."""
    return ev.echo_moved(c)


def talk_right_after(ev: Evidence, c: Candidate) -> bool:
    """Voice goes straight on after the phrase: the start of a sentence ("pause the music")."""
    return ev.speech_after(c)


def talk_right_before(ev: Evidence, c: Candidate) -> bool:
    """Voice runs right up to the phrase for longer than a filler: the end of a sentence."""
    return ev.speech_before(c)


def control_after_voice(ev: Evidence, c: Candidate) -> bool:
    """A control straight after a syllable of voice ("[let's] start the workout")."""
    return c.intent.kind == "control" and ev.follows_voice(c)


def not_confirmed(ev: Evidence, c: Candidate) -> bool:
    """The optional open-vocabulary second decode does not hold the phrase."""
    return ev.settings.verify and not ev.confirmed(c)


def words_after(ev: Evidence, c: Candidate) -> bool:
    """The decoder heard another word within ``run_on_s`` after the phrase."""
    return ev.settings.run_on_words and ev.word_starts_after(c.end_n)


_ENDS_IN_ITS_OWN_HISS = re.compile(r"(s|x|z|ce|se|ze|ge|sh|ch)(ed)?$")
"""Spellings whose last sound is a sibilant or an affricate ("arched", "pause",
"reps"): the decoder may end such a word before its own hiss is over."""


def ends_in_hiss(ev: Evidence, c: Candidate) -> bool:
    """The last word runs on in an /s/ that is not its own: another word ("that help[s]")."""
    last = c.phrase_words[-1]["word"]
    return not _ENDS_IN_ITS_OWN_HISS.search(last) and ev.ends_in_hiss(c.end_n)


def voice_runs_on(ev: Evidence, c: Candidate) -> bool:
    """The person's voice goes on within ``run_on_s``: a sentence, even with a pause in it."""
    return ev.voice_runs_on(c)


AT_ONCE: tuple[Rule, ...] = (
    low_confidence,
    broken_spelling,
    voice_between_words,
    coach_speaking,
    coach_said_it,
    echo_path_moved,
    talk_right_after,
    talk_right_before,
    control_after_voice,
    not_confirmed,
)
ON_SETTLING: tuple[Rule, ...] = (
    words_after,
    ends_in_hiss,
    voice_runs_on,
    echo_path_moved,  # again: the measurement that finds the echo moved may come after the words
)


def first_rejection(rules: tuple[Rule, ...], ev: Evidence, c: Candidate) -> str | None:
    """The name of the first of ``rules`` that rejects ``c``, or None when none does."""
    for rule in rules:
        if rule(ev, c):
            return rule.__name__
    return None


def rejections(rules: tuple[Rule, ...], ev: Evidence, c: Candidate) -> tuple[str, ...]:
    """The names of all of ``rules`` that reject ``c``, in order (empty when none does).

    The first is the verdict; the others say whether the verdict rests on one
    rule alone, which is what the benchmark's rule table counts."""
    return tuple(rule.__name__ for rule in rules if rule(ev, c))
