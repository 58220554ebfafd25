"""Waiting for "start workout" with the microphone open and the CPU almost idle.

Vosk's acoustic model costs the same whether the room is silent or not, so
running it on every block all day would keep a Pi's core busy for nothing.
:class:`SoundGate` sits in front: a 10 ms energy detector against a tracked
noise floor. Only when something louder than the room arrives does audio go
to the recognizer, starting with the last ``preroll_s`` of audio so that the
first word is not cut; after ``hangover_s`` of quiet the utterance is
finished and the recognizer is idle again.

:class:`WakeListener` is that gate in front of the project's
:class:`~voicecoach.speech.recognizer.CommandRecognizer` (same grammar, same
rejection of everything that is not exactly a command), reporting only the
intents it is asked for. Both are sans-IO: blocks in, events out::

    wake = WakeListener(model, load_grammar(model=model))
    for block in mic:                               # MicBlock: int16 16 kHz, start
        for heard in wake.feed(block.samples, block.start):
            if heard.intent == "start_workout": ...
"""

from __future__ import annotations

from collections import deque

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.events import Heard

RATE = VOSK_RATE
FRAME = 160
"""10 ms at 16 kHz."""


class SoundGate:
    """Is anything louder than the room in this block? (energy vs. a tracked floor)

    ``margin_db``: a 10 ms frame this far above the floor is sound.
    ``min_db``: and it must be at least this loud (dBFS), so that digital
    silence (a floor of -100 dB) does not turn dither into sound.
    The floor follows quieter frames down at once and climbs 3 dB/s, so a fan
    that starts up is part of the room within seconds (speech, a few seconds
    long, stays well above it).
    """

    def __init__(self, *, margin_db: float = 10.0, min_db: float = -60.0, rise_db_per_s: float = 3.0):
        self.margin_db = margin_db
        self.min_db = min_db
        self.rise = rise_db_per_s * FRAME / RATE
        self.floor_db: float | None = None
        self._rest = np.zeros(0, dtype=np.float32)

    def loud(self, samples: np.ndarray) -> bool:
        """True if any complete 10 ms frame of this block (plus the leftover of the last) is sound."""
        x = np.asarray(samples)
        x = x.astype(np.float32) / 32768.0 if x.dtype == np.int16 else x.astype(np.float32)
        x = np.concatenate([self._rest, x])
        n = len(x) // FRAME
        self._rest = x[n * FRAME:]
        if n == 0:
            return False
        frames = x[: n * FRAME].reshape(n, FRAME)
        frames = frames - frames.mean(axis=1, keepdims=True)  # DC offset is not sound
        db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-10)
        loud = False
        floor = self.floor_db
        for e in db:
            if floor is None or e < floor:
                floor = e
            else:
                if e > max(floor + self.margin_db, self.min_db):
                    loud = True
                # Climbs under sound too, so a new steady noise becomes the room.
                floor = min(floor + self.rise, e)
        self.floor_db = floor
        return loud


class WakeListener:
    """Hears ``intents`` (default ``start_workout``) through a :class:`SoundGate`.

    Parameters
    ----------
    model, grammar, enrollment:
        As for :class:`~voicecoach.speech.recognizer.CommandRecognizer`.
    intents:
        Which intents to report; others heard are dropped.
    preroll_s, hangover_s:
        Audio fed before the gate opened; quiet time after which it closes.

    Attributes
    ----------
    fed_s:
        Seconds of audio given to the recognizer (the CPU that was spent).
    heard_s:
        Seconds of audio seen in all.
    """

    def __init__(self, model, grammar, *, intents=("start_workout",), preroll_s: float = 0.5,
                 hangover_s: float = 1.0, gate: SoundGate | None = None, recognizer=None, enrollment=None):
        if recognizer is None:
            from voicecoach.speech.recognizer import CommandRecognizer

            # Nothing plays while waiting (the chime comes after), so no echo canceller.
            recognizer = CommandRecognizer(model, grammar, echo_canceller=False, enrollment=enrollment)
        self.recognizer = recognizer
        self.intents = frozenset(intents)
        self.gate = gate or SoundGate()
        self.preroll_s = preroll_s
        self.hangover_s = hangover_s
        self._pre: deque[tuple[np.ndarray, float]] = deque()
        self._pre_len = 0
        self._open = False
        self._quiet_s = 0.0
        self.fed_s = 0.0
        self.heard_s = 0.0

    @property
    def listening(self) -> bool:
        """True while the gate is open (the recognizer is running)."""
        return self._open

    def feed(self, samples: np.ndarray, start: float) -> list[Heard]:
        """One mic block (int16 16 kHz) starting at ``start`` seconds; the wanted intents heard."""
        samples = np.asarray(samples)
        dur = len(samples) / RATE
        self.heard_s += dur
        loud = self.gate.loud(samples)
        out: list[Heard] = []
        if not self._open:
            if not loud:
                self._remember(samples, start)
                return out
            self._open = True
            self._quiet_s = 0.0
            for block, t in self._pre:
                out += self._feed(block, t)
            self._pre.clear()
            self._pre_len = 0
        out += self._feed(samples, start)
        self._quiet_s = 0.0 if loud else self._quiet_s + dur
        if self._quiet_s >= self.hangover_s:
            out += self._wanted(self.recognizer.finish())
            self.recognizer.reset()
            self._open = False
        return out

    def reset(self) -> None:
        """Forget the audio so far (after a session, before listening again)."""
        self.recognizer.reset()
        self._pre.clear()
        self._pre_len = 0
        self._open = False

    def _feed(self, samples: np.ndarray, start: float) -> list[Heard]:
        self.fed_s += len(samples) / RATE
        return self._wanted(self.recognizer.feed(samples, start))

    def _wanted(self, heard: list[Heard]) -> list[Heard]:
        return [h for h in heard if h.intent in self.intents]

    def _remember(self, samples: np.ndarray, start: float) -> None:
        self._pre.append((samples.copy(), start))
        self._pre_len += len(samples)
        while self._pre and self._pre_len - len(self._pre[0][0]) >= self.preroll_s * RATE:
            first, _ = self._pre.popleft()
            self._pre_len -= len(first)
