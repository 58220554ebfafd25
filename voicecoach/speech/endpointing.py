"""When an utterance is over, sooner than the decoder's own endpointing says.

Vosk waits 0.5-1 s of silence before it ends an utterance. A command should
come out sooner: when the partial result ends in a phrase's last word and
the person has gone quiet (``end_silence_s``), or unvoiced, breathing, say
(``end_unvoiced_s``), or the partial result has not changed for
``steady_s``. Other sound ends after a clear pause (``pause_s``). After
``idle_after_s`` with no voice the decoder may rest.

Sans-IO like the recognizer: positions are decoder sample indices.
"""

from __future__ import annotations

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.speech.echo import FRAME
from voicecoach.speech.settings import RecognizerSettings


class Endpointer:
    """Tracks the person's last sound and voice, and the partial result, of one utterance."""

    def __init__(self, settings: RecognizerSettings, samplerate: int = VOSK_RATE):
        self.settings = settings
        self.samplerate = samplerate
        self.reset()

    def reset(self) -> None:
        self.last_loud = -1
        """Decoder sample index just after the person's last frame of sound (-1: none yet)."""
        self.last_voiced = -1
        """... and after their last voiced frame."""
        self.utterance_start = 0
        """Decoder sample index where the current utterance began."""
        self.partial = ""
        """The decoder's partial result of the current utterance."""
        self._partial_since = 0

    def heard(self, at_n: int, loud: np.ndarray, voiced: np.ndarray) -> None:
        """Note decoded frames from ``at_n`` that are the person's sound and voice (echo left out)."""
        hits = np.flatnonzero(loud)
        if len(hits):
            self.last_loud = at_n + (int(hits[-1]) + 1) * FRAME
        hits = np.flatnonzero(voiced)
        if len(hits):
            self.last_voiced = at_n + (int(hits[-1]) + 1) * FRAME

    def new_utterance(self, at_n: int) -> None:
        self.utterance_start = at_n
        self.partial = ""
        self._partial_since = at_n

    def utterance_over(self, now_n: int, partial: str, ends_in_phrase: bool, ends_in_prefix: bool = False) -> bool:
        """True when the utterance should be finalised now, given the decoder's
        partial result after ``now_n`` samples and whether it ends in a phrase's
        last word, or in a word that only begins phrases."""
        if partial != self.partial:
            self._partial_since = now_n
            self.partial = partial
        s = self.settings
        quiet = (now_n - self.last_loud) / self.samplerate
        unvoiced = (now_n - self.last_voiced) / self.samplerate
        if partial and ends_in_phrase:
            steady = (now_n - self._partial_since) / self.samplerate
            return (
                quiet >= s.end_silence_s
                # A word's own unvoiced ending ("arched") can outlast end_unvoiced_s:
                # the decoder must also have gone on a little without changing its mind.
                or (unvoiced >= s.end_unvoiced_s and steady >= s.end_silence_s)
                or steady >= s.steady_s
            )
        # The partial result can lag or differ from the final one; after a
        # clear pause, finalise whatever sound there was and judge it.
        pause = s.prefix_pause_s if partial and ends_in_prefix else s.pause_s
        return self.sound_in_utterance() and (
            quiet >= pause
            or (self.last_voiced > self.utterance_start and unvoiced >= pause + s.end_unvoiced_s)
        )

    def sound_in_utterance(self) -> bool:
        """True when the person made a sound since the current utterance began."""
        return self.last_loud > self.utterance_start

    def sound_after(self, n: int) -> bool:
        """True when the person made a sound after decoder sample ``n``."""
        return self.last_loud > n

    def may_rest(self, now_n: int) -> bool:
        """True after ``idle_after_s`` with no voice of the person's."""
        return (now_n - self.last_voiced) / self.samplerate >= self.settings.idle_after_s
