"""``voicecoach history``, ``report`` and ``export`` on real history files."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach import cli, events
from voicecoach.history.store import SCHEMA_VERSION, Store

T0 = datetime(2026, 11, 2, 18, 0, tzinfo=timezone.utc)


def fill(path: Path) -> None:
    """Two finished sessions and one that was killed after two reps."""
    with Store(path) as store:
        for day, variation in ((0, "bent_knee"), (3, "single_leg")):
            sid = store.begin_session(started_at=T0 + timedelta(days=day),
                                      config={"program": {"variation": variation, "reps": 10}})
            for n in range(1, 11):
                arched = n > 8
                store.record_rep(sid, events.Rep(t=float(n), set=1, rep=n, counted=not arched,
                                                 marks=("back_arched",) if arched else (), descent_s=3.1,
                                                 stop_point=0.6 + day / 100 if n == 10 else None))
            store.record_set(sid, events.SetSummary(t=100.0, set=1, counted=8, attempted=10, marks={"back_arched": 2}))
            store.record_command(sid, events.Command(intent="next_set", text="next set", start=90, end=91, t=91.2))
            store.end_session(sid, events.SessionSummary(t=101.0, sets=1, counted=8, attempted=10))
        sid = store.begin_session(started_at=T0 + timedelta(days=5), config={"program": {"variation": "single_leg"}})
        for n in (1, 2):
            store.record_rep(sid, events.Rep(t=float(n), set=1, rep=n, counted=True))
    Store(path).close()  # the in-progress session is now "interrupted"


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db() -> Path:
    path = Path(os.environ["VOICECOACH_DB"])  # conftest: under this test's tmp_path
    fill(path)
    return path


def test_history_when_nothing_recorded(capsys) -> None:
    code, out, err = run(capsys, "history")
    assert code == 0 and out.startswith("No sessions recorded yet") and err == ""
    assert run(capsys, "history", "--json")[:2] == (0, "[]\n")
    assert not Path(os.environ["VOICECOACH_DB"]).exists()  # looking does not create files


def test_history_text(capsys, db: Path) -> None:
    code, out, err = run(capsys, "history")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == 6  # 3 sessions, each with one set line
    assert "completed" in lines[0] and "bent-knee raises" in lines[0] and "8/10 perfect" in lines[0]
    assert "floor 60%" in lines[0] and "marks: back arched 2" in lines[0]
    assert lines[1].strip() == "set 1: 8/10  back arched 2"
    assert "interrupted" in lines[4] and "2/2 perfect" in lines[4] and "floor -" in lines[4]


def test_history_json_contract(capsys, db: Path) -> None:
    code, out, _ = run(capsys, "history", "--json")
    sessions = json.loads(out)
    assert code == 0 and [s["status"] for s in sessions] == ["completed", "completed", "interrupted"]
    first = sessions[0]
    for key in ("id", "started_at", "status", "variation", "counted", "attempted", "marks", "floor", "sets"):
        assert key in first
    assert first["variation"] == "bent_knee" and sessions[1]["variation"] == "single_leg"
    assert (first["counted"], first["attempted"], first["floor"]) == (8, 10, 0.6)
    assert first["sets"][0]["marks"] == {"back_arched": 2}
    assert len(first["sets"][0]["reps"]) == 10 and first["sets"][0]["reps"][9]["marks"] == ["back_arched"]
    assert first["commands"][0]["intent"] == "next_set"
    assert sessions[2]["sets"][0]["attempted"] == 2


def test_history_since_and_explicit_db(capsys, db: Path, tmp_path: Path) -> None:
    since = (T0 + timedelta(days=3)).astimezone().date().isoformat()
    sessions = json.loads(run(capsys, "history", "--json", "--since", since)[1])
    assert [s["variation"] for s in sessions] == ["single_leg", "single_leg"]
    other = tmp_path / "other.db"
    Store(other).close()
    assert run(capsys, "history", "--db", str(other))[1].startswith("No sessions recorded yet")
    assert run(capsys, "history", "--since", "2030-01-01")[1].startswith("No sessions recorded since 2030-01-01")


def test_history_uses_the_config_store_db(capsys, db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("VOICECOACH_DB")
    Path(os.environ["VOICECOACH_CONFIG"]).write_text(f'[store]\ndb = "{db}"\n')
    assert len(json.loads(run(capsys, "history", "--json")[1])) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (["history", "--since", "2026-13-01"], "--since '2026-13-01' is not a date; use YYYY-MM-DD"),
        (["history", "--since", "yesterday"], "is not a date"),
        (["history", "--db", "{tmp}/missing.db"], "no history database at"),
        (["history", "--db", "{tmp}"], "is a directory"),
        (["history", "--db", "{tmp}/notes.txt"], "not a history database"),
        (["history", "--db", "{tmp}/future.db"], "newer than this voicecoach"),
        (["report", "--db", "{tmp}/notes.txt"], "not a history database"),
        (["report", "--config", "{tmp}/missing.toml"], "config file not found"),
        (["export", "--csv", "{tmp}/out", "--db", "{tmp}/missing.db"], "no history database at"),
        (["export", "--json"], "no history to export"),
    ],
)
def test_errors_are_one_line(capsys, tmp_path: Path, argv: list[str], message: str) -> None:
    (tmp_path / "notes.txt").write_text("my notes\n")
    future = sqlite3.connect(tmp_path / "future.db")
    future.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    future.close()
    code, out, err = run(capsys, *[a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert code == 2 and out == ""
    assert err.startswith("voicecoach: ") and err.count("\n") == 1 and message in err
    assert (tmp_path / "notes.txt").read_text() == "my notes\n"  # a reader never moves a file aside


def test_export_csv(capsys, db: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "export" / "here"
    code, out, _ = run(capsys, "export", "--csv", str(out_dir))
    assert code == 0 and "sessions.csv" in out
    counts = {}
    for name in ("sessions", "sets", "reps", "commands"):
        path = out_dir / f"{name}.csv"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        counts[name] = len(rows)
        if name == "reps":
            assert rows[8]["marks_json"] == '["back_arched"]'
    assert counts == {"sessions": 3, "sets": 2, "reps": 22, "commands": 2}
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    code, _, err = run(capsys, "export", "--csv", str(blocked / "sub"))
    assert code == 2 and err.startswith("voicecoach: cannot write the export")


def test_export_json(capsys, db: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "export", "--json")
    data = json.loads(out)
    assert code == 0 and data["schema_version"] == SCHEMA_VERSION
    assert [len(data[t]) for t in ("sessions", "sets", "reps", "commands")] == [3, 2, 22, 2]
    assert data["sessions"][2]["status"] == "interrupted"
    target = tmp_path / "all.json"
    assert run(capsys, "export", "--json", str(target))[0] == 0
    assert json.loads(target.read_text()) == data
    with pytest.raises(SystemExit) as exit_:  # argparse: one of --csv/--json is required
        cli.main(["export"])
    assert exit_.value.code == 2 and "--csv" in capsys.readouterr().err


def test_report_text_and_png(capsys, db: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the PNG is an optional extra (pip install matplotlib)")
    png = tmp_path / "report.png"
    code, out, err = run(capsys, "report", "--png", str(png))
    assert code == 0 and err == ""
    assert "Sessions per week" in out and "Perfect reps per session" in out and "Floor over time" in out
    assert "Suggestion for the next session" in out and f"Chart written to {png}" in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_report_png_without_matplotlib(capsys, db: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the optional extra were missing
    code, out, err = run(capsys, "report", "--png", str(tmp_path / "r.png"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "pip install" in err and "matplotlib" in err
    code, out, _ = run(capsys, "report")  # the text report needs no extra
    assert code == 0 and "Sessions per week" in out


def test_report_when_nothing_recorded(capsys, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "report")
    assert code == 0 and out.startswith("No sessions recorded yet.") and "first session" in out
    code, _, err = run(capsys, "report", "--png", str(tmp_path / "r.png"))
    assert code == 2 and "nothing to plot yet" in err


def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 100)
    proc = subprocess.run([sys.executable, "-m", "voicecoach", "history", "--db", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr and "not a history database" in proc.stderr


def test_history_and_report_show_the_plank_held(capsys) -> None:
    path = Path(os.environ["VOICECOACH_DB"])
    with Store(path) as store:
        for day, held in ((0, 30.0), (2, 21.5)):
            sid = store.begin_session(started_at=T0 + timedelta(days=day), config={"program": {"plank_s": 30.0}})
            store.record_rep(sid, events.Rep(t=1.0, set=1, rep=1, counted=True))
            store.end_session(sid, events.SessionSummary(t=90.0, sets=1, counted=1, attempted=1,
                                                         plank_s=held, plank_target_s=30.0))
    code, out, _ = run(capsys, "history")
    assert code == 0 and "    plank: held 30 s of 30" in out and "    plank: held 21.5 s of 30" in out
    data = json.loads(run(capsys, "history", "--json")[1])
    assert [(s["plank_s"], s["plank_target_s"]) for s in data] == [(30.0, 30.0), (21.5, 30.0)]
    code, out, _ = run(capsys, "report")
    assert code == 0 and "Plank holds (held of planned seconds)" in out and "21.5 s of 30" in out
