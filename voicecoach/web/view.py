"""What the page shows, computed from the history (no HTML here: the unit tests read it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from voicecoach.history import report
from voicecoach.history import progression

MARKS = ("back_arched", "doming", "stop_point")
"""The marks charted per session, in the order of their legend."""


@dataclass
class Plan:
    greeting: str
    advice: list[str]
    variation: str
    sets: int
    reps: int


@dataclass
class Point:
    session_id: int
    when: datetime
    counted: int
    attempted: int
    floor: float | None
    marks: dict[str, int]
    plank_s: float | None
    plank_target_s: float | None


@dataclass
class Overview:
    plan: Plan
    points: list[Point] = field(default_factory=list)
    weeks: list[tuple[date, int, int, int]] = field(default_factory=list)
    """``(monday, sessions, perfect reps, attempted reps)``."""
    sessions: list[dict] = field(default_factory=list)
    """Every session, newest first (interrupted ones too)."""


def next_plan(history: list[dict], program: dict, now: datetime) -> Plan:
    """The greeting and advice the coach would give now (the same text it speaks), and the plan they shape."""
    greeting, advice = progression.plan_for_today(history, program, now)
    today = dict(program)
    for a in advice:
        today.update(a.program)
    variation = today.get("variation") or "bent_knee"
    return Plan(greeting, [a.sentence for a in advice if a.sentence],
                progression.NAMES.get(variation, variation), int(today["sets"]), int(today["reps"]))


def points(history: list[dict]) -> list[Point]:
    """One point per session with a rep attempted, oldest first."""
    return [Point(s["id"], report.local_start(s), s.get("counted") or 0, s.get("attempted") or 0, s.get("floor"),
                  marks(s), s.get("plank_s"), s.get("plank_target_s"))
            for s in progression.trained(history)]


def marks(session: dict) -> dict[str, int]:
    """Marks of each kind in a session; a stop point is counted from the reps
    (the sets' summaries count only the marks that judge a rep)."""
    counts = {m: (session.get("marks") or {}).get(m, 0) for m in MARKS}
    counts["stop_point"] = sum(r.get("stop_point") is not None for st in session.get("sets", []) for r in st["reps"])
    return counts


def weeks(history: list[dict]) -> list[tuple[date, int, int, int]]:
    """Per week with training: sessions, perfect and attempted reps (report.weekly plus attempts)."""
    attempted: dict[date, int] = {}
    for p in points(history):
        monday = date.fromordinal(p.when.date().toordinal() - p.when.weekday())
        attempted[monday] = attempted.get(monday, 0) + p.attempted
    return [(monday, n, reps, attempted.get(monday, 0)) for monday, n, reps in report.weekly(history)]


def overview(history: list[dict], program: dict, now: datetime) -> Overview:
    return Overview(next_plan(history, program, now), points(history), weeks(history), list(reversed(history)))


def variation_name(session: dict) -> str:
    v = session.get("variation") or ""
    return progression.NAMES.get(v, v or "?")
