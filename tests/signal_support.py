"""SIGTERM sent to a real ``voicecoach simulate`` process at a chosen moment, and
the check that it ended cleanly: shared by tests/test_faults.py and
scripts/bench_signals.py (which runs hundreds of trials).

A clean end is one of: the signal came before the interpreter had reached
voicecoach's code (death by SIGTERM, nothing written: no program can catch a
signal before it runs); it came before any session was begun (exit 130, nothing
recorded); it came during the session (exit 130, the session closed as
``interrupted``); it came after the session had ended (exit 0). In the last two
the events file ends with the summary, the summary was printed, and the history
holds exactly the reps the events file lists. Anything else fails the check.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
import wave
from pathlib import Path

from voicecoach.history.store import Store

ROOT = Path(__file__).resolve().parent.parent

# A cue-only session of 4 sets of 10: about 2 s of simulation on a 300-s mic.
MANY = "[program]\nwarmup = false\nsets = 4\nreps = 10\nrest_s = 10.0\n"

# Where a trial aims its signal.
STARTUP = "start-up"  # 0 to 0.6 s after the process starts: loading, rendering, opening files
SESSION = "session"  # 0 to 0.5 s after the session's first row is in the history
AFTER_SUMMARY = "after the summary"  # as soon as the summary line is on stdout: the exit path
AIMS = (STARTUP, SESSION, AFTER_SUMMARY)

OUTCOMES = ("before Python started", "before the session", "mid-session", "after it ended")


def silent_wav(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return path


def sigterm_trial(workdir: Path, name: str, aim: str, delay: float, mic: Path, config: Path) -> str:
    """Run ``simulate`` in ``workdir``, send SIGTERM as ``aim`` and ``delay`` say, and
    return which clean outcome it was (one of OUTCOMES); AssertionError otherwise."""
    ev, db, err_path = workdir / f"{name}.jsonl", workdir / f"{name}.db", workdir / f"{name}.err"
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "simulate", "--cue-only", "--mic", str(mic),
             "--out", str(workdir / f"{name}.wav"), "--events", str(ev), "--db", str(db),
             "--config", str(config)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=err_file, text=True)
        out = ""
        if aim == STARTUP:
            time.sleep(delay)
        elif aim == SESSION:
            wait_for_session(db, proc)
            time.sleep(delay)
        else:
            out = proc.stdout.readline()  # the summary: the session is closed, the process is ending
        proc.send_signal(signal.SIGTERM)
        out += proc.stdout.read()  # not communicate(): it would drop what readline() buffered
        proc.wait(timeout=60)
    err = err_path.read_text()
    code = proc.returncode
    if code == -signal.SIGTERM and not err and not ev.exists() and not db.exists():
        return "before Python started"
    assert code in (0, 130), f"exit {code} (a negative code is death by a signal): {err[-2000:]}"
    assert "Traceback" not in err and "Fatal Python error" not in err, err
    sessions = []
    if db.exists():
        with Store(db, create=False) as store:
            sessions = store.sessions()
    events = events_of(ev) if ev.exists() else []
    if not sessions:
        assert not [e for e in events if e["type"] == "rep"], "reps in the events file, none stored"
        assert code == 130, f"no session, yet exit {code}"
        return "before the session"
    [s] = sessions
    assert events and events[-1]["type"] == "session", f"the events file does not end with the summary: {err}"
    summary = events[-1]
    stored = [(st["set"], r["rep"], r["counted"]) for st in s["sets"] for r in st["reps"]]
    assert stored == [(r["set"], r["rep"], r["counted"]) for r in events if r["type"] == "rep"]
    assert (s["status"], s["counted"], s["attempted"]) == (summary["status"], summary["counted"],
                                                           summary["attempted"])
    assert out.startswith(f"{summary['status']}: {summary['counted']} of {summary['attempted']} counted"), out
    if code == 130:
        assert s["status"] == "interrupted" and "the session so far is saved" in err, (s["status"], err)
        return "mid-session"
    # Finished before the signal: the workout's own end, or the end of the mic file.
    assert s["status"] in ("completed", "interrupted"), s["status"]
    return "after it ended"


def wait_for_session(db: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as reader:
                    if reader.execute("SELECT count(*) FROM sessions").fetchone()[0]:
                        return
            except sqlite3.Error:
                pass  # not created yet, or mid-write: look again
        time.sleep(0.01)


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
