"""One runtime for the coach, live and simulated: the only place where the pure
session meets audio, speech recognition and the history.

:class:`Runtime` loops over microphone blocks. Each turn it asks the session
to plan a little ahead of the output clock (``lookahead_s``), submits the
released cues to the :class:`~voicecoach.audio.scheduler.Scheduler` at their
exact samples, feeds the block to the recognizer and hands what was heard
back to the session. The same loop runs over :class:`~voicecoach.audio.streams.LiveIO`
(real devices) and :class:`~voicecoach.audio.streams.SimulatedIO` (WAV files,
faster than real time); only the lookahead and the safety margin differ.

Times: ``MicBlock.start`` and therefore ``Heard.start/end`` are seconds on the
output clock (the stream classes join the two clocks), so the session can
place a mark on the rep during which it was said.

Failures while coaching never stop the workout:

- the recognizer raises: the coach goes on cue-only and says so (a :class:`Notice`
  and a spoken line);
- a device is lost (the IO reports :class:`~voicecoach.events.DeviceLost`): the
  session pauses, and the recognizer is fed nothing while the IO is not
  ``listening``; when the device is back (:class:`~voicecoach.events.DeviceBack`)
  the recognizer is reset (its timeline and echo path are stale) and the
  session resumes;
- the history cannot be written (:class:`~voicecoach.history.store.StoreError`): the
  coach says once that history is not being saved, and goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Callable

from voicecoach import stopping
from voicecoach.coach import program as P
from voicecoach.coach.session import Session
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
    Withdrawn,
)
from voicecoach.history.planning import closing_advice, plan_today
from voicecoach.speech.voice import Voice


@dataclass
class Timing:
    """How far the runtime plans ahead of the output clock, per kind of IO."""

    lookahead_s: float
    """Cues are released this long before they play (must exceed one loop turn)."""
    margin_s: float
    """A reply to a command is placed no earlier than this after the clock (live: the block in flight)."""


SIMULATED = Timing(lookahead_s=0.08, margin_s=0.0)
LIVE = Timing(lookahead_s=0.35, margin_s=0.06)


@dataclass
class Result:
    summary: SessionSummary | None
    events: int = 0
    notices: list[Notice] = field(default_factory=list)
    late_cues: int = 0
    """Cues that started later than planned (the scheduler saw them too late)."""


class Runtime:
    """Run one workout over ``io`` (live or simulated).

    Parameters
    ----------
    config:
        The validated config (:func:`voicecoach.config.load`).
    io:
        :class:`~voicecoach.audio.streams.LiveIO` or :class:`~voicecoach.audio.streams.SimulatedIO`.
    recognizer:
        A :class:`~voicecoach.speech.recognizer.CommandRecognizer`, or ``None`` to coach cue-only.
    store:
        A :class:`~voicecoach.history.store.Store`, or ``None`` to keep no history.
    events:
        A text file to write one JSON event per line to (``simulate --events``), or ``None``.
    timing:
        :data:`SIMULATED` or :data:`LIVE`.
    on_event:
        Called with every event as it is logged (the live command prints notices).
    view:
        A :class:`voicecoach.view.View` (or ``None``): told every logged event,
        every command heard with the session's answer, and the session's
        :class:`~voicecoach.coach.session.Status` once per loop turn. It runs on
        this loop's thread and only stores values or writes a line.
    intro:
        Say the first session's lesson even if this is not the first session
        (``run --intro``); otherwise a first session says it, once, before its warm-up.
    started_at:
        When the session starts (aware, or naive local time): stored as its
        ``started_at`` and the "now" of the progression rules. ``None`` (the
        default) is the wall clock, read once when the session begins;
        ``simulate --started-at`` sets it to build histories weeks apart.
    """

    def __init__(
        self,
        config: dict,
        io,
        *,
        recognizer=None,
        store=None,
        events: IO[str] | None = None,
        timing: Timing = SIMULATED,
        on_event: Callable[[Event], None] | None = None,
        voice: Voice | None = None,
        simulated: bool = True,
        recognizer_error: str | None = None,
        store_error: str | None = None,
        started_at: datetime | None = None,
        view=None,
        intro: bool = False,
    ):
        from voicecoach.audio.scheduler import Scheduler

        self.config = config
        self.io = io
        self.recognizer = recognizer
        self.store = store
        self.events_file = events
        self.events_error: str | None = None
        """Set when the events file could not be written (it is then closed and the workout goes on)."""
        self.timing = timing
        self.on_event = on_event
        self.simulated = simulated
        self.samplerate = int(io.samplerate)
        self.scheduler = Scheduler(self.samplerate, volume=float(config["audio"]["volume"]))
        self.voice = voice or Voice(self.samplerate, config["speech"])
        self.session: Session | None = None
        self._history: list[dict] = []
        """The sessions before this one (for the greeting and the closing advice)."""
        self.session_id: int | None = None
        self.result = Result(None)
        self._store_failed = False
        self._told_store = False
        self.heard: list[tuple[Heard, int]] = []
        """Every command heard (provisional ones too), with the output sample at which the session had it."""
        self._lookahead = round(timing.lookahead_s * self.samplerate)
        self._margin = round(timing.margin_s * self.samplerate)
        self._recognizer_error = recognizer_error
        self._store_open_error = store_error
        self._summary: SessionSummary | None = None
        self._started_at = started_at
        self.view = view
        self.intro = intro
        self._phase_told: str | None = None

    # -- setup -----------------------------------------------------------------------

    def _plan(self, now: datetime) -> tuple[dict, float | None, list[str]]:
        from voicecoach.history.store import StoreError

        history: list[dict] = []
        floor = None
        if self.store is not None:
            try:
                history = self.store.sessions()
                floor = self.store.floor()
            except StoreError as err:
                self._store_error(err)
        self._history = history
        return plan_today(self.config, history, floor, now)

    def _begin(self) -> None:
        from voicecoach.history.store import StoreError

        # The one read of the wall clock: planning, storing and the closing advice
        # all use this moment, so a simulated session can be dated. In UTC, as the
        # store keeps it (a naive time is local; its record is compared with stored ones).
        started_at = (self._started_at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        program, floor, greeting = self._plan(started_at)
        start = self.scheduler.now + self._lookahead
        plan = program if program != self.config["program"] else None
        self.session = Session(program, self.samplerate, floor=floor, greeting=greeting,
                               durations=self.voice.seconds, start=start,
                               closing=closing_advice(self._history, self.config, program, plan, started_at),
                               teach=True if self.intro else None)
        # The program's phrases are rendered before the first cue; those with
        # numbers in them on a worker thread while it runs (a summary is said
        # minutes later; if it is not ready by then, planning waits for it).
        self.voice.prepare(self.session.phrases(), progress=self.view.preparing if self.view is not None else None)
        self.voice.prepare_async(self.session.numbered_phrases())
        if self.store is not None and not self._store_failed:
            try:
                self.session_id = self.store.begin_session(
                    started_at=started_at, config=self.config, plan=plan,
                )
            except StoreError as err:
                self._store_error(err)
        for line in self.store.notices if self.store is not None else []:
            self._log(Notice(start / self.samplerate, line, "warning"))
        if self._recognizer_error:
            self._cue_only(self._recognizer_error)
        if self._store_open_error:
            self._store_error(self._store_open_error)
        self._tell_store_failed()  # reading the history may have failed before the session existed

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> Result:
        """Coach until the workout ends (or, in simulation, the microphone file ends).

        Ctrl-C or SIGTERM (on the main thread) end the workout at the next turn of
        the loop, never between logging an event and saving it, so the events file
        and the history hold the same reps; the session is closed as
        ``interrupted`` and KeyboardInterrupt is raised to the caller.
        """
        with stopping.deferred():
            if stopping.requested():  # stopped while starting up: no session is begun
                raise KeyboardInterrupt
            return self._run()

    def _run(self) -> Result:
        self._begin()
        session = self.session
        io = self.io
        io.start(self.scheduler)
        try:
            while True:
                if stopping.requested():
                    raise KeyboardInterrupt
                now, margin = self.scheduler.now, self._margin_now()
                self._handle(session.advance(now + margin + self._lookahead, now + margin))
                self._log_started()
                if self.view is not None or self.recognizer is not None:
                    # As the session sees it: the block in flight (the margin) is played.
                    status = session.status(now + margin)
                    if self.view is not None:
                        self.view.turn(status, now / self.samplerate)
                    self._tell_phase(status.phase)
                if session.finished and (self.simulated or not self.scheduler.busy):
                    break
                block = io.read_mic(timeout=0.5)
                for event in io.device_events():
                    self._device(event)
                if block is None:
                    if self.simulated:
                        break
                    time.sleep(0.02)  # no microphone (cue-only): still turn at block pace
                    continue
                for heard in self._recognize(block):
                    self._hear(heard)
            if not session.finished:
                for heard in self._finish_recognizer():
                    self._hear(heard)
                self._handle(session.close(self.scheduler.now))
        except KeyboardInterrupt:
            self._handle(session.close(self.scheduler.now))
            self._stop()
            raise
        self._stop()
        return self.result

    def _stop(self) -> None:
        self.io.stop()
        self._log_started()
        self.voice.close()
        self.result.late_cues = self.scheduler.late
        if self._summary is not None:  # last in the log: after the cues that say it
            self._log(self._summary, deferred=True)
        if self.events_file is not None:
            try:
                self.events_file.flush()
            except OSError as err:
                self._events_failed(err)

    def _margin_now(self) -> int:
        """Samples from the clock before which nothing new may be placed or withdrawn.

        Live, the audio thread may render a whole block between our reading the
        clock and the scheduler seeing a command: a cue withdrawn inside that block
        could already have started and would be cut, so the margin covers it.
        """
        margin = self._margin
        block = self.io.block_in_flight
        if block:
            margin = max(margin, block + self._margin // 2)
        return margin

    def _ahead(self) -> int:
        return self.scheduler.now + self._margin_now()

    def _hear(self, heard: Heard | Withdrawn) -> None:
        if isinstance(heard, Withdrawn):
            answer = self.session.withdraw(heard)
        else:
            at = self.scheduler.now + self._margin_now()
            self.heard.append((heard, at))
            answer = self.session.hear(heard, at)
        self._handle(answer)
        if self.view is not None:
            self.view.heard(heard, answer, self.session.rep_for(heard.start), self.session.floor)

    def _device(self, event: DeviceLost | DeviceBack) -> None:
        if isinstance(event, DeviceBack) and self.recognizer is not None:
            try:
                self.recognizer.reset()  # its timeline and echo path are stale after a reopen
            except Exception as err:
                self._cue_only(err)
        answer = self.session.device(event, self._ahead())
        self._handle(answer)
        if self.view is not None:
            self.view.device(event, answer)

    def _recognize(self, block) -> list:
        if self.recognizer is None or not self.io.listening:
            return []
        try:
            return self.recognizer.feed(block.samples, block.start, block.far_end)
        except Exception as err:  # any failure of Vosk or the AEC: coach on without ears
            self._cue_only(err)
            return []

    def _tell_recognizer(self, text: str, start: float, end: float) -> None:
        """The recognizer hears the coach's sentences too: it is told what they say."""
        if self.recognizer is None:
            return
        try:
            self.recognizer.coach_says(text, start, end)
        except Exception as err:
            self._cue_only(err)

    def _tell_phase(self, phase: str) -> None:
        """The recognizer listens for a phase's own phrases ("done" in the plank) only in it."""
        if self.recognizer is None or phase == self._phase_told:
            return
        self._phase_told = phase
        try:
            self.recognizer.listen_during(phase)
        except Exception as err:
            self._cue_only(err)

    def _finish_recognizer(self) -> list:
        if self.recognizer is None or not self.io.listening:
            return []
        try:
            return self.recognizer.finish()
        except Exception as err:
            self._cue_only(err)
            return []

    def _cue_only(self, err: BaseException | str) -> None:
        self.recognizer = None
        now = self._ahead()
        self._log(Notice(now / self.samplerate, f"speech recognition failed ({err}); coaching cue-only", "error"))
        self._handle(self.session.say(P.CUE_ONLY, now))

    # -- events out ----------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        for e in events:
            if isinstance(e, Cue):
                self.scheduler.submit(self.voice.clip(e.kind, e.text), e.sample, tag=e.kind, key=e)
            elif isinstance(e, Cancel):
                self.scheduler.cancel_from(e.sample)
                self._log(e)
            else:
                self._log(e)
                self._save(e)

    def _log_started(self) -> None:
        """Log each cue as it starts, at the sample where the scheduler placed it."""
        for cue, sample in self.scheduler.started():
            if not isinstance(cue, Cue):
                continue  # a clip the session did not place (a device sentence)
            start = sample / self.samplerate
            self._log(Cue(round(start, 6), sample, cue.kind, cue.text))
            if cue.kind == "speech":
                self._tell_recognizer(cue.text, start, start + self.voice.seconds(cue.text))

    def _log(self, event: Event, deferred: bool = False) -> None:
        if isinstance(event, SessionSummary) and not deferred:
            self._summary = event
            self.result.summary = event
            return
        self.result.events += 1
        if isinstance(event, Notice):
            self.result.notices.append(event)
        if self.events_file is not None:
            try:
                self.events_file.write(event.to_json() + "\n")
            except OSError as err:
                self._events_failed(err)
        if self.on_event is not None:
            self.on_event(event)
        if self.view is not None:
            self.view.event(event)

    def _events_failed(self, err: OSError) -> None:
        # The events file is a log beside the history: a full disk under it (measured:
        # `--events /dev/full` ended simulate with a traceback) must not end the workout.
        events, self.events_file = self.events_file, None
        try:
            events.close()
        except OSError:
            pass  # its buffer cannot be written either; the file is closed all the same
        self.events_error = f"events file could not be written ({err.strerror or err}); the workout goes on"
        self._log(Notice(self._ahead() / self.samplerate, self.events_error, "error"))

    def _save(self, event: Event) -> None:
        from voicecoach.history.store import StoreError

        if self.store is None or self.session_id is None or self._store_failed:
            return
        try:
            if isinstance(event, Rep):
                self.store.record_rep(self.session_id, event)
            elif isinstance(event, SetSummary):
                self.store.record_set(self.session_id, event)
            elif isinstance(event, Command):
                self.store.record_command(self.session_id, event)
            elif isinstance(event, SessionSummary):
                self.store.end_session(self.session_id, event)
        except StoreError as err:
            self._store_error(err)

    def _store_error(self, err: BaseException | str) -> None:
        if self._store_failed:
            return
        self._store_failed = True
        now = self._ahead()
        text = str(err) if "could not" in str(err) else f"history could not be saved: {err}"
        self._log(Notice(now / self.samplerate, text, "error"))
        self._tell_store_failed()

    def _tell_store_failed(self) -> None:
        """Say once that history is not being saved (as soon as there is a session to say it)."""
        if self.session is not None and self._store_failed and not self._told_store:
            self._told_store = True
            self._handle(self.session.say(P.NOT_SAVED, self._ahead()))
