"""The pure coach session, driven with plain calls (no audio, no threads, no clock)."""

from __future__ import annotations

import dataclasses
from itertools import groupby

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from session_support import SR, drive, durations, heard, lowering_starts, of_type, played, program, speech
from voicecoach.coach import program as P
from voicecoach.coach.session import (BOTTOM_S, FLOOR_MIN, GRACE_S, PAD_S, STOP_WINDOW_S, TOP_S, Cancel, Session,
                                      estimate_seconds)
from voicecoach.events import (Command, Cue, DeviceBack, DeviceLost, Heard, Notice, Rep, SessionSummary, SetSummary, Tick,
                               Withdrawn)


def new(floor=None, **over) -> Session:
    return Session(program(**over), SR, floor=floor, durations=durations)


def lowerings(events) -> list[list[Cue]]:
    """The tick cues of each lowering, grouped by the "lower" cue before them."""
    groups: list[list[Cue]] = []
    for c in played(events):
        if c.kind == "speech" and c.text == P.lower_phrase("standard"):
            groups.append([])
        elif c.kind == "tick" and groups:
            groups[-1].append(c)
    return groups


def rep_starts(events) -> list[int]:
    return [c.sample for c in speech(events, "Exhale, lift")]


def test_a_plain_set_counts_every_rep_and_summarises():
    events = drive(new(), 200)
    reps = of_type(events, Rep)
    assert [(r.set, r.rep, r.counted) for r in reps] == [(1, i, True) for i in range(1, 5)]
    (summary,) = of_type(events, SetSummary)
    assert (summary.counted, summary.attempted) == (4, 4)
    assert speech(events, P.set_summary(4, 4))
    (done,) = of_type(events, SessionSummary)
    assert (done.status, done.counted, done.attempted) == ("completed", 4, 4)
    assert [c.text for c in speech(events)][-len(P.FINISH) - 1:] == ["Workout done: four of four counted.", *P.FINISH]


def test_each_count_is_on_its_beat():
    events = drive(new(reps=3), 200)
    groups = lowerings(events)
    assert len(groups) == 3
    for ticks in groups:
        assert [t.sample - ticks[0].sample for t in ticks] == [0, SR, 2 * SR]
        words = [c for c in played(events) if c.kind == "speech" and c.sample in {t.sample for t in ticks}]
        assert [w.text for w in words] == ["one-one-thousand", "two-one-thousand", "three-one-thousand"]
    for r in of_type(events, Rep):
        assert r.descent_s == 3.0


def test_long_counts_that_do_not_fit_the_beat_fall_back_to_numbers():
    session = Session(program(reps=1), SR, durations=lambda t: 1.3 if "thousand" in t else durations(t))
    events = drive(session, 100)
    counts = [c.text for c in speech(events) if c.text in ("one", "two", "three") or "thousand" in c.text]
    assert counts == ["one", "two", "three"]


def test_ticks_only_and_words_only():
    ticks_only = drive(new(reps=1, count_words=False), 100)
    assert not speech(ticks_only, "thousand") and len(lowerings(ticks_only)[0]) == 3
    words_only = drive(new(reps=1, ticks=False), 100)
    assert not [c for c in played(words_only) if c.kind == "tick"]
    assert len(speech(words_only, "-one-thousand")) == 3


def test_a_mark_counts_where_it_was_said_not_when_it_was_heard():
    dry = drive(new(), 200)
    starts = rep_starts(dry)
    rep3 = starts[2] / SR
    # Said during rep 3's lift, recognised 1.5 s later (well into the rep).
    events = drive(new(), 200, [heard("back_arched", rep3 + 0.5, latency=1.5)])
    reps = of_type(events, Rep)
    assert [r.counted for r in reps] == [True, True, False, True]
    assert reps[2].marks == ("back_arched",)
    assert speech(events, P.NOT_COUNTED)
    (summary,) = of_type(events, SetSummary)
    assert (summary.counted, summary.attempted, summary.marks) == (3, 4, {"back_arched": 1})
    assert speech(events, "three of four counted.")


def test_the_earcon_is_placed_the_moment_the_mark_is_heard():
    starts = rep_starts(drive(new(), 200))
    h = heard("good_rep", starts[1] / SR + 1.0, latency=0.3)
    events = drive(new(), 200, [h])
    (cmd,) = of_type(events, Command)
    earcons = [c for c in played(events) if c.kind == "earcon"]
    assert [e.text for e in earcons] == ["mark"]
    assert earcons[0].sample == round(cmd.t * SR)
    assert 0 <= cmd.t - h.emitted < 0.03
    assert of_type(events, Rep)[1].marks == ("good_rep",) and of_type(events, Rep)[1].counted


def _provisional(h: Heard, settled_after_s: float = 0.45) -> tuple[Heard, Heard]:
    """``h`` as a recognizer with provisional results sends it: first provisional, then final."""
    return dataclasses.replace(h, final=False), dataclasses.replace(h, emitted=h.emitted + settled_after_s)


def test_a_provisional_mark_sounds_its_earcon_at_once_and_is_kept_when_final():
    starts = rep_starts(drive(new(), 200))
    first, final = _provisional(heard("back_arched", starts[2] / SR + 2.0, latency=0.2))
    events = drive(new(), 200, [first, final])
    earcons = [c for c in played(events) if c.kind == "earcon"]
    assert [e.text for e in earcons] == ["mark"]  # once, for the provisional result
    assert 0 <= earcons[0].t - first.emitted < 0.03
    (cmd,) = of_type(events, Command)
    assert cmd.t >= final.emitted
    assert [r.counted for r in of_type(events, Rep)] == [True, True, False, True]
    assert len(speech(events, P.NOT_COUNTED)) == 1


def test_a_withdrawn_mark_leaves_the_rep_as_it_was():
    starts = rep_starts(drive(new(), 200))
    first, final = _provisional(heard("back_arched", starts[2] / SR + 2.0, latency=0.2))
    taken_back = Withdrawn(first.intent, first.text, first.start, first.end, final.emitted)
    events = drive(new(), 200, [first, taken_back])
    assert [c.text for c in played(events) if c.kind == "earcon"] == ["mark"]
    assert of_type(events, Command) == []
    assert [r.counted for r in of_type(events, Rep)] == [True] * 4
    assert speech(events, P.NOT_COUNTED) == []


def test_a_mark_taken_back_and_then_heard_final_sounds_its_earcon_again():
    # The earcon says "kept": once the provisional one was taken back, the
    # person has heard nothing for the mark that is finally kept.
    starts = rep_starts(drive(new(), 200))
    first, final = _provisional(heard("back_arched", starts[2] / SR + 2.0, latency=0.2))
    taken_back = Withdrawn(first.intent, first.text, first.start, first.end, final.emitted)
    again = dataclasses.replace(final, emitted=final.emitted + 0.3)
    events = drive(new(), 200, [first, taken_back, again])
    earcons = [c for c in played(events) if c.kind == "earcon"]
    assert [e.text for e in earcons] == ["mark", "mark"]
    assert earcons[1].t >= again.emitted
    assert [r.counted for r in of_type(events, Rep)] == [True, True, False, True]


def test_a_provisional_control_is_obeyed_only_when_final():
    starts = rep_starts(drive(new(), 200))
    first, final = _provisional(heard("pause", starts[1] / SR + 0.5, latency=0.2))
    only_first = drive(new(), 200, [first])
    assert of_type(only_first, Command) == [] and speech(only_first, P.PAUSED) == []
    assert len(of_type(only_first, Rep)) == 4
    both = drive(new(), 200, [first, final])
    (cmd,) = of_type(both, Command)
    assert cmd.intent == "pause" and cmd.t >= final.emitted
    assert speech(both, P.PAUSED)


def test_a_mark_just_after_a_rep_belongs_to_that_rep():
    dry = drive(new(), 200)
    end_of_rep2 = of_type(dry, Rep)[1].t
    events = drive(new(), 200, [heard("back_arched", end_of_rep2 + 0.4)])
    assert [r.counted for r in of_type(events, Rep)] == [True, False, True, True]


def test_doming_does_not_count_and_cues_the_belly():
    starts = rep_starts(drive(new(), 200))
    events = drive(new(), 200, [heard("doming", starts[0] / SR + 4.0)])
    assert not of_type(events, Rep)[0].counted
    assert speech(events, P.DOMING)


def test_a_mark_outside_any_rep_is_refused():
    events = drive(new(), 200, [heard("back_arched", 1.0)])
    assert all(r.counted for r in of_type(events, Rep))
    assert [c.text for c in played(events) if c.kind == "earcon"] == ["error"]
    (command,) = of_type(events, Command)
    assert [(n.t, n.text) for n in of_type(events, Notice)] == [
        (command.t, "back_arched at 1.00s is not during an open rep")]
    assert speech(events, P.NO_REP)


def test_only_the_floor_tests_back_arched_moves_the_floor_and_doming_never_does():
    """And a rep already not counted is not said to be not counted again."""
    # The floor test's lowering, then two lowerings to the floor. A mark's replies
    # push the workout on, so each lowering is found with the marks before it said.
    said = [[("doming", 0.5)], [("back_arched", 0.5)], [("back_arched", 0.3), ("doming", 1.2)]]
    marks = []
    for k, rep_marks in enumerate(said):
        lowering = lowering_starts(played(drive(new(floor=0.5, reps=3), 200, marks)))[k]
        marks += [heard(intent, lowering + after) for intent, after in rep_marks]
    session = new(floor=0.5, reps=3)
    events = drive(session, 200, marks)
    assert session.floor == 0.5 and [r.stop_point for r in of_type(events, Rep)] == [None, None, None]
    assert [r.marks for r in of_type(events, Rep)] == [("doming",), ("back_arched",), ("back_arched", "doming")]
    assert [c.text for c in speech(events) if c.text in (P.NOT_COUNTED, P.DOMING)] == [
        P.NOT_COUNTED, P.DOMING, P.NOT_COUNTED, P.NOT_COUNTED, P.DOMING]


def test_a_stop_point_chimes_mark_in_the_lowering_and_error_before_it():
    dry = lowering_starts(played(drive(new(floor=0.5, reps=2), 200)))
    events = drive(new(floor=0.5, reps=2), 200, [heard("stop_point", dry[1] - 2.0), heard("stop_point", dry[1] + 0.5)])
    early, late = of_type(events, Command)
    assert [(c.text, c.sample) for c in played(events) if c.kind == "earcon"] == [
        ("error", round(early.t * SR)), ("mark", round(late.t * SR))]
    assert len(speech(events, P.NO_LOWERING)) == 1


def test_stop_point_sets_the_floor_and_later_lowerings_end_there():
    dry = drive(new(reps=4), 200)
    lower2 = lowerings(dry)[1][0].sample / SR
    session = new(reps=4)
    events = drive(session, 200, [heard("stop_point", lower2 + 1.5)])
    reps = of_type(events, Rep)
    assert reps[1].stop_point == pytest.approx(0.5, abs=0.01)
    assert reps[1].counted and reps[1].descent_s == 3.0
    assert [r.descent_s for r in reps[2:]] == [1.5, 1.5]
    assert session.floor == pytest.approx(0.5, abs=0.01)
    groups = lowerings(events)
    assert [len(g) for g in groups] == [3, 3, 2, 2]
    stops = speech(events, P.FLOOR_STOP)
    assert len(stops) == 2
    for ticks, stop in zip(groups[2:], stops):
        assert stop.sample - ticks[0].sample == round(1.5 * SR)
    assert of_type(events, SessionSummary)[0].floor == session.floor


def test_a_floor_from_last_time_applies_after_the_floor_test():
    events = drive(new(floor=0.7, reps=3), 200)
    # The first lowering is the floor test, counted all the way down; the rest end at the floor.
    assert [r.descent_s for r in of_type(events, Rep)] == [3.0, 2.1, 2.1]
    # The second count would end after the floor: only its tick (or a short count) is left.
    assert all(len(g) == 3 for g in lowerings(events))
    assert len(speech(events, P.FLOOR_STOP)) == 2


def test_the_floor_test_is_announced_once_before_the_first_lift():
    events = drive(new(floor=0.7, sets=2, reps=2), 300)
    texts = [c.text for c in speech(events)]
    assert texts.count(P.FLOOR_TEST) == 1
    i = texts.index(P.FLOOR_TEST)
    assert texts[i - 1] == "Set one of two." and texts[i + 1].startswith("Exhale, lift")
    # Once a session: set two starts at the floor like every later rep.
    assert [r.descent_s for r in of_type(events, Rep)] == [3.0, 2.1, 2.1, 2.1]


def floor_test_lowering(**over) -> float:
    """Second at which the floor test's counted lowering starts (a dry run)."""
    return lowerings(drive(new(**over), 200))[0][0].sample / SR


@pytest.mark.parametrize("old, said_at, new_floor", [(0.5, 0.8, 0.8), (0.7, 0.3, 0.3), (None, 0.6, 0.6)])
def test_a_stop_point_in_the_floor_test_sets_the_floor_deeper_or_shallower(old, said_at, new_floor):
    lowering = floor_test_lowering(floor=old)
    session = new(floor=old)
    events = drive(session, 200, [heard("stop_point", lowering + 3.0 * said_at)])
    reps = of_type(events, Rep)
    assert reps[0].stop_point == pytest.approx(new_floor, abs=0.01) and reps[0].counted
    assert reps[0].descent_s == 3.0  # the test counts the full descent
    assert session.floor == pytest.approx(new_floor, abs=0.01)
    assert [r.descent_s for r in reps[1:]] == [round(3.0 * session.floor, 3)] * 3
    assert [len(g) for g in lowerings(events)][0] == 3
    assert len(speech(events, P.FLOOR_STOP)) == 3
    assert of_type(events, SessionSummary)[0].floor == session.floor


def test_no_mark_in_the_floor_test_keeps_the_old_floor():
    session = new(floor=0.6)
    events = drive(session, 200, [heard("good_rep", floor_test_lowering(floor=0.6) + 2.9)])
    reps = of_type(events, Rep)
    assert reps[0].marks == ("good_rep",) and reps[0].stop_point is None  # went all the way, said nothing
    assert session.floor == 0.6
    assert [r.descent_s for r in reps] == [3.0, 1.8, 1.8, 1.8]
    assert of_type(events, SessionSummary)[0].floor == 0.6


def test_back_arched_in_the_floor_test_above_the_floor_raises_it():
    lowering = floor_test_lowering(floor=0.8)
    session = new(floor=0.8)
    events = drive(session, 200, [heard("back_arched", lowering + 1.5)])
    reps = of_type(events, Rep)
    assert not reps[0].counted and reps[0].stop_point == pytest.approx(0.5, abs=0.01)
    assert session.floor == pytest.approx(0.5, abs=0.01)
    assert [r.descent_s for r in reps[1:]] == [1.5] * 3


def test_back_arched_in_the_floor_test_below_the_floor_keeps_it():
    lowering = floor_test_lowering(floor=0.5)
    session = new(floor=0.5)
    events = drive(session, 200, [heard("back_arched", lowering + 2.7)])
    reps = of_type(events, Rep)
    assert not reps[0].counted and reps[0].stop_point is None
    assert session.floor == 0.5 and [r.descent_s for r in reps[1:]] == [1.5] * 3


def test_a_stop_point_in_the_floor_test_wins_over_back_arched():
    lowering = floor_test_lowering(floor=0.5)
    session = new(floor=0.5)
    marks = [heard("stop_point", lowering + 2.1, latency=0.3), heard("back_arched", lowering + 2.7, latency=0.3)]
    events = drive(session, 200, marks)
    assert of_type(events, Rep)[0].marks == ("stop_point", "back_arched")
    assert session.floor == pytest.approx(0.7, abs=0.01)


def test_a_stop_point_after_the_floor_test_can_only_raise_the_floor():
    dry = drive(new(floor=0.5), 200)
    rep2 = lowerings(dry)[1][0].sample / SR
    session = new(floor=0.5)
    # Said at the bottom of rep 2, after its lowering stopped at the floor: the floor stays.
    events = drive(session, 200, [heard("stop_point", rep2 + 2.5)])
    assert of_type(events, Rep)[1].stop_point == 0.5 and session.floor == 0.5


def test_a_stop_point_at_the_very_start_of_the_floor_test_keeps_a_minimum_floor():
    """A stop point just after the floor test's lowering starts gives the floor
    FLOOR_MIN, not a sliver: later lowerings last a tenth of the descent, not milliseconds."""
    lowering = floor_test_lowering()
    session = new()
    events = drive(session, 200, [heard("stop_point", lowering + 0.05)])
    reps = of_type(events, Rep)
    assert session.floor == FLOOR_MIN == 0.1
    assert reps[0].stop_point == FLOOR_MIN
    assert [r.descent_s for r in reps[1:]] == [0.3] * 3
    assert of_type(events, SessionSummary)[0].floor == FLOOR_MIN


def test_a_floor_test_cut_short_is_done_again():
    lowering = floor_test_lowering(floor=0.5)
    # Paused during the test lowering: the rep is redone from the top, as the test again.
    hs = [heard("pause", lowering + 0.5, lowering + 0.9, latency=0.3), heard("resume", lowering + 6.0)]
    paused = drive(new(floor=0.5), 300, hs)
    assert len(speech(paused, P.FLOOR_TEST)) == 2
    assert [r.descent_s for r in of_type(paused, Rep)] == [3.0, 1.5, 1.5, 1.5]
    # Skipped with "next set": the next set's first rep is the test.
    skipped = drive(new(floor=0.5, sets=2, reps=2), 300, [heard("next_set", lowering + 0.5)])
    assert len(speech(skipped, P.FLOOR_TEST)) == 2
    assert [(r.set, r.descent_s) for r in of_type(skipped, Rep)] == [(2, 3.0), (2, 1.5)]


def test_stop_point_before_the_lowering_is_refused():
    starts = rep_starts(drive(new(), 200))
    session = new()
    events = drive(session, 200, [heard("stop_point", starts[0] / SR + 0.2)])
    assert session.floor is None and speech(events, P.NO_LOWERING)


def test_pause_mid_count_leaves_no_half_cue_and_redoes_the_rep():
    dry = drive(new(), 200)
    pause_at = lowerings(dry)[1][0].sample / SR + 0.05  # heard between counts one and two of rep 2
    hs = [heard("pause", pause_at, pause_at + 0.4, latency=0.3), heard("resume", pause_at + 8.0)]
    # A long lookahead: count two is already released when the pause is heard, and must be withdrawn.
    events = drive(new(), 300, hs, lookahead_s=0.5)
    cancel = of_type(events, Cancel)
    assert cancel
    assert len(speech(events, "one-one-thousand")) == 5 and len(speech(events, "two-one-thousand")) == 4
    pause_cmd, resume_cmd = of_type(events, Command)
    cues = played(events)
    quiet = [c for c in cues if pause_cmd.t * SR <= c.sample < resume_cmd.t * SR]
    assert [c.text for c in quiet] == ["ack", P.PAUSED]
    # Nothing that started before the pause is cut: the last cue before it ended before "Paused".
    before = [c for c in cues if c.sample < pause_cmd.t * SR and c.kind == "speech"]
    paused = speech(events, P.PAUSED)[0]
    assert all(c.sample + durations(c.text) * SR <= paused.sample for c in before)
    after = [c.text for c in cues if c.sample >= resume_cmd.t * SR and c.kind == "speech"]
    assert after[:3] == [P.RESUMING, P.FROM_THE_TOP, P.lift_phrase("bent_knee", "standard", 1)]
    reps = of_type(events, Rep)
    assert [(r.rep, r.counted) for r in reps] == [(i, True) for i in range(1, 5)]


def _pause_during_count_one(resume_after_s: float, lookahead_s: float):
    """Pause heard 0.1 s into rep 2's "one-one-thousand" (so "Paused" is placed after
    that word, 0.8 s on), resume heard ``resume_after_s`` later. Returns the events and
    the pause and resume commands."""
    dry = drive(new(), 200)
    pause_emitted = lowerings(dry)[1][0].sample / SR + 0.1
    resume_emitted = pause_emitted + resume_after_s
    hs = [heard("pause", pause_emitted - 0.7, pause_emitted - 0.3, latency=0.3),
          heard("resume", resume_emitted - 0.7, resume_emitted - 0.3, latency=0.3)]
    events = drive(new(), 300, hs, lookahead_s=lookahead_s)
    pause_cmd, resume_cmd = of_type(events, Command)
    return events, pause_cmd, resume_cmd


# 0.1 s: "Paused" is still held by the session when "resume" comes; 3 s: it was
# already released to the runtime and must be cancelled.
@pytest.mark.parametrize("lookahead_s", [0.1, 3.0])
def test_a_quick_resume_drops_the_pause_reply_that_has_not_started(lookahead_s):
    events, pause_cmd, resume_cmd = _pause_during_count_one(0.5, lookahead_s)
    resumed = round(resume_cmd.t * SR)
    # The count word was still sounding when "resume" came, so the reply to "pause",
    # planned after that word, had not started.
    count_one = [c for c in played(events) if c.text == "one-one-thousand" and c.sample < resumed][-1]
    word_end = count_one.sample + round((durations(count_one.text) + PAD_S) * SR)
    assert resumed < word_end
    # It is never heard: not after the resume, not at all.
    assert speech(events, P.PAUSED) == []
    after = [c.text for c in played(events) if c.sample >= resumed and c.kind == "speech"]
    assert after[:2] == [P.RESUMING, P.FROM_THE_TOP], after
    # "Resuming" takes its place, right after the count word.
    assert speech(events, P.RESUMING)[0].sample == word_end
    reps = of_type(events, Rep)
    assert [(r.rep, r.counted) for r in reps] == [(i, True) for i in range(1, 5)]


@pytest.mark.parametrize("lookahead_s", [0.1, 3.0])
def test_a_resume_while_the_pause_reply_plays_keeps_it_then_resumes(lookahead_s):
    quick, _, _ = _pause_during_count_one(0.5, lookahead_s)
    # Resume heard 1 s into "Paused" (it lasts about 2.5 s): it is left to finish.
    count_one = [c for c in played(quick) if c.text == "one-one-thousand"][1]
    paused_at = count_one.sample / SR + durations(count_one.text) + PAD_S
    events, pause_cmd, resume_cmd = _pause_during_count_one(paused_at + 1.0 - (count_one.t + 0.1), lookahead_s)
    (paused,) = speech(events, P.PAUSED)
    resumed = round(resume_cmd.t * SR)
    assert paused.sample < resumed < paused.sample + durations(P.PAUSED) * SR
    texts = [c.text for c in played(events) if c.kind == "speech" and c.sample >= pause_cmd.t * SR]
    assert texts[:3] == [P.PAUSED, P.RESUMING, P.FROM_THE_TOP], texts
    resuming = speech(events, P.RESUMING)[0]
    assert resuming.sample >= paused.sample + round((durations(P.PAUSED) + PAD_S) * SR)


def test_pause_in_rest_resumes_with_what_is_left():
    cfg = dict(sets=2, reps=1, rest_s=30.0)
    dry = drive(new(**cfg), 400)
    rest_at = speech(dry, "Rest for")[0].t
    events = drive(new(**cfg), 400, [heard("pause", rest_at + 5), heard("resume", rest_at + 20)])
    assert speech(events, P.REST_RESUMED) and not speech(events, P.FROM_THE_TOP)  # no rep was cut
    assert [c.text for c in speech(events) if c.text in ("Three.", "Two.", "One.")] == ["Three.", "Two.", "One."]
    assert len(of_type(events, Rep)) == 2


def test_a_rest_resumed_with_little_left_lasts_five_seconds():
    # Paused 2 s before the end of the rest: what is left is too short to get
    # ready in, so the rest starts again at five seconds, counted down on its
    # seconds, with no count on the words that open it.
    cfg = dict(sets=2, reps=1, rest_s=10.0)
    rest_at = speech(drive(new(**cfg), 400), "Rest for")[0].t
    events = drive(new(**cfg), 400, [heard("pause", rest_at + 7.4), heard("resume", rest_at + 15)])
    (again,) = speech(events, P.REST_RESUMED)
    assert again.t > rest_at + 15
    counts = [c for c in speech(events) if c.text in ("Three.", "Two.", "One.") and c.sample > again.sample]
    assert [(c.text, c.sample - again.sample) for c in counts] == [("Two.", 3 * SR), ("One.", 4 * SR)]
    assert speech(events, "Set two of two.")[0].sample >= again.sample + 5 * SR


def test_a_twenty_second_rest_still_says_ten_seconds():
    events = drive(new(sets=2, reps=1, rest_s=20.0), 400)
    rest = speech(events, P.rest(20))[0]
    assert [c.sample - rest.sample for c in speech(events, P.TEN_SECONDS)] == [10 * SR]


def test_rest_ends_with_a_countdown_on_the_seconds():
    events = drive(new(sets=2, reps=1, rest_s=30.0), 400)
    rest = speech(events, P.rest(30))[0]
    ten = speech(events, P.TEN_SECONDS)[0]
    counts = [c for c in speech(events) if c.text in ("Three.", "Two.", "One.")]
    assert ten.sample - rest.sample == 20 * SR
    assert [c.sample - rest.sample for c in counts] == [27 * SR, 28 * SR, 29 * SR]
    ticks = [(c.kind, c.text, c.sample) for c in played(events)
             if c.kind != "speech" and ten.sample < c.sample <= counts[-1].sample]
    assert ticks == [("tick", P.TICK, c.sample) for c in counts]  # each count on a tick
    set2 = speech(events, "Set two of two.")[0]
    assert set2.sample >= rest.sample + 30 * SR


def test_next_set_ends_the_set_and_moves_on():
    cfg = dict(sets=2, reps=4, rest_s=10.0)
    starts = rep_starts(drive(new(**cfg), 400))
    events = drive(new(**cfg), 400, [heard("next_set", starts[1] / SR + 1.0)])
    sets = of_type(events, SetSummary)
    assert [(s.set, s.counted, s.attempted) for s in sets] == [(1, 1, 1), (2, 4, 4)]
    assert speech(events, P.NEXT_SET)


def test_next_set_during_the_rest_skips_it():
    cfg = dict(sets=2, reps=1, rest_s=60.0)
    rest_at = speech(drive(new(**cfg), 400), "Rest for")[0].t
    events = drive(new(**cfg), 400, [heard("next_set", rest_at + 3)])
    set2 = speech(events, "Set two of two.")[0]
    assert set2.t < rest_at + 15
    assert not speech(events, P.TEN_SECONDS)


def test_stop_workout_says_so_at_once_and_ends_the_workout_when_not_taken_back():
    starts = rep_starts(drive(new(), 200))
    said = starts[2] / SR + 1.0
    session, phases = new(), []
    events = drive(session, 200, [heard("stop_workout", said)], watch=lambda now: phases.append(session.status(now).phase))
    (summary,) = of_type(events, SessionSummary)
    assert (summary.status, summary.counted, summary.attempted) == ("stopped", 2, 2)
    after = [c.text for c in speech(events) if c.t > said]
    assert after[:2] == [P.STOPPING, P.session_stopped(2)]
    (stopping,) = speech(events, P.STOPPING)
    assert stopping.t < said + 1.5
    assert summary.t >= stopping.t + durations(P.STOPPING) + STOP_WINDOW_S
    assert "stopping" in phases
    assert session.finished
    assert not [c for c in played(events) if c.t > said and "lift" in c.text]


def test_resume_after_stop_workout_takes_the_stop_back_and_the_workout_goes_on_to_the_end():
    starts = rep_starts(drive(new(), 200))
    said = starts[2] / SR + 1.0
    events = drive(new(), 300, [heard("stop_workout", said), heard("resume", said + 3.0)])
    (summary,) = of_type(events, SessionSummary)
    assert summary.status == "completed" and summary.attempted == len(starts)
    assert speech(events, P.STOPPING) and speech(events, P.RESUMING)
    assert not speech(events, P.session_stopped(2))


@pytest.mark.parametrize("taken_back_by", ["start_workout", "next_set"])
def test_start_workout_or_next_set_also_take_a_stop_back(taken_back_by):
    cfg = dict(sets=2, reps=2)
    starts = rep_starts(drive(new(**cfg), 300))
    said = starts[0] / SR + 1.0
    events = drive(new(**cfg), 400, [heard("stop_workout", said), heard(taken_back_by, said + 3.0)])
    (summary,) = of_type(events, SessionSummary)
    assert summary.status == "completed"


def test_stop_workout_said_twice_ends_the_workout_at_once():
    starts = rep_starts(drive(new(), 200))
    said = starts[2] / SR + 1.0
    events = drive(new(), 200, [heard("stop_workout", said), heard("stop_workout", said + 2.0)])
    (summary,) = of_type(events, SessionSummary)
    assert summary.status == "stopped"
    again = [c for c in of_type(events, Command) if c.intent == "stop_workout"][1]
    assert summary.t < again.t + 0.5


def test_stop_workout_during_a_pause_ends_the_workout_unless_taken_back():
    starts = rep_starts(drive(new(), 200))
    said = starts[2] / SR + 1.0
    (stopped,) = of_type(drive(new(), 200, [heard("pause", said), heard("stop_workout", said + 5.0)]), SessionSummary)
    assert stopped.status == "stopped"
    resumed = drive(new(), 300, [heard("pause", said), heard("stop_workout", said + 5.0), heard("resume", said + 8.0)])
    assert of_type(resumed, SessionSummary)[0].status == "completed"


def test_input_ending_while_stopping_leaves_the_session_stopped_not_interrupted():
    starts = rep_starts(drive(new(), 200))
    said = starts[2] / SR + 1.0
    session = new()
    drive(session, said + 2.0, [heard("stop_workout", said)])
    (summary,) = of_type(session.close(round((said + 2.0) * SR)), SessionSummary)
    assert summary.status == "stopped"


def test_a_question_asked_while_paused_is_answered_at_once_and_a_resume_lets_the_answer_finish():
    dry = drive(new(), 200)
    pause_at = lowerings(dry)[1][0].sample / SR + 0.05
    ask = heard("how_many", pause_at + 4.0)
    resume = heard("resume", pause_at + 4.3)  # heard while the answer is being said
    events = drive(new(), 300, [heard("pause", pause_at), ask, resume])
    (this_set,) = speech(events, P.how_many_set(1))
    (total,) = speech(events, P.how_many_total(1))
    (resuming,) = speech(events, P.RESUMING)
    assert abs(this_set.sample - ask.emitted * SR) < 0.1 * SR  # while paused, not held for the resume
    assert this_set.sample < resume.emitted * SR < total.sample
    assert total.sample + durations(total.text) * SR <= resuming.sample  # the answer is not cut


def test_how_many_counts_this_set_and_in_total():
    cfg = dict(sets=2, reps=3, rest_s=10.0)
    dry = drive(new(**cfg), 400)
    second_set_rep2 = rep_starts(dry)[4] / SR
    events = drive(
        new(**cfg),
        400,
        [heard("back_arched", rep_starts(dry)[1] / SR + 2), heard("how_many", second_set_rep2 + 0.5)],
    )
    # Set 1: 2 of 3 counted; set 2: rep 1 done when asked.
    assert speech(events, P.how_many_set(1)) and speech(events, P.how_many_total(3))


def test_slower_and_faster_change_the_lowering():
    starts = rep_starts(drive(new(reps=4), 200))
    events = drive(
        new(reps=4),
        300,
        [heard("slower", starts[0] / SR + 0.5), heard("faster", starts[2] / SR + 0.5)],
    )
    reps = of_type(events, Rep)
    assert [r.descent_s for r in reps] == [3.0, 4.0, 3.0, 3.0]
    assert [len(g) for g in lowerings(events)] == [3, 4, 3, 3]
    assert speech(events, P.SLOWER) and speech(events, P.FASTER)
    assert [r.lift_s for r in reps] == [2.0, 2.5, 2.0, 2.0]  # half a second slower, then back


def test_faster_at_the_fastest_says_so():
    events = drive(new(reps=1, lift_s=1.0), 100, [heard("faster", 2.0)])
    assert speech(events, P.FASTEST)


def test_each_control_obeyed_chimes_ack_and_one_that_cannot_be_done_chimes_error():
    """A resume when not paused, and a second pause, change nothing: no chime, a notice in the log."""
    # "slower" from a 3 s lift: 3.5 s and a 4 s lowering, then 4 s and 4 s, the slowest.
    intents = ["help", "repeat", "how_many", "resume", "slower", "slower", "slower", "faster", "pause", "pause",
               "resume", "stop_workout"]
    events = drive(new(reps=8, lift_s=3.0), 400, [heard(i, 20.0 + 6 * k) for k, i in enumerate(intents)])
    commands = of_type(events, Command)
    assert [c.intent for c in commands] == intents
    chimes = [(c.text, c.sample) for c in played(events) if c.kind == "earcon"]
    expected = {3: None, 6: "error", 9: None}
    assert chimes == [(expected.get(k, "ack"), round(c.t * SR)) for k, c in enumerate(commands)
                      if expected.get(k, "ack")]
    assert len(speech(events, P.SLOWEST)) == 1 and not speech(events, P.FASTEST)
    assert len(speech(events, P.PAUSED)) == 1 and len(speech(events, P.RESUMING)) == 1
    notices = [(n.t, n.text) for n in of_type(events, Notice)]
    assert [(commands[3].t, "not paused"), (commands[9].t, "already paused")] == [
        (t, text) for t, text in notices if "paused" in text]


def test_repeat_says_the_last_instruction_again():
    starts = rep_starts(drive(new(), 200))
    events = drive(new(), 200, [heard("repeat", starts[0] / SR + 0.2)])
    lift = P.lift_phrase("bent_knee", "standard", 0)
    assert len(speech(events, lift)) == 4 + 1


def test_help_lists_the_commands_without_talking_over_the_program():
    starts = rep_starts(drive(new(), 200))
    events = drive(new(), 300, [heard("help", starts[0] / SR + 0.3)])
    assert speech(events, P.HELP)
    assert_no_overlap(events)


def test_half_the_reps_arched_suggests_an_easier_variation():
    starts = rep_starts(drive(new(), 200))
    marks = [heard("back_arched", s / SR + 4.5) for s in starts[:2]]
    events = drive(new(), 300, marks)
    assert speech(events, P.ARCHED_HALF)
    assert speech(events, "Try the dead bug instead, or put your hands under your hips.")
    one_of_four = drive(new(), 300, marks[:1])
    assert of_type(one_of_four, SetSummary)[0].marks == {"back_arched": 1}
    assert not speech(one_of_four, P.ARCHED_HALF) and not speech(one_of_four, "Try the dead bug")


def test_shielding_breathing_changes_the_breath_cues():
    events = drive(new(reps=1, breathing="shielding"), 100)
    assert speech(events, "Sharp nose breaths, lift") and speech(events, P.lower_phrase("shielding"))
    assert not speech(events, "Exhale")


def test_dead_bug_and_single_leg_alternate_sides():
    bug = drive(new(reps=3, variation="dead_bug"), 200)
    assert [c.text for c in speech(bug, "Exhale, lift")] == [
        "Exhale, lift, right leg and left arm.",
        "Exhale, lift, left leg and right arm.",
        "Exhale, lift, right leg and left arm.",
    ]
    single = drive(new(reps=2, variation="single_leg"), 200)
    assert [c.text for c in speech(single, "Exhale, lift")] == ["Exhale, lift, right leg.", "Exhale, lift, left leg."]
    hanging = drive(new(reps=1, variation="hanging"), 200)
    assert speech(hanging, "Hang from the bar")


def test_warmup_teaches_the_first_session():
    events = drive(new(warmup=True, reps=1), 400)
    texts = [c.text for c in speech(events)]
    assert sum(P.CAT in t for t in texts) == 5
    assert any("hundred-dollar bill" in t for t in texts)
    assert any(t.startswith("Tension check") for t in texts)
    i45 = texts.index(P.WARMUP_LIFTS[0])
    assert texts.index(P.WARMUP_LIFTS[1]) > i45
    # The practice reps are not logged; the one real rep is.
    assert [(r.set, r.rep) for r in of_type(events, Rep)] == [(1, 1)]
    assert texts.index(P.WARMUP_DONE) < texts.index("Set one of one.")


def test_the_first_session_says_the_lesson_once_before_the_warmup():
    texts = [c.text for c in speech(drive(new(warmup=True, reps=1), 400))]
    assert [t for t in texts if t in P.TEACHING] == list(P.TEACHING)
    intro = texts.index(P.intro("bent_knee", 1, 1))
    assert intro < texts.index(P.TEACHING[0]) < texts.index(P.TEACHING[-1]) < texts.index(P.WARMUP_INTRO[0])


def test_the_lesson_is_said_without_a_warmup_only_when_asked():
    assert not [c for c in speech(drive(new(reps=1), 200)) if c.text in P.TEACHING]
    asked = Session(program(reps=1), SR, durations=durations, teach=True)  # run --intro
    texts = [c.text for c in speech(drive(asked, 200))]
    assert [t for t in texts if t in P.TEACHING] == list(P.TEACHING)
    assert texts.index(P.TEACHING[-1]) < texts.index("Set one of one.")


def test_next_set_during_the_lesson_skips_it_and_the_warmup():
    events = drive(new(warmup=True, reps=1), 400, [heard("next_set", 9.0)])
    texts = [c.text for c in speech(events)]
    assert P.SKIP_WARMUP in texts and P.TEACHING[-1] not in texts and P.WARMUP_INTRO[0] not in texts
    assert len(of_type(events, Rep)) == 1


def test_next_set_during_the_warmup_skips_it():
    events = drive(new(warmup=True, reps=1), 400, [heard("next_set", 12.0)])
    texts = [c.text for c in speech(events)]
    assert P.SKIP_WARMUP in texts and not any(t.startswith("Tension check") for t in texts)
    assert any("hundred-dollar bill" in t for t in texts)
    assert len(of_type(events, Rep)) == 1


def test_form_reminders_are_occasional():
    events = drive(new(reps=8), 400)
    reminders = [c for c in speech(events) if c.text in P.FORM_REMINDERS]
    assert len(reminders) == 2 and reminders[0].text != reminders[1].text


def test_reps_are_logged_only_after_the_window_for_marks():
    session = new(reps=2)
    logged_at = {}
    now = 0
    while not session.finished:
        for e in session.advance(now + 1600, now):
            if isinstance(e, Rep):
                logged_at[e.rep] = (e, now)
        now += 320
    for rep, at in logged_at.values():
        assert at + 1600 >= (rep.t + GRACE_S) * SR


def test_close_logs_what_is_open_as_interrupted():
    session = new()
    events = drive(session, 40)
    events += session.close(40 * SR)
    summary = of_type(events, SessionSummary)[-1]
    assert summary.status == "interrupted" and session.finished
    assert summary.attempted == len(of_type(events, Rep))


def test_handle_is_advance_hear_and_withdraw_by_the_events_type():
    pause, resume = heard("pause", 20.0), heard("resume", 30.0)
    gone = Withdrawn("stop_point", "stop point", 31.0, 31.5, 32.0)
    direct, by_event = new(), new()
    expected = (direct.advance(21 * SR) + direct.hear(pause, 21 * SR) + direct.advance(31 * SR)
                + direct.hear(resume, 31 * SR + 160) + direct.withdraw(gone) + direct.advance(40 * SR))
    got = (by_event.handle(Tick(21 * SR)) + by_event.handle(pause) + by_event.handle(Tick(31 * SR))
           + by_event.handle(resume, 31 * SR + 160) + by_event.handle(gone) + by_event.handle(Tick(40 * SR)))
    assert got == expected and [c.intent for c in of_type(got, Command)] == ["pause", "resume"]
    assert of_type(got, Command)[1].t == 31.01  # the clock handed in, not the last horizon
    with pytest.raises(TypeError, match="'cue'"):
        by_event.handle(Cue(0.0, 0, "speech", "hello"))


def test_the_closing_advice_follows_the_summary_and_weighs_the_plank():
    calls = []

    def closing(reps, status, plank=None):  # as progression's advice is called: a pure function
        calls.append(([r.rep for r in reps], status, plank))
        return [f"Advice after {len(reps)}."]

    events = drive(Session(program(reps=1, plank_s=20.0), SR, durations=durations, closing=closing), 300)
    texts = [c.text for c in speech(events)]
    assert texts[-len(P.FINISH_AFTER_PLANK) - 2:] == [P.session_done(1, 1), *P.FINISH_AFTER_PLANK, "Advice after 1."]
    assert calls == [([1], "completed", (20.0, 20.0))]
    calls.clear()
    starts = rep_starts(drive(new(), 200))
    stopped = drive(Session(program(), SR, durations=durations, closing=closing), 300,
                    [heard("stop_workout", starts[1] / SR + 1.0)])
    assert [c.text for c in speech(stopped)][-2:] == [P.session_stopped(1), "Advice after 1."]
    assert calls == [([1], "stopped", None)]


def test_close_right_after_a_rep_logs_it_withdraws_what_was_queued_and_happens_once():
    first = of_type(drive(new(), 200), Rep)[0]
    session = new()
    at = first.t + 0.3  # within the rep's grace for late marks: not logged yet
    events = drive(session, at, lookahead_s=2.0)
    assert not of_type(events, Rep)
    closed = session.close(round(at * SR))
    assert [type(e) for e in closed] == [Cancel, Rep, SessionSummary]
    assert closed[0].sample == round(at * SR) and closed[1] == first
    assert (closed[2].status, closed[2].counted, closed[2].attempted) == ("interrupted", 1, 1)
    assert session.close(round((at + 1) * SR)) == [] and session.finished


def test_close_during_the_plank_keeps_the_time_held():
    probe = drive(new(reps=1, plank_s=30.0), 300)
    go = speech(probe, P.plank_go(30.0))[0]
    at = go.t + durations(go.text) + 7.0
    session = new(reps=1, plank_s=30.0)
    drive(session, at)
    (summary,) = session.close(round(at * SR))
    assert (summary.status, summary.plank_s, summary.plank_target_s) == ("interrupted", 7.0, 30.0)


def test_phrases_cover_everything_spoken():
    session = new(sets=2, reps=3, warmup=True, variation="dead_bug", rest_s=20.0)
    marks = [heard("back_arched", 80), heard("how_many", 90), heard("slower", 95), heard("help", 100)]
    events = drive(session, 600, marks)
    known = set(session.phrases()) | set(session.numbered_phrases())
    assert {c.text for c in speech(events)} <= known


def assert_no_overlap(events) -> None:
    """No two speech cues overlap, except counts that are meant to sit on a beat."""
    cues = speech(events)
    for a, b in zip(cues, cues[1:]):
        assert a.sample + round(durations(a.text) * SR) <= b.sample, (a, b)


INTENTS = ["pause", "resume", "next_set", "how_many", "slower", "faster", "repeat", "help",
           "back_arched", "stop_point", "good_rep", "doming", "stop_workout", "start_workout"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(INTENTS), st.floats(0, 150), st.floats(0.1, 2.0)), max_size=8))
def test_any_commands_at_any_time_keep_the_session_sane(commands):
    session = new(sets=2, reps=3, rest_s=10.0)
    hs = [heard(i, t, latency=lat) for i, t, lat in commands]
    events = drive(session, 900, hs, step_s=0.05)
    if not session.finished:  # a pause never resumed
        assert session.paused
        events += session.close(900 * SR)
    assert_no_overlap(events)
    (summary,) = of_type(events, SessionSummary)
    reps = of_type(events, Rep)
    assert summary.attempted == len(reps) <= 6
    assert summary.counted == sum(r.counted for r in reps)
    assert len({(r.set, r.rep) for r in reps}) == len(reps)
    samples = [e.sample for e in events if isinstance(e, Cue)]
    assert all(s >= 0 for s in samples)


def test_event_style_entry_and_runtime_notices():
    from voicecoach.events import Tick

    session = new(reps=1)
    events = session.handle(Tick(SR))  # plans the first second
    assert played(events)[0].sample == 0
    # A runtime notice is said at the first gap in the program's speech, never over it.
    events += session.say(P.NOT_SAVED, SR)
    events += drive(session, 200)
    (told,) = speech(events, P.NOT_SAVED)
    assert_no_overlap(events)
    with pytest.raises(TypeError):
        session.handle(Rep(t=0.0, set=1, rep=1, counted=True))


def test_a_mark_said_twice_counts_once():
    starts = rep_starts(drive(new(), 200))
    at = starts[1] / SR + 4.0
    events = drive(new(), 200, [heard("back_arched", at), heard("back_arched", at + 1.0)])
    assert of_type(events, Rep)[1].marks == ("back_arched",)
    assert len(speech(events, P.NOT_COUNTED)) == 1
    assert [c.text for c in played(events) if c.kind == "earcon"] == ["mark", "mark"]
    assert of_type(events, SetSummary)[0].marks == {"back_arched": 1}


# --- the plank finish ------------------------------------------------------------------


def test_the_plank_is_counted_down_with_a_halfway_cue_and_held_in_full():
    session = new(reps=1, plank_s=30.0)
    events = drive(session, 300)
    texts = [c.text for c in speech(events)]
    go = speech(events, P.plank_go(30.0))[0]
    hold = go.sample + round(durations(go.text) * SR)  # the hold starts as "Go" ends
    (half,) = speech(events, P.HALFWAY)
    assert half.sample == hold + 15 * SR
    assert [c.sample for c in speech(events, P.TEN_SECONDS)] == [hold + 20 * SR]
    (done,) = speech(events, P.PLANK_DONE)
    assert done.sample == hold + 30 * SR
    assert [c.sample for c in speech(events) if c.text in ("Three.", "Two.", "One.")] == [
        hold + 27 * SR, hold + 28 * SR, hold + 29 * SR]
    assert texts.index(P.PLANK_SETUP) > texts.index("one of one counted.")
    assert P.FINISH[0] not in texts  # "finish with a plank" is not said after one
    (summary,) = of_type(events, SessionSummary)
    assert summary.status == "completed" and (summary.plank_s, summary.plank_target_s) == (30.0, 30.0)
    assert summary.t >= done.t


@pytest.mark.parametrize("intent", ["end_hold", "stop_workout", "next_set", "pause"])
def test_a_control_ends_the_plank_early_with_the_time_held(intent):
    probe = drive(new(reps=1, plank_s=30.0), 300)
    go = speech(probe, P.plank_go(30.0))[0]
    hold_s = go.t + durations(go.text)
    events = drive(new(reps=1, plank_s=30.0), 300, [heard(intent, hold_s + 9.0, hold_s + 9.6)])
    (summary,) = of_type(events, SessionSummary)
    assert summary.status == "completed"
    assert summary.plank_s == 9.6 and summary.plank_target_s == 30.0  # to the end of the words
    texts = [c.text for c in speech(played(events))]
    assert P.plank_held(summary.plank_s) in texts and P.PLANK_DONE not in texts and P.HALFWAY not in texts
    (command,) = of_type(events, Command)
    assert [(c.text, c.sample) for c in played(events) if c.kind == "earcon"] == [("ack", round(command.t * SR))]
    assert texts[-2].startswith("Workout done")


def test_stop_or_done_outside_the_plank_changes_nothing_and_makes_no_sound():
    """"stop" / "done" (end_hold) said in a set, a rest or a session with no plank:
    the same cues on the same samples as without it, no chime, a notice in the log."""
    plain = drive(new(sets=2, reps=2, rest_s=10.0), 300)
    starts = rep_starts(plain)
    said = [heard("end_hold", starts[0] / SR + 1.0), heard("end_hold", starts[2] / SR - 5.0)]
    events = drive(new(sets=2, reps=2, rest_s=10.0), 300, said)
    assert [c.intent for c in of_type(events, Command)] == ["end_hold", "end_hold"]
    assert [(c.kind, c.text, c.sample) for c in played(events)] == [(c.kind, c.text, c.sample) for c in played(plain)]
    assert [(n.t, n.text) for n in of_type(events, Notice)] == [
        (c.t, "'stop' and 'done' end only the plank hold; ignored") for c in of_type(events, Command)]
    assert [r.counted for r in of_type(events, Rep)] == [r.counted for r in of_type(plain, Rep)]


def _steps(items) -> list:
    return [k for k, _ in groupby(items)]


def test_status_follows_each_rep_the_rest_and_the_end():
    """What the live view shows at every moment: each rep's lift, top, the lowering's
    beats (all of them in the floor test, only down to the floor after it), bottom;
    the rest counting down; the end."""
    session = new(floor=0.5, sets=2, reps=2)
    seen = []
    drive(session, 300, watch=lambda now: seen.append(session.status(now)))
    assert session.finished
    assert {(s.sets, s.reps, s.floor) for s in seen} == {(2, 2, 0.5)}
    assert _steps(s.phase for s in seen) == ["intro", "set", "rest", "set", "end"]

    def rep(set_no, rep_no, beats_done):
        return [(set_no, rep_no, "lift", 0, 0), (set_no, rep_no, "top", 0, 0),
                *[(set_no, rep_no, "lowering", b, 3) for b in range(1, beats_done + 1)],
                (set_no, rep_no, "bottom", 0, 0)]
    # Half of a 3 s descent is the first two of its three beats.
    assert _steps((s.set, s.rep, s.stage, s.beat, s.beats) for s in seen if s.rep is not None) == [
        *rep(1, 1, 3), *rep(1, 2, 2), *rep(2, 1, 2), *rep(2, 2, 2)]
    assert {(s.rep, s.stage, s.beat, s.beats) for s in seen if s.phase != "set"} == {(None, None, 0, 0)}
    left = [s.left_s for s in seen if s.phase == "rest"]
    assert left[0] == 10.0 and 0.0 <= left[-1] <= 0.1 and left == sorted(left, reverse=True)
    assert {s.left_s for s in seen if s.phase != "rest"} == {None}


def test_status_in_the_warmup_shows_its_practice_reps():
    session = new(reps=1, warmup=True)
    seen = []
    drive(session, 300, watch=lambda now: seen.append(session.status(now)))
    assert _steps(s.phase for s in seen) == ["intro", "warmup", "set", "end"]
    practice = [(s.set, s.rep, s.stage) for s in seen if s.phase == "warmup" and s.rep is not None]
    assert _steps(practice) == [(0, r, stage) for r in (1, 2) for stage in ("lift", "top", "lowering", "bottom")]
    assert _steps((s.rep, s.stage) for s in seen if s.phase == "set" and s.rep is not None) == [
        (1, "lift"), (1, "top"), (1, "lowering"), (1, "bottom")]


def test_rep_for_names_the_rep_a_mark_said_then_lands_on():
    session = new(floor=0.5, reps=2)
    events = drive(session, 38.0)
    lowerings = lowering_starts(played(events))
    assert session.rep_for(lowerings[1] + 0.5) == (1, 2)
    assert session.rep_for(1.0) is None  # the greeting: no rep


def test_status_while_paused():
    session = new(floor=0.5, reps=2)
    seen = []
    drive(session, 300, [heard("pause", 31.0), heard("resume", 40.0)], watch=lambda now: seen.append(session.status(now)))
    assert _steps(s.phase for s in seen) == ["intro", "set", "paused", "set", "end"]
    paused = [s for s in seen if s.phase == "paused"]
    assert {(s.set, s.sets, s.reps, s.rep, s.stage, s.floor) for s in paused} == {(1, 1, 2, None, None, 0.5)}


def test_no_plank_unless_configured_and_its_status_counts_down():
    assert not speech(drive(new(reps=1), 200), P.PLANK_SETUP)
    session = new(reps=1, plank_s=20.0)
    events = drive(session, 62.0)
    go = speech(events, P.plank_go(20.0))[0]
    status = session.status(go.sample + round((durations(go.text) + 5.0) * SR))
    assert status.phase == "plank" and status.left_s == 15.0
    assert not speech(events, P.TEN_SECONDS)  # at twenty seconds the halfway cue is that moment


# --- layout, status and controls at their edges ------------------------------------------


@pytest.mark.parametrize("speech_s", [None, 0.5])
def test_each_cat_and_cow_is_held_before_the_next(speech_s):
    """Each position is held 1.5 s after its words and at least 3 s (a cat-cow at least 6 s),
    whether the words are long or short."""
    length = durations if speech_s is None else (lambda text: speech_s if P.CAT in text or P.COW in text
                                                 else durations(text))
    events = drive(Session(program(warmup=True, reps=1), SR, durations=length), 120)
    cues = [c for c in speech(events) if P.CAT in c.text or c.text == P.COW]
    assert [c.text == P.COW for c in cues] == [False, True] * P.CAT_COWS
    n = lambda s: round(s * SR)  # noqa: E731
    for cat, cow, next_cat in zip(cues[::2], cues[1::2], cues[2::2]):
        assert cow.sample == max(cat.sample + n(length(cat.text)) + n(1.5), cat.sample + n(3.0))
        assert next_cat.sample == max(cow.sample + n(length(cow.text)) + n(1.5), cat.sample + n(6.0))


def test_without_clip_lengths_speech_is_laid_out_at_about_fourteen_characters_a_second():
    assert estimate_seconds("") == 0.2 and estimate_seconds("x" * 140) == pytest.approx(10.0, abs=0.2)
    session = Session(program(reps=1), SR)  # durations default to estimate_seconds
    first, second = speech(drive(session, 10))[:2]
    assert second.sample == first.sample + round(estimate_seconds(first.text) * SR) + round(PAD_S * SR)


def test_the_plank_set_up_leaves_time_to_get_down_and_the_end_follows_it():
    events = drive(new(reps=1, plank_s=30.0), 300)
    (setup,) = speech(events, P.PLANK_SETUP)
    go = speech(events, P.plank_go(30.0))[0]
    assert go.sample == setup.sample + round(durations(setup.text) * SR) + round((PAD_S + 1.5) * SR)
    (done,) = speech(events, P.PLANK_DONE)
    after = [c for c in speech(events) if c.sample > done.sample][0]
    assert after.text == P.session_done(1, 1)
    assert after.sample == done.sample + round(durations(done.text) * SR) + round(0.5 * SR)
    counts = [c.sample for c in speech(events) if c.text in ("Three.", "Two.", "One.")]
    assert [(c.kind, c.text, c.sample) for c in played(events) if c.kind != "speech" and c.sample in counts] == [
        ("tick", P.TICK, s) for s in counts]


@pytest.mark.parametrize("seconds, counts", [(9.0, ["Two.", "One."]), (10.0, ["Three.", "Two.", "One."])])
def test_a_short_plank_counts_down_only_what_is_clear_of_the_halfway_cue(seconds, counts):
    """A count is said only more than 1.5 s after "halfway": at 9 s "three" would be 1.5 s after it."""
    events = drive(new(reps=1, plank_s=seconds), 300)
    go = speech(events, P.plank_go(seconds))[0]
    hold = go.sample + round(durations(go.text) * SR)
    said = [(c.text, c.sample - hold) for c in speech(events) if c.text in ("Three.", "Two.", "One.")]
    assert said == [(text, round((seconds - k) * SR)) for text, k in zip(counts, range(len(counts), 0, -1))]


def test_a_plank_ended_in_its_set_up_held_nothing_and_one_ended_later_to_a_tenth():
    probe = drive(new(reps=1, plank_s=30.0), 300)
    (setup,) = speech(probe, P.PLANK_SETUP)
    early = drive(new(reps=1, plank_s=30.0), 300, [heard("end_hold", setup.t + 1.0)])
    assert of_type(early, SessionSummary)[0].plank_s == 0.0
    go = speech(probe, P.plank_go(30.0))[0]
    hold_s = go.t + durations(go.text)
    # Words ending 1 s before "halfway", with the runtime's 3 s lookahead: the released
    # "halfway" is cancelled, the hold kept to a tenth of a second.
    later = drive(new(reps=1, plank_s=30.0), 300, [heard("end_hold", hold_s + 13.4, hold_s + 14.03)], lookahead_s=3.0)
    assert of_type(later, SessionSummary)[0].plank_s == 14.0
    assert of_type(later, Cancel) and not speech(later, P.HALFWAY)


def test_status_left_is_to_a_tenth_of_a_second_and_none_once_the_plank_is_done():
    cfg = dict(sets=2, reps=1, rest_s=10.0, plank_s=20.0)
    dry = drive(new(**cfg), 300)
    rest = speech(dry, P.rest(10.0))[0]
    go = speech(dry, P.plank_go(20.0))[0]
    hold = go.sample + round(durations(go.text) * SR)
    (done,) = speech(dry, P.PLANK_DONE)
    in_rest, in_plank, at_end = new(**cfg), new(**cfg), new(**cfg)
    drive(in_rest, rest.t + 0.5)
    assert in_rest.status(rest.sample + SR + 1234).left_s == 8.9  # 8.923 s to go
    drive(in_plank, go.t + 1.0)
    assert in_plank.status(hold + 5 * SR + 1234).left_s == 14.9  # 14.923 s
    drive(at_end, done.t - 0.5)
    late = at_end.status(done.sample + 800)  # "Plank done" is being said
    assert (late.phase, late.left_s) == ("plank", 0.0)


def test_status_changes_stage_and_segment_on_the_exact_sample():
    dry = drive(new(sets=2, reps=1, rest_s=10.0), 300)
    cues = played(dry)
    lift = speech(dry, "Exhale, lift")[0]
    lower = [c for c in cues if c.text == P.lower_phrase("standard")][0]  # said as the lift ends
    ticks = [c for c in cues if c.kind == "tick" and c.sample >= lower.sample][:3]
    lower_start, lower_end = ticks[0].sample, ticks[0].sample + 3 * SR  # the floor test: the full descent
    rest = speech(dry, P.rest(10.0))[0]
    session = new(sets=2, reps=1, rest_s=10.0)
    drive(session, lift.t + 0.05)
    stages = [(session.status(at - 1).stage, session.status(at).stage)
              for at in (lower.sample, lower_start, lower_end)]
    assert stages == [("lift", "top"), ("top", "lowering"), ("lowering", "bottom")]
    drive(session, rest.t - 0.5, lookahead_s=1.0)
    assert (session.status(rest.sample - 1).phase, session.status(rest.sample).phase) == ("set", "rest")


@pytest.mark.parametrize("lookahead_s", [0.1, 4.0])
def test_a_quick_resume_after_a_question_keeps_the_answer_and_says_nothing_twice(lookahead_s):
    """Paused and asked "how many" during the greeting's first line, resumed before "Paused"
    starts: "Paused" is dropped and "Resuming" takes its place, the answer is said once, and
    the greeting said again waits for the answer. At 4 s the answer was already handed to
    the runtime: the Cancel that withdraws "Paused" takes it too, so it is handed over again."""
    hs = [heard("pause", 0.3, 0.6, latency=0.2), heard("how_many", 0.9, 1.3, latency=0.2),
          heard("resume", 1.6, 2.0, latency=0.2)]
    events = drive(new(), 60, hs, lookahead_s=lookahead_s)
    said = [c.text for c in speech(events)]
    greeting = P.intro("bent_knee", 1, 4)
    assert said[:6] == [greeting, P.RESUMING, P.how_many_set(0), P.how_many_total(0), greeting, P.HELP_HINT]
    assert_no_overlap(events)
    handed = [(c.kind, c.text, c.sample) for c in played(events)]
    assert len(handed) == len(set(handed)), handed
    assert all(c.t == c.sample / SR for c in of_type(events, Cancel))


def test_a_provisional_mark_chimes_at_once_only_where_the_final_one_would_be_kept():
    dry = lowering_starts(played(drive(new(floor=0.5, reps=2), 200)))

    def earcons(h: Heard) -> list[tuple[str, float]]:
        first, final = _provisional(h)
        events = drive(new(floor=0.5, reps=2), 200, [first, final])
        return [(c.text, c.t - first.emitted) for c in played(events) if c.kind == "earcon"]

    # Outside any rep, and a stop point before the lowering: no chime until the final one, an error.
    for h in (heard("good_rep", 1.0), heard("stop_point", dry[1] - 1.5)):
        ((text, after),) = earcons(h)
        assert text == "error" and after >= 0.45, h
    # A stop point from the lowering's first sample on is kept: its chime comes at once.
    ((text, after),) = earcons(heard("stop_point", dry[1]))
    assert text == "mark" and 0 <= after < 0.03


def test_a_stop_points_depth_is_kept_to_a_thousandth():
    lowering = floor_test_lowering()
    session = new()
    drive(session, 200, [heard("stop_point", lowering + 20001 / SR)])  # 0.41669 of the 3 s descent
    assert session.floor == 0.417


def test_a_runtime_notice_in_a_silence_is_said_at_once_and_the_program_waits_for_it():
    session = new()
    assert session.say(P.NOT_SAVED, 0) == [Cue(0.0, 0, "speech", P.NOT_SAVED)]
    first = speech(drive(session, 10))[0]
    assert first.sample == round(durations(P.NOT_SAVED) * SR) + round(PAD_S * SR)


@pytest.mark.parametrize("lookahead_s", [0.1, 3.0])
def test_next_set_in_the_warmup_skips_the_rest_of_it(lookahead_s):
    dry = drive(new(warmup=True, reps=1), 400)
    second_cat = [c for c in speech(dry) if P.CAT in c.text][1]
    events = drive(new(warmup=True, reps=1), 400, [heard("next_set", second_cat.t + 0.5)], lookahead_s=lookahead_s)
    (command,) = of_type(events, Command)
    after = [c.text for c in speech(events) if c.sample >= command.t * SR]
    setup = P.VARIATION_TABLE["bent_knee"].setup
    assert after[:1 + len(setup)] == [P.SKIP_WARMUP, *setup]
    assert not [t for t in after if P.CAT in t or t == P.COW or t in P.WARMUP_LIFTS or t.startswith("Tension")]
    assert [(c.text, c.sample) for c in played(events) if c.kind == "earcon"] == [("ack", round(command.t * SR))]
    assert len(of_type(events, Rep)) == 1


def test_next_set_while_paused_in_the_warmup_skips_the_warmup():
    dry = drive(new(warmup=True, reps=1), 400)
    second_cat = [c for c in speech(dry) if P.CAT in c.text][1]
    session = new(warmup=True, reps=1)
    events = drive(session, 400, [heard("pause", second_cat.t + 0.5), heard("next_set", second_cat.t + 4.0)])
    texts = [c.text for c in speech(events)]
    assert P.SKIP_WARMUP in texts and P.NEXT_SET not in texts
    assert sum(P.CAT in t for t in texts) == 2 and session.finished and not session.paused


def test_next_set_in_the_lesson_without_a_warmup_says_next_set():
    session = Session(program(reps=1), SR, durations=durations, teach=True)
    events = drive(session, 200, [heard("next_set", 9.0)])
    texts = [c.text for c in speech(events)]
    assert P.NEXT_SET in texts and P.SKIP_WARMUP not in texts and P.TEACHING[-1] not in texts


def test_next_set_in_the_last_seconds_of_a_rest_withdraws_the_countdown_already_handed_over():
    cfg = dict(sets=2, reps=1, rest_s=60.0)
    rest_at = speech(drive(new(**cfg), 400), "Rest for")[0].t
    events = drive(new(**cfg), 400, [heard("next_set", rest_at + 48.0)], lookahead_s=3.0)
    (command,) = of_type(events, Command)
    assert [c.sample for c in of_type(events, Cancel)] == [round(command.t * SR)]
    assert not speech(events, P.TEN_SECONDS) and not speech(events, "Three.")
    assert speech(events, "Set two of two.")[0].t < rest_at + 55


def test_a_rest_counts_down_only_clear_of_its_first_words():
    """A count is said only more than 2.5 s into the rest: in 5.5 s, "three" would be at 2.5 s."""
    events = drive(new(sets=2, reps=1, rest_s=5.5), 300)
    rest = speech(events, P.rest(5.5))[0]
    assert [(c.text, c.sample - rest.sample) for c in speech(events) if c.text in ("Three.", "Two.", "One.")] == [
        ("Two.", round(3.5 * SR)), ("One.", round(4.5 * SR))]


def test_a_resume_in_the_set_announcement_says_it_again_without_from_the_top():
    """'From the top' is for a rep cut short; a set's announcement is simply said again."""
    dry = drive(new(), 200)
    announced = speech(dry, "Set one of one.")[0]
    events = drive(new(), 200, [heard("pause", announced.t + 0.1, announced.t + 0.4, latency=0.2),
                                heard("resume", announced.t + 4.0)])
    texts = [c.text for c in speech(events)]
    assert P.RESUMING in texts and P.FROM_THE_TOP not in texts
    assert texts[texts.index(P.RESUMING) + 1] == "Set one of one."
    assert len(of_type(events, Rep)) == 4


def test_a_rep_is_said_not_counted_once_whatever_marks_follow():
    """Doming then back arched, or good rep, back arched and doming: "not counted" once;
    a stop point said twice is one mark."""
    lowering = lowering_starts(played(drive(new(floor=0.5, reps=2), 200)))[1]
    marks = [heard("doming", lowering + 0.2, latency=0.3), heard("back_arched", lowering + 1.0, latency=0.3),
             heard("stop_point", lowering + 1.4, latency=0.3), heard("stop_point", lowering + 1.45, latency=0.6)]
    events = drive(new(floor=0.5, reps=2), 200, marks)
    assert of_type(events, Rep)[1].marks == ("doming", "back_arched", "stop_point")
    assert len(speech(events, P.NOT_COUNTED)) == 1
    starts = rep_starts(drive(new(), 200))
    three = [heard(i, starts[1] / SR + 4.0 + 0.8 * k, latency=0.3) for k, i in enumerate(("good_rep", "back_arched",
                                                                                            "doming"))]
    events = drive(new(), 200, three)
    assert of_type(events, Rep)[1].marks == ("good_rep", "back_arched", "doming")
    assert len(speech(events, P.NOT_COUNTED)) == 1


def test_back_arched_in_the_floor_test_at_the_bottom_or_heard_after_a_stop_point_leaves_the_floor():
    """At the very bottom (no floor yet): all the way down is no floor to keep. Said before a
    stop point but heard after it: the stop point is the better measure."""
    lowering = floor_test_lowering()
    bottom = new()
    drive(bottom, 200, [heard("back_arched", lowering + 3.2)])
    assert bottom.floor is None
    late = new()
    drive(late, 200, [heard("stop_point", lowering + 2.1, latency=0.3), heard("back_arched", lowering + 1.2, latency=2.0)])
    assert late.floor == 0.7


def test_a_rep_cut_short_is_done_again_on_the_same_side():
    """Dead bug alternates sides; the rep a pause cut short is redone on its side, and the
    warm-up's practice reps before it take no side."""
    cfg = dict(reps=3, variation="dead_bug", warmup=True)
    second = speech(drive(new(**cfg), 400), "Exhale, lift,")[1].t
    events = drive(new(**cfg), 400, [heard("pause", second + 0.5), heard("resume", second + 6.0)])
    assert [c.text for c in speech(events, "Exhale, lift,")] == [
        "Exhale, lift, right leg and left arm.",
        "Exhale, lift, left leg and right arm.",
        "Exhale, lift, left leg and right arm.",
        "Exhale, lift, right leg and left arm.",
    ]
    first = speech(drive(new(**cfg), 400), "Exhale, lift,")[0].t
    events = drive(new(**cfg), 400, [heard("pause", first + 0.5), heard("resume", first + 6.0)])
    assert [c.text for c in speech(events, "Exhale, lift,")][:2] == ["Exhale, lift, right leg and left arm."] * 2


# --- the edges bench_mutation found untested (docs/testing.md) ---------------------------


def test_a_reply_that_would_end_within_the_pad_before_the_next_phrase_waits_until_after_it():
    """A notice that fits the silence before a planned phrase only without the pad is not
    squeezed in. (The lookahead plans the next rep's lift during the silence before it.)"""
    lift = rep_starts(drive(new(), 200))[1]  # 1.4 s of silence before it (the bottom of rep 1)
    note, pad = "Note.", round(PAD_S * SR)
    length = round(durations(note) * SR)
    now = lift - length - pad // 2  # fits, ending pad/2 before the lift: too close
    session = new()
    events = drive(session, (now - SR) / SR, lookahead_s=3.0)
    events += session.say(note, now)
    events += drive(session, 200, lookahead_s=3.0)
    assert speech(events, "Exhale, lift")[1].sample == lift
    (told,) = speech(events, note)
    before = [c for c in speech(events) if c.sample < told.sample][-1]
    after = [c for c in speech(events) if c.sample > told.sample][0]
    assert told.sample > lift
    assert before.sample + round(durations(before.text) * SR) + pad <= told.sample, (before, told)
    assert told.sample + length + pad <= after.sample, (told, after)
    assert_no_overlap(events)


def test_a_pause_on_the_first_sample_of_a_rep_redoes_that_rep():
    """The segment that ended as the pause came is over; the rep that had just started is redone."""
    second = rep_starts(drive(new(), 200))[1] / SR
    events = drive(new(), 300, [heard("pause", second - 0.6, second - 0.2, latency=0.2),
                                heard("resume", second + 5.0)])
    (pause, _) = of_type(events, Command)
    assert 0 <= pause.t - second < 0.02
    full = [ticks for ticks in lowerings(events) if len(ticks) == 3]
    assert len(full) == 4  # the rep that was cut is lowered again, not logged unlowered
    assert [(r.rep, r.counted) for r in of_type(events, Rep)] == [(i, True) for i in range(1, 5)]


def test_next_set_at_the_very_end_of_a_rest_keeps_the_next_sets_announcement():
    """With the next set already laid out behind the rest, "next set" drops only the rest."""
    cfg = dict(sets=2, reps=1, rest_s=30.0)
    rest_at = speech(drive(new(**cfg), 400), "Rest for")[0].t
    events = drive(new(**cfg), 400, [heard("next_set", rest_at + 28.0)], lookahead_s=3.0)
    (command,) = of_type(events, Command)
    texts = [c.text for c in speech(events) if c.sample >= command.t * SR]
    assert texts[:2] == [P.NEXT_SET, "Set two of two."], texts
    assert len(of_type(events, Rep)) == 2


def test_a_pause_just_before_a_rest_starts_gives_the_whole_rest_after_the_resume():
    """A rest laid out but not started when the pause came is played from its start, not resumed."""
    cfg = dict(sets=2, reps=1, rest_s=30.0)
    dry = drive(new(**cfg), 400)
    rest = speech(dry, "Rest for")[0]
    summary = speech(dry, P.set_summary(1, 1))[0]
    assert rest.t - summary.t < 3.0  # with a 3 s lookahead, the rest is planned during the summary
    hs = [heard("pause", summary.t - 0.5, summary.t - 0.1, latency=0.2), heard("resume", summary.t + 8.0)]
    events = drive(new(**cfg), 500, hs, lookahead_s=3.0)
    (_, resume) = of_type(events, Command)
    after = [c for c in speech(events) if c.sample >= resume.t * SR]
    rests = [c for c in after if c.text in (P.rest(30), P.REST_RESUMED)]
    assert [c.text for c in rests] == [P.rest(30)], [c.text for c in after]
    set2 = speech(events, "Set two of two.")[0]
    assert set2.sample - rests[0].sample == 30 * SR


def test_a_second_pause_before_the_redone_rep_starts_still_redoes_it():
    """Paused mid-rep, resumed, paused again while "Resuming" is said: the cut rep is still owed."""
    lowering = lowerings(drive(new(), 200))[1][0].sample / SR
    resume = lowering + 6.0
    hs = [heard("pause", lowering + 0.05, lowering + 0.45, latency=0.3), heard("resume", resume),
          heard("pause", resume + 0.5, resume + 0.9, latency=0.2), heard("resume", resume + 8.0)]
    events = drive(new(), 300, hs)
    assert [c.intent for c in of_type(events, Command)] == ["pause", "resume", "pause", "resume"]
    assert [(r.rep, r.counted) for r in of_type(events, Rep)] == [(i, True) for i in range(1, 5)]
    assert len([ticks for ticks in lowerings(events) if len(ticks) == 3]) == 4


def test_a_final_mark_delivered_twice_chimes_for_the_repeat_as_a_mark_said_again_does():
    """Once its final result is kept, a provisional mark's earcon is spent: the same words
    delivered again are answered with the earcon like any mark said again, and kept once."""
    starts = rep_starts(drive(new(), 200))
    first, final = _provisional(heard("good_rep", starts[2] / SR + 2.0, latency=0.2))
    again = dataclasses.replace(final, emitted=final.emitted + 0.5)
    events = drive(new(), 200, [first, final, again])
    earcons = [c for c in played(events) if c.kind == "earcon"]
    assert [e.text for e in earcons] == ["mark", "mark"]
    assert 0 <= earcons[1].t - again.emitted < 0.03
    assert of_type(events, Rep)[2].marks == ("good_rep",)


def test_a_pause_at_the_bottom_of_a_rep_with_a_long_lookahead_logs_the_rep_once():
    """_finalize logs a rep once the horizon (now + lookahead) is GRACE_S past its end; a
    lookahead over GRACE_S does so while its bottom pause still plays. A pause there must
    not raise (it once did: ValueError) and the rep, redone or not, is logged once."""
    end = of_type(drive(new(), 200), Rep)[1].t
    hs = [heard("pause", end - 0.9, end - 0.5, latency=0.2), heard("resume", end + 5.0)]
    events = drive(new(), 300, hs, lookahead_s=3.0)
    assert [r.rep for r in of_type(events, Rep)] == [1, 2, 3, 4]


def test_a_device_lost_pauses_and_its_return_resumes_logged_as_those_commands():
    """What the runtime hands over when the speaker or microphone goes and comes back."""
    lowering = lowerings(drive(new(), 200))[1][0].sample
    lost_at, back_at = lowering + SR // 2, lowering + 6 * SR
    session = new()
    events = drive(session, lost_at / SR)
    events += session.handle(DeviceLost(33.0, "speaker lost"), lost_at)
    assert session.paused and session.status(lost_at + SR).phase == "paused"
    events += drive(session, back_at / SR - 1.0)
    events += session.handle(Tick(back_at))  # played up to back_at: handle's clock with no `now`
    events += session.handle(DeviceBack(39.5, "speaker back after 5.5 s"))
    assert not session.paused
    events += drive(session, 300)
    assert of_type(events, Command) == [Command("pause", "(speaker lost)", 33.0, 33.0, lost_at / SR),
                                        Command("resume", "(speaker back after 5.5 s)", 39.5, 39.5, back_at / SR)]
    assert session.commands == of_type(events, Command)
    # "Paused" follows the count word that was sounding, as for a spoken pause.
    assert speech(events, P.PAUSED)[0].sample == lowering + round((durations("one-one-thousand") + PAD_S) * SR)
    texts = [c.text for c in speech(events) if c.sample >= back_at]
    assert texts[:2] == [P.RESUMING, P.FROM_THE_TOP]
    assert [(r.rep, r.counted) for r in of_type(events, Rep)] == [(i, True) for i in range(1, 5)]



def test_once_the_end_is_planned_a_control_is_ignored_but_how_many_is_answered_before_the_end():
    done = speech(drive(new(), 200), "Workout done")[0].t
    session = new()
    events = drive(session, 300, [heard("pause", done + 0.2, done + 0.6, latency=0.2),
                                  heard("how_many", done + 1.0, latency=0.2)])
    pause, how_many = of_type(events, Command)
    assert of_type(events, Notice) == [Notice(pause.t, "workout over; ignored 'pause'")]
    assert not session.paused and session.finished
    (this_set,) = speech(events, P.how_many_set(4))
    (total,) = speech(events, P.how_many_total(4))
    assert this_set.t >= how_many.t and total.t > this_set.t
    # The workout ends once the answer is said, not before.
    assert session.end_sample == total.sample + round((durations(total.text) + PAD_S) * SR)


def test_how_many_in_the_plank_is_answered_and_the_plank_held_in_full():
    probe = drive(new(reps=1, plank_s=30.0), 300)
    go = speech(probe, P.plank_go(30.0))[0]
    hold_s = go.t + durations(go.text)
    events = drive(new(reps=1, plank_s=30.0), 300, [heard("how_many", hold_s + 5.0)])
    assert speech(events, P.how_many_set(1)) and speech(events, P.PLANK_DONE)
    (summary,) = of_type(events, SessionSummary)
    assert summary.plank_s == 30.0


def test_a_control_with_no_handler_is_logged_with_a_warning_and_changes_nothing():
    """A control added to the grammar by the user that the coach has no action for."""
    plain = drive(new(), 200)
    at = rep_starts(plain)[1] / SR + 1.0
    lights = Heard("lights_on", "control", "lights on", at, at + 0.6, at + 1.0, 0.9)
    events = drive(new(), 200, [lights])
    (command,) = of_type(events, Command)
    assert command == Command("lights_on", "lights on", at, at + 0.6, command.t) and command.t >= at + 1.0
    assert of_type(events, Notice) == [Notice(command.t, "unknown command 'lights_on'", "warning")]
    assert [(c.kind, c.text, c.sample) for c in played(events)] == [(c.kind, c.text, c.sample) for c in played(plain)]



def test_a_mark_added_to_the_grammar_is_kept_on_its_rep_like_good_rep():
    starts = rep_starts(drive(new(), 200))
    at = starts[2] / SR + 1.0
    wobble = Heard("wobble", "mark", "wobble", at, at + 0.5, at + 0.8, 0.9)
    events = drive(new(), 200, [wobble])
    reps = of_type(events, Rep)
    assert reps[2].marks == ("wobble",) and [r.counted for r in reps] == [True] * 4
    assert [c.text for c in played(events) if c.kind == "earcon"] == ["mark"]
    assert not of_type(events, Notice)
    assert of_type(events, SetSummary)[0].marks == {"wobble": 1}


def test_the_set_summary_is_logged_as_it_is_said():
    events = drive(new(sets=2, reps=2), 300)
    said = [c.t for c in speech(events) if c.text == P.set_summary(2, 2)]
    assert [s.t for s in of_type(events, SetSummary)] == said and len(said) == 2


def test_next_set_while_an_answer_holds_the_next_rep_back_ends_the_set():
    """Between two reps, while "how many" is being answered (the next rep waits for
    it), no segment is playing: "next set" still ends the set."""
    end2 = of_type(drive(new(sets=2, reps=4), 400), Rep)[1].t
    events = drive(new(sets=2, reps=4), 400, [heard("how_many", end2 - 1.2, end2 - 0.8, latency=0.2),
                                              heard("next_set", end2 + 0.2, end2 + 0.6, latency=0.2)])
    answer = speech(events, P.how_many_total(1))[0]  # rep 2 had not ended when asked
    assert answer.t + durations(answer.text) > end2 + 0.8  # still said when "next set" was heard
    assert [(s.set, s.attempted) for s in of_type(events, SetSummary)] == [(1, 2), (2, 4)]
    assert speech(events, P.NEXT_SET)


def test_the_top_is_held_half_a_second_when_the_lowering_cue_is_shorter():
    short = Session(program(reps=2), SR, durations=lambda t: 0.2 if t == P.lower_phrase("standard") else durations(t))
    events = drive(short, 200)
    lowers = speech(events, P.lower_phrase("standard"))
    lifts = speech(events, "Exhale, lift")
    assert [low.sample - lift.sample for lift, low in zip(lifts, lowers)] == [2 * SR] * 2  # lift_s
    assert [ticks[0].sample - low.sample for ticks, low in zip(lowerings(events), lowers)] == [round(TOP_S * SR)] * 2


def test_half_the_reps_arched_the_advice_follows_the_summary_a_pad_apart():
    starts = rep_starts(drive(new(), 200))
    events = drive(new(), 300, [heard("back_arched", s / SR + 4.5) for s in starts[:2]])
    said = speech(events)
    first = [c.text for c in said].index(P.set_summary(2, 4))
    summary, half, advice = said[first:first + 3]
    assert (half.text, advice.text[:11]) == (P.ARCHED_HALF, "Try the dea")
    pad = round(PAD_S * SR)
    assert half.sample == summary.sample + round(durations(summary.text) * SR) + pad
    assert advice.sample == half.sample + round(durations(half.text) * SR) + pad


def test_the_rest_follows_the_set_summary_and_the_session_ends_within_a_second_of_its_last_words():
    session = new(sets=2, reps=1)
    events = drive(session, 300)
    said = speech(events)
    summary, rest = [c for c in said if c.text == P.set_summary(1, 1)][0], speech(events, "Rest for")[0]
    summary_end = summary.sample + round(durations(summary.text) * SR)
    assert 0 < rest.sample - summary_end <= SR
    last_end = said[-1].sample + round(durations(said[-1].text) * SR)
    assert last_end <= session.end_sample <= last_end + SR and session.finished


def test_the_session_summary_counts_the_sets_done_and_names_a_plank_only_when_there_is_one():
    (two,) = of_type(drive(new(sets=2, reps=1), 300), SessionSummary)
    assert (two.sets, two.plank_s, two.plank_target_s) == (2, None, None)
    starts = rep_starts(drive(new(sets=2, reps=1), 300))
    (stopped,) = of_type(drive(new(sets=2, reps=1), 300, [heard("stop_workout", starts[1] / SR - 8.0)]),
                         SessionSummary)
    assert (stopped.status, stopped.sets) == ("stopped", 1)


def _end(cue: Cue) -> int:
    return cue.sample + round(durations(cue.text) * SR)


def test_the_tension_check_leaves_its_pauses_between_lines():
    """1.5 s to crush the hand, 3 s to feel it, each after the pad that follows a line."""
    said = speech(drive(new(warmup=True, reps=1), 400))
    first, second, third = [next(c for c in said if c.text == line) for line in P.TENSION_CHECK]
    assert second.sample == _end(first) + round((PAD_S + 1.5) * SR)
    assert third.sample == _end(second) + round((PAD_S + 3.0) * SR)


def test_a_floor_all_the_way_down_says_no_floor_stop():
    events = drive(new(floor=1.0, reps=3), 300)
    assert not speech(events, P.FLOOR_STOP) and [len(ticks) for ticks in lowerings(events)] == [3, 3, 3]
    assert speech(drive(new(floor=0.999, reps=2), 300), P.FLOOR_STOP)


def test_the_bottom_is_held_in_full_after_the_floor_stop_and_the_form_reminder():
    """A floor stop, then (every fourth rep) a form reminder 0.3 s on; the next lift
    waits a pad and the whole bottom pause after the last of them."""
    events = drive(new(floor=0.5, reps=5), 300)
    said = speech(events)
    lifts = speech(events, "Exhale, lift")
    stops = speech(events, P.FLOOR_STOP)
    (reminder,) = [c for c in said if c.text in P.FORM_REMINDERS]
    bottom = round((PAD_S + BOTTOM_S) * SR)
    assert lifts[2].sample == _end(stops[0]) + bottom  # after rep 2's floor stop
    assert reminder.sample == _end(stops[2]) + round((PAD_S + 0.3) * SR)  # rep 4
    assert lifts[4].sample == _end(reminder) + bottom


def test_the_form_reminders_come_in_turn():
    events = drive(new(reps=12), 600)
    assert [c.text for c in speech(events) if c.text in P.FORM_REMINDERS] == list(P.FORM_REMINDERS)


def test_lift_and_descent_are_logged_to_a_millisecond():
    long_lift = Session(program(reps=2), SR, floor=0.4567,
                        durations=lambda t: 2.1234 if t.startswith("Exhale, lift") else durations(t))
    reps = of_type(drive(long_lift, 200), Rep)
    assert [(r.lift_s, r.descent_s) for r in reps] == [(2.243, 3.0), (2.243, 1.37)]


def test_a_rep_done_before_a_pause_is_logged_while_paused():
    """Logged GRACE_S after its end whatever happens next: a long pause must not hold
    back what is already done (it is saved as it is logged)."""
    ends = [r.t for r in of_type(drive(new(), 200), Rep)]
    pause = heard("pause", ends[0] + 0.3, ends[0] + 0.7, latency=0.2)
    session = new()
    events = drive(session, ends[0] + 20.0, [pause])
    assert session.paused and [(r.rep, r.t) for r in of_type(events, Rep)] == [(1, ends[0])]


def test_a_lowering_of_3_6_seconds_is_counted_on_its_four_beats_with_ticks():
    events = drive(new(reps=1, descent_s=3.6), 100)
    (ticks,) = lowerings(events)
    assert [(t.text, t.sample - ticks[0].sample) for t in ticks] == [(P.TICK, round(k * 0.9 * SR)) for k in range(4)]
    counts = [c.text for c in speech(events) if c.sample in {t.sample for t in ticks}]
    assert counts == [P.count_long(k) for k in range(1, 5)]  # 0.8 s: each ends 0.1 s before the next beat
    slow = Session(program(reps=1, descent_s=3.6), SR, durations=lambda t: 0.95 if "thousand" in t else durations(t))
    (ticks,) = lowerings(events := drive(slow, 100))
    counts = [c.text for c in speech(events) if c.sample in {t.sample for t in ticks}]
    assert counts == [P.count_short(k) for k in range(1, 5)]  # 0.95 s would run into the next beat


@pytest.mark.parametrize("long_s, said", [(0.94, "one-one-thousand"), (0.97, "one")])
def test_a_long_count_is_said_only_when_it_ends_a_twentieth_of_a_second_before_the_next_beat(long_s, said):
    session = Session(program(reps=1), SR, durations=lambda t: long_s if "thousand" in t else durations(t))
    (ticks,) = lowerings(events := drive(session, 100))
    assert [c.text for c in speech(events) if c.sample == ticks[0].sample] == [said]


def test_the_lesson_and_the_warmup_in_order_spacing_and_phase():
    session = new(warmup=True, reps=1)
    seen = {}
    events = drive(session, 400, watch=lambda now: seen.setdefault(now, (session.status(now),
                                                                          session.rep_for(now / SR))))
    said = speech(events)
    texts = [c.text for c in said]
    lesson = [c for c in said if c.text in P.TEACHING]
    assert [b.sample - _end(a) for a, b in zip(lesson, lesson[1:])] == [round((PAD_S + 0.3) * SR)] * (len(lesson) - 1)
    assert texts.index(P.TENSION_CHECK[2]) < texts.index(P.WARMUP_FIRST_REP) < texts.index(P.WARMUP_LIFTS[0])
    done = speech(events, P.WARMUP_DONE)[0]
    step = round(0.02 * SR)
    assert seen[done.sample // step * step + step][0].phase == "warmup"
    assert speech(events, "Set one of one.")[0].sample == _end(done) + round((PAD_S + 1.0) * SR)
    lift = speech(events, P.WARMUP_LIFTS[1])[0]
    later = lift.sample + round(1.5 * SR)  # past the window for marks after rep 1
    assert seen[later // step * step + step][1] == (0, 2)  # a practice rep: rep 2 of set 0


def test_a_session_whose_clock_is_already_running_starts_now_not_in_the_past():
    session = new(reps=1)
    events = session.advance(5 * SR, now=2 * SR)
    assert played(events)[0].sample == 2 * SR


def test_repeat_after_an_answer_says_the_last_instruction_not_the_answer_nor_a_sound():
    """A reply, an earcon or a count is not an instruction: "repeat" passes over them."""
    lowering = lowerings(drive(new(), 200))[1][0].sample / SR
    ask = heard("how_many", lowering + 3.5, latency=0.2)  # at the bottom of rep 2
    answered = speech(drive(new(), 200, [ask]), "in total")[0]
    events = drive(new(), 200, [ask, heard("repeat", answered.t, latency=0.2)])  # heard as the answer ends
    repeat = of_type(events, Command)[1]
    after = [c.text for c in speech(events) if c.sample >= repeat.t * SR]
    assert after[0] == P.lower_phrase("standard"), after


def test_a_set_is_announced_and_its_first_lift_follows_after_a_breath():
    said = speech(drive(new(sets=2, reps=1), 300))
    announced = [c.text for c in said].index("Set two of two.")
    assert said[announced + 1].text.startswith("Exhale, lift")
    assert said[announced + 1].sample == _end(said[announced]) + round((PAD_S + 0.6) * SR)


def test_event_times_are_kept_to_a_microsecond():
    session = Session(program(reps=1), 22050)  # estimate_seconds: lengths in odd samples
    events = drive(session, 200)
    assert events and all(round(e.t, 6) == e.t for e in events)
    assert any(round(e.t, 5) != e.t for e in events)  # would a coarser rounding show: yes
