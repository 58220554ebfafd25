"""``voicecoach run`` live: real PortAudio streams through PulseAudio null sinks.

The coach runs as its own process; its speaker and the person both play into
a private null sink, the "room", and its microphone is that room's monitor, so
it hears itself as well as the person (the echo path of a real room). When the
coach starts the rest between sets, the test plays "stop workout" (real
espeak-ng speech) into the room and expects the workout to end on it, and
nothing the coach said before to have been taken for a command.

A private sink (loaded here, unloaded after) keeps other tests that use the
shared ``coach``/``room`` sinks at the same time out of this microphone. The
command is spoken during the rest, when the coach is silent, so that this
tests the live loop rather than barge-in (covered by the simulate tests). The
session runs at the same time as the other live sessions (tests/live_support.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from live_support import isolated_env, outcome, session
from null_sinks import load, unload
from speech_support import speak, write_wav
from voicecoach.coach import program as P
from voicecoach.history.store import Store


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # the line being written
    return out


@session("stop workout in the rest")
def _stop_workout_in_the_rest(tmp_path: Path) -> tuple[subprocess.Popen, str, str, dict, Path, Path]:
    """``run`` two sets of one rep; "stop workout" played into the room as the rest starts.

    Returns (the process, its stdout, its stderr, the rest's cue, the events file, the history)."""
    tag = f"vc5_{os.getpid()}"
    modules = [load(f"{tag}_room")]
    proc = None
    try:
        config = tmp_path / "live.toml"
        # Fast speech: every line of the default program up to the rest goes through the
        # room, in about half the time (the shipped rate's echo: test_recognizer's
        # test_the_coachs_own_voice_through_the_room_is_never_a_command).
        config.write_text("[program]\nsets = 2\nreps = 1\nwarmup = false\nrest_s = 20.0\n[speech]\nrate = 300\n")
        db, ev = tmp_path / "history.db", tmp_path / "live.jsonl"
        command = tmp_path / "stop.wav"
        write_wav(command, speak("stop workout", voice="en-us", speed=150))
        env = isolated_env(tmp_path, PULSE_SINK=f"{tag}_room", PULSE_SOURCE=f"{tag}_room.monitor")
        proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "run", "--config", str(config), "--db", str(db),
             "--events", str(ev)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 120
        rest = None
        while rest is None and time.monotonic() < deadline and proc.poll() is None:
            rest = next((e for e in read_events(ev) if e["type"] == "cue" and e["text"].startswith("Rest for")), None)
            time.sleep(0.1)
        assert rest is not None, f"the coach never reached the rest: {proc.stderr.read() if proc.poll() is not None else ''}"
        time.sleep(2.5)  # "Rest for twenty seconds." has been said; the coach is quiet now
        subprocess.run(["paplay", str(command)], env=dict(os.environ, PULSE_SINK=f"{tag}_room"), check=True)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for m in modules:
            unload(m)
    return proc, out, err, rest, ev, db


@pytest.mark.audio
@pytest.mark.model
def test_run_hears_stop_workout_spoken_into_the_room(live_runs):
    proc, out, err, rest, ev, db = outcome(live_runs, "stop workout in the rest")
    assert proc.returncode == 0, err
    events = read_events(ev)
    commands = [e for e in events if e["type"] == "command"]
    assert len(commands) == 1, [(c["intent"], c["text"], c["start"], c["end"], c.get("confidence"),
                                 [(e["t"], e["text"]) for e in events if e["type"] == "cue" and abs(e["t"] - c["start"]) < 4])
                                for c in commands]
    (cmd,) = commands
    assert cmd["intent"] == "stop_workout"
    # Heard where it was said: after the rest began, on the output clock; acted on after it was said.
    assert rest["t"] + 1.0 < cmd["start"] < cmd["end"] <= cmd["t"]
    said = [e["text"] for e in events if e["type"] == "cue" and e["t"] >= cmd["t"] and e["kind"] == "speech"]
    assert said == [P.STOPPING, P.session_stopped(1)]
    assert not [e for e in events if e["type"] == "cue" and e["text"].startswith("Set two")]
    assert events[-1]["type"] == "session" and events[-1]["status"] == "stopped"
    assert "stopped: 1 of 1 counted" in out
    with Store(db) as store:
        (session,) = store.sessions()
    assert session["status"] == "stopped" and session["attempted"] == 1
    assert [c["intent"] for c in session["commands"]] == ["stop_workout"]
