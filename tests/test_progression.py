"""The progression rules as pure functions over constructed histories.

The histories here are dicts shaped like ``Store.sessions()`` (one test
builds one through a real Store to keep the two in step). Tests that build
histories through ``voicecoach simulate`` live with the coach's tests.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach import events
from voicecoach.config import defaults
from voicecoach.coach.program import VARIATIONS
from voicecoach.history.progression import (
    BACK_ARCHED,
    Advice,
    after_session,
    plan_for_today,
)
from voicecoach.history.store import Store

NOW = datetime(2026, 11, 24, 18, 0, tzinfo=timezone.utc)
PROGRAM = defaults()["program"]  # bent_knee, 3 sets of 10


def make_session(
    ago: timedelta,
    sets: list[tuple[int, int]] = [(7, 10)],
    *,
    variation: str = "bent_knee",
    descent_s: float = 3.2,
    arched: int = 0,
    floor: float | None = None,
    reps: int = 10,
    sid: int = 1,
    plan: dict | None = None,
) -> dict:
    """A session ``ago`` before NOW: ``sets`` of (perfect, attempted); in each set
    the first ``arched`` of the reps that did not count are marked back arched."""
    out_sets = []
    for number, (perfect, attempted) in enumerate(sets, start=1):
        rep_list = []
        for n in range(1, attempted + 1):
            counted = n <= perfect
            marks = [BACK_ARCHED] if not counted and n - perfect <= arched else []
            rep_list.append({"rep": n, "t": float(n), "counted": counted, "marks": marks, "lift_s": 2.0,
                             "descent_s": descent_s, "stop_point": None})
        set_marks = {BACK_ARCHED: sum(1 for r in rep_list if r["marks"])} if any(r["marks"] for r in rep_list) else {}
        out_sets.append({"set": number, "counted": perfect, "attempted": attempted, "marks": set_marks,
                         "reps": rep_list})
    start = NOW - ago
    return {
        "id": sid, "started_at": start.isoformat(), "ended_at": (start + timedelta(minutes=30)).isoformat(),
        "status": "completed", "variation": variation,
        "config": {"program": {**PROGRAM, "variation": variation, "reps": reps}}, "plan": plan,
        "sets": out_sets, "counted": sum(p for p, _ in sets), "attempted": sum(a for _, a in sets),
        "marks": {}, "floor": floor, "commands": [],
    }


def kinds(advice: list[Advice]) -> list[str]:
    return [a.kind for a in advice]


def days(n: float) -> timedelta:
    return timedelta(days=n)


# --- greeting -------------------------------------------------------------------------


def test_first_session_greeting() -> None:
    greeting, advice = plan_for_today([], PROGRAM, NOW)
    assert advice == []
    # The plan is said once, by the session's own intro line, not here too.
    assert "first session" in greeting and "sets" not in greeting


def test_greeting_says_last_time_aim_and_floor() -> None:
    history = [make_session(days(3), [(6, 10), (7, 10), (5, 10)], floor=0.7)]
    greeting, advice = plan_for_today(history, PROGRAM, NOW)
    assert greeting == "Last time seven of ten; today aim for eight; your floor is at seventy percent."
    assert advice == []


def test_greeting_without_a_floor_and_naive_now() -> None:
    history = [make_session(days(3), [(4, 10)])]
    greeting, _ = plan_for_today(history, PROGRAM, (NOW + timedelta(hours=1)).astimezone().replace(tzinfo=None))
    assert greeting == "Last time four of ten; today aim for five; today we find your floor."


def test_sessions_without_reps_are_ignored() -> None:
    started_and_quit = make_session(days(1), [], sid=2)  # e.g. interrupted before the first rep
    history = [make_session(days(3), [(6, 10)]), started_and_quit]
    greeting, advice = plan_for_today(history, PROGRAM, NOW)
    assert greeting.startswith("Last time six of ten")
    assert advice == []  # not "too soon": nothing was trained yesterday


# --- progress -----------------------------------------------------------------------------


def test_progress_after_fifteen_slow_perfect_reps() -> None:
    history = [make_session(days(3), [(15, 15), (12, 15)], reps=15)]
    _, advice = plan_for_today(history, {**PROGRAM, "reps": 15}, NOW)
    assert kinds(advice) == ["progress"]
    assert "dumbbell between your feet" in advice[0].sentence
    assert "single-leg raises" in advice[0].sentence  # the next harder after bent-knee
    assert kinds(after_session(history, PROGRAM, NOW - days(3) + timedelta(minutes=31))) == ["progress"]


def test_fast_lowering_does_not_count_towards_progress() -> None:
    history = [make_session(days(3), [(15, 15)], reps=15, descent_s=2.5)]
    _, advice = plan_for_today(history, {**PROGRAM, "reps": 15}, NOW)
    assert "progress" not in kinds(advice)
    assert kinds(after_session(history, PROGRAM, NOW)) == ["none"]


def test_fourteen_is_not_fifteen() -> None:
    history = [make_session(days(3), [(14, 15)], reps=15)]
    assert "progress" not in kinds(plan_for_today(history, {**PROGRAM, "reps": 15}, NOW)[1])


@pytest.mark.parametrize("variation", VARIATIONS)
def test_progress_names_the_next_harder_variation(variation: str) -> None:
    history = [make_session(days(3), [(15, 15)], variation=variation, reps=15)]
    [advice] = after_session(history, PROGRAM, NOW)
    index = VARIATIONS.index(variation)
    assert "dumbbell" in advice.sentence
    if index + 1 < len(VARIATIONS):
        assert VARIATIONS[index + 1].replace("_", "-") in advice.sentence
    else:
        assert "move up" not in advice.sentence  # hanging is the top: weight only


def test_a_perfect_set_earns_one_more_rep() -> None:
    history = [make_session(days(3), [(10, 10), (9, 10)])]
    greeting, advice = plan_for_today(history, PROGRAM, NOW)
    assert kinds(advice) == ["progress"]
    assert advice[0].program == {"reps": 11}
    assert greeting.startswith("Last time ten of ten; today aim for eleven")


# --- regress --------------------------------------------------------------------------------


def test_regress_after_two_sessions_of_arching() -> None:
    history = [
        make_session(days(6), [(5, 10)], variation="straight_leg", arched=5, sid=1),
        make_session(days(3), [(4, 10)], variation="straight_leg", arched=6, sid=2),
    ]
    program = {**PROGRAM, "variation": "straight_leg"}
    _, advice = plan_for_today(history, program, NOW)
    assert kinds(advice) == ["regress"]
    assert advice[0].program == {"variation": "single_leg"}
    assert "single-leg raises" in advice[0].sentence and "hands under your hips" in advice[0].sentence
    assert kinds(after_session(history, program, NOW)) == ["regress"]


def test_one_bad_session_or_a_good_one_between_is_no_regress() -> None:
    bad = dict(arched=5, variation="straight_leg")
    one = [make_session(days(3), [(5, 10)], **bad)]
    apart = [
        make_session(days(9), [(5, 10)], sid=1, **bad),
        make_session(days(6), [(9, 10)], sid=2, variation="straight_leg"),
        make_session(days(3), [(5, 10)], sid=3, **bad),
    ]
    under_half = [
        make_session(days(6), [(6, 10)], sid=1, arched=4, variation="straight_leg"),
        make_session(days(3), [(5, 10)], sid=2, **bad),
    ]
    program = {**PROGRAM, "variation": "straight_leg"}
    for history in (one, apart, under_half):
        assert "regress" not in kinds(plan_for_today(history, program, NOW)[1])


def test_regress_from_dead_bugs_stays_on_dead_bugs() -> None:
    history = [make_session(days(d), [(3, 10)], variation="dead_bug", arched=7, sid=d) for d in (6, 3)]
    _, advice = plan_for_today(history, {**PROGRAM, "variation": "dead_bug"}, NOW)
    assert kinds(advice) == ["regress"]
    assert "dead bugs" in advice[0].sentence and advice[0].program == {}


def test_regress_does_not_make_an_easier_plan_harder() -> None:
    history = [make_session(days(d), [(3, 10)], variation="straight_leg", arched=7, sid=d) for d in (6, 3)]
    _, advice = plan_for_today(history, {**PROGRAM, "variation": "dead_bug"}, NOW)
    assert kinds(advice) == ["regress"] and advice[0].program == {}


def test_regress_wins_over_progress() -> None:
    history = [
        make_session(days(6), [(15, 30)], variation="single_leg", arched=15, reps=30, sid=1),
        make_session(days(3), [(15, 30)], variation="single_leg", arched=15, reps=30, sid=2),
    ]
    assert kinds(after_session(history, PROGRAM, NOW)) == ["regress"]


# --- floor ------------------------------------------------------------------------------------


def test_floor_deeper_than_two_weeks_ago() -> None:
    history = [
        make_session(days(15), floor=0.5, sid=1),
        make_session(days(8), floor=0.6, sid=2),
        make_session(days(3), floor=0.7, sid=3),
    ]
    _, advice = plan_for_today(history, PROGRAM, NOW)
    assert kinds(advice) == ["floor"]
    assert advice[0].sentence == "Your floor is twenty percent deeper than two weeks ago: now seventy percent of the way down."


def test_floor_higher_and_floor_steady() -> None:
    higher = [make_session(days(20), floor=0.8, sid=1), make_session(days(2), floor=0.6, sid=2)]
    [advice] = [a for a in plan_for_today(higher, PROGRAM, NOW)[1] if a.kind == "floor"]
    assert "twenty percent higher than three weeks ago" in advice.sentence
    steady = [make_session(days(16), floor=0.70, sid=1), make_session(days(2), floor=0.72, sid=2)]
    assert "floor" not in kinds(plan_for_today(steady, PROGRAM, NOW)[1])
    too_recent = [make_session(days(4), floor=0.4, sid=1), make_session(days(2), floor=0.7, sid=2)]
    assert "floor" not in kinds(plan_for_today(too_recent, PROGRAM, NOW)[1])


def _marked(session: dict, rep: int = 1) -> dict:
    """``session`` with its floor marked as a stop point on ``rep`` of its first set."""
    session["sets"][0]["reps"][rep - 1]["stop_point"] = session["floor"]
    return session


def test_floor_compared_with_the_first_when_history_is_short() -> None:
    history = [make_session(days(9), floor=0.5, sid=1), _marked(make_session(days(2), floor=0.65, sid=2))]
    [advice] = [a for a in after_session(history, PROGRAM, NOW) if a.kind == "floor"]
    assert advice.sentence.startswith("Your floor is fifteen percent deeper than nine days ago")


def test_floor_is_said_at_the_end_only_when_a_stop_point_was_marked_that_session() -> None:
    earlier = [make_session(days(20), floor=0.5, sid=1), _marked(make_session(days(6), floor=0.8, sid=2))]
    # Today nothing was marked: the session keeps the floor it started with (as stored),
    # or has none of its own (as the runtime builds it before storing).
    for kept in (0.8, None):
        today = make_session(days(0), floor=kept, sid=3)
        assert "floor" not in kinds(after_session(earlier + [today], PROGRAM, NOW))
    # The greeting gives the news instead.
    greeting = [a for a in plan_for_today(earlier, PROGRAM, NOW)[1] if a.kind == "floor"]
    assert [a.sentence for a in greeting] == ["Your floor is thirty percent deeper than three weeks ago: now eighty percent of the way down."]
    # Marked again today: said at the end.
    marked = _marked(make_session(days(0), floor=0.85, sid=3), rep=7)
    [advice] = [a for a in after_session(earlier + [marked], PROGRAM, NOW) if a.kind == "floor"]
    assert advice.sentence == "Your floor is thirty-five percent deeper than three weeks ago: now eighty-five percent of the way down."


# --- recovery ---------------------------------------------------------------------------------


def test_too_soon_warns_and_lightens() -> None:
    history = [make_session(timedelta(hours=20), [(8, 10)])]
    greeting, advice = plan_for_today(history, PROGRAM, NOW)
    assert kinds(advice) == ["recovery"]
    assert advice[0].program == {"sets": 2}
    assert "only twenty hours ago" in advice[0].sentence and advice[0].program == {"sets": 2}
    assert "aim for nine" in greeting
    one_set = plan_for_today(history, {**PROGRAM, "sets": 1}, NOW)[1][0]
    assert one_set.program == {"reps": 7}
    just_now = plan_for_today([make_session(timedelta(minutes=20), [(8, 10)])], PROGRAM, NOW)[1][0]
    assert just_now.sentence.startswith("Your last session was less than an hour ago;")


def test_a_fourth_session_in_a_week_is_lighter() -> None:
    history = [make_session(days(d), [(8, 10)], sid=i) for i, d in enumerate((6, 4, 2))]
    _, advice = plan_for_today(history, PROGRAM, NOW)
    assert kinds(advice) == ["recovery"] and "fourth session in a week" in advice[0].sentence
    assert kinds(plan_for_today(history[1:], PROGRAM, NOW)[1]) == []


def test_long_gap_restarts_easier() -> None:
    history = [make_session(days(12), [(9, 10)])]
    greeting, advice = plan_for_today(history, PROGRAM, NOW)
    assert kinds(advice) == ["restart"]
    assert advice[0].program == {"sets": 2, "reps": 7}
    assert "twelve days" in advice[0].sentence
    assert "aim for seven" in greeting
    assert kinds(plan_for_today([make_session(days(10) - timedelta(hours=1), [(9, 10)])], PROGRAM, NOW)[1]) == []


def test_advice_programs_apply_in_order_without_conflict() -> None:
    history = [
        make_session(days(8), [(10, 10)], variation="straight_leg", floor=0.4, sid=1),
        make_session(timedelta(hours=10), [(10, 10)], variation="straight_leg", floor=0.6, sid=2),
    ]
    _, advice = plan_for_today(history, {**PROGRAM, "variation": "straight_leg"}, NOW)
    # Too soon: lighter, and no extra rep on top of it.
    assert kinds(advice) == ["recovery", "floor"]
    today = dict(PROGRAM)
    for a in advice:
        today.update(a.program)
    assert today["sets"] == 2 and today["reps"] == 10


def test_unsorted_history_is_read_in_time_order() -> None:
    history = [
        make_session(days(3), [(4, 10)], variation="straight_leg", arched=6, sid=2),
        make_session(days(6), [(5, 10)], variation="straight_leg", arched=5, sid=1),
    ]
    assert kinds(plan_for_today(history, PROGRAM, NOW)[1]) == ["regress"]


def test_after_session_says_something_when_no_rule_fires() -> None:
    [advice] = after_session([make_session(days(0), [(8, 10)])], PROGRAM, NOW)
    assert advice.kind == "none" and "eight perfect reps" in advice.sentence
    [advice] = after_session([make_session(days(0), [(0, 10)])], PROGRAM, NOW)
    assert advice.kind == "none" and "No perfect reps" in advice.sentence


def test_rules_read_the_store_history(tmp_path: Path) -> None:
    """The same regress rule, with the history as the real Store returns it."""
    with Store(tmp_path / "h.db") as store:
        for n, ago in enumerate((6, 3)):
            sid = store.begin_session(started_at=NOW - days(ago), config={"program": {**PROGRAM, "variation": "single_leg"}})
            for r in range(1, 11):
                arched = r > 5
                store.record_rep(sid, events.Rep(t=float(r), set=1, rep=r, counted=not arched,
                                                 marks=(BACK_ARCHED,) if arched else (), descent_s=3.0,
                                                 stop_point=0.5 + n / 10))
            store.end_session(sid, events.SessionSummary(t=100.0, sets=1, counted=5, attempted=10))
        history = store.sessions()
    greeting, advice = plan_for_today(history, {**PROGRAM, "variation": "single_leg"}, NOW)
    assert greeting == "Last time five of ten; today aim for six; your floor is at sixty percent."
    assert kinds(advice) == ["regress"] and advice[0].program == {"variation": "bent_knee"}


# --- the pace of the lowering when the coach stops at the floor -------------------------


def _with_descents(session: dict, descents: list[float], marks: dict[int, float] = {}) -> dict:
    """Set each rep's descent_s (in order) and stop points {rep number: floor}."""
    for r, d in zip(session["sets"][0]["reps"], descents):
        r["descent_s"] = d
        if r["rep"] in marks:
            r["stop_point"] = marks[r["rep"]]
            r["marks"] = r["marks"] + ["stop_point"]
    return session


def test_pace_counts_the_full_lowering_when_stopping_at_the_floor() -> None:
    # The coach counts 3 s for the whole way down but stops at 70%: 2.1 s.
    earlier = make_session(days(6), [(8, 10)], floor=0.7, sid=1)
    last = _with_descents(make_session(days(3), [(15, 15)], reps=15, floor=0.7, sid=2), [2.1] * 15)
    assert kinds(after_session([earlier, last], PROGRAM, NOW)) == ["progress"]
    # Sped up ("faster"): 1.8 s at a 70% floor is a 2.6 s pace.
    rushed = _with_descents(make_session(days(3), [(15, 15)], reps=15, floor=0.7, sid=2), [1.8] * 15)
    assert kinds(after_session([earlier, rushed], PROGRAM, NOW)) == ["none"]


def test_pace_follows_a_floor_marked_during_the_session() -> None:
    # Full lowering until rep 3 marks 60%; rep 9 marks 80%, and rep 10 was
    # already planned with the 60% floor.
    descents = [3.0, 3.0, 3.0] + [1.8] * 7 + [2.4] * 5
    last = _with_descents(make_session(days(3), [(15, 15)], reps=15, floor=0.8), descents, {3: 0.6, 9: 0.8})
    assert kinds(after_session([last], PROGRAM, NOW)) == ["progress"]
    descents[11] = 1.8  # rep 12 at the old floor: two reps after the mark is not planning lag
    last = _with_descents(make_session(days(3), [(15, 15)], reps=15, floor=0.8), descents, {3: 0.6, 9: 0.8})
    assert kinds(after_session([last], PROGRAM, NOW)) == ["none"]


# --- what the coach changed last time holds until earned back ----------------------------


def _eased(perfect: int = 8, attempted: int = 10, **kw) -> dict:
    """Configured single-leg, but the coach had eased it to bent-knee last time."""
    plan = {**PROGRAM, "variation": "bent_knee", "reps": kw.pop("reps", 10)}
    session = make_session(days(3), [(perfect, attempted)], variation="single_leg", plan=plan, **kw)
    session["variation"] = "bent_knee"  # as the Store records it: the plan's
    return session


def test_an_eased_variation_holds() -> None:
    single = {**PROGRAM, "variation": "single_leg"}
    _, advice = plan_for_today([_eased()], single, NOW)
    assert kinds(advice) == ["regress"] and advice[0].program == {"variation": "bent_knee"}
    assert advice[0].sentence.startswith("Stay with bent-knee raises")
    # The user changed the config since: the new config wins.
    assert plan_for_today([_eased()], {**PROGRAM, "variation": "straight_leg"}, NOW)[1] == []


def test_an_eased_variation_is_earned_back() -> None:
    last = _eased(15, 15, reps=15)
    last["sets"][0]["reps"] = [dict(r, descent_s=3.1) for r in last["sets"][0]["reps"]]
    _, advice = plan_for_today([last], {**PROGRAM, "variation": "single_leg", "reps": 10}, NOW)
    assert kinds(advice) == ["progress"] and advice[0].program == {"variation": "single_leg"}
    assert advice[0].sentence.endswith("move back up to single-leg raises.")


def test_more_reps_hold_until_perfect() -> None:
    last = make_session(days(3), [(9, 12), (11, 12)], plan={**PROGRAM, "reps": 12})
    greeting, advice = plan_for_today([last], PROGRAM, NOW)
    assert kinds(advice) == ["progress"] and advice[0].program == {"reps": 12}
    assert greeting.startswith("Last time eleven of twelve; today aim for twelve")
    soon = make_session(timedelta(hours=5), [(9, 12)], plan={**PROGRAM, "reps": 12})
    assert kinds(plan_for_today([soon], PROGRAM, NOW)[1]) == ["recovery"]  # lighter wins


# --- any history: advice the runtime can apply as it is ----------------------------------

from hypothesis import given, settings, strategies as st  # noqa: E402

from voicecoach.config import SCHEMA  # noqa: E402

_rep = st.fixed_dictionaries({
    "counted": st.booleans(),
    "descent_s": st.floats(0, 5),
    "marks": st.lists(st.sampled_from([BACK_ARCHED, "stop_point", "doming", "good_rep"]), max_size=2),
    "stop_point": st.none() | st.floats(0.05, 1.0),
})
_session = st.fixed_dictionaries({
    "hours_ago": st.floats(0, 24 * 60),
    "variation": st.sampled_from(VARIATIONS),
    "sets": st.lists(st.lists(_rep, max_size=16), max_size=4),
    "floor": st.none() | st.floats(0.05, 1.0),
    "plan": st.none() | st.fixed_dictionaries({"variation": st.sampled_from(VARIATIONS),
                                               "reps": st.integers(1, 30), "sets": st.integers(1, 10)}),
})
_program = st.fixed_dictionaries({
    "variation": st.sampled_from(VARIATIONS), "sets": st.integers(1, 10), "reps": st.integers(1, 30),
})


def _history(specs: list[dict]) -> list[dict]:
    out = []
    for i, spec in enumerate(specs):
        sets = []
        for n, reps in enumerate(spec["sets"], start=1):
            reps = [dict(r, rep=k, t=float(k), lift_s=2.0) for k, r in enumerate(reps, start=1)]
            sets.append({"set": n, "counted": sum(r["counted"] for r in reps), "attempted": len(reps),
                         "marks": {}, "reps": reps})
        out.append({
            "id": i, "started_at": (NOW - timedelta(hours=spec["hours_ago"])).isoformat(), "status": "completed",
            "variation": (spec["plan"] or {}).get("variation", spec["variation"]),
            "config": {"program": {**PROGRAM, "variation": spec["variation"]}}, "plan": spec["plan"],
            "sets": sets, "counted": sum(s["counted"] for s in sets), "attempted": sum(s["attempted"] for s in sets),
            "marks": {}, "floor": spec["floor"], "commands": [],
        })
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(_session, max_size=6), _program)
def test_any_history_gives_valid_advice(specs: list[dict], program_part: dict) -> None:
    history = _history(specs)
    program = {**PROGRAM, **program_part}
    greeting, advice = plan_for_today(history, program, NOW)
    closing = after_session(history, program, NOW) if history else []
    assert greeting and "\n" not in greeting
    for a in advice + closing:
        assert a.kind in ("progress", "regress", "floor", "recovery", "restart", "none")
        assert a.sentence and "\n" not in a.sentence
        for key, value in a.program.items():
            assert SCHEMA["program"][key].check(value), (key, value)  # applies without breaking the config
    keys = [key for a in advice for key in a.program]
    assert len(keys) == len(set(keys)), advice  # no two pieces of advice fight over a key
    assert "none" not in kinds(advice)


# --- the plank finish -------------------------------------------------------------------


def planked(ago: timedelta, held: float, target: float, sid: int) -> dict:
    return {**make_session(ago, [(8, 10)], sid=sid), "plank_s": held, "plank_target_s": target}


def test_two_full_plank_holds_in_a_row_add_ten_seconds() -> None:
    program = {**PROGRAM, "plank_s": 30.0}
    history = [planked(days(4), 30.0, 30.0, 1), planked(days(2), 30.0, 30.0, 2)]
    greeting, advice = plan_for_today(history, program, NOW)
    (plank,) = [a for a in advice if a.kind == "plank"]
    assert plank.program == {"plank_s": 40.0}
    assert plank.sentence == "You held the plank for the full thirty seconds twice in a row: today, forty."
    # One full hold at the raised time is not two: it is kept, and not raised again, without a word.
    history.append(planked(days(1.5), 40.0, 40.0, 3))
    (kept,) = [a for a in plan_for_today(history, program, NOW)[1] if a.kind == "plank"]
    assert kept.program == {"plank_s": 40.0} and kept.sentence == ""


def test_a_plank_cut_short_or_switched_off_gets_no_more_time() -> None:
    program = {**PROGRAM, "plank_s": 30.0}
    short = [planked(days(4), 30.0, 30.0, 1), planked(days(2), 21.5, 30.0, 2)]
    assert not [a for a in plan_for_today(short, program, NOW)[1] if a.kind == "plank"]
    full = [planked(days(4), 30.0, 30.0, 1), planked(days(2), 30.0, 30.0, 2)]
    assert not [a for a in plan_for_today(full, PROGRAM, NOW)[1] if a.kind == "plank"]  # plank_s = 0: off


def test_the_closing_advice_says_the_plank_grows_next_time() -> None:
    program = {**PROGRAM, "plank_s": 30.0}
    history = [planked(days(2), 30.0, 30.0, 1), planked(timedelta(0), 30.0, 30.0, 2)]
    (plank,) = [a for a in after_session(history, program, NOW) if a.kind == "plank"]
    assert plank.sentence.endswith("next time, forty.")
