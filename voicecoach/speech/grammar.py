"""The spoken-command grammar: intents, their phrases and the filler words.

A grammar is a TOML file a user can edit (``grammars/en.toml``)::

    fillers = ["okay", "uh"]       # before any phrase
    mark_fillers = ["my"]          # only before a mark's phrase
    lead_ins = ["that", "was"]     # only before a mark, heard but not listened for

    [sounds_like]           # words the model lacks, spelled with words it has
    doming = ["doe ming", "domingo"]   # one spelling, or several people's ways of saying it

    [intents.stop_point]
    kind = "mark"           # or "control"
    phrases = ["stop point"]

    [intents.end_hold]
    kind = "control"
    phrases = ["done"]
    during = "plank"        # listened for only in that phase of the session

Load it with :func:`load_grammar`; pass the Vosk ``model`` to have every word
checked against the model's vocabulary (a missing word is a
:class:`~voicecoach.errors.UserError` naming the file, the line and the word).
Phrases are matched whole: :meth:`Grammar.match` takes the words heard,
drops leading fillers and returns the intent whose phrase is exactly what is
left, so "okay stop point" is ``stop_point`` but "find your stop point" is
nothing, and neither is "oh my pause" ("my" goes only before a mark).
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.errors import UserError

KINDS = ("mark", "control")
PHASES = ("plank",)
"""The phases an intent may be kept for (``during``): a session's ``Status.phase``."""
_WORD = re.compile(r"^[a-z][a-z']*$")
MAX_FILLERS = 2
"""At most this many filler words may precede a phrase."""
MAX_LEAD_INS = 3
"""At most this many lead-ins may precede a mark's phrase (besides its fillers)."""


def normalise(text: str) -> str:
    """Lower case, words separated by single spaces, punctuation other than ' dropped."""
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


@dataclass(frozen=True)
class Intent:
    """One thing a person can say, in one or more ways."""

    name: str
    """Identifier used in events, e.g. ``"stop_point"``."""
    kind: str
    """``"mark"`` (about the rep in progress) or ``"control"``."""
    phrases: tuple[str, ...]
    """Normalised phrases as the user wrote them, e.g. ``("stop point",)``."""
    during: str | None = None
    """The one phase of the session it is listened for in (one of :data:`PHASES`), or
    ``None``: always. A short phrase kept for one phase costs the others nothing:
    the decoder of the other phases never has it (see :meth:`Grammar.listening`)."""


@dataclass(frozen=True)
class Grammar:
    """A loaded grammar. Build it with :func:`load_grammar`."""

    intents: tuple[Intent, ...]
    fillers: tuple[str, ...]
    """Words that may come before any phrase ("okay pause", "uh back arched")."""
    source: str
    """Where it came from (a file path), for messages."""
    sounds_like: tuple[tuple[str, str], ...] = ()
    """(word as written, a model spelling) for words the model lacks; a word may
    have several, the first being the one :meth:`to_model` gives."""
    mark_fillers: tuple[str, ...] = ()
    """Words that may come only before a mark's phrase. "my" fits a note about
    the body ("my stop point"); before a control it makes the words the end of
    someone's sentence ("oh my pause", "they say again" heard as "my say again")."""
    lead_ins: tuple[str, ...] = ()
    """Words that may begin a short sentence that is still a mark ("that's a stop
    point", "it was a good rep"), however the decoder hears its start ("that's
    was a stop point"). Unlike fillers they are not given to the decoder as
    sentences: they are accepted where heard, not listened for."""
    personal: tuple[tuple[str, str], ...] = ()
    """(model spelling, intent name): how the decoder hears one person's way of
    saying a phrase, learnt from their takes (:mod:`voicecoach.speech.enrollment`);
    matched like a phrase of that intent, shown as its first phrase. Set with
    :meth:`with_personal`."""
    _index: dict = field(default=None, init=False, repr=False, compare=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        index: dict[str, Intent] = {}
        for intent in self.intents:
            for phrase in intent.phrases:
                for spelled in self._spellings_of(phrase):
                    index[spelled] = intent
        by_name = {it.name: it for it in self.intents}
        for spelled, name in self.personal:
            if name in by_name:  # an intent kept for another phase is not listened for here
                index.setdefault(spelled, by_name[name])
        object.__setattr__(self, "_index", index)

    def with_personal(self, spellings) -> "Grammar":
        """This grammar with ``spellings`` ((model spelling, intent name) pairs) as
        personal spellings; one that is already a phrase or a spelling of any intent,
        or names no intent, is left out (a grammar edited since enrollment wins)."""
        names = {it.name for it in self.intents}
        kept = tuple((s, n) for s, n in spellings if n in names and s not in self._index)
        return dataclasses.replace(self, personal=self.personal + kept)

    def _spellings_of(self, phrase: str) -> list[str]:
        """``phrase`` in every combination of its words' model spellings, the first
        being :meth:`to_model`'s."""
        variants = [""]
        for word in normalise(phrase).split():
            ways = [spelled for written, spelled in self.sounds_like if written == word] or [word]
            variants = [f"{v} {w}".strip() for v in variants for w in ways]
        return variants

    # -- spelling between what the user wrote and what the model decodes --------

    def to_model(self, text: str) -> str:
        """``text`` in the model's (first) spelling (``"doming"`` -> ``"doe ming"``)."""
        subs: dict[str, str] = {}
        for written, spelled in self.sounds_like:
            subs.setdefault(written, spelled)
        return " ".join(subs.get(w, w) for w in normalise(text).split())

    def to_display(self, text: str) -> str:
        """The model's spelling back to the grammar's (``"doe ming"`` -> ``"doming"``)."""
        out = normalise(text)
        by_name = {it.name: it for it in self.intents}
        shown = [(spelled, by_name[name].phrases[0]) for spelled, name in self.personal if name in by_name]
        for spelled, written in sorted([*shown, *((s, w) for w, s in self.sounds_like)], key=lambda p: -len(p[0])):
            out = re.sub(rf"(?<![a-z']){re.escape(spelled)}(?![a-z'])", written, out)
        return out

    # -- matching ----------------------------------------------------------------

    @property
    def all_fillers(self) -> tuple[str, ...]:
        """Every filler, whatever it may come before."""
        return self.fillers + self.mark_fillers

    def fillers_for(self, kind: str) -> tuple[str, ...]:
        """The fillers that may come before a phrase of an intent of ``kind``."""
        return self.all_fillers if kind == "mark" else self.fillers

    @property
    def spelled_heads(self) -> tuple[str, ...]:
        """The first word of each spelling of a word the model lacks ("doe" of "doe
        ming"). The decoder, which has it only for that spelling, hears it in place
        of a filler ("uh back arched" as "doe back arched"); before a mark it counts
        as a lead-in."""
        return tuple(dict.fromkeys(spelled.split()[0] for _, spelled in self.sounds_like if " " in spelled))

    def _may_lead(self, words: list[str], kind: str) -> bool:
        """True when ``words`` may come before a phrase of an intent of ``kind``."""
        fillers = [w for w in words if w in self.fillers_for(kind)]
        heard_before_marks = self.lead_ins + self.spelled_heads
        lead_ins = [w for w in words if w in heard_before_marks] if kind == "mark" else []
        return (len(fillers) + len(lead_ins) == len(words)
                and len(fillers) <= MAX_FILLERS and len(lead_ins) <= MAX_LEAD_INS)

    def match(self, words: list[str]) -> tuple[int, Intent] | None:
        """``(n, intent)`` when model-spelled ``words`` are ``n`` leading words and
        a phrase of ``intent``, else None.

        Leading words are up to :data:`MAX_FILLERS` fillers that may come before
        the intent's kind and, before a mark, up to :data:`MAX_LEAD_INS`
        lead-ins, in any order. ``n`` is the fewest that leave a phrase (so
        "my" stays part of "my back arched").
        """
        for n in range(min(MAX_FILLERS + MAX_LEAD_INS, len(words)) + 1):
            intent = self._index.get(" ".join(words[n:]))
            if intent is not None and self._may_lead(words[:n], intent.kind):
                return n, intent
        return None

    def intent_of(self, words: str) -> Intent | None:
        """The intent ``words`` say, after leading fillers, else None.

        ``words`` may be in either spelling (``"okay doming"`` or ``"okay doe ming"``).
        """
        found = self.match(self.to_model(words).split())
        return found[1] if found else None

    def phrases_of(self, intent: Intent) -> tuple[str, ...]:
        """``intent``'s phrases in every model spelling, its personal spellings last."""
        return (tuple(s for p in intent.phrases for s in self._spellings_of(p))
                + tuple(s for s, name in self.personal if name == intent.name and self._index.get(s) == intent))

    def intents_in(self, text: str) -> frozenset[str]:
        """The names of the intents one of whose phrases ``text`` holds, as whole
        words in the grammar's own spelling ("... and say stop point where ..." ->
        ``{"stop_point"}``)."""
        padded = f" {normalise(text)} "
        return frozenset(it.name for it in self.intents if any(f" {p} " in padded for p in it.phrases))

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every phrase in the model's spelling."""
        return tuple(self._index)

    def words(self) -> tuple[str, ...]:
        """Every word the decoder needs (phrases and fillers), model spelling, sorted."""
        ws = set(self.all_fillers)
        for p in self._index:
            ws.update(p.split())
        return tuple(sorted(ws))

    @property
    def phases(self) -> tuple[str, ...]:
        """The phases some intent is kept for (``during``)."""
        return tuple(sorted({it.during for it in self.intents if it.during}))

    def listening(self, phase: str | None) -> "Grammar":
        """This grammar as listened for in ``phase``: without the intents kept for
        another phase (``None``: without any kept for one)."""
        kept = tuple(it for it in self.intents if it.during in (None, phase))
        if kept == self.intents:
            return self
        return dataclasses.replace(self, intents=kept)

    def intent(self, name: str) -> Intent:
        for it in self.intents:
            if it.name == name:
                return it
        raise KeyError(name)


def default_path() -> Path:
    from voicecoach.paths import grammars_dir

    return grammars_dir() / "en.toml"


def load_grammar(path: Path | str | None = None, *, model=None) -> Grammar:
    """Read and check a grammar file (default ``grammars/en.toml``).

    With ``model`` (a ``vosk.Model``), every word of every phrase, filler and
    sounds-like spelling must be in the model's vocabulary.

    Raises:
        UserError: unreadable, malformed or empty file, a bad kind, a phrase
            in two intents, or a word the model does not know; the message
            names the file and, where there is one, the line and the word.
    """
    path = Path(path) if path is not None else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: grammar file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read grammar: {err}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: malformed grammar: {err}") from None
    lines = text.splitlines()

    def where(needle: str, after: str | None = None) -> str:
        return f"{path}:{_line_of(lines, needle, after)}"

    unknown = set(data) - {"fillers", "mark_fillers", "lead_ins", "sounds_like", "intents"}
    if unknown:
        key = sorted(unknown)[0]
        raise UserError(
            f"{where(key)}: unknown key {key!r} (allowed: fillers, mark_fillers, lead_ins, sounds_like, intents)")
    intents_raw = data.get("intents")
    if not intents_raw:
        raise UserError(f"{path}: grammar has no intents (add [intents.NAME] tables with kind and phrases)")
    if not isinstance(intents_raw, dict):
        raise UserError(f"{where('intents')}: 'intents' must be tables like [intents.pause]")

    def word_list(key: str) -> list[str]:
        raw = data.get(key, [])
        if not isinstance(raw, list) or not all(isinstance(f, str) for f in raw):
            raise UserError(f"{where(key)}: {key!r} must be a list of words")
        words = []
        for f in raw:
            w = normalise(f)
            if not w or " " in w:
                raise UserError(f"{where(f, key)}: filler {f!r} must be one word")
            words.append(w)
        return words

    fillers = word_list("fillers")
    mark_fillers = word_list("mark_fillers")
    both = [w for w in mark_fillers if w in fillers]
    if both:
        raise UserError(f"{where(both[0], 'mark_fillers')}: filler {both[0]!r} is in both fillers and mark_fillers")
    lead_ins = word_list("lead_ins")
    twice = [w for w in lead_ins if w in fillers + mark_fillers]
    if twice:
        raise UserError(f"{where(twice[0], 'lead_ins')}: lead-in {twice[0]!r} is a filler already")

    sounds_raw = data.get("sounds_like", {})
    if not isinstance(sounds_raw, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v)) for v in sounds_raw.values()
    ):
        raise UserError(f"{where('sounds_like')}: [sounds_like] maps a word to a string of words, or to a list of them")
    sounds = tuple((normalise(k), normalise(x)) for k, v in sounds_raw.items() for x in ([v] if isinstance(v, str) else v))
    for k, v in sounds:
        if not k or " " in k or not v:
            raise UserError(f"{where(k or 'sounds_like')}: bad sounds_like entry {k!r} = {v!r}")

    intents: list[Intent] = []
    seen: dict[str, str] = {}
    for name, body in intents_raw.items():
        header = f"[intents.{name}]"
        if not isinstance(body, dict):
            raise UserError(f"{where(name)}: intent {name!r} must be a table with kind and phrases")
        extra = set(body) - {"kind", "phrases", "during"}
        if extra:
            key = sorted(extra)[0]
            raise UserError(f"{where(key, header)}: intent {name!r}: unknown key {key!r} (allowed: kind, phrases, during)")
        during = body.get("during")
        if during is not None and during not in PHASES:
            raise UserError(f"{where('during', header)}: intent {name!r}: during must be one of "
                            f"{', '.join(repr(p) for p in PHASES)}, not {during!r}")
        kind = body.get("kind")
        if kind not in KINDS:
            raise UserError(f"{where('kind', header)}: intent {name!r}: kind must be 'mark' or 'control', not {kind!r}")
        phrases_raw = body.get("phrases")
        if not isinstance(phrases_raw, list) or not phrases_raw or not all(isinstance(p, str) for p in phrases_raw):
            raise UserError(f"{where(header)}: intent {name!r}: phrases must be a non-empty list of strings")
        phrases = []
        for p in phrases_raw:
            odd = [w for w in p.split() if re.search(r"[^A-Za-z'.,!?-]", w)]
            if odd:
                raise UserError(
                    f"{where(p, header)}: intent {name!r}: bad word {odd[0]!r} (letters only; write numbers as words)"
                )
            norm = normalise(p)
            if not norm:
                raise UserError(f"{where(p, header)}: intent {name!r}: empty phrase {p!r}")
            bad = [w for w in norm.split() if not _WORD.match(w)]
            if bad:
                raise UserError(f"{where(p, header)}: intent {name!r}: bad word {bad[0]!r}")
            if norm in seen and seen[norm] != name:
                raise UserError(f"{where(p, header)}: phrase {p!r} is in both {seen[norm]!r} and {name!r}")
            if len(norm.split()) == 1 and norm in fillers + mark_fillers + lead_ins:
                what = "a lead-in" if norm in lead_ins else "a filler"
                raise UserError(f"{where(p, header)}: phrase {p!r} is also {what}")
            seen[norm] = name
            phrases.append(norm)
        intents.append(Intent(name=name, kind=kind, phrases=tuple(phrases), during=during))

    grammar = Grammar(
        intents=tuple(intents), fillers=tuple(fillers), source=str(path), sounds_like=sounds,
        mark_fillers=tuple(mark_fillers), lead_ins=tuple(lead_ins),
    )

    if model is not None:
        subs = {k for k, _ in sounds}
        # Check in file order so the first missing word reported is the first one a reader meets.
        checks: list[tuple[str, str, str | None]] = []
        for k, v in sounds:
            checks += [(w, k, "[sounds_like]") for w in v.split()]
        checks += [(f, f, "fillers") for f in fillers]
        checks += [(f, f, "mark_fillers") for f in mark_fillers]
        checks += [(f, f, "lead_ins") for f in lead_ins]
        for it in intents:
            for p in it.phrases:
                for w in p.split():
                    if w in subs:
                        continue
                    checks.append((w, w, f"[intents.{it.name}]"))
        for word, needle, after in checks:
            if not in_vocabulary(model, word):
                hint = f" (add it to [sounds_like] spelled with known words)" if after != "[sounds_like]" else ""
                raise UserError(
                    f"{path}:{_line_of(lines, needle, after)}: word {word!r} is not in the speech model's vocabulary{hint}"
                )
    return grammar


def in_vocabulary(model, word: str) -> bool:
    """True when the Vosk ``model`` has ``word`` (uses Vosk's own word lookup)."""
    return model.vosk_model_find_word(word) >= 0


def _line_of(lines: list[str], needle: str, after: str | None = None) -> int:
    """1-based line of the first whole-word ``needle`` (after the line holding ``after``), else 1."""
    start = 0
    if after:
        for i, line in enumerate(lines):
            if after in line:
                start = i
                break
    # An apostrophe is part of a word only between letters ("that's"): in
    # ['my'] it is TOML's quote.
    pat = re.compile(rf"(?<![A-Za-z])(?<![A-Za-z]'){re.escape(needle)}(?![A-Za-z])(?!'[A-Za-z])", re.IGNORECASE)
    for i in range(start, len(lines)):
        if pat.search(lines[i].split("#", 1)[0] if not lines[i].lstrip().startswith("#") else ""):
            return i + 1
    for i, line in enumerate(lines):
        if pat.search(line):
            return i + 1
    return 1
