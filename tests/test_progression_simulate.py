"""The progression rules through ``voicecoach simulate``: each history is built by
running simulated sessions one after another into one database, dated with
``--started-at`` (never by writing rows), and the advice is read from what the
coach said (the logged cues), what simulate printed and the stored sessions.

Marks are real espeak-ng speech at known times, heard by the real Vosk model;
where they go is found by a dry run of the pure session with the plan, floor and
clip lengths the runtime will use. Sessions are short (one or two sets of two
reps, no warm-up); sessions without marks run cue-only over a silent mic. Each
session's first lowering is the coach's floor test (the full descent), where a
stop point can move the floor deeper or higher.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from session_support import drive, heard, lowering_starts, of, write_config
from speech_support import build_track, speak, write_wav
from voicecoach import cli
from voicecoach.history import progression
from voicecoach.coach import program as P
from voicecoach.coach.session import Session
from voicecoach.config import validate
from voicecoach.events import Cue
from voicecoach.runtime import SIMULATED
from voicecoach.history.planning import closing_advice, plan_today
from voicecoach.speech.voice import Voice
from voicecoach.history.store import Store

SR = 22050
MIC_SR = 16000
VOICE = dict(voice="en-us", speed=150)
T0 = datetime(2024, 3, 1, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def voice():
    v = Voice(SR, validate({})["speech"])
    yield v
    v.close()


def stored(db: Path) -> tuple[list[dict], float | None]:
    """The history and the kept floor, as the runtime will read them."""
    with Store(db) as store:
        return store.sessions(), store.floor()


def dry_run(cfg: dict, voice: Voice, db: Path, now: datetime, marks=()) -> tuple[list[Cue], float]:
    """The cues the runtime will play in a session starting at ``now`` over the history
    in ``db``, with ``marks`` heard; and the second at which its last cue ends."""
    history, floor = stored(db) if db.exists() else ([], None)
    program, floor, greeting = plan_today(cfg, history, floor, now)
    plan = program if program != cfg["program"] else None
    session = Session(program, SR, floor=floor, greeting=greeting, durations=voice.seconds,
                      start=round(SIMULATED.lookahead_s * SR),
                      closing=closing_advice(history, cfg, program, plan, now))
    events = drive(session, 900, list(marks), step_s=0.02, lookahead_s=SIMULATED.lookahead_s)
    assert session.finished and session.end_sample is not None
    return [e for e in events if isinstance(e, Cue)], session.end_sample / SR


def simulate(tmp_path: Path, track: np.ndarray, config: Path, db: Path, name: str, started_at: datetime,
             *extra: str, capsys=None) -> tuple[list[dict], str]:
    """Run ``voicecoach simulate`` dated ``started_at``; returns (events, what it printed)."""
    mic, out, ev = tmp_path / f"{name}-mic.wav", tmp_path / f"{name}-out.wav", tmp_path / f"{name}.jsonl"
    write_wav(mic, track)
    code = cli.main(["simulate", "--mic", str(mic), "--out", str(out), "--events", str(ev),
                     "--config", str(config), "--db", str(db), "--started-at", started_at.isoformat(), *extra])
    printed = capsys.readouterr().out if capsys is not None else ""
    assert code == 0
    return [json.loads(line) for line in ev.read_text().splitlines()], printed


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * MIC_SR), dtype=np.float32)


def spoken(events) -> list[dict]:
    return [e for e in of(events, "cue") if e["kind"] == "speech"]


def said_with(events, part: str) -> list[dict]:
    return [c for c in spoken(events) if part in c["text"]]


def test_fifteen_slow_perfect_reps_end_with_advice_to_add_weight_or_go_harder(tmp_path, voice, capsys):
    """The progress rule: a set of 15 perfect reps, each lowered over 3 s, is closed
    with "add a light dumbbell ... or move up to hanging leg raises", and the next
    session (two days later) opens with the same advice. Cue-only, silent mic."""
    config = tmp_path / "coach.toml"
    cfg = write_config(config, sets=1, reps=15, warmup=False, rest_s=10, variation="straight_leg")
    db = tmp_path / "history.db"

    _, end = dry_run(cfg, voice, db, T0)
    events, printed = simulate(tmp_path, silence(end + 2), config, db, "first", T0, "--cue-only", capsys=capsys)
    assert printed.strip() == "completed: 15 of 15 counted in 1 set(s)"
    reps = of(events, "rep")
    assert len(reps) == 15 and all(r["counted"] for r in reps)
    assert all(r["descent_s"] >= 3.0 for r in reps)
    (advice,) = said_with(events, "light dumbbell")
    assert advice["text"].startswith("Fifteen perfect reps in a set with a slow lowering")
    assert "hanging leg raises" in advice["text"]  # straight-leg -> the next harder variation
    assert advice["t"] > max(r["t"] for r in reps)  # said at the end, after the last rep

    history, _ = stored(db)
    (first,) = history
    assert datetime.fromisoformat(first["started_at"]) == T0 and first["counted"] == 15

    later = T0 + timedelta(days=2)
    _, end = dry_run(cfg, voice, db, later)
    events, _ = simulate(tmp_path, silence(end + 2), config, db, "second", later, "--cue-only", capsys=capsys)
    # In the greeting this time (and again at the end: this set was 15 slow perfect reps too).
    greeting, closing = said_with(events, "light dumbbell")
    assert greeting["t"] < min(r["t"] for r in of(events, "rep")) < closing["t"]
    assert not said_with(events, "Your last session was")  # two days' rest: no recovery warning
    history, _ = stored(db)
    assert [datetime.fromisoformat(s["started_at"]) for s in history] == [T0, later]


FLOOR_SENTENCE = re.compile(
    r"Your floor is ([a-z-]+) percent (deeper|higher) than ([\w ]+ ago)[:,] (?:now |at )?([a-z-]+) percent of the way down"
)
SPOKEN = {P.number(n): n for n in range(101)}
"""Numbers as the coach says them ("forty-five") and their values."""
"""progression.floor_rule's sentence: (change %, direction, how long ago, the floor now %)."""


def floor_report(sentence: str) -> tuple[int, str, str, int]:
    m = FLOOR_SENTENCE.match(sentence)
    assert m, sentence
    return SPOKEN[m[1]], m[2], m[3], SPOKEN[m[4]]


def stop_point_session(tmp_path: Path, cfg: dict, config: Path, db: Path, voice: Voice, name: str,
                       when: datetime, depth: float, capsys) -> tuple[list[dict], dict]:
    """A session dated ``when`` with "stop point" said ``depth`` of the way through its
    first lowering (the floor test, 3 s from top to mat); returns (events, the marked rep)."""
    cues, _ = dry_run(cfg, voice, db, when)
    at = lowering_starts(cues)[0] + 3.0 * depth
    mark = heard("stop_point", at, at + 0.7, latency=0.45)
    _, end = dry_run(cfg, voice, db, when, [mark])
    track = build_track([(at, speak("stop point", **VOICE))], end + 2)
    events, printed = simulate(tmp_path, track, config, db, name, when, capsys=capsys)
    assert [c["intent"] for c in of(events, "command")] == ["stop_point"]
    (marked,) = [r for r in of(events, "rep") if r["stop_point"] is not None]
    assert (marked["set"], marked["rep"]) == (1, 1)
    assert marked["stop_point"] == pytest.approx(depth, abs=0.1)
    assert f"floor {marked['stop_point']:.0%}" in printed
    return events, marked


@pytest.mark.model
def test_floor_two_weeks_apart_is_reported_and_a_long_gap_restarts_easier(tmp_path, vosk_model, voice, capsys):
    """The floor rule (higher) and the long-gap rule over three sessions:

    1. day 0: "stop point" said 80% of the way through the first lowering;
    2. day 14: greeted with an easier restart (one set instead of two, never more
       reps); "stop point" said 40% of the way down the floor test; the closing
       advice says the floor is about 40% higher than two weeks ago;
    3. day 15 (cue-only): the greeting says the same, and the closing does not
       (no stop point was marked that day).
    """
    config = tmp_path / "coach.toml"
    cfg = write_config(config, sets=2, reps=2, warmup=False, rest_s=10, variation="straight_leg")
    db = tmp_path / "history.db"
    floors = []
    for name, day, depth in (("day0", 0, 0.8), ("day14", 14, 0.4)):
        events, marked = stop_point_session(tmp_path, cfg, config, db, voice, name, T0 + timedelta(days=day),
                                            depth, capsys)
        floors.append(marked["stop_point"])
        if day == 0:
            assert len(of(events, "set")) == 2
            assert not said_with(events, "Your floor is")
        else:
            (restart,) = said_with(events, "today is an easier restart")
            assert restart["text"].startswith("It has been fourteen days since your last session")
            assert len(of(events, "set")) == 1  # one set instead of two ...
            assert len(of(events, "rep")) == 2  # ... of no more reps than planned
            (closing,) = said_with(events, "Your floor is")
            assert closing["t"] > max(r["t"] for r in of(events, "rep"))
    history, floor = stored(db)
    assert [s["floor"] for s in history] == pytest.approx(floors) and floor == pytest.approx(floors[-1])
    moved = round((floors[0] - floors[1]) * 100)
    assert 25 <= moved <= 55

    # The closing advice of day 14, against day 0 (exactly two weeks before).
    assert floor_report(closing["text"]) == (moved, "higher", "two weeks ago", round(floors[1] * 100))

    # Day 15: the greeting reports it (cue-only; the floor rule reads the history only).
    day15 = T0 + timedelta(days=15)
    _, end = dry_run(cfg, voice, db, day15)
    events, _ = simulate(tmp_path, silence(end + 2), config, db, "day15", day15, "--cue-only", capsys=capsys)
    # In the greeting only: no stop point was marked today, so the closing does not repeat it.
    (greeting,) = said_with(events, "Your floor is")
    assert greeting["t"] < min(r["t"] for r in of(events, "rep"))
    assert floor_report(greeting["text"]) == (moved, "higher", "two weeks ago", round(floors[1] * 100))
    assert not said_with(events, "easier restart") and not said_with(events, "Your last session was")
    assert progression.trained(stored(db)[0])[-1]["started_at"].startswith("2024-03-16T18:00")


@pytest.mark.model
def test_the_floor_test_moves_the_floor_deeper_and_the_coach_says_so(tmp_path, vosk_model, voice, capsys):
    """The floor test lets the floor move deeper in real use:

    1. day 0: "stop point" said 50% of the way through the first lowering;
    2. day 14: the first lowering is the floor test: announced, counted all the
       way down past the 50% floor; "stop point" said 80% of the way down sets
       the new floor, and the next lowering ends there; the closing advice says
       the floor is about 30% deeper than two weeks ago;
    3. day 15 (cue-only): the greeting says the same; the closing does not.
    """
    config = tmp_path / "coach.toml"
    cfg = write_config(config, sets=1, reps=2, warmup=False, rest_s=10, variation="straight_leg")
    db = tmp_path / "history.db"
    _, day0 = stop_point_session(tmp_path, cfg, config, db, voice, "day0", T0, 0.5, capsys)

    day14 = T0 + timedelta(days=14)
    events, marked = stop_point_session(tmp_path, cfg, config, db, voice, "day14", day14, 0.8, capsys)
    old, new = day0["stop_point"], marked["stop_point"]
    (test,) = said_with(events, P.FLOOR_TEST)
    assert test["t"] < said_with(events, "Exhale, lift")[0]["t"]
    first, second = of(events, "rep")
    assert first["descent_s"] == 3.0  # counted past the old floor, all the way down
    assert second["descent_s"] == pytest.approx(3.0 * new, abs=0.01)  # then to the new floor
    (closing,) = said_with(events, "Your floor is")
    assert closing["t"] > second["t"]
    moved = round((new - old) * 100)
    assert 15 <= moved <= 45
    assert floor_report(closing["text"]) == (moved, "deeper", "two weeks ago", round(new * 100))
    history, floor = stored(db)
    assert [s["floor"] for s in history] == pytest.approx([old, new]) and floor == pytest.approx(new)

    day15 = T0 + timedelta(days=15)
    _, end = dry_run(cfg, voice, db, day15)
    events, _ = simulate(tmp_path, silence(end + 2), config, db, "day15", day15, "--cue-only", capsys=capsys)
    (greeting,) = said_with(events, "Your floor is")
    assert greeting["t"] < min(r["t"] for r in of(events, "rep"))
    assert floor_report(greeting["text"]) == (moved, "deeper", "two weeks ago", round(new * 100))
    # Nothing marked in day 15's floor test: the floor is kept, not taken as all the way down.
    first, *later = [r["descent_s"] for r in of(events, "rep")]
    assert first == 3.0 and later and later == pytest.approx([3.0 * new] * len(later), abs=0.01)
    assert stored(db)[1] == pytest.approx(new)


def test_bad_started_at_is_one_line_and_writes_nothing(tmp_path, cli):
    mic, db, ev = tmp_path / "mic.wav", tmp_path / "history.db", tmp_path / "ev.jsonl"
    write_wav(mic, silence(1.0))
    for bad in ("next tuesday", "2024-02-30T18:00", "0001-01-01"):
        proc = cli("simulate", "--mic", str(mic), "--out", str(tmp_path / "out.wav"), "--events", str(ev),
                   "--db", str(db), "--cue-only", "--started-at", bad)
        assert proc.returncode != 0
        assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("voicecoach: --started-at "), proc.stderr
        assert repr(bad) in proc.stderr and "ISO 8601" in proc.stderr
        assert not db.exists() and not ev.exists()
