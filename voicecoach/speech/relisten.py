"""A second listen: decode a short utterance again, its voice warped, when the first decode heard no phrase.

In noise the decoder often loses a phrase it hears in a slightly different
copy of the same audio. Playing the utterance a few percent faster or slower
(resampled, then decoded as 16 kHz) shifts its formants and pitch by the same
factor, as a shorter or longer vocal tract would, and gives the decoder a
second, independent hypothesis; the recognizer hands it the utterance as it
was before noise suppression, a second front end as well. The words it yields
go through the same rules as the first decode's (docs/recognizer.md, "Second listen").
An utterance far quieter than the model expects is first heard again raised
to its level (:mod:`~voicecoach.speech.level`), then warped at that level.
"""

from __future__ import annotations

import json

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.speech.level import raised


class Relistener:
    """Decodes a stretch of audio at each warp factor until one yields words that
    ``accept`` takes; returns them with times on the unwarped stretch.

    Args:
        model: the ``vosk.Model`` of the first decode.
        factors: warps tried in order; ``f`` > 1 lowers the voice by ``1/f``.
        samplerate: 16000.
        level: ``(target_dbfs, min_gain_db, max_gain_db)`` of :func:`~voicecoach.speech.level.raised`:
            a stretch that needs at least ``min_gain_db`` is raised, and tried
            unwarped before the warps; None: never raised.
    """

    def __init__(self, model, factors: tuple[float, ...], samplerate: int = VOSK_RATE,
                 level: tuple[float, float, float] | None = None):
        import vosk

        self._new = lambda grammar_json: vosk.KaldiRecognizer(model, samplerate, grammar_json)
        self.factors = tuple(factors)
        self.samplerate = samplerate
        self.level = level

    def words(self, audio: np.ndarray, grammar_json: str, accept) -> tuple[float, list[dict]] | None:
        """The first (factor, words) whose words ``accept(words)`` is true for,
        decoded with the first decoder's language model ``grammar_json``;
        word ``start``/``end`` in seconds from the start of ``audio`` (int16), or None."""
        import soxr

        factors = self.factors
        loud = raised(audio, *self.level) if self.level else None
        if loud is not None:
            audio, factors = loud, (1.0, *factors)
        for f in factors:
            if f == 1.0:
                pcm = audio
            else:
                warped = soxr.resample(audio.astype(np.float32) / 32768.0, self.samplerate, self.samplerate * f)
                pcm = (np.clip(warped, -1.0, 1.0) * 32767.0).astype(np.int16)
            rec = self._new(grammar_json)
            rec.SetWords(True)
            rec.AcceptWaveform(pcm.tobytes())
            found = json.loads(rec.FinalResult()).get("result") or []
            words = [{**w, "start": w["start"] / f, "end": w["end"] / f} for w in found]
            if words and accept(words):
                return f, words
        return None
