"""The coach's voice: a clip for every cue the session places.

:class:`Voice` turns a cue's ``(kind, text)`` into the clip the scheduler plays:
speech from the disk-cached :class:`~voicecoach.speech.tts.ClipCache`, ticks
and earcons from :mod:`voicecoach.audio.tones`. It also says how long a text
lasts when spoken, which the session lays its cues out by.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

COUNT_RATE_FACTOR = 1.3
"""Counts are spoken this much faster than other speech so that "two-one-thousand" fits its one-second beat."""


class Voice:
    """Clips for the session's texts: speech from :class:`ClipCache`, ticks and earcons from tones.

    Counts come from a second cache at a faster rate so that the long count
    fits its beat; the session checks the real durations either way.
    """

    def __init__(self, samplerate: int, speech_cfg: dict, cache_dir: Path | None = None):
        from voicecoach.audio import tones
        from voicecoach.speech.tts import ClipCache

        self.samplerate = samplerate
        rate = int(speech_cfg.get("rate", 160))
        voice = speech_cfg.get("voice", "")
        self.speech = ClipCache(samplerate, voice=voice, rate=rate, cache_dir=cache_dir)
        # espeak-ng's fastest rate is about 450 words a minute.
        count_rate = min(int(rate * COUNT_RATE_FACTOR), 450)
        self.counts = ClipCache(samplerate, voice=voice, rate=count_rate, cache_dir=cache_dir)
        self.tick = tones.tick(samplerate)
        self._tones = tones
        self._earcons: dict = {}

    def _cache(self, text: str):
        return self.counts if text.endswith("-one-thousand") else self.speech

    def clip(self, kind: str, text: str):
        if kind == "tick":
            return self.tick
        if kind == "earcon":
            if text not in self._earcons:
                self._earcons[text] = self._tones.earcon(text, self.samplerate)
            return self._earcons[text]
        return self._cache(text).get(text)

    def seconds(self, text: str) -> float:
        """The spoken length of ``text`` (renders it if it is not cached yet)."""
        return self._cache(text).get(text).duration

    def prepare(self, texts, progress: Callable[[int, int, int], None] | None = None) -> None:
        """Have every text's clip in memory, rendering those not on disk yet.

        ``progress(done, total, rendered)`` after each; ``rendered`` counts real
        syntheses so far (0 while every clip comes from the disk cache).
        """
        texts = list(texts)
        for done, text in enumerate(texts, 1):
            self._cache(text).get(text)
            if progress is not None:
                progress(done, len(texts), self.speech.renders + self.counts.renders)

    def prepare_async(self, texts) -> list:
        """Render ``texts`` to the disk cache in the background (not kept in memory); their futures."""
        return [self._cache(text).prepare_async(text, keep=False) for text in texts]

    def memory_bytes(self) -> int:
        """Bytes of speech held in memory (both caches)."""
        return self.speech.memory_bytes() + self.counts.memory_bytes()

    def close(self) -> None:
        self.speech.close()
        self.counts.close()
