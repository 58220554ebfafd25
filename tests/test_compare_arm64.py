"""scripts/compare_arm64.py: what check-arm64 counts as arm64 differing from x86.

The comparison runs on event logs written here, not on a real arm64 run (that
takes minutes under qemu and is scripts/check-arm64 itself): these tests pin
the rules it applies to those logs.
"""

from __future__ import annotations

import copy
import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("compare_arm64", ROOT / "scripts" / "compare_arm64.py")
compare_arm64 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_arm64)

RECOGNIZE = [{"file": "/x/clip-pause.wav", "intent": "pause", "text": "pause", "start": 0.51, "end": 0.9,
              "confidence": 0.98}]
EVENTS = [
    {"type": "cue", "t": 0.08, "sample": 1764, "kind": "speech", "text": "Welcome."},
    {"type": "cue", "t": 6.021497, "sample": 132774, "kind": "speech", "text": "Set one of one."},
    {"type": "cue", "t": 7.0, "sample": 154350, "kind": "tick", "text": "tick"},
    {"type": "command", "intent": "how_many", "text": "how many", "start": 31.0, "end": 31.6, "t": 31.7},
    {"type": "rep", "t": 40.1, "set": 1, "rep": 1, "counted": True, "marks": [], "lift_s": 2.0,
     "descent_s": 3.0, "stop_point": None},
]


def write(side: Path, recognize: list[dict], events: list[dict], renders: list[dict] | None = None) -> Path:
    side.mkdir(parents=True)
    (side / "recognize.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recognize))
    (side / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    if renders is not None:
        (side / "renders.jsonl").write_text("".join(json.dumps(r) + "\n" for r in renders))
    return side


def run(tmp_path: Path, arm_events: list[dict], arm_recognize=RECOGNIZE, renders=(None, None)):
    x86 = write(tmp_path / "x86", RECOGNIZE, EVENTS, renders[0])
    arm = write(tmp_path / "arm64", arm_recognize, arm_events, renders[1])
    return compare_arm64.compare(x86, arm)


def test_equal_runs_match(tmp_path, capsys):
    assert run(tmp_path, copy.deepcopy(EVENTS)) == 0
    out = capsys.readouterr().out
    assert "arm64 matches x86" in out
    assert "compared simulate events 'cue': 3 on x86, 3 on arm64" in out


def test_a_cue_one_sample_late_is_a_difference(tmp_path, capsys):
    arm = copy.deepcopy(EVENTS)
    arm[2]["sample"] += 1
    assert run(tmp_path, arm) == 1
    assert "cue[2].sample: 154350 on x86, 154351 on arm64" in capsys.readouterr().out


def test_floats_within_the_tolerance_match_and_beyond_it_differ(tmp_path, capsys):
    near = copy.deepcopy(EVENTS)
    near[4]["lift_s"] += compare_arm64.TOLERANCE / 2
    assert run(tmp_path / "near", near) == 0
    far = copy.deepcopy(EVENTS)
    far[4]["lift_s"] += compare_arm64.TOLERANCE * 2
    assert run(tmp_path / "far", far) == 1
    assert "rep[0].lift_s" in capsys.readouterr().out


def test_a_different_intent_or_a_missing_event_is_a_difference(tmp_path, capsys):
    wrong = copy.deepcopy(RECOGNIZE)
    wrong[0]["intent"] = "resume"
    assert run(tmp_path / "intent", copy.deepcopy(EVENTS), arm_recognize=wrong) == 1
    assert run(tmp_path / "missing", copy.deepcopy(EVENTS[:-1])) == 1
    out = capsys.readouterr().out
    assert "recognize[0].intent: 'pause' on x86, 'resume' on arm64" in out
    assert "rep: 1 on x86, 0 on arm64" in out


def test_each_sides_own_renders_are_reported_not_required_equal(tmp_path, capsys):
    # A different espeak-ng build may render a phrase differently; the cue samples
    # compared come from the clips both sides shared, so this alone is no difference.
    x86 = [{"text": "Welcome.", "samples": 1000, "rate": 22050, "sha256": "a", "espeak": "1.51"},
           {"text": "Set one of one.", "samples": 2000, "rate": 22050, "sha256": "b", "espeak": "1.51"}]
    arm = [dict(x86[0]), dict(x86[1], samples=2040, sha256="c")]
    assert run(tmp_path, copy.deepcopy(EVENTS), renders=(x86, arm)) == 0
    out = capsys.readouterr().out
    assert "2 phrases rendered in the same order: 1 identical, largest length difference 40 samples" in out
