"""The report: weekly counts, the text summary and the PNG chart."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from voicecoach.history import report
from voicecoach.config import defaults
from voicecoach.errors import UserError

PROGRAM = defaults()["program"]


def session(when: datetime, counted: int, attempted: int = 30, floor: float | None = None,
            status: str = "completed", sid: int = 1) -> dict:
    when = when.astimezone()  # local, aware
    return {
        "id": sid, "started_at": when.isoformat(), "ended_at": None, "status": status, "variation": "bent_knee",
        "config": {}, "plan": None,
        "sets": [{"set": 1, "counted": counted, "attempted": attempted, "marks": {}, "reps": []}],
        "counted": counted, "attempted": attempted, "marks": {}, "floor": floor, "commands": [],
    }


MONDAY = datetime(2026, 11, 2, 18, 0)  # local wall clock


def history() -> list[dict]:
    return [
        session(MONDAY, 12, floor=0.5, sid=1),
        session(MONDAY + timedelta(days=6, hours=3), 14, sid=2),          # Sunday 21:00, same week
        session(MONDAY + timedelta(days=7), 18, floor=0.55, sid=3),        # next Monday
        session(MONDAY + timedelta(days=9), 0, attempted=0, status="interrupted", sid=4),
        session(MONDAY + timedelta(days=10), 20, floor=0.6, sid=5),
    ]


def test_weekly_groups_by_local_monday() -> None:
    assert report.weekly(history()) == [
        (MONDAY.date(), 2, 26),
        ((MONDAY + timedelta(days=7)).date(), 2, 38),
    ]


def test_text_summary_sections() -> None:
    text = report.text_summary(history(), PROGRAM, MONDAY + timedelta(days=14))
    assert "week of 2026-11-02: 2 sessions, 26 perfect reps" in text
    assert "week of 2026-11-09: 2 sessions, 38 perfect reps" in text
    assert "2026-11-02 18:00   12/30  bent-knee raises" in text
    assert "(interrupted)" in text
    assert "2026-11-12  60%" in text
    assert "2026-11-11 18:00    0/0   bent-knee raises  (interrupted)" in text
    assert "Suggestion for the next session\n  Last time twenty of thirty; today aim for ten; your floor is at sixty percent." in text
    assert "Your floor is ten percent deeper than two weeks ago: now sixty percent of the way down." in text


def test_text_summary_when_empty() -> None:
    text = report.text_summary([], PROGRAM, MONDAY)
    assert text.startswith("No sessions recorded yet.") and "first session" in text


def test_chart_is_labelled_with_dates(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the PNG is an optional extra (pip install matplotlib)")
    import matplotlib.pyplot as plt

    fig = report.figure(history())
    try:
        fig.canvas.draw()
        top, bottom = fig.axes
        assert top.get_ylabel() == "reps per session"
        assert bottom.get_ylabel() == "floor (% of the lowering)"
        assert bottom.get_xlabel() == "date (2026)"
        labels = [t.get_text() for t in bottom.get_xticklabels() if t.get_text()]
        assert labels and all(label.endswith(" Nov") for label in labels)
        lines = {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}
        assert list(lines["perfect reps"].get_ydata()) == [12, 14, 18, 20]  # the interrupted one is left out
        assert list(lines["floor (stop point)"].get_ydata()) == pytest.approx([50, 55, 60])
    finally:
        plt.close(fig)
    out = report.write_png(history(), tmp_path / "r.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_chart_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib", reason="the PNG is an optional extra (pip install matplotlib)")
    with pytest.raises(UserError, match="nothing to plot"):
        report.write_png([session(MONDAY, 0, attempted=0)], tmp_path / "x.png")
    with pytest.raises(UserError, match="cannot write"):
        report.write_png(history(), tmp_path / "missing-dir" / "x.png")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    with pytest.raises(UserError, match="pip install") as info:
        report.write_png(history(), tmp_path / "x.png")
    assert "\n" not in str(info.value)


def test_long_histories_are_cut_to_recent(tmp_path: Path) -> None:
    long = [session(MONDAY - timedelta(days=3 * n), 10 + n % 5, floor=0.5, sid=n) for n in range(60, 0, -1)]
    text = report.text_summary(long, PROGRAM, MONDAY)
    assert "(40 earlier sessions not shown; see voicecoach history)" in text
    assert f"(40 earlier not shown)" in text
    assert sum(line.startswith("  week of") for line in text.splitlines()) == report.TEXT_WEEKS
    pytest.importorskip("matplotlib", reason="the PNG is an optional extra (pip install matplotlib)")
    import matplotlib.pyplot as plt

    fig = report.figure(long)
    try:
        fig.canvas.draw()
        assert len(fig.axes[1].texts) == 1  # only the latest floor is labelled
        labels = [t.get_text() for t in fig.axes[1].get_xticklabels() if t.get_text()]
        assert labels and all(len(label.split()) == 2 for label in labels)  # "15 Sep": day and month
    finally:
        plt.close(fig)
