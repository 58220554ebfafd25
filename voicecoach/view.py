"""What a person at the terminal (or reading the journal) sees of a session.

An observer of the runtime's events, never part of the audio path: the
runtime calls :meth:`View.event` for each logged event, :meth:`View.heard`
for each command heard (with the events the session answered it with), and
:meth:`View.turn` with a :class:`~voicecoach.coach.session.Status` once per
loop turn. Each call only stores a value or writes a line; the terminal view
is drawn by rich's own refresh thread, four times a second.

- :class:`LinesView` writes one plain line per event (stdout not a terminal:
  the journal of ``serve``, a pipe).
- :class:`LiveView` keeps a panel at the bottom of the terminal (the phase,
  the last cue, counted so far, the floor, the last commands heard) and
  prints the same lines above it as a scrolling record.
- :func:`make_view` picks one, or none for ``--quiet``.
"""

from __future__ import annotations

import sys
from typing import Callable, TextIO

from voicecoach.coach.session import Status
from voicecoach.events import (
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
    Withdrawn,
)

REFRESH_PER_SECOND = 4
"""How often rich redraws the panel (its own thread; the loop only stores values)."""
RECENT = 4
"""Commands heard kept on the panel."""
PANEL_WIDTH = 78

# What a control did, when the session gave no spoken reply to quote.
_DONE = {
    "pause": "paused", "resume": "resumed", "start_workout": "resumed", "next_set": "moved on",
    "stop_workout": "workout stopped", "repeat": "said it again", "help": "said the commands",
}


def clock(t: float) -> str:
    """Seconds as ``m:ss``."""
    t = max(0, int(t))
    return f"{t // 60}:{t % 60:02d}"


def words(intent: str) -> str:
    return intent.replace("_", " ")


def phase_text(st: Status) -> str:
    """"set 2 of 3 · rep 4 · lowering 2 of 3", "rest 0:42", "warm-up"."""
    if st.phase in ("rest", "plank"):
        name = "rest" if st.phase == "rest" else "plank hold"
        return f"{name} {clock(st.left_s or 0)}" if st.left_s is not None else name
    if st.phase in ("intro", "end", "paused", "stopping"):
        return {"intro": "getting ready", "end": "finishing", "paused": "paused", "stopping": "stopping"}[st.phase]
    parts = ["warm-up"] if st.phase == "warmup" else [f"set {st.set} of {st.sets}"] if st.set else ["getting ready"]
    if st.rep is not None:
        parts.append(f"practice rep {st.rep}" if st.phase == "warmup" else f"rep {st.rep}")
        if st.stage == "lowering":
            parts.append(f"lowering {st.beat} of {st.beats}")
        elif st.stage:
            parts.append(st.stage)
    return " · ".join(parts)


def outcome(heard: Heard, answer: list[Event], rep: tuple[int, int] | None, floor: float | None) -> str:
    """What the coach did about ``heard``, from the events it answered with."""
    notes = [e.text for e in answer if isinstance(e, Notice)]
    said = [e.text for e in answer if isinstance(e, Cue) and e.kind == "speech"]
    refused = any(isinstance(e, Cue) and e.kind == "earcon" and e.text == "error" for e in answer)
    if notes:
        return notes[0]
    if refused:
        return "not taken: " + (said[0] if said else "no rep open")
    if heard.kind == "mark" or heard.intent in ("back_arched", "doming", "stop_point", "good_rep"):
        where = f"set {rep[0]} rep {rep[1]}" if rep and rep[0] else f"practice rep {rep[1]}" if rep else "rep"
        if heard.intent in ("back_arched", "doming"):
            return f"{where} not counted"
        if heard.intent == "stop_point":
            return f"floor {floor:.0%} ({where})" if floor is not None else f"floor marked ({where})"
        return f"{where} marked {words(heard.intent)}"
    if heard.intent in _DONE and heard.intent not in ("how_many", "slower", "faster"):
        return _DONE[heard.intent]
    return " ".join(said) if said else words(heard.intent)


class View:
    """The common state: fed by the runtime on its loop thread, read by the drawing."""

    def __init__(self) -> None:
        self.status: Status | None = None
        self.last_cue = ""
        self.counted = self.attempted = 0
        self.recent: list[str] = []
        """The last commands heard, newest last (replaced, never changed in place)."""
        self._shown_phase: tuple | None = None
        self._floor: float | None = None
        self._rendering = False
        self.getting_ready = ""
        """What happens before the session's first turn (the voice being rendered), if it takes a while."""

    # -- fed by the runtime ------------------------------------------------------------

    def event(self, e: Event) -> None:
        if isinstance(e, Cue):
            if e.kind == "speech":
                self.last_cue = e.text
                self.cue(e)
        elif isinstance(e, Rep):
            self.counted += e.counted
            self.attempted += 1
            marks = f" ({', '.join(words(m) for m in e.marks)})" if e.marks else ""
            self.line(e.t, f"set {e.set} rep {e.rep}: {'counted' if e.counted else 'not counted'}{marks}"
                           f" · {self.counted} of {self.attempted} so far")
        elif isinstance(e, SetSummary):
            self.line(e.t, f"set {e.set}: {e.counted} of {e.attempted} counted")
        elif isinstance(e, SessionSummary):
            floor = f", floor {e.floor:.0%}" if e.floor is not None else ""
            plank = f", plank held {e.plank_s:g} s" if e.plank_s is not None else ""
            self.line(e.t, f"{e.status}: {e.counted} of {e.attempted} counted{floor}{plank}")
        elif isinstance(e, Notice) and e.level == "info":  # warnings and errors go to stderr
            self.line(e.t, f"note: {e.text}")

    def heard(self, heard: Heard | Withdrawn, answer: list[Event], rep: tuple[int, int] | None,
              floor: float | None) -> None:
        """``answer``: the session's events for it; ``rep``: the (set, rep) a mark lands on;
        ``floor``: the floor after it."""
        if isinstance(heard, Withdrawn):
            text = f'"{heard.text}" taken back: talk, not {words(heard.intent)}'
            self._recent(text)
            self.line(heard.emitted, text)
            return
        if not heard.final:
            return  # the final one (or a withdrawal) follows within a second
        done = outcome(heard, answer, rep, floor)
        t = next((e.t for e in answer if isinstance(e, Command)), heard.emitted)
        self._recent(f'"{heard.text}" {heard.confidence:.2f} → {done}')
        self.line(t, f'command {heard.intent}: "{heard.text}" (confidence {heard.confidence:.2f}) → {done}')

    def device(self, event: DeviceLost | DeviceBack, answer: list[Event]) -> None:
        """A device lost or back (``event.why`` says which), and what the session did."""
        notes = [e.text for e in answer if isinstance(e, Notice)]
        done = notes[0] if notes else "paused" if isinstance(event, DeviceLost) else "resumed"
        self._recent(f"{event.why} → {done}")
        self.line(event.t, f"{event.why} → {done}")

    def preparing(self, done: int, total: int, rendered: int) -> None:
        """The session's phrases being made ready; ``rendered``: real syntheses so far
        (the first session renders them all, later ones read them from the disk cache)."""
        if rendered and not self._rendering:
            self._rendering = True
            # Said at the first real synthesis, before it is known how many are new.
            self.line(0.0, f"rendering the coach's voice for the phrases not heard before, of {total} "
                           "in this session (once: later sessions reuse them)")
        if self._rendering:
            self.getting_ready = f"rendering the coach's voice: {done} of {total} phrases"
        if done == total:
            self.getting_ready = ""
            if self._rendering:
                self.line(0.0, f"voice ready: {rendered} of {total} phrases newly rendered")

    def turn(self, status: Status, t: float) -> None:
        self.status = status
        key = (status.phase, status.set, status.rep)
        if key != self._shown_phase and status.stage in (None, "lift"):
            self._shown_phase = key
            self.phase(t, status)
        if status.floor != self._floor:
            if status.floor is not None:
                self.line(t, f"floor: {status.floor:.0%} of the way down")
            self._floor = status.floor

    def _recent(self, text: str) -> None:
        self.recent = (self.recent + [text])[-RECENT:]

    # -- what each kind of view does with it ---------------------------------------------

    def line(self, t: float, text: str) -> None:
        raise NotImplementedError

    def cue(self, e: Cue) -> None:
        pass

    def phase(self, t: float, status: Status) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class LinesView(View):
    """One plain line per event, ``[m:ss] text`` (the journal, a pipe)."""

    def __init__(self, write: Callable[[str], None] | None = None):
        super().__init__()
        self._write = write or (lambda s: print(s, flush=True))

    def line(self, t: float, text: str) -> None:
        self._write(f"[{clock(t)}] {text}")

    def cue(self, e: Cue) -> None:
        self.line(e.t, f"says: {e.text}")

    def phase(self, t: float, status: Status) -> None:
        if status.phase not in ("paused", "stopping"):
            self.line(t, f"now: {phase_text(status)}")


class LiveView(View):
    """A panel kept at the bottom of the terminal, with the record scrolling above it."""

    def __init__(self, file: TextIO | None = None):
        from rich.console import Console

        super().__init__()
        self.console = Console(file=file or sys.stdout)
        self._live = None

    def start(self) -> None:
        from rich.live import Live

        # auto_refresh: rich's thread draws; the runtime's loop never waits for the terminal.
        self._live = Live(self, console=self.console, refresh_per_second=REFRESH_PER_SECOND,
                          redirect_stdout=False, redirect_stderr=True)
        self._live.start()

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def line(self, t: float, text: str) -> None:
        self.console.print(f"[dim]{clock(t)}[/dim] {_escape(text)}", highlight=False)

    def __rich__(self):
        from rich.panel import Panel
        from rich.table import Table

        st = self.status
        # A fixed size: a panel that grew and shrank with the text left its old
        # top lines behind on a 100-column tmux screen.
        width = max(40, min(self.console.width - 2, PANEL_WIDTH))
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True, width=7)
        grid.add_column(no_wrap=True, overflow="ellipsis", width=width - 13)
        grid.add_row("now", phase_text(st) if st else self.getting_ready or "starting")
        grid.add_row("said", _escape(f'"{self.last_cue}"') if self.last_cue else "")
        grid.add_row("counted", f"{self.counted} of {self.attempted} so far")
        floor = st.floor if st else None
        grid.add_row("floor", f"{floor:.0%} of the way down" if floor is not None else "not set yet")
        heard = (self.recent or ["nothing yet"]) + [""] * RECENT
        grid.add_row("heard", _escape(heard[0]))
        for line in heard[1:RECENT]:
            grid.add_row("", _escape(line))
        return Panel(grid, title="voicecoach", title_align="left", width=width)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def make_view(quiet: bool, stream: TextIO | None = None,
              write: Callable[[str], None] | None = None) -> View | None:
    """``None`` with ``quiet``; the live panel on a terminal; else plain lines (to ``write``)."""
    if quiet:
        return None
    stream = stream or sys.stdout
    if stream.isatty():
        return LiveView(stream)
    return LinesView(write)
