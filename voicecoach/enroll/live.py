"""Live enrollment: the coach asks for each phrase, records the takes through the microphone, and says so.

For each phrase the coach says "Say back arched." and records until the
person has spoken and gone quiet (:func:`record_take`); a take that is too
quiet, clipped or cut (:func:`voicecoach.speech.takes.take_problem`) is asked
for again, saying why, up to :data:`MAX_TRIES` times a phrase. Recording
starts only once the prompt has played, so the coach's own voice is not in
the take. Each step is also printed, one line, for a person reading along
(and for tests).
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.errors import UserError
from voicecoach.speech.takes import speech_span, take_problem

TAKES = 3
MAX_TRIES = 3 * TAKES
"""At most this many recordings per phrase before giving up on it."""
LISTEN_S = 6.0
"""Longest wait for the person to start speaking after a prompt."""
END_QUIET_S = 0.8
"""Quiet after speech that ends a take."""
MAX_TAKE_S = 5.0
SETTLE_S = 0.25
"""Time after the prompt has played before recording (the room's tail of it)."""
LEVEL_DB = 12.0
"""A 10 ms frame this far above the quietest of the take so far counts as speech."""


def _frame_db(pcm: np.ndarray) -> np.ndarray:
    frame = VOSK_RATE // 100
    x = pcm[: len(pcm) // frame * frame].astype(np.float64).reshape(-1, frame) / 32768.0
    return 10 * np.log10(np.mean(x**2, axis=1) + 1e-12)


def record_take(read: Callable[[float], object]) -> np.ndarray:
    """Record one take from ``read(timeout) -> (int16 16 kHz block, start) | None``:
    from now until the speech has ended (:data:`END_QUIET_S` of quiet), or
    :data:`LISTEN_S` with no speech, or :data:`MAX_TAKE_S`. Returns int16."""
    blocks: list[np.ndarray] = []
    levels = np.zeros(0)
    spoke_at = None
    t0 = time.monotonic()
    while True:
        got = read(0.5)
        now = time.monotonic()
        if got is not None:
            blocks.append(got[0])
            levels = np.concatenate([levels, _frame_db(got[0])])
        if len(levels) >= 10:
            floor = float(np.percentile(levels, 5))
            loud = np.flatnonzero(levels > max(floor + LEVEL_DB, -60.0))
            if len(loud) and spoke_at is None:
                spoke_at = now
            if spoke_at is not None and (len(levels) - 1 - loud[-1]) * 0.01 >= END_QUIET_S:
                break
        if spoke_at is None and now - t0 > LISTEN_S:
            break
        if spoke_at is not None and now - spoke_at > MAX_TAKE_S:
            break
    return np.concatenate(blocks) if blocks else np.zeros(0, np.int16)


def _drain(mic) -> None:
    while mic.read(0) is not None:
        pass


def record_phrases(audio: dict, speech: dict, phrases: dict[str, str], *,
                   out: Callable[[str], None] = print) -> dict[str, list[np.ndarray]]:
    """``{intent: [int16 16 kHz takes]}``: :data:`TAKES` good takes of each of
    ``phrases`` ({intent: phrase to say}), asked for through the speaker.

    Raises UserError when no microphone or speaker can be opened, or a phrase
    got no good take in :data:`MAX_TRIES` tries (nothing is stored then)."""
    from voicecoach.audio.standalone import Microphone, play_once
    from voicecoach.speech.tts import ClipCache

    caches: dict[int, ClipCache] = {}

    def say(text: str) -> None:
        out(f'coach: "{text}"')

        def clip_for(rate: int):
            if rate not in caches:
                caches[rate] = ClipCache(rate, voice=speech["voice"], rate=speech["rate"])
            return caches[rate].get(text)

        if not play_once(audio, clip_for, log=out):
            raise UserError("cannot play the prompts on the speaker (see above); enroll from files instead")

    mic = Microphone(audio.get("input_device") or None).start()
    takes: dict[str, list[np.ndarray]] = {}
    try:
        for intent, phrase in phrases.items():
            good: list[np.ndarray] = []
            tries = 0
            while len(good) < TAKES:
                if tries == MAX_TRIES:
                    raise UserError(f"no usable take of {phrase!r} in {MAX_TRIES} tries; nothing was stored")
                tries += 1
                say(f"Say {phrase}.")
                time.sleep(SETTLE_S)
                _drain(mic)
                out(f'listening: say "{phrase}" (take {len(good) + 1} of {TAKES})')
                pcm = record_take(mic.read)
                x = pcm.astype(np.float32) / 32768.0
                problem = take_problem(x)
                if problem:
                    out(f"take {len(good) + 1} of {phrase!r}: {problem}; again")
                    say(f"That one was {problem.split(' (')[0].split(':')[0]}. Once more.")
                    continue
                start, end = speech_span(x)
                a, b = max(0, int((start - 0.3) * VOSK_RATE)), min(len(pcm), int((end + 0.3) * VOSK_RATE))
                good.append(pcm[a:b])
                out(f"take {len(good)} of {phrase!r}: ok")
            takes[intent] = good
            say("Got it.")
    finally:
        mic.stop()
        for c in caches.values():
            c.close()
    return takes
