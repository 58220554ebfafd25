"""What one person's enrollment changes in the recognizer: spellings and confidence floors.

An :class:`Enrollment` is chosen from the person's own takes
(:mod:`voicecoach.speech.calibration`) and kept in the data dir
(:mod:`voicecoach.enroll.file`). It holds, per intent:

- personal spellings: how the decoder hears this person say the phrase
  ("down one" for a "doming" the model has no word for), matched as that
  intent's phrase (:meth:`Grammar.with_personal`) and given to the decoder's
  language model like any phrase, so it passes the same rejection rules;
- a confidence floor in place of ``min_confidence`` (rule ``low_confidence``)
  where the takes showed this voice is heard right but unsure;
- the takes themselves (:class:`~voicecoach.speech.templates.TakeMatcher`), a
  second detector for an utterance the decoder makes no phrase of; what it
  finds passes the same rejection rules. It is built from the stored takes
  each time (:func:`voicecoach.speech.calibration.take_matcher`), not stored.

Nothing else changes: the rules, their order and every other setting are the
same with or without it (docs/recognizer.md, "Enrollment").
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from voicecoach.speech.grammar import Grammar
from voicecoach.speech.templates import TakeMatcher


@dataclass(frozen=True)
class Enrollment:
    """Per-intent personal spellings (model words) and confidence floors, and the takes to match."""

    spellings: dict[str, tuple[str, ...]] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    takes: TakeMatcher | None = field(default=None, compare=False)

    def __bool__(self) -> bool:
        return any(self.spellings.values()) or bool(self.floors) or bool(self.takes)

    def with_takes(self, takes: TakeMatcher | None) -> "Enrollment":
        """A copy that matches ``takes`` (None: no take matching)."""
        return replace(self, takes=takes if takes else None)

    def apply(self, grammar: Grammar) -> Grammar:
        """``grammar`` with the personal spellings (any that the grammar now has as a
        phrase of its own, or whose intent it no longer has, are left out)."""
        pairs = [(s, name) for name, spelled in self.spellings.items() for s in spelled]
        return grammar.with_personal(pairs) if pairs else grammar

    def floor(self, intent: str, default: float) -> float:
        """The lowest phrase-word confidence accepted for ``intent``."""
        return self.floors.get(intent, default)

    def with_intent(self, intent: str, spellings: tuple[str, ...] = (), floor: float | None = None) -> "Enrollment":
        """A copy with ``intent``'s spellings and floor replaced (none: removed)."""
        s = {k: v for k, v in self.spellings.items() if k != intent}
        f = {k: v for k, v in self.floors.items() if k != intent}
        if spellings:
            s[intent] = tuple(spellings)
        if floor is not None:
            f[intent] = float(floor)
        return Enrollment(s, f, self.takes)

    def to_json(self) -> dict:
        return {"spellings": {k: list(v) for k, v in sorted(self.spellings.items()) if v},
                "floors": dict(sorted(self.floors.items()))}

    @classmethod
    def from_json(cls, data: dict) -> "Enrollment":
        """Raises ValueError (or TypeError) when ``data`` is not what :meth:`to_json` writes."""
        spellings = data.get("spellings", {})
        floors = data.get("floors", {})
        if not isinstance(spellings, dict) or not isinstance(floors, dict):
            raise ValueError("spellings and floors must be tables")
        s = {}
        for k, v in spellings.items():
            if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                raise ValueError(f"spellings of {k!r} must be a list of words")
            s[str(k)] = tuple(" ".join(x.split()) for x in v)
        f = {}
        for k, v in floors.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v <= 1.0:
                raise ValueError(f"floor of {k!r} must be a number from 0 to 1")
            f[str(k)] = float(v)
        return cls(s, f)
