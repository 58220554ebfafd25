"""One session as the history holds it: the one builder of that record.

:meth:`voicecoach.history.store.Store.sessions` builds it from the stored rows,
and the session's closing advice builds today's from its :class:`Rep` events
before anything is stored, so that the progression rules judge both alike.
The record's keys are those listed by :meth:`~voicecoach.history.store.Store.sessions`.
"""

from __future__ import annotations

from typing import Any, Iterable

from voicecoach.events import Rep


def rep_entry(rep: Rep) -> dict:
    """A logged rep as the record holds it (under its set)."""
    return {
        "rep": rep.rep, "t": rep.t, "counted": rep.counted, "marks": list(rep.marks),
        "lift_s": rep.lift_s, "descent_s": rep.descent_s, "stop_point": rep.stop_point,
    }


def session_record(
    *,
    started_at: str,
    status: str,
    variation: str | None,
    config: dict,
    plan: dict | None,
    reps: Iterable[tuple[int, dict]],
    set_summaries: dict[int, dict] | None = None,
    totals: tuple[int, int] | None = None,
    floor: float | None = None,
    id: int | None = None,
    ended_at: str | None = None,
    plank_s: float | None = None,
    plank_target_s: float | None = None,
    commands: list[dict] | None = None,
) -> dict[str, Any]:
    """The record of one session.

    ``reps`` are ``(set number, rep entry)`` in the order they were done.
    ``set_summaries`` (set number -> ``counted``, ``attempted``, ``marks``) are the
    sets' own summaries where they were logged; a set without one is summed from
    its reps. ``totals`` is ``(counted, attempted)`` of an ended session, else they
    are summed from the sets. ``floor`` is the session's own, else the last stop
    point of its reps.
    """
    set_summaries = set_summaries or {}
    by_set: dict[int, list[dict]] = {}
    last_stop = None
    for set_no, rep in reps:
        by_set.setdefault(set_no, []).append(rep)
        if rep["stop_point"] is not None:
            last_stop = rep["stop_point"]  # the latest one the person marked
    sets = []
    for set_no in sorted(set(by_set) | set(set_summaries)):
        set_reps = by_set.get(set_no, [])
        rep_marks: dict[str, int] = {}
        for rep in set_reps:
            for mark in rep["marks"]:
                rep_marks[mark] = rep_marks.get(mark, 0) + 1
        summary = set_summaries.get(set_no)
        sets.append({
            "set": set_no,
            "counted": summary["counted"] if summary else sum(r["counted"] for r in set_reps),
            "attempted": summary["attempted"] if summary else len(set_reps),
            "marks": summary["marks"] if summary else rep_marks,
            "reps": set_reps,
        })
    marks: dict[str, int] = {}
    for s in sets:
        for name, n in s["marks"].items():
            marks[name] = marks.get(name, 0) + n
    return {
        "id": id,
        "started_at": started_at,
        "ended_at": ended_at,
        "status": status,
        "variation": variation,
        "config": config,
        "plan": plan,
        "sets": sets,
        "counted": totals[0] if totals is not None else sum(s["counted"] for s in sets),
        "attempted": totals[1] if totals is not None else sum(s["attempted"] for s in sets),
        "marks": marks,
        "floor": floor if floor is not None else last_stop,
        "plank_s": plank_s,
        "plank_target_s": plank_target_s,
        "commands": commands if commands is not None else [],
    }
