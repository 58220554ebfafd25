"""Today's session from the history: the plan it starts with and the advice it ends with.

Pure functions of the history (:meth:`voicecoach.history.store.Store.sessions`),
the config and a moment; the runtime reads the store and passes them in.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from voicecoach.events import Rep
from voicecoach.history import progression
from voicecoach.history.record import rep_entry, session_record


def plan_today(config: dict, history: list[dict], floor: float | None, now: datetime | None = None):
    """``(program, floor, greeting lines)`` for today's session from the history.

    ``now`` is when the session starts (default: the wall clock, for callers
    planning a session that starts now; :class:`~voicecoach.runtime.Runtime` always passes its own).

    The advice of :func:`voicecoach.history.progression.plan_for_today` adjusts the
    configured program (e.g. fewer sets after a long break). The warm-up runs
    only in a first session (and only if the config allows it).
    """
    program = dict(config["program"])
    greeting, advice = progression.plan_for_today(history, program, now or datetime.now(timezone.utc))
    for a in advice:
        program.update({k: v for k, v in a.program.items() if k in program})
    program["warmup"] = bool(program["warmup"] and not progression.trained(history))
    return program, floor, [greeting] + [a.sentence for a in advice if a.sentence]


def closing_advice(history: list[dict], config: dict, program: dict, plan: dict | None,
                   started_at: datetime) -> Callable[[list[Rep], str], list[str]]:
    """The session's ``closing``: what :func:`voicecoach.history.progression.after_session`
    advises once this session, as its reps stand, is added to the history before it.

    The rules are judged as at ``started_at``: they look back days or weeks, so
    the session's own minutes do not matter, and no clock is read here."""

    def closing(reps: list[Rep], status: str, plank: tuple[float, float] | None = None) -> list[str]:
        held, planned = plank if plank is not None else (None, None)  # today's plank finish, seconds
        current = session_record(
            started_at=started_at.isoformat(), status=status, variation=program["variation"], config=config,
            plan=plan, reps=[(r.set, rep_entry(r)) for r in reps], plank_s=held, plank_target_s=planned,
        )
        advice = progression.after_session(history + [current], program, started_at)
        # "none" is a generic well-done; the session's own summary and finish lines say that.
        return [a.sentence for a in advice if a.kind != "none" and a.sentence]

    return closing
