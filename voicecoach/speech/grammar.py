"""The spoken-command grammar: intents, their phrases and the filler words.

A grammar is a TOML file a user can edit (``grammars/en.toml``)::

    fillers = ["okay", "uh", "my"]

    [sounds_like]           # words the model lacks, spelled with words it has
    doming = "doe ming"

    [intents.stop_point]
    kind = "mark"           # or "control"
    phrases = ["stop point"]

Load it with :func:`load_grammar`; pass the Vosk ``model`` to have every word
checked against the model's vocabulary (a missing word is a
:class:`~voicecoach.errors.UserError` naming the file, the line and the word).
Phrases are matched whole: :meth:`Grammar.intent_of` takes the words heard,
drops leading fillers and returns the intent whose phrase is exactly what is
left, so "okay stop point" is ``stop_point`` but "find your stop point" is
nothing.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from voicecoach.errors import UserError

KINDS = ("mark", "control")
_WORD = re.compile(r"^[a-z][a-z']*$")
MAX_FILLERS = 2
"""At most this many filler words may precede a phrase."""


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


@dataclass(frozen=True)
class Grammar:
    """A loaded grammar. Build it with :func:`load_grammar`."""

    intents: tuple[Intent, ...]
    fillers: tuple[str, ...]
    source: str
    """Where it came from (a file path), for messages."""
    sounds_like: tuple[tuple[str, str], ...] = ()
    """(word as written, the model's spelling) for words the model lacks."""
    _index: dict = field(default=None, init=False, repr=False, compare=False, hash=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        index: dict[str, Intent] = {}
        for intent in self.intents:
            for phrase in intent.phrases:
                index[self.to_model(phrase)] = intent
        object.__setattr__(self, "_index", index)

    # -- spelling between what the user wrote and what the model decodes --------

    def to_model(self, text: str) -> str:
        """``text`` in the model's spelling (``"doming"`` -> ``"doe ming"``)."""
        subs = dict(self.sounds_like)
        return " ".join(subs.get(w, w) for w in normalise(text).split())

    def to_display(self, text: str) -> str:
        """The model's spelling back to the grammar's (``"doe ming"`` -> ``"doming"``)."""
        out = normalise(text)
        for written, spelled in sorted(self.sounds_like, key=lambda p: -len(p[1])):
            out = re.sub(rf"(?<![a-z']){re.escape(spelled)}(?![a-z'])", written, out)
        return out

    # -- matching ----------------------------------------------------------------

    def strip_fillers(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Split model-spelled ``words`` into (leading fillers, the rest).

        At most :data:`MAX_FILLERS` fillers are taken, and a filler is kept
        as part of the rest when the rest would otherwise not be a phrase
        ("my" in a phrase that starts with "my").
        """
        fill = set(self.fillers)
        i = 0
        while i < len(words) and i < MAX_FILLERS and words[i] in fill:
            if " ".join(words[i:]) in self._index:
                break
            i += 1
        return words[:i], words[i:]

    def intent_of(self, words: str) -> Intent | None:
        """The intent whose phrase is exactly ``words`` after leading fillers, else None.

        ``words`` may be in either spelling (``"okay doming"`` or ``"okay doe ming"``).
        """
        spelled = self.to_model(words).split()
        _, rest = self.strip_fillers(spelled)
        return self._index.get(" ".join(rest))

    @property
    def phrases(self) -> tuple[str, ...]:
        """Every phrase in the model's spelling."""
        return tuple(self._index)

    def words(self) -> tuple[str, ...]:
        """Every word the decoder needs (phrases and fillers), model spelling, sorted."""
        ws = set(self.fillers)
        for p in self._index:
            ws.update(p.split())
        return tuple(sorted(ws))

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

    unknown = set(data) - {"fillers", "sounds_like", "intents"}
    if unknown:
        key = sorted(unknown)[0]
        raise UserError(f"{where(key)}: unknown key {key!r} (allowed: fillers, sounds_like, intents)")
    intents_raw = data.get("intents")
    if not intents_raw:
        raise UserError(f"{path}: grammar has no intents (add [intents.NAME] tables with kind and phrases)")
    if not isinstance(intents_raw, dict):
        raise UserError(f"{where('intents')}: 'intents' must be tables like [intents.pause]")

    fillers_raw = data.get("fillers", [])
    if not isinstance(fillers_raw, list) or not all(isinstance(f, str) for f in fillers_raw):
        raise UserError(f"{where('fillers')}: 'fillers' must be a list of words")
    fillers = []
    for f in fillers_raw:
        w = normalise(f)
        if not w or " " in w:
            raise UserError(f"{where(f)}: filler {f!r} must be one word")
        fillers.append(w)

    sounds_raw = data.get("sounds_like", {})
    if not isinstance(sounds_raw, dict) or not all(isinstance(v, str) for v in sounds_raw.values()):
        raise UserError(f"{where('sounds_like')}: [sounds_like] maps a word to a string of words")
    sounds = tuple((normalise(k), normalise(v)) for k, v in sounds_raw.items())
    for k, v in sounds:
        if not k or " " in k or not v:
            raise UserError(f"{where(k or 'sounds_like')}: bad sounds_like entry {k!r} = {v!r}")

    intents: list[Intent] = []
    seen: dict[str, str] = {}
    for name, body in intents_raw.items():
        header = f"[intents.{name}]"
        if not isinstance(body, dict):
            raise UserError(f"{where(name)}: intent {name!r} must be a table with kind and phrases")
        extra = set(body) - {"kind", "phrases"}
        if extra:
            key = sorted(extra)[0]
            raise UserError(f"{where(key, header)}: intent {name!r}: unknown key {key!r} (allowed: kind, phrases)")
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
            if norm.split()[0] in fillers and len(norm.split()) == 1:
                raise UserError(f"{where(p, header)}: phrase {p!r} is also a filler")
            seen[norm] = name
            phrases.append(norm)
        intents.append(Intent(name=name, kind=kind, phrases=tuple(phrases)))

    grammar = Grammar(intents=tuple(intents), fillers=tuple(fillers), source=str(path), sounds_like=sounds)

    if model is not None:
        subs = dict(sounds)
        # Check in file order so the first missing word reported is the first one a reader meets.
        checks: list[tuple[str, str, str | None]] = []
        for k, v in sounds:
            checks += [(w, k, "[sounds_like]") for w in v.split()]
        checks += [(f, f, "fillers") for f in fillers]
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
    pat = re.compile(rf"(?<![A-Za-z']){re.escape(needle)}(?![A-Za-z'])", re.IGNORECASE)
    for i in range(start, len(lines)):
        if pat.search(lines[i].split("#", 1)[0] if not lines[i].lstrip().startswith("#") else ""):
            return i + 1
    for i, line in enumerate(lines):
        if pat.search(line):
            return i + 1
    return 1
