"""Live audio that survives a microphone or speaker going away mid-session.

:class:`ResilientIO` is a :class:`~voicecoach.audio.streams.LiveIO` with the
:mod:`voicecoach.audio.recovery` policy around it. It speaks the same ``AudioIO``
protocol, so :class:`voicecoach.runtime.Runtime` runs on it unchanged::

    guard = ResilientIO(config["audio"], say=clips.get)
    Runtime(config, guard, recognizer=recognizer, timing=LIVE, simulated=False).run()

What it does:

- A device is lost when its stream raises, or stops delivering: no mic block
  for ``stall_s`` (input) or an output sample counter that stops (output).
  USB unplugging shows up as either, depending on the host API.
- The session is paused and resumed by events: :meth:`ResilientIO.device_events`
  reports a :class:`~voicecoach.events.DeviceLost` when a device is lost and a
  :class:`~voicecoach.events.DeviceBack` when it is back (``why`` says what
  happened: "microphone lost"), which the runtime hands the session like any
  other event, so the rep in progress is withdrawn and redone from the top,
  and every rep that ended is already in the history. While a device is away
  :attr:`ResilientIO.listening` is False: the runtime feeds its recognizer
  nothing, and resets it when the device is back.
- A speaker that comes back starts from silence: whatever the scheduler held
  when it went (the rest of a cut count word, cues due within the runtime's
  margin) or was given while it was away (the pause's acknowledgement) is
  dropped before the new stream starts, so nothing queued before the resume
  plays on the new stream.
- The sentence from the policy ("I lost the microphone ...") is played once
  the speaker is free; with the speaker gone there is nothing to say it with.
- Retries follow :class:`~voicecoach.audio.recovery.Backoff`. While the microphone
  is away the speaker keeps running (output-only), so the coach can be heard.
  Giving up on the microphone goes on cue-only; giving up on the speaker ends
  the session by raising :class:`DeviceGone` out of ``read_mic``, which the
  runtime treats as an interruption: it closes the session (status
  ``interrupted``, every finished rep kept) and re-raises it to the caller.
- With no microphone at all at the start it opens the speaker alone and is in
  cue-only mode (:attr:`cue_only`); the caller says so and passes no recognizer.

Times: each reopened :class:`LiveIO` counts its samples from zero, so mic
blocks are shifted by where the scheduler's clock stood when it started: the
session's clock never jumps.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable

import numpy as np

from voicecoach.audio.recovery import Recovery, Step
from voicecoach.audio.devices import refresh_devices
from voicecoach.audio.streams import STARTUP_S, open_live
from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.errors import UserError
from voicecoach.events import DeviceBack, DeviceLost



class DeviceGone(KeyboardInterrupt):
    """The speaker did not come back: the session was ended (every finished rep is kept).

    A ``KeyboardInterrupt`` so that the runtime's interruption path closes the
    session and stops the streams before it reaches the caller.
    """


class ResilientIO:
    """``AudioIO`` over live devices, with pause / retry / resume on device loss.

    Parameters
    ----------
    audio:
        The config's ``[audio]`` table (devices by name or index, rate, block size).
    say:
        ``say(text) -> Clip`` at the output rate, for the policy's sentences
        (e.g. ``ClipCache.get``); ``None`` to stay silent.
    recovery:
        The policy (default :class:`~voicecoach.audio.recovery.Recovery`).
    log:
        ``log(line)`` for what happened (to the journal under systemd).
    open_io:
        ``open_io(use_input) -> LiveIO`` (not started); default :func:`open_live`.
    stall_s:
        How long a stream may deliver nothing before its device counts as lost.
    use_input:
        False for cue-only by choice (``run --cue-only``): no microphone is opened
        and nothing is said about it.

    Raises :class:`UserError` from the constructor when not even the speaker
    opens (a coach that cannot be heard is no coach).
    """

    def __init__(self, audio: dict, *, say: Callable[[str], object] | None = None,
                 recovery: Recovery | None = None, log: Callable[[str], None] = lambda line: None,
                 open_io: Callable[[bool], object] | None = None, stall_s: float = 4.0,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                 use_input: bool = True):
        self.audio = audio
        self.say = say
        self.recovery = recovery or Recovery()
        self.log = log
        self._open_io = open_io or (lambda use_input: open_live(audio, use_input=use_input))
        self.stall_s = stall_s
        self.clock = clock
        self.sleep = sleep
        self.steps: list[Step] = []
        """Every step of the policy taken, in order (for logs and tests)."""
        self.cue_only = False
        """True when there is no microphone (from the start, or given up on)."""
        self.lost = False
        self.turns = 0
        """Calls of :meth:`read_mic` so far: the caller's loop is alive while this moves."""
        self._injected: deque[tuple[type, str]] = deque()
        self._events: list = []
        self._notices: deque[str] = deque()
        self._xruns_done: dict[str, int] = {}
        self._retired = None  # the stopped io whose xruns are in _xruns_done
        self._this_turn: float | None = None
        self._sched = None
        self._offset_s = 0.0
        self._started = False
        if not use_input:
            self.io = self._open_io(False)
            self.cue_only = True
        else:
            self._open_first()
        self.samplerate = int(self.io.samplerate)

    def _open_first(self) -> None:
        try:
            self.io = self._open_io(True)
        except UserError as err:
            try:
                self.io = self._open_io(False)
            except UserError:
                raise err from None
            self._act(self.recovery.start_without_input(self.clock(), str(err)))
            self.cue_only = True

    # --- the AudioIO protocol ------------------------------------------------------------

    @property
    def xruns(self) -> dict[str, int]:
        total = dict(self._xruns_done)
        if self.io is not self._retired:
            for k, v in self.io.xruns.items():
                total[k] = total.get(k, 0) + v
        return total

    @property
    def frames_out(self) -> int:
        """Output samples rendered (the scheduler's clock when it is the render function)."""
        if self._sched is not None:
            return int(self._sched.now)
        return self.io.frames_out

    @property
    def block_in_flight(self) -> int:
        """0: the runtime keeps its own live margin (``LIVE.margin_s``). The runtime's
        probe for the block length never found one here, and this keeps that as it was;
        whether a live run should widen the margin by the stream's block is open."""
        return 0

    @property
    def input_active(self) -> bool:
        return self.io.input_active

    @property
    def output_active(self) -> bool:
        return self.io.output_active

    def start(self, scheduler) -> None:
        """Start the speaker on ``scheduler`` (a :class:`~voicecoach.audio.scheduler.Scheduler`):
        besides rendering it, this clears it when a lost speaker comes back and
        says the policy's sentences through it."""
        self._sched = scheduler
        try:
            self._start_io(self.io)
        except UserError as err:
            if self.cue_only:
                raise
            # The microphone is listed but does not open (a card without capture,
            # a busy device): coach with cues only rather than not at all.
            try:
                io = self._open_io(False)
                self._start_io(io)
            except UserError:
                raise err from None
            self.io = io
            self._act(self.recovery.start_without_input(self.clock(), str(err)))
            self.cue_only = True
        self._started = True

    def read_mic(self, timeout: float | None = None):
        """A mic block on the session's clock; silent blocks while a device is away.

        A device lost or back on this call is reported by :meth:`device_events`,
        at the start of the block returned (or of the output clock, with none)."""
        block = self._read(timeout)
        if self._injected:
            t = block.start if block is not None else self._silence().start
            while self._injected:
                kind, why = self._injected.popleft()
                self._events.append(kind(t, why))
        return block

    def device_events(self) -> list:
        """The :class:`DeviceLost` and :class:`DeviceBack` events since the last call."""
        events, self._events = self._events, []
        return events

    @property
    def listening(self) -> bool:
        """True while the microphone delivers (not lost, not cue-only)."""
        return not (self.lost or self.cue_only)

    def _read(self, timeout: float | None):
        self.turns += 1
        self._prev_turn, self._this_turn = self._this_turn, self.clock()
        if self.lost:
            return self._recovering_turn(timeout)
        self._speak_pending()
        if self.cue_only:
            # No microphone: pace the caller's loop; watch the speaker only.
            self.sleep(min(timeout if timeout is not None else 0.05, 0.05))
            self._check_output()
            return None if self.lost else self._silence()
        try:
            block = self.io.read_mic(timeout=timeout)
        except Exception as err:  # PortAudioError and friends: the input stream broke
            self._lose("input", f"{type(err).__name__}: {err}")
            return self._silence()
        now = self.clock()
        # A stream just opened may take a while to deliver its first block
        # (PulseAudio under load: seconds): allow it STARTUP_S before judging.
        stall = self.stall_s if self._got_block else max(self.stall_s, STARTUP_S)
        if block is not None:
            self._last_block = now
            self._got_block = True
        elif now - self._last_block >= stall or not self.io.input_active:
            gap = now - (self._prev_turn or now)
            self._lose("input", f"no microphone audio for {now - self._last_block:.1f} s (loop turn {gap:.1f} s)"
                       + ("" if self.io.input_active else " (stream stopped)"))
            return self._silence()
        self._check_output()
        if self.lost:
            return self._silence()
        if block is not None:
            block.start += self._offset_s
        return block

    def stop(self) -> None:
        try:
            self.io.stop()
        except Exception:
            pass

    def say_now(self, text: str) -> None:
        """Say ``text`` as soon as the speaker is free (needs :meth:`start` and ``say``)."""
        self._notices.append(text)
        self._speak_pending()

    # --- detection ----------------------------------------------------------------------

    def _start_io(self, io) -> None:
        # The new stream counts from 0 while the scheduler's clock goes on from here.
        self._offset_s = (self._sched.now / self.samplerate) if self._sched is not None else 0.0
        io.start(self._sched)
        now = self.clock()
        self._last_block = now
        self._got_block = False
        self._last_frames = io.frames_out
        self._last_frames_t = now

    def _check_output(self) -> None:
        frames = self.io.frames_out
        now = self.clock()
        stall = self.stall_s if frames else max(self.stall_s, STARTUP_S)
        if frames != self._last_frames and self.io.output_active:
            self._last_frames, self._last_frames_t = frames, now
        elif now - self._last_frames_t >= stall or not self.io.output_active:
            self._lose("output", f"the speaker stream stopped for {now - self._last_frames_t:.1f} s")

    def _lose(self, device: str, reason: str) -> None:
        self.lost = True
        self._lost_at = self.clock()
        # A headset takes both with it: check the other stream before saying anything.
        both = device == "input" and not self.io.output_active
        if device == "output" or both:
            self._stop_io()
        if both:
            self.recovery.lost("output", self.clock(), "the speaker stream stopped too")
            self.log("speaker lost: the speaker stream stopped too")
        self._act(self.recovery.lost(device, self.clock(), reason))

    # --- recovery -------------------------------------------------------------------------

    def _recovering_turn(self, timeout: float | None):
        now = self.clock()
        due = self.recovery.next_attempt if self.recovery.next_attempt is not None else now
        if now < due:
            self.sleep(min(due - now, 0.05, timeout if timeout is not None else 0.05))
            self._speak_pending()
            return self._silence()
        self._attempt()
        return self._silence()

    def _attempt(self) -> None:
        want_input = "input" in self.recovery.lost_devices
        speaker_was_cut = "output" in self.recovery.lost_devices
        self._stop_io()
        if not self._output_running:
            refresh_devices()
        try:
            io = self._open_io(not self.cue_only)
            if speaker_was_cut:
                self._drop_stale_cues()
            self._start_io(io)
        except Exception as err:  # the device is still away (UserError, PortAudioError)
            output_lost = "output" in self.recovery.lost_devices
            step = self.recovery.retry_failed(self.clock(), _one_line(err))
            if not output_lost:
                self._keep_speaking()  # the coach can still be heard (and can say it gave up)
            self._act(step)
            return
        self.io = io
        self._output_running = True
        step = None
        for dev in ("output", "input"):
            if dev in self.recovery.lost_devices and (dev == "output" or want_input):
                step = self.recovery.reopened(dev, self.clock())
        self._act(step or Step("resume", self.clock()))

    def _drop_stale_cues(self) -> None:
        """Start the new speaker stream from silence, not from where the lost one stopped.

        The scheduler's clock stood still while the speaker was gone, and it still
        holds what it held then: the rest of the clip that was sounding (cut
        mid-word) and cues due within the runtime's margin (the session's Cancel on
        the pause spares those, since live they may already be playing); and what
        the runtime submitted while nobody could hear it (the pause's earcon). All
        of it would play the moment the stream starts, before the session has even
        heard "resume" (measured through the null sink: 16,334 samples of a cut
        "two-one-thousand" from the restart's first sample, the pause's earcon
        60 ms later). What the session plans on the resume is submitted after this.
        """
        if self._sched is not None:
            self._sched.clear()

    def _keep_speaking(self) -> None:
        """While only the microphone is away, keep the speaker going (output-only)."""
        try:
            io = self._open_io(False)
            self._start_io(io)
            self.io = io
            self._output_running = True
        except Exception as err:
            self.log(f"speaker could not be reopened either: {_one_line(err)}")

    _output_running = True
    _got_block = False

    def _stop_io(self) -> None:
        try:
            self.io.stop()
        except Exception:
            pass
        if self.io is not self._retired:  # count a stream's xruns once, however often it is stopped
            for k, v in self.io.xruns.items():
                self._xruns_done[k] = self._xruns_done.get(k, 0) + v
            self._retired = self.io
        self._output_running = False

    def _act(self, step: Step) -> None:
        self.steps.append(step)
        if step.detail:
            self.log(step.detail)
        if step.action == "pause":
            self._injected.append((DeviceLost, step.detail.split(":")[0]))
        elif step.action in ("resume", "cue_only"):
            self.lost = False
            if step.action == "cue_only":
                self.cue_only = True
            if self._started:
                self._injected.append((DeviceBack, step.detail.split(";")[0]))
        elif step.action == "end":
            self.lost = False
            if step.say:
                self._notices.append(step.say)
                self._speak_pending(force=True)
            raise DeviceGone(step.detail)
        if step.say:
            self._notices.append(step.say)

    def _speak_pending(self, force: bool = False) -> None:
        """Play queued sentences once the speaker is free (after the session's own reply)."""
        if not self._notices or self.say is None or self._sched is None or not self._output_running:
            return
        if self._sched.busy and not force:
            return
        text = self._notices.popleft()
        try:
            clip = self.say(text)
        except Exception as err:  # no TTS: the log still says it
            self.log(f"could not say {text!r}: {_one_line(err)}")
            return
        self._sched.submit(clip, self._sched.now + int(0.15 * self.samplerate), tag="device")

    def _silence(self):
        from voicecoach.audio.streams import MicBlock

        n = VOSK_RATE // 50  # 20 ms
        t = (self._sched.now / self.samplerate) if self._sched is not None else 0.0
        return MicBlock(np.zeros(n, dtype=np.int16), t, np.zeros(n, dtype=np.float32))


def _one_line(err: BaseException) -> str:
    return " ".join(f"{type(err).__name__}: {err}".split())
