"""The workout as a pure state machine: events in, cue plans and log events out.

Like h11 for HTTP, :class:`Session` does no I/O: no threads, no audio, no
wall clock, no files. Time is the output sample clock, passed in by the
caller. A runtime drives it like this::

    session = Session(config["program"], samplerate, durations=clip_seconds)
    while not session.finished:
        for event in session.advance(now + lookahead):
            ...  # Cue -> scheduler.submit(clip, at=event.sample); Cancel -> cancel;
                 # Rep/SetSummary/SessionSummary/Command/Notice -> log and store
        for heard in recognizer.feed(...):
            for event in session.hear(heard, now):
                ...

Cues are released only when their sample is below the horizon given to
:meth:`Session.advance`, so a control can still withdraw everything not yet
released; what was released and lies at or after ``now`` is withdrawn with a
:class:`Cancel`. A cue that has started is never cut, so a pause never leaves
half a cue.

Marks are attributed by where the words were in the audio (``Heard.start``,
seconds on the session timeline), not by when they were recognised: a rep is
open from its first cue until :data:`MARK_WINDOW_S` after its end, and it is
only logged (:class:`~voicecoach.events.Rep`) once :data:`GRACE_S` has passed
after its end, so that a late recognition still lands on the right rep.

The floor (how far down a lowering may go, 0..1) moves both ways. Each
lowering ends at the floor, so a "stop point" there can only make it
shallower. The session's first lowering is a *floor test* instead:
announced with :data:`~voicecoach.coach.program.FLOOR_TEST` before its lift,
counted over the full descent, and a "stop point" in it sets the floor
wherever it was said, deeper or shallower. "Back arched" in the test with no
stop point raises the floor to where it was said, if that is above the floor
(the back lifted by then). With neither, the floor is kept: silence is not
proof that the back stayed down all the way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Protocol, Sequence

from voicecoach.coach import program as P
from voicecoach.events import (
    Cancel,
    Command,
    Cue,
    DeviceBack,
    DeviceLost,
    Event,
    Heard,
    Notice,
    Rep,
    SessionSummary,
    SetSummary,
    Tick,
    Withdrawn,
)

MARK_WINDOW_S = 1.0
"""A mark whose words start this long after a rep ends still belongs to that rep."""
GRACE_S = 2.5
"""A rep is logged this long after it ends: the window plus the recogniser's endpointing delay."""
PAD_S = 0.12
"""Silence kept between two speech cues that are not meant to overlap."""
TOP_S = 0.5
"""The brief hold at the top, if the lowering cue is shorter."""
BOTTOM_S = 1.2
"""The pause at the bottom before the next rep starts."""
STOP_WINDOW_S = 4.0
"""After "stop workout" is answered aloud, this long to say "resume" before the workout ends."""
FLOOR_MIN = 0.1
FAILING_MARKS = ("back_arched", "doming")
MARKS = ("stop_point", "back_arched", "good_rep", "doming")
PLANK_ENDERS = ("end_hold", "stop_workout", "next_set", "pause")
"""The controls that end a plank hold early ("end_hold" is "stop" or "done")."""


def _key(heard: Heard | Withdrawn) -> tuple[str, float, float]:
    """What a provisional command and its final one (or withdrawal) share."""
    return (heard.intent, heard.start, heard.end)


def estimate_seconds(text: str) -> float:
    """A rough speech length for tests and dry runs: about 14 characters a second."""
    return 0.2 + 0.07 * len(text)


@dataclass(frozen=True)
class Status:
    """Where the workout is at one output sample, for a display (:meth:`Session.status`).

    A snapshot: immutable, so another thread may read it while the session moves on.
    """

    phase: str
    """``intro``, ``warmup``, ``set``, ``rest``, ``plank``, ``end``, ``paused`` or ``stopping``
    (paused after "stop workout", until the workout ends or "resume" takes it back)."""
    set: int
    sets: int
    rep: int | None = None
    """The rep being done (the warm-up's practice reps are 1, 2, ... of set 0), if any."""
    reps: int = 0
    stage: str | None = None
    """Within a rep: ``lift``, ``top``, ``lowering`` or ``bottom``."""
    beat: int = 0
    beats: int = 0
    """Within a lowering: count ``beat`` of ``beats``."""
    left_s: float | None = None
    """A rest's (or a plank hold's) seconds still to go."""
    floor: float | None = None


# --- internal plan structures ----------------------------------------------------


@dataclass
class _Cue:
    sample: int
    kind: str
    text: str
    end: int
    instruction: bool = False
    """Part of the program (what "repeat" repeats), not a reply to a command."""
    released: bool = False


@dataclass
class _RepState:
    set: int
    rep: int
    practice: bool
    start: int
    lift_end: int
    lower_start: int
    lower_end: int
    full_end: int
    end: int
    lift_s: float
    descent_s: float
    marks: list[str] = field(default_factory=list)
    stop_point: float | None = None
    floor_test: bool = False
    """The session's floor test: a full lowering where the floor may move deeper."""

    @property
    def failed(self) -> bool:
        return any(m in FAILING_MARKS for m in self.marks)


@dataclass
class _Plan:
    segment: "Segment"
    start: int
    end: int
    rep: _RepState | None = None


class Layout(Protocol):
    """What a :class:`Segment` may read and do while it lays itself out: the
    :class:`Session` offers this much to its segments and no more."""

    program: dict[str, Any]
    samplerate: int
    lift_s: float
    descent_s: float
    floor: float | None
    reps: list[Rep]
    plank_held_s: float | None
    end_sample: int | None

    def samples(self, seconds: float) -> int: ...
    def seconds_at(self, sample: int) -> float: ...
    def speak(self, sample: int, text: str) -> int: ...
    def tick(self, sample: int) -> None: ...
    def count(self, lower_start: int, lower_end: int, descent: float) -> None: ...
    def take_floor_test(self) -> bool: ...
    def next_side(self) -> int: ...
    def open_rep(self, rep: _RepState) -> None: ...
    def log_ended_reps(self, out: list[Event]) -> None: ...
    def plank_laid_out(self, plank: "PlankHold") -> None: ...
    def plank_held_in_full(self) -> None: ...
    def closing_lines(self, status: str) -> list[str]: ...
    def summary(self, at: int, status: str) -> SessionSummary: ...


class Segment:
    """A stretch of the workout, laid out on the clock only when it starts."""

    phase: str = "set"
    timed: bool = False
    """A timed stretch (a rest): :meth:`Session.status` says how long is left."""

    def make(self, s: Layout, start: int, out: list[Event]) -> _Plan:
        raise NotImplementedError

    def resumed(self, s: Layout, plan: _Plan, now: int) -> "Segment | None":
        """What to play after a pause interrupted this segment at ``now``."""
        return self


class Say(Segment):
    """Spoken lines one after another; each ``(text, gap_s)`` leaves ``gap_s`` after it."""

    def __init__(self, lines: Sequence[str | tuple[str, float]], phase: str = "set", after_s: float = 0.3):
        self.lines = [(x, 0.0) if isinstance(x, str) else x for x in lines]
        self.phase = phase
        self.after_s = after_s

    def make(self, s, start, out):
        t = start
        for text, gap in self.lines:
            t = s.speak(t, text) + s.samples(PAD_S + gap)
        return _Plan(self, start, t + s.samples(self.after_s))


class Wait(Segment):
    def __init__(self, seconds: float, phase: str = "set"):
        self.seconds = seconds
        self.phase = phase

    def make(self, s, start, out):
        return _Plan(self, start, start + s.samples(self.seconds))


class CatCow(Segment):
    phase = "warmup"

    def __init__(self, i: int):
        self.i = i

    def make(self, s, start, out):
        t = s.speak(start, f"{P.number(self.i).capitalize()}: {P.CAT}")
        t = max(t + s.samples(1.5), start + s.samples(3.0))
        t = s.speak(t, P.COW)
        return _Plan(self, start, max(t + s.samples(1.5), start + s.samples(6.0)))


class RepSeg(Segment):
    """One rep: lift cue, top, lowering cue, counted lowering (to the floor), bottom."""

    def __init__(self, set_no: int, rep_no: int, practice_lift: str | None = None):
        self.set_no, self.rep_no, self.practice_lift = set_no, rep_no, practice_lift
        self.phase = "warmup" if practice_lift else "set"

    def make(self, s, start, out):
        cfg = s.program
        n = s.samples
        # Decided when laid out, not when the script is written: a test rep that a
        # pause or "next set" withdrew gives the test back (see Session._abort).
        floor_test = not self.practice_lift and s.take_floor_test()
        lift_start = start
        if floor_test:
            lift_start = s.speak(start, P.FLOOR_TEST) + n(PAD_S)
        lift_text = self.practice_lift or P.lift_phrase(cfg["variation"], cfg["breathing"], s.next_side())
        lift_end = max(lift_start + n(s.lift_s), s.speak(lift_start, lift_text) + n(PAD_S))
        lower_text = P.lower_phrase(cfg["breathing"])
        lower_start = max(lift_end + n(TOP_S), s.speak(lift_end, lower_text) + n(PAD_S))
        descent = s.descent_s
        full_end = lower_start + n(descent)
        floor = None if floor_test else s.floor
        lower_end = lower_start + n(descent * floor) if floor is not None else full_end
        s.count(lower_start, lower_end, descent)
        t = lower_end
        if floor is not None and floor < 1.0:
            t = s.speak(lower_end, P.FLOOR_STOP) + n(PAD_S)
        if not self.practice_lift and self.rep_no % P.REMINDER_EVERY == 0:
            reminder = P.FORM_REMINDERS[(self.rep_no // P.REMINDER_EVERY - 1) % len(P.FORM_REMINDERS)]
            t = s.speak(t + n(0.3), reminder) + n(PAD_S)
        end = max(t, lower_end) + n(BOTTOM_S)
        rep = _RepState(
            self.set_no,
            self.rep_no,
            bool(self.practice_lift),
            lift_start,  # a mark said during the floor test's announcement is on no rep
            lift_end,
            lower_start,
            lower_end,
            full_end,
            end,
            lift_s=round((lift_end - lift_start) / s.samplerate, 3),
            descent_s=round((lower_end - lower_start) / s.samplerate, 3),
            floor_test=floor_test,
        )
        s.open_rep(rep)
        return _Plan(self, start, end, rep)


class SetEnd(Segment):
    def __init__(self, set_no: int):
        self.set_no = set_no
        self.summary: SetSummary | None = None

    def make(self, s, start, out):
        s.log_ended_reps(out)
        reps = [r for r in s.reps if r.set == self.set_no]
        if self.summary is None:
            marks = Counter(m for r in reps for m in r.marks)
            self.summary = SetSummary(
                t=s.seconds_at(start),
                set=self.set_no,
                counted=sum(r.counted for r in reps),
                attempted=len(reps),
                marks=dict(marks),
            )
            out.append(self.summary)
        t = s.speak(start, P.set_summary(self.summary.counted, self.summary.attempted))
        arched = sum("back_arched" in r.marks for r in reps)
        if reps and 2 * arched >= len(reps):
            t = s.speak(t + s.samples(PAD_S), P.ARCHED_HALF)
            t = s.speak(t + s.samples(PAD_S), P.arched_advice(s.program["variation"]))
        return _Plan(self, start, t + s.samples(0.5))


class Rest(Segment):
    phase = "rest"
    timed = True

    def __init__(self, seconds: float, first: bool = True):
        self.seconds, self.first = seconds, first

    def make(self, s, start, out):
        n = s.samples
        end = start + n(self.seconds)
        s.speak(start, P.rest(self.seconds) if self.first else P.REST_RESUMED)
        if self.seconds >= 20:
            s.speak(end - n(10), P.TEN_SECONDS)
        for k in (3, 2, 1):
            at = end - n(k)
            if at > start + n(2.5):
                s.speak(at, P.countdown(k))
                s.tick(at)
        return _Plan(self, start, end)

    def resumed(self, s, plan, now):
        left = (plan.end - now) / s.samplerate
        return Rest(max(left, 5.0), first=False)


class PlankHold(Segment):
    """The optional timed plank after the last set: its set-up, "Go", the hold counted
    down (halfway, ten seconds, three-two-one with ticks) and "Plank done".

    The held time goes into the session's summary: all of it, or up to the moment a
    "stop", "done", stop workout, next set or pause ended it early (:meth:`Session._end_plank`).
    """

    phase = "plank"
    timed = True

    def __init__(self, seconds: float):
        self.seconds = float(seconds)
        self.hold_start = self.hold_end = 0

    def make(self, s, start, out):
        n = s.samples
        t = s.speak(start, P.PLANK_SETUP) + n(PAD_S + 1.5)  # time to get down on the forearms
        self.hold_start = s.speak(t, P.plank_go(self.seconds))
        self.hold_end = end = self.hold_start + n(self.seconds)
        half = self.hold_start + n(self.seconds / 2)
        s.speak(half, P.HALFWAY)
        if self.seconds >= 30:  # at 20 s, "ten seconds" would be the halfway cue again
            s.speak(end - n(10), P.TEN_SECONDS)
        for k in (3, 2, 1):
            at = end - n(k)
            if at > half + n(1.5):
                s.speak(at, P.countdown(k))
                s.tick(at)
        s.plank_laid_out(self)
        done = s.speak(end, P.PLANK_DONE)
        return _Plan(self, start, done + n(0.5))

    def left_s(self, now: int, samplerate: int) -> float:
        return min(self.seconds, max(0.0, (self.hold_end - now) / samplerate))


class End(Segment):
    phase = "end"

    def __init__(self, status: str):
        self.status = status

    def make(self, s, start, out):
        s.log_ended_reps(out)
        s.plank_held_in_full()
        counted = sum(r.counted for r in s.reps)
        total = s.program["sets"] * s.program["reps"]
        if self.status == "completed":
            lines = [P.session_done(counted, total), *(P.FINISH_AFTER_PLANK if s.plank_held_s is not None else P.FINISH)]
        else:
            lines = [P.session_stopped(counted)]
        lines += s.closing_lines(self.status)
        t = start
        for line in lines:
            t = s.speak(t, line) + s.samples(PAD_S)
        out.append(s.summary(start, self.status))
        s.end_sample = t + s.samples(0.5)
        return _Plan(self, start, s.end_sample)


# --- the session -----------------------------------------------------------------


class Session:
    """One workout, from greeting to summary, as a pure function of its inputs.

    Parameters
    ----------
    program:
        The ``[program]`` table of the config (see :data:`voicecoach.config.SCHEMA`).
    samplerate:
        Output sample rate; every ``sample`` in and out is on this clock.
    floor:
        The floor kept from an earlier session (0..1 of the way down), or ``None``.
        Every lowering ends there except the floor test (the session's first).
    greeting:
        Lines to say first (e.g. from :func:`voicecoach.history.progression.plan_for_today`).
    durations:
        ``durations(text) -> seconds`` of the clip that will be played for ``text``;
        the session lays speech out so that no two phrases overlap unless meant to.
        Defaults to :func:`estimate_seconds`.
    start:
        Output sample at which the session's first cue may be placed.
    closing:
        ``closing(reps, status) -> lines`` said after the session's summary: a pure
        function of this session's reps (e.g. the advice of
        :func:`voicecoach.history.progression.after_session` over the history before it).
    teach:
        Say the first session's lesson (:data:`~voicecoach.coach.program.TEACHING`)
        before the first set. ``None`` (the default): with the warm-up, which only a
        first session has; ``True``: always (``run --intro``).
    """

    def __init__(
        self,
        program: dict[str, Any],
        samplerate: int,
        *,
        floor: float | None = None,
        greeting: Sequence[str] = (),
        durations: Callable[[str], float] | None = None,
        start: int = 0,
        closing: Callable[[list[Rep], str], Sequence[str]] | None = None,
        teach: bool | None = None,
    ):
        self.program = dict(program)
        self.teach = bool(program["warmup"]) if teach is None else bool(teach)
        self.samplerate = int(samplerate)
        self.floor: float | None = floor
        self.lift_s = float(program["lift_s"])
        self.descent_s = float(program["descent_s"])
        self.greeting = list(greeting)
        self._durations = durations or estimate_seconds
        self._closing = closing
        self._dur_cache: dict[str, int] = {}
        self.reps: list[Rep] = []
        """Every rep logged so far."""
        self.commands: list[Command] = []
        self._acknowledged: set[tuple[str, float, float]] = set()
        """Provisional marks whose earcon has sounded, waiting for their final Heard."""
        self.end_sample: int | None = None
        """Where the last cue of the workout ends, once the end is planned."""
        self.paused = False
        self.set_no = 0
        self._side = 0
        self._cues: list[_Cue] = []
        self._plans: list[_Plan] = []
        self._open_reps: list[_RepState] = []
        self._replay: list[Segment] = []
        self._cursor = start
        self._hold = start
        self._until = start
        self._now = start
        self._skip_set = False
        self._skip_warmup = False
        self._closed = False
        self._floor_test_due = True
        self._last_instruction: str | None = None
        self._pause_reply: _Cue | None = None
        self._stop_at: int | None = None
        """Where a "stop workout" not taken back ends the workout (``None``: no stop asked)."""
        self._plank: PlankHold | None = None
        """The plank hold laid out and not finished yet."""
        self.plank_held_s: float | None = None
        """Seconds the plank was held, once it is over (``None``: no plank)."""
        self._script: Iterator[Segment] = self._workout()

    # -- public -------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once the workout's last cue has been released and played out to ``end_sample``."""
        return self._closed or (self.end_sample is not None and self._now >= self.end_sample)

    def phrases(self) -> list[str]:
        """The texts this session speaks without numbers in them (render them before starting)."""
        return list(dict.fromkeys(self.greeting + P.phrases(self.program)))

    def numbered_phrases(self) -> list[str]:
        """Summaries and counts it may speak (render them in the background while it runs)."""
        return P.numbered_phrases(self.program)

    def handle(self, event: Event, now: int | None = None) -> list[Event]:
        """Event-style entry: ``Tick(until)`` advances, ``Heard`` and the device events
        need ``now``, ``Withdrawn`` forgets."""
        if isinstance(event, Tick):
            return self.advance(event.now)
        if isinstance(event, Heard):
            return self.hear(event, self._until if now is None else now)
        if isinstance(event, (DeviceLost, DeviceBack)):
            return self.device(event, self._until if now is None else now)
        if isinstance(event, Withdrawn):
            return self.withdraw(event)
        raise TypeError(f"a session cannot handle {event.type!r} events")

    def advance(self, until: int, now: int | None = None) -> list[Event]:
        """Plan up to ``until`` (exclusive) and release the cues that start before it.

        ``until`` is the output sample up to which cues must be known now: the
        runtime's clock plus its lookahead. ``now`` (optional) is the first
        sample not yet played; segments never start before it.
        """
        out: list[Event] = []
        if now is not None:
            self._now = max(self._now, now)
        self._until = max(self._until, until)
        self._finalize(self._until, out)
        if self._stop_at is not None and self._stop_at < self._until:
            self._end_stopped(self._stop_at)
        while not self.paused and not self._closed:
            start = max(self._cursor, self._hold, self._now)
            if start >= self._until:
                break
            seg = self._next_segment()
            if seg is None:
                break
            plan = seg.make(self, start, out)
            self._plans.append(plan)
            self._cursor = plan.end
            self._finalize(self._until, out)
        self._release(out)
        if now is None:
            # Without an explicit clock, the caller says everything before the horizon is played.
            self._now = max(self._now, self._until)
        self._prune()
        return out

    def hear(self, heard: Heard, now: int) -> list[Event]:
        """Act on a recognised command; ``now`` is the first output sample not yet played.

        A provisional one (``heard.final`` False) only sounds a mark's earcon,
        so that the person knows at once that it was heard: the mark is kept,
        and a control obeyed, when the final one comes.
        """
        out: list[Event] = []
        self._now = max(self._now, now)
        self._finalize(self._until, out)
        now = self._now
        if not heard.final:
            if self._is_mark(heard) and not self._closed and self.end_sample is None and self._would_mark(heard):
                self._earcon("mark", now)
                self._acknowledged.add(_key(heard))
                self._release(out)
            return out
        command = Command(heard.intent, heard.text, heard.start, heard.end, self.seconds_at(now))
        self._obey(command, now, out, mark=heard if self._is_mark(heard) else None)
        self._release(out)
        return out

    def device(self, event: DeviceLost | DeviceBack, now: int) -> list[Event]:
        """A device went away (pause) or came back (resume): obeyed as that control,
        logged as that command with ``(why)`` as its text; ``now`` as for :meth:`hear`."""
        out: list[Event] = []
        self._now = max(self._now, now)
        self._finalize(self._until, out)
        now = self._now
        intent = "pause" if isinstance(event, DeviceLost) else "resume"
        self._obey(Command(intent, f"({event.why})", event.t, event.t, self.seconds_at(now)), now, out)
        self._release(out)
        return out

    def _obey(self, command: Command, now: int, out: list[Event], mark: Heard | None = None) -> None:
        """Log ``command`` and act on it (``mark``: the words of a mark, kept on its rep)."""
        self.commands.append(command)
        out.append(command)
        if self._closed or (self.end_sample is not None and command.intent != "how_many"):
            out.append(Notice(self.seconds_at(now), f"workout over; ignored {command.intent!r}"))
        elif mark is not None:
            self._mark(mark, now, out, acknowledged=_key(mark) in self._acknowledged)
        elif command.intent in PLANK_ENDERS and self._plank is not None and self._phase() == "plank":
            self._end_plank(now, out, said=self.samples(command.end))
        else:
            handler = getattr(self, f"_on_{command.intent}", None)
            if handler is None:
                out.append(Notice(self.seconds_at(now), f"unknown command {command.intent!r}", "warning"))
            else:
                handler(now, out)

    def withdraw(self, withdrawn: Withdrawn) -> list[Event]:
        """The recognizer took back a provisional command: nothing was kept for it."""
        self._acknowledged.discard(_key(withdrawn))
        return []

    def close(self, now: int) -> list[Event]:
        """The input ended before the workout did: log what is open, status ``interrupted``."""
        out: list[Event] = []
        if self._closed or self.end_sample is not None:
            self._closed = True
            return out
        self._now = max(self._now, now)
        self._abort(now, out, replay=False)
        self._finalize(None, out, force=True)
        if self._plank is not None:
            self.plank_held_s = self._plank_held(self._plank, now)
            self._plank = None
        out.append(self.summary(now, "interrupted" if self._stop_at is None else "stopped"))
        self._closed = True
        return out

    def say(self, text: str, now: int) -> list[Event]:
        """Say ``text`` (e.g. a runtime notice) as soon as it fits between the program's cues."""
        out: list[Event] = []
        self._now = max(self._now, now)
        if not self._closed:
            self._reply(text, self._now)
        self._release(out)
        return out

    def status(self, now: int) -> Status:
        """Where the workout is at output sample ``now``: a pure query, it changes nothing."""
        sets, reps = int(self.program["sets"]), int(self.program["reps"])
        base = dict(set=self.set_no, sets=sets, reps=reps, floor=self.floor)
        if self.paused:
            return Status("paused" if self._stop_at is None else "stopping", **base)
        plan = next((p for p in self._plans if p.start <= now < p.end), None)
        if plan is None:
            return Status("end" if self.end_sample is not None or self._closed else self._phase(), **base)
        seg, rep = plan.segment, plan.rep
        if isinstance(seg, PlankHold):
            return Status(seg.phase, left_s=round(seg.left_s(now, self.samplerate), 1), **base)
        if seg.timed:
            return Status(seg.phase, left_s=round(max(0.0, (plan.end - now) / self.samplerate), 1), **base)
        if rep is None:
            return Status(seg.phase, **base)
        beat = beats = 0
        if now < rep.lift_end:
            stage = "lift"
        elif now < rep.lower_start:
            stage = "top"
        elif now < rep.lower_end:
            stage = "lowering"
            # Counted over the full descent; a lowering that stops at the floor ends early.
            full = rep.full_end - rep.lower_start
            beats = P.beats(full / self.samplerate)
            beat = min(beats, 1 + (now - rep.lower_start) * beats // full)
        else:
            stage = "bottom"
        return Status(seg.phase, rep=rep.rep, stage=stage, beat=beat, beats=beats, **base)

    def rep_for(self, start_s: float) -> tuple[int, int] | None:
        """``(set, rep)`` of the open rep a mark said at ``start_s`` seconds lands on, if any."""
        rep = self._rep_at(self.samples(start_s))
        return None if rep is None else (rep.set, rep.rep)

    def counted(self, set_no: int | None = None) -> int:
        """Reps counted so far (in ``set_no``, or in all sets), counting a finished rep
        still open for marks as counted unless marked."""
        done = sum(r.counted for r in self.reps if set_no is None or r.set == set_no)
        open_ = sum(
            1
            for r in self._open_reps
            if not r.practice and r.end <= self._now and not r.failed and (set_no is None or r.set == set_no)
        )
        return done + open_

    # -- the script -----------------------------------------------------------------

    def _workout(self) -> Iterator[Segment]:
        cfg = self.program
        variation = P.VARIATION_TABLE[cfg["variation"]]
        yield Say([*self.greeting, P.intro(cfg["variation"], cfg["sets"], cfg["reps"]), P.HELP_HINT], "intro")
        if self.teach and not self._skip_warmup:  # "next set" skips the lesson with the warm-up
            yield Say([(line, 0.3) for line in P.TEACHING], "intro")
        if cfg["warmup"]:
            warm: list[Segment] = [Say(P.WARMUP_INTRO, "warmup")]
            warm += [CatCow(i) for i in range(1, P.CAT_COWS + 1)]
            warm.append(Say(variation.setup, "warmup"))
            warm.append(Say([(P.TENSION_CHECK[0], 1.5), (P.TENSION_CHECK[1], 3.0), P.TENSION_CHECK[2]], "warmup"))
            warm.append(Say([P.WARMUP_FIRST_REP], "warmup"))
            warm += [RepSeg(0, i + 1, lift) for i, lift in enumerate(P.WARMUP_LIFTS)]
            warm.append(Say([P.WARMUP_DONE], "warmup", after_s=1.0))
            for seg in warm:
                if self._skip_warmup:
                    break
                yield seg
            if self._skip_warmup:
                yield Say(variation.setup)
        else:
            yield Say(variation.setup)
        for set_no in range(1, cfg["sets"] + 1):
            self.set_no = set_no
            self._skip_set = False
            self._side = 0
            yield Say([P.set_start(set_no, cfg["sets"])], after_s=0.6)
            for rep_no in range(1, cfg["reps"] + 1):
                if self._skip_set:
                    break
                yield RepSeg(set_no, rep_no)
            yield Wait(GRACE_S)
            yield SetEnd(set_no)
            if set_no < cfg["sets"]:
                yield Rest(cfg["rest_s"])
        if cfg.get("plank_s"):
            yield PlankHold(cfg["plank_s"])
        yield End("completed")

    def _next_segment(self) -> Segment | None:
        if self._replay:
            return self._replay.pop(0)
        return next(self._script, None)

    # -- the layout interface: what segments use (see Layout) ---------------------------

    def tick(self, sample: int) -> None:
        """Plan a tick at ``sample``."""
        self._add(sample, "tick", P.TICK)

    def take_floor_test(self) -> bool:
        """True once per due floor test: the rep being laid out is the test."""
        due, self._floor_test_due = self._floor_test_due, False
        return due

    def next_side(self) -> int:
        """The side of this set's next rep (0, 1, 2, ...; the program alternates on it)."""
        side, self._side = self._side, self._side + 1
        return side

    def open_rep(self, rep: _RepState) -> None:
        """A rep laid out: open for marks until it is logged."""
        self._open_reps.append(rep)

    def log_ended_reps(self, out: list[Event]) -> None:
        """Log every open rep that has ended, whatever its grace time."""
        self._finalize(None, out, force=True)

    def plank_laid_out(self, plank: "PlankHold") -> None:
        self._plank = plank

    def plank_held_in_full(self) -> None:
        """The plank laid out and not cut short was held all the way."""
        if self._plank is not None:
            self.plank_held_s, self._plank = self._plank.seconds, None

    def closing_lines(self, status: str) -> list[str]:
        """What ``closing`` says after the summary (weighing today's plank, if held)."""
        if self._closing is None:
            return []
        if self.plank_held_s is not None:
            plank = (self.plank_held_s, float(self.program["plank_s"]))
            return list(self._closing(list(self.reps), status, plank=plank))
        return list(self._closing(list(self.reps), status))

    # -- layout helpers ------------------------------------------------------------------

    def samples(self, seconds: float) -> int:
        """``seconds`` on the output clock, in samples."""
        return int(round(seconds * self.samplerate))

    def seconds_at(self, sample: int) -> float:
        return round(sample / self.samplerate, 6)

    def _dur(self, text: str) -> int:
        if text not in self._dur_cache:
            self._dur_cache[text] = self.samples(max(0.0, float(self._durations(text))))
        return self._dur_cache[text]

    def _add(self, sample: int, kind: str, text: str, instruction: bool = False) -> _Cue:
        end = sample + (self._dur(text) if kind == "speech" else 0)
        cue = _Cue(sample, kind, text, end, instruction)
        self._cues.append(cue)
        return cue

    def speak(self, sample: int, text: str) -> int:
        """Plan ``text`` at ``sample`` as part of the program; returns where it ends."""
        return self._add(sample, "speech", text, instruction=True).end

    def count(self, lower_start: int, lower_end: int, descent: float) -> None:
        """Counts on their beats from ``lower_start``; none at or after ``lower_end``.

        The long count is said only if it ends before the next beat (or the end
        of the lowering); else the short one, else only the tick.
        """
        cfg = self.program
        k_total = P.beats(descent)
        beat = descent / k_total
        for k in range(k_total):
            at = lower_start + self.samples(k * beat)
            if at >= lower_end:
                break
            limit = min(lower_start + self.samples((k + 1) * beat), lower_end) - self.samples(0.05)
            if cfg["ticks"]:
                self._add(at, "tick", P.TICK)
            if cfg["count_words"]:
                for text in (P.count_long(k + 1), P.count_short(k + 1)):
                    if at + self._dur(text) <= limit:
                        self._add(at, "speech", text)
                        break

    def _gap(self, earliest: int, length: int) -> int:
        """Earliest sample >= ``earliest`` where ``length`` samples of speech overlap no planned speech."""
        pad = self.samples(PAD_S)
        t = earliest
        spans = sorted((c.sample, c.end) for c in self._cues if c.kind == "speech" and c.end + pad > earliest)
        for a, b in spans:
            if t + length + pad <= a:
                break
            t = max(t, b + pad)
        return t

    def _reply(self, text: str, now: int) -> int:
        """Say ``text`` as soon as it fits; the next segment waits for it. Returns its end."""
        return self._reply_cue(text, now).end

    def _reply_cue(self, text: str, now: int) -> _Cue:
        at = self._gap(now, self._dur(text))
        cue = self._add(at, "speech", text)
        self._hold = max(self._hold, cue.end + self.samples(PAD_S))
        if self.end_sample is not None:
            self.end_sample = max(self.end_sample, cue.end + self.samples(PAD_S))
        return cue

    def _withdraw(self, cue: _Cue, out: list[Event]) -> None:
        """While paused, take back one planned cue that has not started, and the hold it put on
        the next segment.

        A released cue needs a :class:`Cancel`, which withdraws every released cue
        from its sample on: the others are released again (by the caller's
        :meth:`_release`), so only ``cue`` is lost.
        """
        self._cues.remove(cue)
        if cue.released:
            out.append(Cancel(self.seconds_at(cue.sample), cue.sample))
            for c in self._cues:
                if c.released and c.sample >= cue.sample:
                    c.released = False
        # Called while paused: the pause's _abort set the hold to the cursor and only replies
        # raised it since, so it is the end of the last reply left, or the cursor.
        pad = self.samples(PAD_S)
        self._hold = max([self._cursor] + [c.end + pad for c in self._cues if c.kind == "speech"])

    def _earcon(self, name: str, now: int) -> None:
        self._add(now, "earcon", name)

    def _release(self, out: list[Event]) -> None:
        horizon = max(self._until, self._now + 1)
        fresh = sorted((c for c in self._cues if not c.released and c.sample < horizon), key=lambda c: c.sample)
        for c in fresh:
            c.released = True
            out.append(Cue(self.seconds_at(c.sample), c.sample, c.kind, c.text))
            if c.instruction:
                self._last_instruction = c.text

    def _prune(self) -> None:
        keep_after = self._now - self.samples(10.0)
        self._cues = [c for c in self._cues if not c.released or c.end > keep_after]
        self._plans = [p for p in self._plans if p.end > self._now]

    # -- reps ---------------------------------------------------------------------------

    def _finalize(self, until: int | None, out: list[Event], force: bool = False) -> None:
        still = []
        for r in self._open_reps:
            due = r.end + self.samples(GRACE_S)
            # Logged GRACE_S after its end has been planned, and never before it
            # has played: a lookahead longer than GRACE_S would otherwise log a
            # rep that a pause in its last moments redoes (and logs again).
            if force and r.end <= max(self._now, self._until) or (until is not None and until >= due and self._now >= r.end):
                if not r.practice:
                    rep = Rep(
                        t=self.seconds_at(r.end),
                        set=r.set,
                        rep=r.rep,
                        counted=not r.failed,
                        marks=tuple(r.marks),
                        lift_s=r.lift_s,
                        descent_s=r.descent_s,
                        stop_point=r.stop_point,
                    )
                    self.reps.append(rep)
                    out.append(rep)
            else:
                still.append(r)
        self._open_reps = still

    def _rep_at(self, sample: int) -> _RepState | None:
        window = self.samples(MARK_WINDOW_S)
        for r in self._open_reps:  # oldest first: the window after a rep wins over the next rep's start
            if r.start <= sample < r.end + window:
                return r
        return None

    @staticmethod
    def _is_mark(heard: Heard) -> bool:
        # A mark added to the grammar by the user is kept on the rep like "good rep".
        return heard.intent in MARKS or heard.kind == "mark"

    def _would_mark(self, heard: Heard) -> bool:
        """True when :meth:`_mark` would keep this mark (and sound the mark earcon)."""
        at = self.samples(heard.start)
        rep = self._rep_at(at)
        return rep is not None and not (heard.intent == "stop_point" and at < rep.lower_start)

    def _mark(self, heard: Heard, now: int, out: list[Event], acknowledged: bool = False) -> None:
        """Keep a mark on the rep it was said in; ``acknowledged``: its earcon has sounded."""
        self._acknowledged.discard(_key(heard))
        at = self.samples(heard.start)
        rep = self._rep_at(at)
        if rep is None:
            self._earcon("error", now)
            out.append(Notice(self.seconds_at(now), f"{heard.intent} at {heard.start:.2f}s is not during an open rep"))
            if not self.paused:
                self._reply(P.NO_REP, now)
            return
        if heard.intent == "stop_point":
            if at < rep.lower_start:
                self._earcon("error", now)
                self._reply(P.NO_LOWERING, now)
                return
            self.floor = rep.stop_point = self._depth(rep, at)
            if "stop_point" not in rep.marks:
                rep.marks.append("stop_point")
            if not acknowledged:
                self._earcon("mark", now)
            return
        if not acknowledged:
            self._earcon("mark", now)
        if heard.intent in rep.marks:
            return  # said again (perhaps unsure it was heard): the earcon is the answer
        rep.marks.append(heard.intent)
        in_test = rep.floor_test and at >= rep.lower_start and "stop_point" not in rep.marks
        if heard.intent == "back_arched" and in_test:
            # The back lifted at or above this depth: a floor below it is too deep.
            # (A stop point said in the same lowering is the better measure and wins.)
            depth = self._depth(rep, at)
            if depth < (1.0 if self.floor is None else self.floor):
                self.floor = rep.stop_point = depth
        if heard.intent == "back_arched" and not rep.practice:
            if "doming" not in rep.marks:
                self._reply(P.NOT_COUNTED, now)
        elif heard.intent == "doming":
            if not rep.practice and "back_arched" not in rep.marks[:-1]:
                self._reply(P.NOT_COUNTED, now)
            self._reply(P.DOMING, now)

    def _depth(self, rep: _RepState, at: int) -> float:
        """How far through ``rep``'s full lowering sample ``at`` is (0..1), as a floor.

        Past the end of the counted lowering is the end: a mark said at the
        bottom of a lowering that stopped at the floor is the floor.
        """
        span = rep.full_end - rep.lower_start
        reached = (min(at, rep.lower_end) - rep.lower_start) / span
        return round(min(1.0, max(FLOOR_MIN, reached)), 3)

    # -- controls -----------------------------------------------------------------------

    def _abort(self, now: int, out: list[Event], replay: bool = True, drop: Callable[[Segment], bool] | None = None) -> None:
        """Withdraw every cue from ``now`` on and unplan what has not finished.

        Interrupted segments are queued again (a rep from its top, a rest with what
        is left) unless ``drop`` says to leave them out.
        """
        if any(c.released and c.sample >= now for c in self._cues):
            out.append(Cancel(self.seconds_at(now), now))
        self._cues = [c for c in self._cues if c.sample < now]
        queued = []
        for plan in self._plans:
            if plan.end <= now:
                continue
            if plan.rep is not None and plan.rep in self._open_reps:
                self._open_reps.remove(plan.rep)
                if not plan.rep.practice:
                    self._side = max(0, self._side - 1)
                if plan.rep.floor_test:
                    self._floor_test_due = True  # the rep is redone (or the next set's first is the test)
            if not replay or (drop is not None and drop(plan.segment)):
                continue
            seg = plan.segment.resumed(self, plan, now) if plan.start <= now else plan.segment
            if seg is not None:
                queued.append(seg)
        self._plans = []
        if not replay:
            self._replay = []
        elif drop is not None:
            self._replay = [seg for seg in self._replay if not drop(seg)]
        self._replay = queued + self._replay
        playing = max((c.end for c in self._cues if c.kind == "speech"), default=now)
        self._cursor = max(now, playing + self.samples(PAD_S))
        self._hold = self._cursor

    def _phase(self) -> str:
        for plan in self._plans:
            if plan.end > self._now:
                return plan.segment.phase
        return self._replay[0].phase if self._replay else "set"

    def _plank_held(self, plank: "PlankHold", now: int) -> float:
        return round(min(plank.seconds, max(0.0, (now - plank.hold_start) / self.samplerate)), 1)

    def _end_plank(self, now: int, out: list[Event], said: int) -> None:
        """A control during the plank ends it, held until ``said`` (the end of its words:
        not the recognizer's wait after them); the workout then ends completed."""
        plank, self._plank = self._plank, None
        self.plank_held_s = self._plank_held(plank, min(now, said))
        self._abort(now, out, drop=lambda seg: isinstance(seg, PlankHold))
        self._earcon("ack", now)
        self.paused = False
        self._reply(P.plank_held(self.plank_held_s), now)

    def _on_pause(self, now, out):
        if self.paused:
            out.append(Notice(self.seconds_at(now), "already paused"))
            return
        self._abort(now, out)
        self._earcon("ack", now)
        self.paused = True
        self._pause_reply = self._reply_cue(P.PAUSED, now)

    def _on_resume(self, now, out):
        if not self.paused:
            out.append(Notice(self.seconds_at(now), "not paused"))
            return
        # "Paused ..." waits for the word that was sounding when the pause came; a quick
        # resume can come before it starts, and then it would follow the resume's earcon.
        # Not started: it is dropped. Started: it is not cut, and "Resuming" follows it.
        pause_reply, self._pause_reply = self._pause_reply, None
        if pause_reply is not None and pause_reply.sample >= now and pause_reply in self._cues:
            self._withdraw(pause_reply, out)
        self._earcon("ack", now)
        self.paused = False
        self._stop_at = None
        self._reply(P.RESUMING, now)
        if self._replay and isinstance(self._replay[0], RepSeg) and self._replay[0].phase == "set":
            self._reply(P.FROM_THE_TOP, now)

    _on_start_workout = _on_resume

    def _on_next_set(self, now, out):
        # No "end" case: once the end is planned, _obey answers "workout over".
        phase = self._phase()
        if phase in ("intro", "warmup"):
            self._skip_warmup = True
            self._abort(now, out, drop=lambda seg: seg.phase in ("intro", "warmup"))
            text = P.SKIP_WARMUP if self.program["warmup"] else P.NEXT_SET
        elif phase == "rest":
            self._abort(now, out, drop=lambda seg: isinstance(seg, Rest))
            text = P.NEXT_SET
        else:
            self._skip_set = True
            self._abort(now, out, drop=lambda seg: isinstance(seg, RepSeg))
            text = P.NEXT_SET
        self._earcon("ack", now)
        self._reply(text, now)
        self.paused = False
        self._stop_at = None

    def _on_stop_workout(self, now, out):
        """Pause at once and say so; the workout ends :data:`STOP_WINDOW_S` after that
        reply unless "resume" or "next set" takes it back, or at once if said again.

        A false "stop workout" (a misheard "start workout", words that were not a
        command) would otherwise end the workout with no way back.
        """
        if self._stop_at is not None:
            self._abort(now, out, replay=False)
            self._earcon("ack", now)
            self._end_stopped(now)
            return
        if not self.paused:
            self._abort(now, out)
        self._earcon("ack", now)
        self.paused = True
        self._pause_reply = self._reply_cue(P.STOPPING, now)
        self._stop_at = self._pause_reply.end + self.samples(STOP_WINDOW_S)

    def _end_stopped(self, at: int) -> None:
        """End the workout as stopped, its summary from sample ``at`` on."""
        self._stop_at = None
        self._pause_reply = None
        self.paused = False
        self._replay = []
        self._hold = max(self._hold, at)
        self._script = iter([End("stopped")])

    def _on_end_hold(self, now, out):
        # Outside the plank hold a lone "stop" or "done" is left alone, with no sound:
        # "stop workout" is the command that stops, and a false one must cost nothing.
        out.append(Notice(self.seconds_at(now), "'stop' and 'done' end only the plank hold; ignored"))

    def _on_how_many(self, now, out):
        self._earcon("ack", now)
        end = self._reply(P.how_many_set(self.counted(self.set_no)), now)
        self._reply(P.how_many_total(self.counted()), end)

    def _on_slower(self, now, out):
        self._tempo(now, +1)

    def _on_faster(self, now, out):
        self._tempo(now, -1)

    def _tempo(self, now: int, sign: int) -> None:
        descent = 4.0 if sign > 0 else 3.0
        lift = min(4.0, max(1.0, self.lift_s + 0.5 * sign))
        if descent == self.descent_s and lift == self.lift_s:
            self._earcon("error", now)
            self._reply(P.SLOWEST if sign > 0 else P.FASTEST, now)
            return
        self._earcon("ack", now)
        self.descent_s, self.lift_s = descent, lift
        self._reply(P.SLOWER if sign > 0 else P.FASTER, now)

    def _on_repeat(self, now, out):
        self._earcon("ack", now)
        self._reply(self._last_instruction or P.NOTHING_TO_REPEAT, now)

    def _on_help(self, now, out):
        self._earcon("ack", now)
        self._reply(P.HELP, now)

    def summary(self, at: int, status: str) -> SessionSummary:
        """The workout's summary as it stands at sample ``at``, with ``status``."""
        return SessionSummary(
            t=self.seconds_at(at),
            sets=len({r.set for r in self.reps}),
            counted=sum(r.counted for r in self.reps),
            attempted=len(self.reps),
            status=status,
            floor=self.floor,
            plank_s=self.plank_held_s,
            plank_target_s=float(self.program["plank_s"]) if self.program.get("plank_s") else None,
        )
