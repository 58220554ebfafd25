"""The history store: round trip, migrations, damage, faults, kills.

Everything runs against real SQLite files in tmp dirs. The file-system
faults use a real tiny tmpfs when the tests may mount one (root, as in CI
here); otherwise they fall back as each test explains.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from voicecoach import events
from voicecoach.errors import UserError
from voicecoach.history.store import SCHEMA_VERSION, Store, StoreError, resolve_path

T0 = datetime(2026, 11, 2, 18, 30, tzinfo=timezone.utc)
CONFIG = {"program": {"variation": "single_leg", "sets": 3, "reps": 10}}


def rep(set_no: int, n: int, counted: bool = True, marks: tuple[str, ...] = (), stop: float | None = None) -> events.Rep:
    return events.Rep(
        t=10.0 * n, set=set_no, rep=n, counted=counted, marks=marks, lift_s=2.0, descent_s=3.4, stop_point=stop
    )


def record_session(store: Store, started: datetime = T0) -> int:
    sid = store.begin_session(started_at=started, config=CONFIG, plan={"sets": 2})
    store.record_rep(sid, rep(1, 1))
    store.record_rep(sid, rep(1, 2, counted=False, marks=("back_arched",)))
    store.record_rep(sid, rep(1, 3, marks=("stop_point",), stop=0.65))
    store.record_set(sid, events.SetSummary(t=35.0, set=1, counted=2, attempted=3, marks={"back_arched": 1, "stop_point": 1}))
    store.record_command(sid, events.Command(intent="pause", text="uh pause", start=36.0, end=36.5, t=36.7))
    store.record_rep(sid, rep(2, 1, stop=0.7))
    store.record_set(sid, events.SetSummary(t=60.0, set=2, counted=1, attempted=1))
    store.end_session(sid, events.SessionSummary(t=61.0, sets=2, counted=3, attempted=4, floor=0.7))
    return sid


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Store(path) as store:
        sid = record_session(store)
    with Store(path) as store:
        assert store.notices == []
        [s] = store.sessions()
        assert store.floor() == 0.7
    assert s["id"] == sid
    assert s["status"] == "completed"
    assert s["variation"] == "single_leg"
    assert s["plan"] == {"sets": 2}
    assert s["config"] == CONFIG
    assert datetime.fromisoformat(s["started_at"]) == T0
    assert (s["counted"], s["attempted"], s["floor"]) == (3, 4, 0.7)
    assert s["marks"] == {"back_arched": 1, "stop_point": 1}
    assert [(x["set"], x["counted"], x["attempted"]) for x in s["sets"]] == [(1, 2, 3), (2, 1, 1)]
    reps = s["sets"][0]["reps"]
    assert [r["rep"] for r in reps] == [1, 2, 3]
    assert reps[1] == {
        "rep": 2, "t": 20.0, "counted": False, "marks": ["back_arched"], "lift_s": 2.0, "descent_s": 3.4,
        "stop_point": None,
    }
    assert reps[2]["stop_point"] == 0.65
    assert s["commands"] == [{"intent": "pause", "text": "uh pause", "start": 36.0, "end": 36.5, "t": 36.7}]
    json.dumps(s)  # the history --json contract: plain JSON values only


def test_since_and_floor_fallback(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        assert store.floor() is None and store.sessions() == []
        record_session(store, T0)
        # An interrupted session still gives its floor from the reps.
        sid = store.begin_session(started_at=T0 + timedelta(days=3), config=CONFIG)
        store.record_rep(sid, rep(1, 1, stop=0.8))
        assert store.floor() == 0.8
        # A later session with no stop point marked keeps the last floor.
        store.record_rep(store.begin_session(started_at=T0 + timedelta(days=4), config=CONFIG), rep(1, 1))
        assert store.floor() == 0.8 == [s["floor"] for s in store.sessions() if s["floor"] is not None][-1]
        later = store.sessions(since=(T0 + timedelta(days=2)).astimezone().date())
        assert [s["id"] for s in later] == [sid, sid + 1]
        assert later[0]["status"] == "in_progress"
        assert (later[0]["counted"], later[0]["attempted"]) == (1, 1)
        assert store.sessions(since=date(2030, 1, 1)) == []


def test_private_files(tmp_path: Path) -> None:
    path = tmp_path / "new" / "deeper" / "h.db"
    with Store(path) as store:
        sid = store.begin_session(started_at=T0, config=CONFIG)
        store.record_rep(sid, rep(1, 1))
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}.lock")):
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
    path.chmod(0o644)  # e.g. copied in by hand
    Store(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_default_path_and_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store() as store:  # conftest points VOICECOACH_DB into tmp_path
        assert store.path == Path(os.environ["VOICECOACH_DB"])
    assert resolve_path("x.db", {"store": {"db": "y.db"}}) == Path("x.db")
    assert resolve_path(None, {"store": {"db": "y.db"}}) == Path(os.environ["VOICECOACH_DB"])
    monkeypatch.delenv("VOICECOACH_DB")
    assert resolve_path(None, {"store": {"db": "y.db"}}) == Path("y.db")
    assert resolve_path(None, {"store": {"db": ""}}).name == "history.db"


# --- migrations ---------------------------------------------------------------------

# The version-1 schema, written out here by hand (not taken from the module)
# so that a change to the migration code cannot change what "v1" means.
V1_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, ended_at TEXT,
    status TEXT NOT NULL DEFAULT 'in_progress', config_json TEXT NOT NULL DEFAULT '{}',
    sets INTEGER, counted INTEGER, attempted INTEGER);
CREATE TABLE sets (session_id INTEGER NOT NULL REFERENCES sessions(id), set_no INTEGER NOT NULL,
    t REAL NOT NULL, counted INTEGER NOT NULL, attempted INTEGER NOT NULL,
    marks_json TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (session_id, set_no));
CREATE TABLE reps (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id),
    set_no INTEGER NOT NULL, rep_no INTEGER NOT NULL, t REAL NOT NULL, counted INTEGER NOT NULL,
    marks_json TEXT NOT NULL DEFAULT '[]', lift_s REAL, descent_s REAL, stop_point REAL);
PRAGMA user_version = 1;
"""


def test_migration_from_v1_keeps_every_row(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    rows_in = 0
    for sid in range(1, 6):
        db.execute(
            "INSERT INTO sessions VALUES (?, ?, ?, 'completed', ?, 2, ?, 20)",
            (sid, f"2026-10-{sid:02d}T18:00:00+00:00", f"2026-10-{sid:02d}T18:30:00+00:00",
             json.dumps({"program": {"variation": "straight_leg" if sid % 2 else "bent_knee"}}), 10 + sid),
        )
        for set_no in (1, 2):
            db.execute("INSERT INTO sets VALUES (?, ?, ?, ?, 10, ?)",
                       (sid, set_no, 100.0 * set_no, 5 + sid // 2, json.dumps({"back_arched": 2})))
            for n in range(1, 11):
                db.execute(
                    "INSERT INTO reps (session_id, set_no, rep_no, t, counted, marks_json, lift_s, descent_s, "
                    "stop_point) VALUES (?, ?, ?, ?, ?, ?, 2.0, 3.0, ?)",
                    (sid, set_no, n, float(n), int(n > 2), json.dumps(["back_arched"] if n <= 2 else []),
                     0.5 + sid / 20 if n == 10 else None),
                )
                rows_in += 1
    db.commit()
    db.close()

    with Store(path) as store:
        sessions = store.sessions()
        assert store.notices == []
        assert store.floor() == pytest.approx(0.75)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT count(*) FROM reps").fetchone()[0] == rows_in == 100
    assert db.execute("SELECT count(*) FROM sets").fetchone()[0] == 10
    db.close()
    assert [s["id"] for s in sessions] == [1, 2, 3, 4, 5]
    assert [s["variation"] for s in sessions] == ["straight_leg", "bent_knee"] * 2 + ["straight_leg"]
    assert [s["counted"] for s in sessions] == [11, 12, 13, 14, 15]
    assert all(len(st["reps"]) == 10 for s in sessions for st in s["sets"])
    assert sessions[0]["sets"][0]["reps"][0]["marks"] == ["back_arched"]
    assert sessions[0]["commands"] == []
    assert {(s["plank_s"], s["plank_target_s"]) for s in sessions} == {(None, None)}  # v3: no plank then
    # The upgraded file takes new sessions.
    with Store(path) as store:
        record_session(store, T0)
        assert len(store.sessions()) == 6


def test_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE something (x)")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="newer"):
        Store(path)
    assert path.read_bytes() == before


# --- damage ---------------------------------------------------------------------------


def _aside(path: Path) -> list[Path]:
    return sorted(path.parent.glob(path.name + ".corrupt-*"))


def test_garbage_file_is_moved_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    garbage = b"this is not sqlite\n" * 500
    path.write_bytes(garbage)
    with Store(path) as store:
        assert len(store.notices) == 1 and "damaged" in store.notices[0]
        [moved] = _aside(path)
        assert moved.name in store.notices[0]
        assert moved.read_bytes() == garbage
        assert store.sessions() == []
        record_session(store)
    # Twice in the same second: both kept, under different names.
    path.write_bytes(garbage)
    with Store(path) as store:
        assert len(_aside(path)) == 2


def test_damaged_pages_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Store(path) as store:
        for day in range(20):
            record_session(store, T0 + timedelta(days=day))
    size = path.stat().st_size
    assert size >= 4 * 4096
    with open(path, "r+b") as f:  # keep the header, scribble over the pages after it
        f.seek(4096)
        f.write(bytes(random.Random(1).randrange(256) for _ in range(size - 4096)))
    damaged = path.read_bytes()
    with Store(path) as store:
        assert store.notices and "damaged" in store.notices[0]
        assert store.sessions() == []
    [moved] = _aside(path)
    assert moved.read_bytes() == damaged


def test_reader_does_not_move_a_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes\n")
    with pytest.raises(StoreError, match="not a history database"):
        Store(path, create=False)
    assert path.read_text() == "my notes\n" and _aside(path) == []


def test_damage_sqlite_reads_but_quick_check_finds_is_damage_too(tmp_path: Path) -> None:
    """A NULL where the schema forbids one (written behind SQLite's back): the pages read,
    quick_check finds it. A reader says so in one line; a session moves the file aside."""
    path = tmp_path / "h.db"
    with Store(path) as store:
        assert store.read_only is False
        record_session(store)
    db = sqlite3.connect(path)
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = replace(sql, 't REAL NOT NULL', 't REAL') WHERE name = 'sets'")
    db.commit()
    db.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE sets SET t = NULL")
    db.execute("PRAGMA writable_schema = ON")
    db.execute("UPDATE sqlite_master SET sql = replace(sql, 't REAL,', 't REAL NOT NULL,') WHERE name = 'sets'")
    db.commit()
    db.close()
    damaged = path.read_bytes()
    with pytest.raises(StoreError) as info:
        Store(path, create=False)
    assert str(info.value) == (f"{path} is damaged or not a history database (database disk image is malformed); "
                               "the next session moves it aside and starts a new one")
    with Store(path) as store:
        [moved] = _aside(path)
        assert store.notices == [f"The history database {path} was damaged; it was moved to {moved.name} "
                                 "and a new one was started."]
        assert store.sessions() == []
    assert moved.read_bytes() == damaged


def test_store_error_is_a_user_error(tmp_path: Path) -> None:
    assert issubclass(StoreError, UserError)
    with pytest.raises(StoreError, match="directory"):
        Store(tmp_path)
    with pytest.raises(StoreError, match="no history database"):
        Store(tmp_path / "missing.db", create=False)


# --- file-system faults ------------------------------------------------------------


def _mount_tmpfs(where: Path, size: str) -> bool:
    """Mount a real tmpfs at ``where`` when this process may (root); False otherwise."""
    if os.geteuid() != 0:
        return False
    where.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True)
    return proc.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


def fill_disk(where: Path) -> None:
    """Fill the file system holding ``where`` to its last block."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    os.close(fd)


@pytest.fixture
def small_fs(tmp_path: Path):
    where = tmp_path / "fs"
    mounted = _mount_tmpfs(where, "512k")
    if not mounted:
        where.mkdir(exist_ok=True)
    yield where, mounted
    if mounted:
        _umount(where)


def test_read_only_directory(small_fs) -> None:
    where, mounted = small_fs
    with Store(where / "h.db") as store:
        record_session(store)
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    elif os.geteuid() != 0:
        where.chmod(0o500)  # without root, a plain read-only directory does it
    else:
        pytest.skip("root without mount(8): neither a read-only tmpfs nor chmod can make a directory read-only")
    try:
        with pytest.raises(StoreError, match="read-only") as info:
            Store(where / "new.db")
        assert "\n" not in str(info.value)
        with pytest.raises(StoreError, match="read-only"):
            Store(where / "h.db")  # a session needs to write
        # A reader (voicecoach history) still gets the history.
        with Store(where / "h.db", create=False) as reader:
            assert reader.read_only
            assert [s["counted"] for s in reader.sessions()] == [3]
            with pytest.raises(StoreError, match="read-only"):
                reader.begin_session(started_at=T0, config=CONFIG)
    finally:
        if not mounted:
            where.chmod(0o700)  # so that pytest can clean tmp_path up


def test_an_old_history_on_a_read_only_file_system_says_it_needs_an_upgrade(small_fs) -> None:
    where, mounted = small_fs
    if not mounted:
        pytest.skip("needs a read-only tmpfs (root and mount(8))")
    db = sqlite3.connect(where / "old.db")
    db.executescript(V1_SCHEMA)
    db.close()
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    with pytest.raises(StoreError) as info:
        Store(where / "old.db", create=False)
    assert str(info.value) == f"history database {where / 'old.db'} needs an upgrade, but its directory is read-only"


def test_disk_full_raises_and_keeps_what_was_saved(small_fs) -> None:
    where, mounted = small_fs
    path = where / "h.db"
    store = Store(path)
    sid = store.begin_session(started_at=T0, config=CONFIG)
    store.record_rep(sid, rep(1, 1))
    if mounted:
        fill_disk(where)
    else:
        # Without mount privileges: max_page_count makes SQLite fail the same
        # way (SQLITE_FULL) once the file has to grow.
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")
    saved = 1
    with pytest.raises(StoreError, match=r"^could not save rep \d+ of set 1 to .*: disk full$") as info:
        for n in range(2, 5000):
            store.record_rep(sid, rep(1, n, marks=("x" * 300,)))
            saved += 1
    assert "\n" not in str(info.value)
    # Space comes back: the same store goes on saving.
    if mounted:
        os.remove(where / "filler")
    else:
        store._db.execute("PRAGMA max_page_count = 1073741823")
    store.record_rep(sid, rep(2, 1))
    store.end_session(sid, events.SessionSummary(t=1.0, sets=2, counted=saved + 1, attempted=saved + 1))
    store.close()
    with Store(path) as store:
        [s] = store.sessions()
    assert [len(st["reps"]) for st in s["sets"]] == [saved, 1]
    assert [r["rep"] for r in s["sets"][0]["reps"]] == list(range(1, saved + 1))


# --- processes that die -------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from voicecoach.events import Rep, SetSummary
    from voicecoach.history.store import Store

    store = Store(sys.argv[1])
    sid = store.begin_session(started_at=datetime.now(timezone.utc), config={"program": {"variation": "bent_knee"}})
    print("session", sid, flush=True)
    for set_no in (1, 2, 3):
        for n in range(1, 11):
            store.record_rep(sid, Rep(t=float(n), set=set_no, rep=n, counted=n % 4 != 0,
                                      marks=("back_arched",) if n % 4 == 0 else (), descent_s=3.2,
                                      stop_point=0.6))
            print("rep", set_no, n, flush=True)
            time.sleep(0.006)
        store.record_set(sid, SetSummary(t=0.0, set=set_no, counted=8, attempted=10))
    print("done", flush=True)
    time.sleep(30)
    """
)


def _start_child(tmp_path: Path, db: Path, wait: bool = True) -> subprocess.Popen:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE, text=True)
    if wait:
        assert proc.stdout.readline().startswith("session")
    return proc


def test_killed_at_random_points_keeps_completed_reps(tmp_path: Path) -> None:
    """50 kills (3 in 4 SIGKILL, else SIGTERM, which the bare store does not
    handle): the file opens cleanly and holds every rep whose record returned."""
    rng = random.Random(6)
    all_reps = [(s, n) for s in (1, 2, 3) for n in range(1, 11)]
    for trial in range(50):
        db = tmp_path / f"kill{trial}.db"
        early = trial % 5 == 0  # while starting: opening, creating the schema, beginning the session
        proc = _start_child(tmp_path, db, wait=not early)
        sig = signal.SIGKILL if trial % 4 else signal.SIGTERM
        time.sleep(rng.uniform(0.0, 0.3 if early else 0.2))
        proc.send_signal(sig)
        # Only whole lines: a kill can cut the last one short (print writes in pieces).
        reported = [line.split() for line in proc.stdout.read().split("\n")[:-1]]
        proc.wait()
        proc.stdout.close()
        confirmed = [(int(f[1]), int(f[2])) for f in reported if len(f) == 3 and f[0] == "rep"]
        with Store(db) as store:
            assert store.notices == [], (trial, sig)  # nothing looked damaged
            sessions = store.sessions()
        if not sessions:
            assert early and not confirmed
            continue
        [session] = sessions
        stored = [(st["set"], r["rep"]) for st in session["sets"] for r in st["reps"]]
        # Every rep whose record_rep returned is there, in order; at most one
        # more (committed just before the kill, not yet reported).
        assert stored[: len(confirmed)] == confirmed, (trial, sig)
        assert len(stored) - len(confirmed) in (0, 1), (trial, sig)
        assert stored == all_reps[: len(stored)]
        assert session["status"] == "interrupted"
        assert session["attempted"] == len(stored)


def test_live_session_is_not_marked_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    proc = _start_child(tmp_path, db)
    try:
        assert proc.stdout.readline().startswith("rep")
        with Store(db) as reader:  # e.g. `voicecoach history` during a workout
            assert reader.sessions()[0]["status"] == "in_progress"
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    with Store(db) as store:
        assert store.sessions()[0]["status"] == "interrupted"


# --- the same faults under a whole simulated session -----------------------------------

FAST_PROGRAM = "[program]\nwarmup = false\nsets = 2\nreps = 3\nrest_s = 10.0\n"


def _silent_wav(path: Path, seconds: float, rate: int = 16000) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return path


def _simulate(tmp_path: Path, db: Path, seconds: float = 75.0) -> tuple[subprocess.Popen, Path]:
    """Start ``voicecoach simulate`` on a silent mic (the coach counts reps on its beats)."""
    config = tmp_path / "fast.toml"
    config.write_text(FAST_PROGRAM)
    mic = _silent_wav(tmp_path / "mic.wav", seconds)
    ev = tmp_path / "ev.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "simulate", "--mic", str(mic), "--out", str(tmp_path / "out.wav"),
         "--events", str(ev), "--config", str(config), "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    return proc, ev


def _events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.model
def test_disk_full_during_a_session_keeps_coaching(tmp_path: Path, small_fs, model_path: Path) -> None:
    where, mounted = small_fs
    if not mounted:
        pytest.skip("needs a tmpfs to fill while another process writes (root and mount(8)); "
                    "test_disk_full_raises_and_keeps_what_was_saved covers the store without one")
    db = where / "h.db"
    Store(db).close()
    proc, ev = _simulate(tmp_path, db, seconds=75.0)
    # Fill the file system as soon as the first rep is on disk.
    reader = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if reader.execute("SELECT count(*) FROM reps").fetchone()[0] >= 1:
                break
        except sqlite3.OperationalError:
            pass  # mid-checkpoint; look again
        time.sleep(0.005)
    reader.close()
    fill_disk(where)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    events_ = _events(ev)
    [notice] = [e for e in events_ if e["type"] == "notice" and "disk full" in e["text"]]
    assert notice["level"] == "error" and "disk full" in err
    said = [e for e in events_ if e["type"] == "cue" and e["kind"] == "speech"]
    from voicecoach.coach.program import NOT_SAVED

    [told] = [e for e in said if e["text"] == NOT_SAVED]
    assert told["t"] >= notice["t"]
    assert any(e["t"] > told["t"] for e in events_ if e["type"] == "cue")  # the coaching went on
    reps_done = [e for e in events_ if e["type"] == "rep"]
    assert events_[-1]["type"] == "session" and len(reps_done) >= 2
    os.remove(where / "filler")
    with Store(db) as store:
        [session] = store.sessions()
    saved = [(st["set"], r["rep"]) for st in session["sets"] for r in st["reps"]]
    assert 1 <= len(saved) < len(reps_done)
    assert saved == [(e["set"], e["rep"]) for e in reps_done[: len(saved)]]
    assert session["status"] == "interrupted"  # its summary could not be written either


@pytest.mark.model
def test_read_only_history_dir_keeps_coaching(tmp_path: Path, small_fs, model_path: Path) -> None:
    where, mounted = small_fs
    if mounted:
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    elif os.geteuid() != 0:
        where.chmod(0o500)
    else:
        pytest.skip("root without mount(8): cannot make a directory read-only")
    try:
        proc, ev = _simulate(tmp_path, where / "h.db", seconds=48.0)
        out, err = proc.communicate(timeout=180)
    finally:
        if not mounted:
            where.chmod(0o700)
    assert proc.returncode == 0, err
    # One clear line on stderr. (Whether the coach also says it aloud is the
    # runtime's part: at the time of writing it does only after a failed write.)
    assert "read-only" in err and "not be saved" in err
    events_ = _events(ev)
    assert sum(e["type"] == "rep" for e in events_) >= 1
    assert events_[-1]["type"] == "session"
    assert not (where / "h.db").exists()


@pytest.mark.model
def test_damaged_history_under_a_session_is_moved_aside(tmp_path: Path, model_path: Path) -> None:
    db = tmp_path / "h.db"
    damaged = random.Random(8).randbytes(20_000)
    db.write_bytes(damaged)
    proc, ev = _simulate(tmp_path, db, seconds=48.0)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    [moved] = _aside(db)
    assert moved.read_bytes() == damaged
    notices = [e for e in _events(ev) if e["type"] == "notice"]
    assert any("damaged" in e["text"] and moved.name in e["text"] for e in notices)
    assert "damaged" in err
    with Store(db) as store:
        [session] = store.sessions()
    assert session["attempted"] == sum(e["type"] == "rep" for e in _events(ev)) >= 1


class _Interrupting:
    """A connection stand-in that raises KeyboardInterrupt (what ``serve`` turns
    SIGTERM into) after running a rep's INSERT, before its COMMIT: a signal's
    timing cannot be aimed that precisely from outside."""

    def __init__(self, db: sqlite3.Connection):
        self.db, self.armed = db, True

    def __getattr__(self, name: str):
        return getattr(self.db, name)

    def execute(self, sql: str, *params):
        cursor = self.db.execute(sql, *params)
        if self.armed and sql.startswith("INSERT INTO reps"):
            self.armed = False
            raise KeyboardInterrupt
        return cursor


def test_interrupt_inside_a_write_leaves_no_open_transaction(tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    sid = store.begin_session(started_at=T0, config=CONFIG)
    store.record_rep(sid, rep(1, 1))
    store._db = _Interrupting(store._db)
    with pytest.raises(KeyboardInterrupt):
        store.record_rep(sid, rep(1, 2))
    # The clean-up after Ctrl-C / SIGTERM: the summary is saved.
    store.end_session(sid, events.SessionSummary(t=5.0, sets=1, counted=1, attempted=1, status="stopped"))
    store.close()
    with Store(tmp_path / "h.db") as store:
        [s] = store.sessions()
    assert s["status"] == "stopped" and [r["rep"] for r in s["sets"][0]["reps"]] == [1]


TERM_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, timezone
    from voicecoach.events import Rep, SessionSummary
    from voicecoach.history.store import Store

    def stop(*_):
        raise KeyboardInterrupt  # as `voicecoach serve` does with SIGTERM

    signal.signal(signal.SIGTERM, stop)
    store = Store(sys.argv[1])
    sid = store.begin_session(started_at=datetime.now(timezone.utc), config={})
    print("session", sid, flush=True)
    n = 0
    try:
        for n in range(1, 100000):
            store.record_rep(sid, Rep(t=float(n), set=1, rep=n, counted=True))
            # One write(2) per line, written whole or not at all: with print()
            # (two layers of buffers) a KeyboardInterrupt raised inside it once
            # lost a line, and the test saw 2 stored reps more than printed.
            os.write(1, f"rep 1 {n}\\n".encode())
    except KeyboardInterrupt:
        store.end_session(sid, SessionSummary(t=0.0, sets=1, counted=n, attempted=n, status="stopped"))
        print("ended", flush=True)
    """
)


def test_sigterm_handled_ends_the_session_with_its_summary(tmp_path: Path) -> None:
    script = tmp_path / "term_child.py"
    script.write_text(TERM_CHILD)
    rng = random.Random(8)
    for trial in range(10):
        db = tmp_path / f"term{trial}.db"
        errors = tmp_path / f"term{trial}.err"
        with errors.open("w") as err_file:
            proc = subprocess.Popen([sys.executable, str(script), str(db)], stdout=subprocess.PIPE,
                                    stderr=err_file, text=True)
        assert proc.stdout.readline().startswith("session")
        time.sleep(rng.uniform(0.01, 0.1))
        proc.send_signal(signal.SIGTERM)
        # Not communicate(): it reads the pipe's fd directly and so drops the
        # lines readline() has already buffered (CI once saw 3 reps "unreported").
        out = proc.stdout.read()
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.returncode == 0 and out.rstrip().endswith("ended"), errors.read_text()
        confirmed = sum(line.startswith("rep") for line in out.splitlines())
        with Store(db) as store:
            [s] = store.sessions()
        assert s["status"] == "stopped", trial
        stored = [r["rep"] for r in s["sets"][0]["reps"]]
        assert stored[:confirmed] == list(range(1, confirmed + 1)) and len(stored) - confirmed in (0, 1)


# --- whatever is recorded comes back ---------------------------------------------------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_text = st.text(max_size=20)  # any unicode, quotes, commas, newlines: JSON and CSV must carry it
_reps = st.lists(
    st.tuples(st.integers(1, 4), st.booleans(), st.lists(_text, max_size=3),
              st.floats(0, 10, allow_nan=False), st.none() | st.floats(0, 1, allow_nan=False)),
    max_size=25,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reps=_reps, commands=st.lists(st.tuples(_text, _text), max_size=4), end=st.booleans())
def test_any_session_round_trips(tmp_path: Path, reps, commands, end) -> None:
    import tempfile

    with tempfile.TemporaryDirectory(dir=tmp_path) as folder, Store(Path(folder) / "h.db") as store:
        sid = store.begin_session(started_at=T0, config={"program": {"variation": "hanging"}, "note": "x,\"y\"\n"})
        recorded: dict[int, list[tuple]] = {}
        for i, (set_no, counted, marks, descent, stop) in enumerate(reps):
            n = len(recorded.setdefault(set_no, [])) + 1
            store.record_rep(sid, events.Rep(t=float(i), set=set_no, rep=n, counted=counted, marks=tuple(marks),
                                             descent_s=descent, stop_point=stop))
            recorded[set_no].append((n, counted, list(marks), descent, stop))
        for intent, text in commands:
            store.record_command(sid, events.Command(intent=intent, text=text, start=1.0, end=2.0, t=2.5))
        if end:
            store.end_session(sid, events.SessionSummary(t=99.0, sets=len(recorded), counted=0, attempted=len(reps)))
        [s] = store.sessions()
        assert s["status"] == ("completed" if end else "in_progress")
        assert s["attempted"] == len(reps)
        assert {st_["set"]: [(r["rep"], r["counted"], r["marks"], r["descent_s"], r["stop_point"]) for r in st_["reps"]]
                for st_ in s["sets"]} == recorded
        assert [(c["intent"], c["text"]) for c in s["commands"]] == commands
        stops = [r[4] for set_no in sorted(recorded) for r in recorded[set_no] if r[4] is not None]
        in_order = [stop for *_, stop in reps if stop is not None]
        assert store.floor() == (in_order[-1] if in_order else None)
        assert sorted(stops) == sorted(in_order)
        assert json.loads(json.dumps(s)) == s


# --- what mutation testing found unguarded (scripts/bench_mutation.py, docs/testing.md) ------------


def test_a_failed_write_names_what_was_not_saved_and_why(tmp_path: Path) -> None:
    """Another process holding the write lock: each write fails in one line naming what
    was lost and SQLite's reason, holds no lock after, and the next write goes through."""
    path = tmp_path / "h.db"
    with Store(path) as store:
        sid = store.begin_session(started_at=T0, config=CONFIG)
    store = Store(path, timeout=0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        writes = [
            (lambda: store.begin_session(started_at=T0, config=CONFIG), "the session"),
            (lambda: store.record_rep(sid, rep(1, 1)), "rep 1 of set 1"),
            (lambda: store.record_set(sid, events.SetSummary(t=1.0, set=1, counted=1, attempted=1)), "set 1"),
            (lambda: store.record_command(sid, events.Command(intent="pause", text="pause", start=0, end=1, t=1)),
             "the command 'pause'"),
            (lambda: store.end_session(sid, events.SessionSummary(t=2.0, sets=1, counted=1, attempted=1)),
             "the session summary"),
        ]
        for write, what in writes:
            with pytest.raises(StoreError) as err:
                write()
            assert str(err.value) == f"could not save {what} to {path}: database is locked"
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.record_rep(sid, rep(1, 1))
    store.close()


def test_a_write_that_fails_half_way_leaves_no_lock_behind(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Store(path) as store:
        with pytest.raises(StoreError, match="FOREIGN KEY"):
            store.record_rep(12345, rep(1, 1))  # no such session
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # "database is locked" if the failed write kept its transaction
        other.execute("ROLLBACK")
        other.close()
        # A call interrupted between BEGIN and COMMIT (test_interrupt_inside_...): the next write rolls it back.
        store._db.execute("BEGIN IMMEDIATE")
        sid = store.begin_session(started_at=T0, config=CONFIG)
        assert [s["id"] for s in store.sessions()] == [sid]
    with pytest.raises(StoreError, match=f"^history database {path} is closed$"):
        store.record_rep(sid, rep(1, 1))
    with pytest.raises(StoreError, match=f"^history database {path} is closed$"):
        store.sessions()
    store.close()  # a second close is harmless


def test_the_last_session_ended_lets_another_process_clean_up_dead_ones(tmp_path: Path) -> None:
    """A session left in progress by a process that died is marked interrupted by the next
    one to open the history, unless a live session is open; once a store has ended all of
    its sessions it no longer counts as live."""
    path = tmp_path / "h.db"
    live = Store(path)
    with Store(path) as dead:  # closed without ending its session, as a killed process would
        dead_sid = dead.begin_session(started_at=T0, config=CONFIG)
    first = live.begin_session(started_at=T0, config=CONFIG)
    second = live.begin_session(started_at=T0, config=CONFIG)
    live.end_session(first, events.SessionSummary(t=1.0, sets=1, counted=1, attempted=1))
    with Store(path) as probe:  # `second` is still open: nothing is touched
        assert {s["id"]: s["status"] for s in probe.sessions()}[dead_sid] == "in_progress"
    live.end_session(second, events.SessionSummary(t=1.0, sets=1, counted=1, attempted=1))
    with Store(path) as probe:
        assert {s["id"]: s["status"] for s in probe.sessions()} == {
            dead_sid: "interrupted", first: "completed", second: "completed"}
    live.close()


def test_every_damaged_copy_is_kept(tmp_path: Path) -> None:
    """A damaged history goes aside as <name>.corrupt-<UTC time>, then -1, -2 ... when that
    name is taken: no older copy is overwritten."""
    path = tmp_path / "h.db"
    now = datetime.now(timezone.utc)
    # The names the next few seconds would take, and their first alternative, already taken.
    for s in range(30):
        stamp = (now + timedelta(seconds=s)).strftime("%Y%m%dT%H%M%SZ")
        for name in (f"h.db.corrupt-{stamp}", f"h.db.corrupt-{stamp}-1"):
            (tmp_path / name).write_text("older")
    path.write_bytes(b"not sqlite\n" * 100)
    with Store(path) as store:
        record_session(store)
    [moved] = [p for p in _aside(path) if p.read_bytes() == b"not sqlite\n" * 100]
    assert re.fullmatch(r"h\.db\.corrupt-\d{8}T\d{6}Z-2", moved.name), moved.name
    assert all(p.read_text() == "older" for p in _aside(path) if p != moved)
    with Store(path) as store:
        assert [s["counted"] for s in store.sessions()] == [3]
    # Only the time's own name taken: the first alternative is -1.
    alone = tmp_path / "alone"
    alone.mkdir()
    for s in range(30):
        (alone / f"h.db.corrupt-{(now + timedelta(seconds=s)).strftime('%Y%m%dT%H%M%SZ')}").write_text("older")
    (alone / "h.db").write_bytes(b"not sqlite\n" * 100)
    Store(alone / "h.db").close()
    [moved] = [p for p in _aside(alone / "h.db") if p.read_bytes() == b"not sqlite\n" * 100]
    assert re.fullmatch(r"h\.db\.corrupt-\d{8}T\d{6}Z-1", moved.name), moved.name


def test_a_damaged_file_goes_aside_with_its_wal_and_shm_under_the_utc_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """While another connection (a reader) keeps a damaged history's -wal and -shm, they go
    aside with it: left behind, SQLite would replay that -wal into the new database."""
    path = tmp_path / "h.db"
    with Store(path) as store:
        for day in range(20):
            record_session(store, T0 + timedelta(days=day))
    with open(path, "r+b") as f:  # keep the header (WAL mode), scribble over the pages after it
        f.seek(4096)
        f.write(bytes(random.Random(2).randrange(256) for _ in range(path.stat().st_size - 4096)))
    reader = sqlite3.connect(path)
    reader.execute("PRAGMA user_version").fetchone()  # opens the -wal and -shm
    assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        before = datetime.now(timezone.utc).replace(microsecond=0)
        with Store(path) as store:
            assert store.notices and store.sessions() == []
        after = datetime.now(timezone.utc)
    finally:
        reader.close()
        monkeypatch.delenv("TZ")
        time.tzset()
    [moved] = [p for p in _aside(path) if not p.name.endswith(("-wal", "-shm"))]
    assert Path(f"{moved}-wal").exists() and Path(f"{moved}-shm").exists()
    stamp = datetime.strptime(moved.name.split(".corrupt-")[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= stamp <= after


def test_a_damaged_file_that_cannot_be_moved_aside_is_one_line_and_left_alone(small_fs) -> None:
    where, mounted = small_fs
    if not mounted:
        pytest.skip("needs a read-only tmpfs (root and mount(8)): a damaged file that cannot be renamed")
    (where / "h.db").write_bytes(b"not sqlite\n" * 100)
    subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
    with pytest.raises(StoreError) as info:
        Store(where / "h.db")
    assert str(info.value) == (f"history database {where / 'h.db'} is damaged and cannot be moved aside: "
                               "Read-only file system")
    assert (where / "h.db").read_bytes() == b"not sqlite\n" * 100
    # A history under directories that do not exist, on a read-only file system, says so.
    with pytest.raises(StoreError, match=f"^cannot open history database {where}/a/b/h.db: "
                                         f"its directory {where}/a/b is read-only$"):
        Store(where / "a" / "b" / "h.db")


def test_the_plan_names_the_variation_and_a_bare_program_table_is_a_config(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        store.begin_session(started_at=T0, config=CONFIG, plan={"variation": "dead_bug", "sets": 2})
        store.begin_session(started_at=T0, config={"variation": "hanging", "sets": 3})
        store.begin_session(started_at=T0, config={"program": "not a table"})
        store.begin_session(started_at=T0, config={"program": {"variation": 3}})
        assert [s["variation"] for s in store.sessions()] == ["dead_bug", "hanging", None, None]


def test_what_json_cannot_hold_is_stored_as_text_and_no_plan_is_null(tmp_path: Path) -> None:
    """A config or plan value JSON has no type for (a path, a date) is kept as its text,
    not refused; a session without a plan stores NULL (export shows it empty), not 'null'."""
    with Store(tmp_path / "h.db") as store:
        store.begin_session(started_at=T0, config={"store": {"db": tmp_path / "h.db"}},
                            plan={"since": date(2026, 11, 1)})
        store.begin_session(started_at=T0, config=CONFIG)
        first, second = store.sessions()
        columns, rows = store.table("sessions")
        plan_json = [row[columns.index("plan_json")] for row in rows]
    assert first["config"] == {"store": {"db": str(tmp_path / "h.db")}} and first["plan"] == {"since": "2026-11-01"}
    assert plan_json == ['{"since": "2026-11-01"}', None] and second["plan"] is None


def test_a_summary_without_a_status_is_completed_and_damaged_json_reads_back_empty(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        sid = store.begin_session(started_at=T0, config=CONFIG)
        store.record_set(sid, events.SetSummary(t=1.0, set=1, counted=1, attempted=1, marks={"doming": 1}))
        store.end_session(sid, events.SessionSummary(t=2.0, sets=1, counted=1, attempted=1, status=None))
        store._db.execute("UPDATE sets SET marks_json = '{damaged'")
        store._db.execute("UPDATE sessions SET config_json = 'not json'")
        [s] = store.sessions()
    assert s["status"] == "completed" and s["config"] == {}
    assert (s["sets"][0]["marks"], s["marks"]) == ({}, {})


def test_a_history_this_user_may_not_read_says_so(tmp_path: Path) -> None:
    """Root reads files whatever their mode, so as root (CI) the reader runs without the
    capabilities that let it (as test_model's unreadable archive): a real EACCES either way."""
    import shutil

    path = tmp_path / "h.db"
    with Store(path) as store:
        record_session(store)
    path.chmod(0)
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test an unreadable file as root"
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    code = ("import sys\nfrom voicecoach.history.store import Store, StoreError\n"
            "try:\n    Store(sys.argv[1], create=False)\nexcept StoreError as err:\n    print(err)\n")
    proc = subprocess.run([*prefix, sys.executable, "-c", code, str(path)], capture_output=True, text=True)
    assert proc.stdout.splitlines() == [f"cannot open history database {path}: "
                                        "permission denied (the file must be readable and writable by this user)"]


def test_the_store_is_used_from_threads_other_than_the_one_that_opened_it(small_fs) -> None:
    """As its docstring says: calls from several threads are serialised, none refused."""
    import threading

    where, mounted = small_fs
    errors: list[BaseException] = []

    def in_threads(*calls) -> None:
        def run(call):
            try:
                call()
            except BaseException as err:  # noqa: BLE001 -- reported below, in the test's thread
                errors.append(err)
        threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    with Store(where / "h.db") as store:
        sid = store.begin_session(started_at=T0, config=CONFIG)
        in_threads(*[lambda n=n: store.record_rep(sid, rep(1, n)) for n in range(1, 5)], store.sessions)
        assert not errors, errors
        assert sorted(r["rep"] for r in store.sessions()[0]["sets"][0]["reps"]) == [1, 2, 3, 4]
        store.end_session(sid, events.SessionSummary(t=1.0, sets=1, counted=4, attempted=4))
    if mounted:  # a reader on a read-only file system opens the file immutable: threads too
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        with Store(where / "h.db", create=False) as reader:
            assert reader.read_only
            in_threads(reader.sessions, reader.floor)
        assert not errors, errors


def test_a_migration_that_fails_is_one_line_and_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    """A v1 file edited by hand (a column the next version adds is already there)."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("ALTER TABLE sessions ADD COLUMN variation TEXT")
    db.commit()
    db.close()
    with pytest.raises(StoreError) as info:
        Store(path)
    assert str(info.value) == f"cannot open history database {path}: duplicate column name: variation"
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # rolled back, nothing half done
    assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'commands'").fetchall()
    db.close()


def test_a_table_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Store(path) as store:
        record_session(store)
        store._db.execute("DROP TABLE commands")
        with pytest.raises(StoreError) as info:
            store.table("commands")
    assert str(info.value) == f"cannot read history database {path}: no such table: commands"


def test_odd_configs_of_old_sessions_migrate_without_a_variation(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    for sid, config_json in enumerate(['["a", "list"]', '"text"', "{not json", '{"variation": "hanging"}'], 1):
        db.execute("INSERT INTO sessions VALUES (?, ?, NULL, 'completed', ?, 1, 1, 1)",
                   (sid, f"2026-10-0{sid}T18:00:00+00:00", config_json))
    db.commit()
    db.close()
    with Store(path) as store:
        assert [s["variation"] for s in store.sessions()] == [None, None, None, "hanging"]


def test_times_are_stored_in_utc_whatever_the_local_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        with Store(tmp_path / "h.db") as store:
            store.begin_session(started_at=datetime(2026, 11, 2, 20, 30, tzinfo=timezone(timedelta(hours=2))),
                                config=CONFIG)
            store.begin_session(started_at=datetime(2026, 11, 2, 13, 30), config=CONFIG)  # naive: local time
            assert [s["started_at"] for s in store.sessions()] == ["2026-11-02T18:30:00+00:00",
                                                                   "2026-11-02T18:30:00+00:00"]
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_parse_time_reads_a_time_without_an_offset_as_utc() -> None:
    from voicecoach.history.store import parse_time

    assert parse_time("2026-11-02T18:30:00") == T0 and parse_time("2026-11-02T18:30:00").tzinfo == timezone.utc
    aware = parse_time("2026-11-02T20:30:00+02:00")
    assert aware == T0 and aware.utcoffset() == timedelta(hours=2)


def test_a_set_without_reps_and_a_rep_without_marks_read_back_empty(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        sid = store.begin_session(started_at=T0, config=CONFIG)
        store.record_set(sid, events.SetSummary(t=1.0, set=1, counted=0, attempted=0))
        store.record_rep(sid, rep(2, 1))
        store._db.execute("UPDATE reps SET marks_json = ''")  # as a damaged value reads
        [s] = store.sessions()
    assert [(st["set"], st["reps"]) for st in s["sets"]][0] == (1, [])
    assert s["sets"][1]["reps"][0]["marks"] == [] and s["sets"][1]["marks"] == {}


def test_the_readers_find_the_history_the_config_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from voicecoach.history.store import open_existing

    monkeypatch.delenv("VOICECOACH_DB")
    configured = tmp_path / "elsewhere" / "mine.db"
    assert open_existing(None, {"store": {"db": str(configured)}}) is None  # nothing recorded yet
    with Store(configured) as store:
        record_session(store)
    with open_existing(None, {"store": {"db": str(configured)}}) as store:
        assert store.path == configured and [s["counted"] for s in store.sessions()] == [3]
        with pytest.raises(ValueError, match="^unknown table 'nope'$"):
            store.table("nope")


def test_sqlite_reasons_in_the_users_terms() -> None:
    from voicecoach.history.store import _reason

    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13
    assert _reason(full) == "disk full"
    assert _reason(sqlite3.OperationalError("attempt to write a readonly database")) == \
        "the file or its directory is read-only"
    assert _reason(sqlite3.OperationalError("read-only file system")) == "the file or its directory is read-only"
    assert _reason(sqlite3.OperationalError("database is locked")) == "database is locked"
    assert _reason(OSError(28, "No space left on device")) == "No space left on device"
    assert _reason(OSError("no errno")) == "no errno"


def test_summaries_are_the_record_and_reps_fill_in_what_was_never_summed_up(tmp_path: Path) -> None:
    """A set's summary and a session's are what they say (the reps of a summed-up set are
    not counted again); a set or session that never got its summary (killed mid-set) is
    counted from its reps, marks tallied; the floor is the summary's, else the last marked."""
    with Store(tmp_path / "h.db") as store:
        ended = store.begin_session(started_at=T0, config=CONFIG)
        store.record_rep(ended, rep(1, 1, stop=0.7))
        store.record_set(ended, events.SetSummary(t=5.0, set=1, counted=4, attempted=5, marks={"doming": 2}))
        store.record_rep(ended, rep(2, 1))
        store.record_rep(ended, rep(2, 2, counted=False, marks=("back_arched",)))
        store.record_rep(ended, rep(2, 3, counted=False, marks=("back_arched", "doming")))
        store.end_session(ended, events.SessionSummary(t=9.0, sets=2, counted=9, attempted=11, floor=0.4))
        killed = store.begin_session(started_at=T0 + timedelta(days=1), config=CONFIG)
        store.record_set(killed, events.SetSummary(t=5.0, set=1, counted=2, attempted=2))
        store.record_rep(killed, rep(2, 1, marks=("good_rep",), stop=0.5))
        store.record_rep(killed, rep(2, 2, counted=False, marks=("good_rep", "back_arched"), stop=0.6))
        a, b = store.sessions()
    assert [(st["set"], st["counted"], st["attempted"], st["marks"]) for st in a["sets"]] == [
        (1, 4, 5, {"doming": 2}), (2, 1, 3, {"back_arched": 2, "doming": 1})]
    assert (a["counted"], a["attempted"], a["marks"], a["floor"]) == (9, 11, {"doming": 3, "back_arched": 2}, 0.4)
    assert a["ended_at"] is not None and b["ended_at"] is None
    assert [(st["set"], st["counted"], st["attempted"], st["marks"]) for st in b["sets"]] == [
        (1, 2, 2, {}), (2, 1, 2, {"good_rep": 2, "back_arched": 1})]
    assert (b["counted"], b["attempted"], b["marks"], b["floor"]) == (3, 4, {"good_rep": 2, "back_arched": 1}, 0.6)
    # A row ended without its counts (no writer leaves one now; an edited or older file can
    # hold it) is counted from its sets too, never read as None.
    with sqlite3.connect(tmp_path / "h.db") as db:
        db.execute("UPDATE sessions SET ended_at = started_at WHERE id = ?", (killed,))
    db.close()
    with Store(tmp_path / "h.db") as store:
        b = store.sessions()[1]
    assert (b["ended_at"] is not None, b["counted"], b["attempted"]) == (True, 3, 4)
