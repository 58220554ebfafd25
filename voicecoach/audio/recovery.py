"""What to do when the microphone or speaker goes away: a sans-IO policy.

A USB microphone gets kicked out, a speaker's cable is pulled. The coach
pauses the session, says what happened when it still has a speaker, tries the
device again with a growing delay, and either resumes or gives up cleanly
(every rep already ended is kept by the store; the rep in progress is not
counted). With no microphone at all the coach runs with cues only and says so.

:class:`Recovery` decides; it does no IO, sleeps never, reads no clock. The
runtime feeds it what happened (``lost``, ``retry_failed``, ``reopened``) with
the time on its own clock and carries out the :class:`Step` it returns::

    rec = Recovery()
    step = rec.lost("input", now, "PortAudioError: device unavailable")
    # step.action == "pause", step.say == "I lost the microphone. ..."
    while step.action in ("pause", "retry"):
        wait until rec.next_attempt
        try: reopen the device        -> step = rec.reopened("input", now)
        except error                  -> step = rec.retry_failed(now)
    # step.action is "resume", "cue_only" or "end"

:func:`recover` is that loop, with the reopening, sleeping and speaking
passed in, for callers that just want it done.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

DEVICES = ("input", "output")

NAMES = {"input": "microphone", "output": "speaker"}


@dataclass(frozen=True)
class Backoff:
    """Delays between attempts: ``first_s``, times ``factor`` each time, at most ``max_s``.

    The coach gives up ``give_up_s`` seconds after the loss (a person on a
    mat will not wait longer than a couple of minutes for a cable).
    """

    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 8.0
    give_up_s: float = 120.0

    def __post_init__(self) -> None:
        if self.first_s <= 0 or self.factor < 1 or self.max_s < self.first_s or self.give_up_s < 0:
            raise ValueError(f"bad back-off {self}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt number ``attempt`` (0 is the first retry)."""
        return min(self.first_s * self.factor ** max(attempt, 0), self.max_s)


@dataclass(frozen=True)
class Step:
    """One thing for the runtime to do.

    ``action``:
    - ``"pause"``: stop the session clock (cancel cues in flight, keep state), then
      retry at ``at``;
    - ``"retry"``: try to reopen the lost device(s) at ``at``;
    - ``"resume"``: everything is back; continue the session;
    - ``"cue_only"``: go on (or start) without a microphone: cues only, no commands;
    - ``"end"``: end the session cleanly (status ``"interrupted"``), keeping every rep.

    ``say`` is a sentence for the speaker, or ``None`` when there is nothing to
    say or no speaker to say it with. ``detail`` is a line for the log.
    """

    action: str
    at: float
    say: str | None = None
    detail: str = ""


@dataclass
class Recovery:
    """The retry/back-off state machine for lost devices.

    ``mic_fallback`` is what giving up on the microphone means: ``"cue_only"``
    (go on counting without hearing the person; the default) or ``"end"``.
    Giving up on the speaker always ends the session: a coach that cannot be
    heard is no coach.
    """

    policy: Backoff = field(default_factory=Backoff)
    mic_fallback: str = "cue_only"
    lost_devices: set[str] = field(default_factory=set)
    attempts: int = 0
    since: float | None = None
    next_attempt: float | None = None
    cue_only: bool = False

    def __post_init__(self) -> None:
        if self.mic_fallback not in ("cue_only", "end"):
            raise ValueError(f"mic_fallback must be 'cue_only' or 'end', not {self.mic_fallback!r}")

    @property
    def recovering(self) -> bool:
        return bool(self.lost_devices)

    def start_without_input(self, now: float, reason: str = "") -> Step:
        """There is no microphone at the start: run with cues only, and say so."""
        self.cue_only = True
        return Step(
            "cue_only",
            now,
            "I can't find a microphone, so I can't hear you today. I'll count and cue; "
            "plug one in and restart me to talk back.",
            f"no input device ({reason})" if reason else "no input device",
        )

    def lost(self, device: str, now: float, reason: str = "") -> Step:
        """``device`` (``"input"`` or ``"output"``) failed at ``now``."""
        _check_device(device)
        if device == "input" and self.cue_only:
            # Already running without a microphone: nothing was lost.
            return Step("resume", now, None, "input error ignored in cue-only mode")
        first = not self.lost_devices
        self.lost_devices.add(device)
        if first:
            self.since = now
            self.attempts = 0
        self.next_attempt = now + self.policy.delay(self.attempts)
        detail = f"{NAMES[device]} lost" + (f": {reason}" if reason else "")
        return Step("pause", now, self._say_lost(device) if first or device == "input" else None, detail)

    def retry_failed(self, now: float, reason: str = "") -> Step:
        """The attempt due at ``next_attempt`` failed at ``now``."""
        if not self.lost_devices:
            return Step("resume", now, None, "nothing to retry")
        self.attempts += 1
        assert self.since is not None
        if now - self.since >= self.policy.give_up_s:
            return self._give_up(now, reason)
        self.next_attempt = now + self.policy.delay(self.attempts)
        return Step(
            "retry",
            self.next_attempt,
            None,
            f"{self._lost_names()} still missing after attempt {self.attempts}"
            + (f" ({reason})" if reason else "")
            + f"; next try in {self.next_attempt - now:.1f} s",
        )

    def reopened(self, device: str, now: float) -> Step:
        """``device`` opened again at ``now``; resume once every lost device is back."""
        _check_device(device)
        self.lost_devices.discard(device)
        if self.lost_devices:
            return Step("retry", now, None, f"{NAMES[device]} back; still missing: {self._lost_names()}")
        away = now - (self.since if self.since is not None else now)
        self.since = self.next_attempt = None
        self.attempts = 0
        return Step("resume", now, f"The {NAMES[device]} is back. Let's carry on.", f"{NAMES[device]} back after {away:.1f} s")

    def _give_up(self, now: float, reason: str) -> Step:
        lost = set(self.lost_devices)
        detail = f"gave up on the {self._lost_names()} after {now - (self.since or now):.0f} s" + (
            f" ({reason})" if reason else ""
        )
        self.lost_devices.clear()
        self.since = self.next_attempt = None
        if "output" in lost:
            return Step("end", now, None, detail + "; session ended, every finished rep is saved")
        if self.mic_fallback == "cue_only":
            self.cue_only = True
            return Step(
                "cue_only",
                now,
                "The microphone is still gone, so I can't hear you. I'll carry on with cues only.",
                detail + "; going on with cues only",
            )
        return Step("end", now, "The microphone is still gone, so I'm ending the session. Every rep is saved.", detail)

    def _say_lost(self, device: str) -> str | None:
        if "output" in self.lost_devices:
            return None  # nothing to say it with
        return "I lost the microphone, so I've paused. Plug it back in and I'll carry on."

    def _lost_names(self) -> str:
        return " and ".join(NAMES[d] for d in DEVICES if d in self.lost_devices)


def _check_device(device: str) -> None:
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")


def recover(
    recovery: Recovery,
    device: str,
    error: BaseException | str,
    *,
    reopen: Callable[[str], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    act: Callable[[Step], None] = lambda step: None,
) -> Step:
    """Run the policy to its end for a device that failed; return the final step.

    ``reopen(device)`` tries to open ``device`` again and raises on failure.
    ``act(step)`` is called for every step (pause, each retry, and the final
    one) so the caller can pause the session, speak ``step.say`` and log
    ``step.detail``. ``sleep`` lets a caller wake early (e.g. a stop request).
    """
    step = recovery.lost(device, clock(), str(error))
    act(step)
    while step.action in ("pause", "retry"):
        assert recovery.next_attempt is not None
        wait = recovery.next_attempt - clock()
        if wait > 0:
            sleep(wait)
        step = None
        for dev in [d for d in DEVICES if d in recovery.lost_devices]:
            try:
                reopen(dev)
            except Exception as err:  # any failure to open is "still missing"
                step = recovery.retry_failed(clock(), f"{type(err).__name__}: {err}")
                break
            else:
                step = recovery.reopened(dev, clock())
        assert step is not None
        act(step)
    return step
