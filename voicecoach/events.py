"""Every event that crosses a boundary in the coach, as small typed dataclasses.

Like the Wyoming protocol's event types: each class has a ``type`` name, its
fields are plain JSON values, and ``to_json``/``from_json`` round-trip it. The
``--events`` file of ``voicecoach simulate`` is one ``to_json()`` per line.

Times:
- ``t`` is seconds on the session timeline, which is the output stream's
  sample clock divided by its rate (in simulation, second t of the mic file is
  second t of the output file).
- ``sample`` is an index on the output sample clock.
- ``start``/``end``/``emitted`` of spoken words are seconds on the same
  clock: the streams put the microphone's time on it, the recognizer passes
  it through unrounded, and the session turns it into output samples.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

_EVENT_TYPES: dict[str, type["Event"]] = {}


@dataclass(frozen=True)
class Event:
    """Base class: subclasses set ``type`` and are registered by it."""

    type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type:
            _EVENT_TYPES[cls.type] = cls

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **dataclasses.asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


def from_dict(data: dict[str, Any]) -> Event:
    """Build the event named by ``data["type"]``; unknown keys are an error."""
    cls = _EVENT_TYPES.get(data.get("type", ""))
    if cls is None:
        raise ValueError(f"unknown event type: {data.get('type')!r}")
    fields = {k: v for k, v in data.items() if k != "type"}
    if "marks" in fields and isinstance(fields["marks"], list):
        fields["marks"] = tuple(fields["marks"])
    return cls(**fields)


def from_json(line: str) -> Event:
    return from_dict(json.loads(line))


# --- inputs to the coach ----------------------------------------------------


@dataclass(frozen=True)
class Heard(Event):
    """A command the recognizer heard (recognizer -> coach)."""

    type: ClassVar[str] = "heard"
    intent: str
    """Intent name from the grammar, e.g. ``"back_arched"`` or ``"pause"``."""
    kind: str
    """``"mark"`` (about the rep in progress) or ``"control"``."""
    text: str
    """The words as recognised, fillers included."""
    start: float
    """Seconds on the output clock where the first word began."""
    end: float
    """Seconds on the output clock where the last word ended."""
    emitted: float
    """Audio time (output clock, seconds) at which the recognizer emitted it."""
    confidence: float
    """0..1, the lowest word confidence of the phrase."""
    final: bool = True
    """False for a provisional result (only from a recognizer built with
    ``provisional=True``): the words so far are a command, but whether the
    person goes on talking right after them is not known yet. The same command
    follows with ``final=True``, or a :class:`Withdrawn` takes it back. Act on
    a provisional mark at once only where a false one costs little (the
    coach's earcon); act on the final one."""


@dataclass(frozen=True)
class Withdrawn(Event):
    """The recognizer takes back a provisional :class:`Heard`: the person went on
    talking right after the words (voice, or words the decoder heard), so they
    began a sentence ("resume playing the song") and were no command
    (recognizer -> coach)."""

    type: ClassVar[str] = "withdrawn"
    intent: str
    text: str
    start: float
    """Where the provisional command's first word began (output clock, seconds)."""
    end: float
    emitted: float
    """Audio time at which it was withdrawn."""


@dataclass(frozen=True)
class Tick(Event):
    """The output clock has reached ``now`` (runtime -> coach)."""

    type: ClassVar[str] = "tick"
    now: int
    """Output sample index that has not been played yet."""


@dataclass(frozen=True)
class DeviceLost(Event):
    """The microphone or the speaker went away (the live streams -> coach): the
    session pauses, as for a spoken "pause", and logs it as that command."""

    type: ClassVar[str] = "device_lost"
    t: float
    """Seconds on the output clock: the start of the mic block it came with."""
    why: str
    """What happened, e.g. ``"speaker lost"``: the logged command's text, in parentheses."""


@dataclass(frozen=True)
class DeviceBack(Event):
    """The lost device is back, or the coach goes on without the microphone
    (cue-only) (the live streams -> coach): the session resumes, as for a spoken
    "resume", and logs it as that command."""

    type: ClassVar[str] = "device_back"
    t: float
    why: str
    """E.g. ``"speaker back after 3.2 s"``."""


# --- outputs of the coach (and the simulate --events log) ----------------------


@dataclass(frozen=True)
class Cue(Event):
    """One clip to place on the output clock.

    ``sample`` is the exact output sample at which the clip's first sample is
    placed; ``t`` is the same instant in seconds.
    """

    type: ClassVar[str] = "cue"
    t: float
    sample: int
    kind: str
    """``"speech"`` (text is spoken), ``"tick"`` or ``"earcon"`` (text names it)."""
    text: str


@dataclass(frozen=True)
class Cancel(Event):
    """Withdraw every cue released at or after ``sample`` that has not started (session -> runtime)."""

    type: ClassVar[str] = "cancel"
    t: float
    sample: int


@dataclass(frozen=True)
class Command(Event):
    """The coach acted on a heard command at ``t``."""

    type: ClassVar[str] = "command"
    intent: str
    text: str
    start: float
    end: float
    t: float


@dataclass(frozen=True)
class Rep(Event):
    """A rep ended (counted or not)."""

    type: ClassVar[str] = "rep"
    t: float
    set: int
    rep: int
    counted: bool
    marks: tuple[str, ...] = ()
    lift_s: float = 0.0
    descent_s: float = 0.0
    stop_point: float | None = None
    """The floor recorded during this rep's lowering (0..1 of the way down), if any."""


@dataclass(frozen=True)
class SetSummary(Event):
    type: ClassVar[str] = "set"
    t: float
    set: int
    counted: int
    attempted: int
    marks: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionSummary(Event):
    type: ClassVar[str] = "session"
    t: float
    sets: int
    counted: int
    attempted: int
    status: str = "completed"
    """``"completed"``, ``"stopped"`` (by the user), or ``"interrupted"``."""
    floor: float | None = None
    plank_s: float | None = None
    """Seconds the plank finish was held (``None``: no plank in this session)."""
    plank_target_s: float | None = None
    """The plank hold planned (``[program] plank_s``, perhaps raised by the progression)."""


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not a cue (e.g. history not saved)."""

    type: ClassVar[str] = "notice"
    t: float
    text: str
    level: str = "info"
