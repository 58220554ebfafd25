"""What the coach advises from the history: pure functions, no I/O, no clock.

``history`` is :meth:`voicecoach.history.store.Store.sessions` (oldest first),
``program`` the ``[program]`` table of the config, ``now`` the current time
(aware, or naive local time). The rules, from the source program:

- progress: 15 perfect reps in one set, each lowered at a 3-second pace (the
  counted lowering stops at the floor, so the pace is ``descent_s / floor``)
  -> add a light dumbbell between the feet, or the next harder variation.
  Until then, a set done all perfect earns one more rep next time (towards 15).
- regress: the back arched on half the reps or more in the last two
  sessions -> the next easier variation, hands under the hips allowed.
- floor: how the stop point moved since about two weeks ago (at the end of a
  session only if a stop point was marked in it: else it is the greeting's news).
- recovery: a session within 24 h of the last one (or a fourth within a
  week) -> a warning and a lighter plan; a gap over 10 days -> an easier
  restart.

Each rule gives an :class:`Advice`: one sentence to speak and the
``[program]`` keys to use today. The caller applies the ``program`` dicts in
list order (``dict.update``); they never conflict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from voicecoach.coach.program import number, percent
from voicecoach.coach.program import VARIATIONS

BACK_ARCHED = "back_arched"
"""The mark (grammar intent) that says the lower back lifted off the floor."""

PERFECT_REPS = 15
PERFECT_DESCENT_S = 3.0
PACE_TOLERANCE_S = 0.05
"""Rounding slack: descent_s is kept to the millisecond and floors to 0.1%."""
RECOVERY_HOURS = 24.0
SESSIONS_PER_WEEK = 3
RESTART_DAYS = 10
FLOOR_LOOKBACK_DAYS = 14
FLOOR_MIN_CHANGE = 0.05
"""Stop-point changes smaller than this (5% of the lowering) are noise."""

NAMES = {
    "dead_bug": "dead bugs",
    "bent_knee": "bent-knee raises",
    "single_leg": "single-leg raises",
    "straight_leg": "straight-leg raises",
    "hanging": "hanging leg raises",
}


@dataclass(frozen=True)
class Advice:
    kind: str
    """``"progress"``, ``"regress"``, ``"floor"``, ``"recovery"``, ``"restart"`` or ``"none"``."""
    sentence: str
    """One sentence for the coach to speak."""
    program: dict[str, Any] = field(default_factory=dict)
    """``[program]`` keys to use today (e.g. ``{"sets": 2}``); may be empty."""


# --- reading the history -----------------------------------------------------------


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.astimezone()


def started(session: dict) -> datetime:
    value = session["started_at"]
    if isinstance(value, datetime):
        return _aware(value)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def trained(history: list[dict]) -> list[dict]:
    """Sessions with at least one rep attempted, oldest first."""
    return sorted((s for s in history if (s.get("attempted") or 0) > 0), key=started)


def _reps(session: dict) -> list[dict]:
    return [rep for s in session.get("sets", []) for rep in s.get("reps", [])]


def best_set(session: dict) -> int:
    """The most perfect (counted) reps in one set of ``session``."""
    return max((s.get("counted") or 0 for s in session.get("sets", [])), default=session.get("counted") or 0)


def carried_floor(history: list[dict], session: dict) -> float | None:
    """The floor ``session`` started with: the latest one from an earlier session."""
    earlier = [s for s in history if started(s) < started(session) and s.get("floor") is not None]
    return max(earlier, key=started)["floor"] if earlier else None


def marked_floor(session: dict) -> bool:
    """True if a floor was marked in ``session`` (a rep with a ``stop_point``).

    Its ``floor`` alone does not say: a stored session keeps the floor it
    started with even when nothing was marked.
    """
    return any(rep.get("stop_point") is not None for rep in _reps(session))


def slow_perfect_in_a_set(session: dict, floor: float | None = None) -> int:
    """The most reps in one set that counted and were lowered at a 3-second pace.

    The coach stops the counted lowering at the floor, so a rep's ``descent_s``
    is the pace times the floor in effect (``floor`` at the start, then each
    stop point marked). The pace is ``descent_s / floor``. The floor in effect
    is rebuilt from the marks; the rep right after a new mark may have been
    planned with the one before, so for that rep either counts.
    """
    current = previous = floor
    best = 0
    for s in session.get("sets", []):
        slow = 0
        for r in s.get("reps", []):
            descent = r.get("descent_s") or 0.0
            paces = {descent / (f if f else 1.0) for f in (current, previous)}
            if r.get("counted") and max(paces) >= PERFECT_DESCENT_S - PACE_TOLERANCE_S:
                slow += 1
            # The old floor may still apply to the one rep after a mark, no further.
            previous = current
            if r.get("stop_point") is not None:
                current = r["stop_point"]
        best = max(best, slow)
    return best


def arched_share(session: dict) -> float:
    """The share of attempted reps marked "back arched" (0 when none attempted)."""
    attempted = session.get("attempted") or 0
    if attempted <= 0:
        return 0.0
    reps = _reps(session)
    if reps:
        arched = sum(1 for r in reps if BACK_ARCHED in (r.get("marks") or ()))
    else:
        arched = (session.get("marks") or {}).get(BACK_ARCHED, 0)
    return arched / attempted


def planned_reps(session: dict, program: dict) -> int:
    for source in (session.get("plan") or {}, (session.get("config") or {}).get("program", {}), program):
        if isinstance(source, dict) and isinstance(source.get("reps"), int):
            return source["reps"]
    return 10


def _variation(session: dict | None, program: dict) -> str:
    value = (session or {}).get("variation") or program.get("variation") or "bent_knee"
    return value if value in VARIATIONS else "bent_knee"


def _easier(variation: str) -> str:
    return VARIATIONS[max(0, VARIATIONS.index(variation) - 1)]


def _harder(variation: str) -> str:
    return VARIATIONS[min(len(VARIATIONS) - 1, VARIATIONS.index(variation) + 1)]


def _pct(share: float) -> str:
    return percent(share)


def _ago(days: int) -> str:
    if 13 <= days <= 15:
        return "two weeks ago"
    if days < 13:
        return f"{number(days)} days ago"
    return f"{number(round(days / 7))} weeks ago"



# --- the rules ------------------------------------------------------------------------


def progress_rule(session: dict, program: dict, floor: float | None = None) -> Advice | None:
    """15 slow perfect reps in a set: heavier or harder. ``floor``: the one the session started with."""
    best = slow_perfect_in_a_set(session, floor)
    if best < PERFECT_REPS:
        return None
    variation = _variation(session, program)
    harder = _harder(variation)
    if harder == variation:
        tail = "add a light dumbbell between your feet."
    else:
        tail = f"add a light dumbbell between your feet, or move up to {NAMES[harder]}."
    return Advice("progress", f"{number(best).capitalize()} perfect reps in a set with a slow lowering: time to {tail}")


def regress_rule(history: list[dict], program: dict) -> Advice | None:
    """The back arched on half the reps or more, two sessions running: easier."""
    done = trained(history)
    if len(done) < 2 or not all(arched_share(s) >= 0.5 for s in done[-2:]):
        return None
    last = _variation(done[-1], program)
    easier = _easier(last)
    opening = "Your back arched on half the reps or more two sessions running"
    if easier == last:
        return Advice(
            "regress",
            f"{opening}: stay with dead bugs, hands under your hips, and end each rep before your back lifts.",
            {"variation": easier},
        )
    return Advice(
        "regress",
        f"{opening}: switch to {NAMES[easier]}, and slide your hands under your hips if you need to.",
        {"variation": easier},
    )


def floor_rule(history: list[dict], now: datetime) -> Advice | None:
    """How far the stop point moved since about two weeks ago (if it moved)."""
    now = _aware(now)
    with_floor = [s for s in sorted(history, key=started) if s.get("floor") is not None]
    if not with_floor:
        return None
    current = with_floor[-1]
    cutoff = now - timedelta(days=FLOOR_LOOKBACK_DAYS)
    older = [s for s in with_floor if started(s) <= cutoff]
    if older:
        reference = older[-1]
    elif started(with_floor[0]) <= now - timedelta(days=7) and with_floor[0] is not current:
        reference = with_floor[0]
    else:
        return None
    change = current["floor"] - reference["floor"]
    if abs(change) < FLOOR_MIN_CHANGE:
        return None
    ago = _ago((now - started(reference)).days)
    if change > 0:
        sentence = f"Your floor is {_pct(change)} deeper than {ago}: now {_pct(current['floor'])} of the way down."
    else:
        sentence = (
            f"Your floor is {_pct(-change)} higher than {ago}, at {_pct(current['floor'])} of the way down; "
            "stop where your back stays flat and it will come back."
        )
    return Advice("floor", sentence)


PLANK_STEP_S = 10.0
"""The plank hold grows by this much once it was held in full twice in a row."""


def planks(history: list[dict]) -> list[dict]:
    """Sessions with a plank hold, oldest first."""
    return sorted((s for s in history if s.get("plank_s") is not None), key=started)


def plank_rule(history: list[dict], program: dict) -> Advice | None:
    """The last two plank holds both held in full, at the same time: ten seconds more.

    Applied to today's ``plank_s`` (never below the config's); the raised hold is
    then kept because it is the latest one planned. Needs ``plank_s`` on in the config.
    """
    configured = float(program.get("plank_s") or 0.0)
    if configured <= 0:
        return None
    held = planks(history)
    last = held[-1]["plank_target_s"] if held and held[-1].get("plank_target_s") else None
    if last is None:
        return None
    full = [s for s in held[-2:] if s.get("plank_target_s") and s["plank_s"] >= s["plank_target_s"] - 0.5]
    if len(full) == 2 and full[0]["plank_target_s"] == full[1]["plank_target_s"]:
        more = min(300.0, max(configured, last + PLANK_STEP_S))
        if more > last:
            return Advice("plank", f"You held the plank for the full {number(round(last))} seconds twice in a row: "
                                   f"today, {number(round(more))}.", {"plank_s": more})
    if last > configured:  # a hold the coach raised earlier: keep to it
        return Advice("plank", "", {"plank_s": last})
    return None


def _fewer_reps(reps: int) -> int:
    """About 70% of ``reps``, at least 3, but never more than ``reps`` (a plan of 2 stays 2)."""
    return min(reps, max(3, round(reps * 0.7)))


def _lighter(program: dict) -> dict:
    sets, reps = program.get("sets", 3), program.get("reps", 10)
    if sets > 1:
        return {"sets": sets - 1}
    return {"reps": _fewer_reps(reps)}


def recovery_rule(history: list[dict], program: dict, now: datetime) -> Advice | None:
    """Too soon (within 24 h, or a 4th session in 7 days) or too long (> 10 days)."""
    now = _aware(now)
    done = [s for s in trained(history) if started(s) <= now]
    if not done:
        return None
    since = now - started(done[-1])
    if since < timedelta(hours=RECOVERY_HOURS):
        hours = int(since.total_seconds() // 3600)
        ago = "less than an hour" if hours < 1 else f"only {number(hours)} hour{'s' if hours != 1 else ''}"
        light = _lighter(program)
        return Advice(
            "recovery",
            f"Your last session was {ago} ago; muscles grow on the rest "
            "days, so if you go on today we'll keep it light.",
            light,
        )
    if since > timedelta(days=RESTART_DAYS):
        restart = {"sets": max(1, program.get("sets", 3) - 1), "reps": _fewer_reps(program.get("reps", 10))}
        return Advice(
            "restart",
            f"It has been {number(since.days)} days since your last session, so today is an easier restart.",
            restart,
        )
    week = [s for s in done if started(s) > now - timedelta(days=7)]
    if len(week) >= SESSIONS_PER_WEEK:
        light = _lighter(program)
        return Advice(
            "recovery",
            f"This is your {_ordinal(len(week) + 1)} session in a week, and two or three is the plan; "
            "we'll keep it light.",
            light,
        )
    return None


def _ordinal(n: int) -> str:
    return {4: "fourth", 5: "fifth", 6: "sixth", 7: "seventh"}.get(n, f"{number(n)}th")


# --- the entry points -------------------------------------------------------------------


def _kept_adjustments(last: dict, program: dict) -> dict:
    """What the coach changed last time that still holds: an easier variation or more reps.

    Only when the user has not changed the config since (a new config wins).
    """
    plan = last.get("plan") or {}
    before = (last.get("config") or {}).get("program") or {}
    kept: dict = {}
    var, was = plan.get("variation"), before.get("variation")
    if (var in VARIATIONS and was in VARIATIONS and was == program.get("variation")
            and VARIATIONS.index(var) < VARIATIONS.index(was)):
        kept["variation"] = var
    reps, had = plan.get("reps"), before.get("reps")
    if isinstance(reps, int) and isinstance(had, int) and had == program.get("reps") and reps > had:
        kept["reps"] = reps
    return kept


def plan_for_today(history: list[dict], program: dict, now: datetime) -> tuple[str, list[Advice]]:
    """The greeting for today and the advice that shapes today's plan.

    The greeting is one sentence, e.g. "Last time 7 of 10; today aim for 8;
    your floor is at 70%." The advice list holds only the rules that fired
    (possibly none), in the order to speak them and apply their ``program``.
    """
    done = trained(history)
    if not done:
        # The plan itself is said once, right after the greeting (program.intro).
        return "Welcome to your first session; today we find your floor, the point just before your back lifts.", []
    advice: list[Advice] = []
    rest = recovery_rule(history, program, now)
    if rest:
        advice.append(rest)
    regress = regress_rule(history, program)
    if regress:
        configured = program.get("variation")
        if configured in VARIATIONS and VARIATIONS.index(configured) <= VARIATIONS.index(regress.program["variation"]):
            regress = Advice(regress.kind, regress.sentence, {})  # today's plan is already that easy
        advice.append(regress)
    last = done[-1]
    best = best_set(last)
    # Of the reps that set had: never "12 of 10", nor "20 of 20" for a set of 20 perfect in 30.
    tried = max((s.get("attempted") or 0 for s in last.get("sets", []) if (s.get("counted") or 0) == best), default=0)
    planned = max(planned_reps(last, program), tried, best)
    kept = _kept_adjustments(last, program)
    today = dict(program)
    for a in advice:
        today.update(a.program)
    if not regress:
        progress = progress_rule(last, program, carried_floor(history, last))
        if progress and "variation" in kept:
            # Done at the easier variation the coach chose: back up one step.
            up = _harder(kept["variation"])
            progress = Advice("progress", progress.sentence.split(":")[0] + f": move back up to {NAMES[up]}.",
                              {"variation": up})
        elif "variation" in kept:
            name = NAMES[kept["variation"]]
            progress = Advice("regress", f"Stay with {name} until a set of {number(PERFECT_REPS)} is slow and perfect.",
                              {"variation": kept["variation"]})
        if progress:
            advice.append(progress)
            today.update(progress.program)
        if not rest and best >= today.get("reps", 10) and best < PERFECT_REPS:
            more = {"reps": best + 1}
            advice.append(Advice("progress", f"Every rep was perfect in a set last time, so today try {number(best + 1)}.", more))
            today.update(more)
        elif (not rest and kept.get("reps", 0) > today.get("reps", 10)
              and today.get("variation") == _variation(last, program)):  # a new variation starts afresh
            more = {"reps": kept["reps"]}
            tail = " until every one is perfect" if best < kept["reps"] else ""
            advice.append(Advice("progress", f"Keep to {number(kept['reps'])} reps a set{tail}.", more))
            today.update(more)
    plank = plank_rule(history, program)
    if plank:
        advice.append(plank)
        today.update(plank.program)
    moved = floor_rule(history, now)
    if moved:
        advice.append(moved)
    reps_today = today.get("reps", 10)
    aim = min(best + 1, reps_today) if not rest or rest.kind == "recovery" else min(best, reps_today)
    aim = max(1, aim)
    greeting = f"Last time {number(best)} of {number(planned)}; today aim for {number(aim)}"
    floor = next((s["floor"] for s in reversed(sorted(history, key=started)) if s.get("floor") is not None), None)
    greeting += f"; your floor is at {_pct(floor)}." if floor is not None else "; today we find your floor."
    return greeting, advice


def after_session(history: list[dict], program: dict, now: datetime) -> list[Advice]:
    """Advice to speak at the end; ``history[-1]`` is the session just finished.

    Holds the rules that fired, or one ``"none"`` advice with a closing sentence.
    The floor rule is said only if a stop point was marked in the session just
    finished (else it would repeat the greeting's floor sentence word for word).
    """
    advice: list[Advice] = []
    done = trained(history)
    if done:
        regress = regress_rule(history, program)
        if regress:
            advice.append(regress)
        else:
            progress = progress_rule(done[-1], program, carried_floor(history, done[-1]))
            if progress:
                advice.append(progress)
        moved = floor_rule(history, now) if marked_floor(history[-1]) else None
        if moved:
            advice.append(moved)
        plank = plank_rule(history, program)
        if plank and plank.sentence:
            advice.append(Advice("plank", plank.sentence.replace("today,", "next time,"), plank.program))
    if not advice:
        counted = (history[-1].get("counted") or 0) if history else 0
        if counted:
            sentence = (
                f"Well done: {number(counted)} perfect rep{'s' if counted != 1 else ''} today; "
                "rest a day or two before the next session."
            )
        else:
            sentence = "No perfect reps today; next time end each rep just before your back lifts, and they will count."
        advice.append(Advice("none", sentence))
    return advice
