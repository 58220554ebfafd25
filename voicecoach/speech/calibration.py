"""Choosing one person's :class:`~voicecoach.speech.enrollment.Enrollment` from their takes alone.

For each intent whose takes the recognizer misses:

1. **Spellings**: what the decoder actually heard on the missed takes (the
   recognizer's own decodes, first and second listen, and, with an
   open-vocabulary model, a free decode), leading fillers taken off, is a
   candidate when at least two takes gave it, it has at most four words, no
   ``[unk]``, is no phrase or filler of the grammar and occurs in no sentence
   the coach says. A candidate is kept only when, added, the whole recognizer
   (rules and all) hears more of this intent's takes, no fewer of any other
   intent's, and takes no other intent's take for this one.
2. **Floor**: takes still rejected by ``low_confidence`` lower this intent's
   floor to just under their confidence (never below :data:`FLOOR_MIN`), kept
   on the same terms.

So everything chosen is checked against the person's own other phrases; what
it does to other people's speech, noise and the coach's echo is measured by
``scripts/bench_enroll.py`` (docs/recognizer.md, "Enrollment").
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.events import Heard
from voicecoach.speech.echo import FRAME
from voicecoach.speech.enrollment import Enrollment
from voicecoach.speech.grammar import Grammar, normalise
from voicecoach.speech.templates import TakeMatcher

FLOOR_MIN = 0.3
"""No enrolled floor goes below this (the default ``min_confidence`` is 0.5)."""
FLOOR_MARGIN = 0.05
MAX_WORDS = 4
MAX_SPELLINGS = 3
"""Per intent."""
LEAD_S, TAIL_S = 0.6, 1.2
"""Silence put around a take before it is decoded: the recognizer needs quiet
after a phrase to settle it, and a lead-in to start on."""


@dataclass
class Outcome:
    """What the recognizer made of one take."""

    heard: list[str]
    """Intents of the final commands."""
    decoded: list[list[tuple[str, float]]]
    """Every utterance the decoder produced: (word, confidence) pairs."""
    verdicts: list[tuple[str, float]] = field(default_factory=list)
    """(verdict, phrase confidence) of each candidate the rules judged."""


def padded(take: np.ndarray) -> np.ndarray:
    """An int16 take with silence before and after, as the recognizer is fed it."""
    pcm = np.asarray(take, dtype=np.int16)
    return np.concatenate([np.zeros(int(LEAD_S * VOSK_RATE), np.int16), pcm, np.zeros(int(TAIL_S * VOSK_RATE), np.int16)])


def listen(rec, take: np.ndarray) -> Outcome:
    """Stream one take (int16, 16 kHz) through ``rec`` as the coach would, in 50 ms blocks."""
    rec.reset()
    rec.trace, rec.explain = [], []
    pcm = padded(take)
    out = []
    try:
        step = VOSK_RATE // 20
        for i in range(0, len(pcm), step):
            out += rec.feed(pcm[i : i + step], i / VOSK_RATE)
        out += rec.finish()
        decoded = [[(w.rsplit(":", 1)[0], float(w.rsplit(":", 1)[1])) for w in u.split()] for u in rec.trace]
        verdicts = []
        for e in rec.explain:
            confs = [float(w.rsplit(":", 1)[1]) for w in e.words.split()]
            verdicts.append((e.verdict, min(confs) if confs else 0.0))
    finally:
        rec.trace = rec.explain = None
    return Outcome([h.intent for h in out if isinstance(h, Heard) and h.final], decoded, verdicts)


def with_noise(take: np.ndarray, snr_db: float, *, seed: int = 0) -> np.ndarray:
    """``take`` (int16), padded as :func:`padded` does, with pink noise ``snr_db``
    below its speech (the loudest half of its 10 ms frames) throughout; int16."""
    rng = np.random.default_rng(1000 + seed)
    x = padded(take).astype(np.float64) / 32768.0
    spectrum = np.fft.rfft(rng.standard_normal(len(x)))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))  # 1/f power
    noise = np.fft.irfft(spectrum, len(x))
    speech = take.astype(np.float64) / 32768.0
    frames = speech[: len(speech) // FRAME * FRAME].reshape(-1, FRAME)
    power = np.mean(frames**2, axis=1)
    level = float(np.mean(np.sort(power)[len(power) // 2:])) if len(power) else 0.0
    noise *= np.sqrt(level / (np.mean(noise**2) + 1e-20) / 10 ** (snr_db / 10))
    return (np.clip(x + noise, -1.0, 1.0) * 32767.0).astype(np.int16)


def free_decode(free_model, take: np.ndarray) -> list[str]:
    """The words an open-vocabulary decode of the take gives (``free_model``:
    a model loaded with ``grammar_only=False``)."""
    import vosk

    from voicecoach.speech.recognizer import dither

    rec = vosk.KaldiRecognizer(free_model, VOSK_RATE)
    rec.AcceptWaveform(dither(padded(take), np.random.default_rng(0)).tobytes())
    return json.loads(rec.FinalResult()).get("text", "").split()


class Calibrator:
    """Chooses an enrollment from ``takes`` ({intent: [int16 16 kHz takes]}).

    Args:
        model: the ``vosk.Model`` the coach decodes with.
        grammar: the grammar the coach listens with (every intent, plank too).
        coach_texts: the sentences the coach says; a spelling inside one is refused.
        free_model: an open-vocabulary model for more candidates, or None.
        settings: the recognizer's settings (defaults when None).
        noisy_db: also judge by a copy of each take with pink noise at each of
            these SNRs (what the decoder makes of this voice in a noisy room).
    """

    def __init__(self, model, grammar: Grammar, takes: dict[str, list[np.ndarray]], *,
                 coach_texts=(), free_model=None, settings=None, noisy_db: tuple[float, ...] = ()):
        self.model = model
        self.grammar = grammar
        self.takes = {k: list(v) + [with_noise(t, db, seed=i) for db in noisy_db for i, t in enumerate(v)]
                      for k, v in takes.items() if v}
        self.coach_texts = [f" {normalise(t)} " for t in coach_texts]
        self.free_model = free_model
        self.settings = settings
        self.log: list[str] = []
        """What was tried and why it was kept or not, one line each."""

    def _recognizer(self, enrollment: Enrollment):
        from voicecoach.speech.recognizer import CommandRecognizer

        return CommandRecognizer(self.model, self.grammar, echo_canceller=False, settings=self.settings,
                                 enrollment=enrollment)

    def _run(self, enrollment: Enrollment, intents=None) -> dict[str, list[Outcome]]:
        rec = self._recognizer(enrollment)
        out = {}
        for intent, takes in self.takes.items():
            if intent in (intents or self.takes):
                rec.listen_during(self.grammar.intent(intent).during)
                out[intent] = [listen(rec, t) for t in takes]
        return out

    @staticmethod
    def _right(intent: str, outcomes: list[Outcome]) -> int:
        return sum(o.heard == [intent] for o in outcomes)

    def _candidates(self, intent: str, missed: list[Outcome], missed_takes: list[np.ndarray]) -> list[str]:
        kind = self.grammar.intent(intent).kind
        leading = set(self.grammar.fillers_for(kind)) | (set(self.grammar.lead_ins) if kind == "mark" else set())
        support: Counter[str] = Counter()
        for i, o in enumerate(missed):
            seen = set()
            for utterance in o.decoded:
                seen.add(tuple(w for w, _ in utterance))
            if self.free_model is not None:
                seen.add(tuple(free_decode(self.free_model, missed_takes[i])))
            spellings = set()
            for words in seen:
                words = list(words)
                while words and words[0] in leading:
                    words.pop(0)
                if words:
                    spellings.add(" ".join(words))
            support.update(spellings)
        keep = []
        for spelled, n in sorted(support.items(), key=lambda kv: (-kv[1], -len(kv[0].split()))):
            why = self._refused(spelled, n, min(2, len(self.takes[intent])))
            if why:
                self.log.append(f"{intent}: {spelled!r} ({n} takes) refused: {why}")
            else:
                keep.append(spelled)
        return keep

    def _refused(self, spelled: str, support: int, needed: int) -> str | None:
        words = spelled.split()
        if support < needed:
            return f"heard in fewer than {needed} takes"
        if "[unk]" in words:
            return "holds [unk]"
        if len(words) > MAX_WORDS:
            return f"more than {MAX_WORDS} words"
        if self.grammar.match(words) is not None:
            return "already a phrase"
        if all(w in self.grammar.all_fillers or w in self.grammar.lead_ins for w in words):
            return "only fillers"
        if any(self.model.vosk_model_find_word(w) < 0 for w in words):
            return "a word the model does not know"
        if any(f" {spelled} " in t for t in self.coach_texts):
            return "the coach says it"
        return None

    def _better(self, intent: str, before: dict[str, list[Outcome]], after: dict[str, list[Outcome]]) -> str | None:
        """Why ``after`` (which hears more of ``intent``'s takes) is not kept over
        ``before`` because of the other intents' takes (None: keep it)."""
        for other, outs in after.items():
            if other == intent:
                continue
            if self._right(other, outs) < self._right(other, before[other]):
                return f"costs a take of {other}"
            if any(intent in o.heard for o in outs):
                return f"takes a take of {other} for it"
        return None

    def choose(self) -> Enrollment:
        """The enrollment: spellings first, then floors, each kept only as the module doc says."""
        enrollment = Enrollment()
        current = self._run(enrollment)
        for intent in self.takes:
            for step in ("spellings", "floor"):
                missed = [(o, t) for o, t in zip(current[intent], self.takes[intent]) if o.heard != [intent]]
                if not missed:
                    break
                for trial, what in self._trials(step, intent, enrollment, missed):
                    mine = self._run(trial, [intent])
                    if self._right(intent, mine[intent]) <= self._right(intent, current[intent]):
                        self.log.append(f"{intent}: {what} not kept: hears no more of its takes")
                        continue
                    after = {**self._run(trial, [k for k in self.takes if k != intent]), **mine}
                    why = self._better(intent, current, after)
                    if why:
                        self.log.append(f"{intent}: {what} not kept: {why}")
                        continue
                    self.log.append(f"{intent}: {what} kept ({self._right(intent, current[intent])} -> "
                                    f"{self._right(intent, after[intent])} of {len(self.takes[intent])} takes)")
                    enrollment, current = trial, after
                    if self._right(intent, current[intent]) == len(self.takes[intent]):
                        break
        return enrollment

    def _trials(self, step: str, intent: str, enrollment: Enrollment, missed):
        """(enrollment to try, what it adds) for ``step``; read lazily, as each
        trial depends on what the one before it kept."""
        if step == "spellings":
            outcomes, takes = [o for o, _ in missed], [t for _, t in missed]
            for spelled in self._candidates(intent, outcomes, takes):
                have = enrollment.spellings.get(intent, ())
                if len(have) < MAX_SPELLINGS:
                    yield enrollment.with_intent(intent, have + (spelled,), enrollment.floors.get(intent)), \
                        f"spelling {spelled!r}"
            return
        confs = [c for o, _ in missed for v, c in o.verdicts if v == "low_confidence"]
        default = (self.settings.min_confidence if self.settings else 0.5)
        if confs:
            floor = round(max(FLOOR_MIN, min(confs) - FLOOR_MARGIN), 2)
            if floor < enrollment.floor(intent, default):
                yield enrollment.with_intent(intent, enrollment.spellings.get(intent, ()), floor), f"floor {floor:.2f}"


def calibrate(model, grammar: Grammar, takes: dict[str, list[np.ndarray]], **kw) -> tuple[Enrollment, list[str]]:
    """The enrollment chosen from ``takes`` and the log of what was tried (see
    :class:`Calibrator`). The takes themselves are matched by whoever loads them
    (:func:`take_matcher`): what is stored is the takes, not the matcher."""
    c = Calibrator(model, grammar, takes, **kw)
    return c.choose(), c.log


def take_matcher(takes: dict[str, list[np.ndarray]], settings=None) -> TakeMatcher:
    """The :class:`TakeMatcher` of int16 ``takes``, each heard as the utterances it is
    compared with are (:func:`suppressed`, with quiet around it)."""
    return TakeMatcher({intent: [suppressed(padded(pcm), settings) for pcm in pcms] for intent, pcms in takes.items()})


def suppressed(pcm: np.ndarray, settings=None) -> np.ndarray:
    """int16 ``pcm`` through the recognizer's noise suppression (``settings``: the
    recognizer's; defaults when None), as the decoder gets audio with no echo in it."""
    from voicecoach.speech.echo import FrontEnd
    from voicecoach.speech.settings import RecognizerSettings

    level = (settings or RecognizerSettings()).noise_suppression
    return FrontEnd(aec=None, noise_suppression=level).process(pcm, None).clean
