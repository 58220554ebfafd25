"""``voicecoach run``'s live view, live: real PortAudio through a private PulseAudio
null sink, real espeak-ng speech played into it, the real Vosk model.

The coach's speaker and the person both play into the sink (the "room") and its
microphone is the sink's monitor, as in tests/test_run_live.py. Once the floor
test's lowering has begun (silent: no counts, no ticks), "back arched" is played into the room; the rep must not
count, and what ``run`` prints must say so:

- on a terminal (a pseudo-terminal here) the rich panel and the record above it;
- in a pipe (the journal) one plain ``[m:ss] ...`` line per event.

The two are separate runs (the view is chosen by whether stdout is a terminal), each
on its own sink, run at the same time as the other live sessions (tests/live_support.py);
each test asserts on its own run.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from live_support import isolated_env, outcome, session
from speech_support import speak, write_wav
from null_sinks import load, unload
from test_run_live import read_events

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


def run_with_mark(tmp_path: Path, tag: str, terminal: bool) -> tuple[int, str, list[dict]]:
    """``run`` one set of one rep; "back arched" played as its lowering starts.

    Returns (exit code, everything printed on stdout, the events)."""
    module = load(f"{tag}_room")
    proc = None
    master = None
    out: list[bytes] = []
    try:
        config = tmp_path / "live.toml"
        # The coach at volume 0 in the room: this tests the view, not barge-in. (Heard over
        # the coach's own mark earcon, the provisional "back arched" was taken back as
        # talk in 3 runs of 3 here: a recognizer matter, left to its own tests.) The
        # shortest session that reaches a lowering: fast speech, the variation with the
        # shortest setup talk (as tests/test_recovery.py).
        config.write_text("[program]\nvariation = \"hanging\"\nsets = 1\nreps = 1\nwarmup = false\n"
                          "ticks = false\ncount_words = false\n[audio]\nvolume = 0.0\n[speech]\nrate = 300\n")
        ev = tmp_path / "live.jsonl"
        mark = tmp_path / "mark.wav"
        write_wav(mark, speak("back arched", voice="en-us", speed=150))
        env = isolated_env(tmp_path, PULSE_SINK=f"{tag}_room", PULSE_SOURCE=f"{tag}_room.monitor",
                           COLUMNS="100", LINES="30", TERM="xterm-256color")
        args = [sys.executable, "-m", "voicecoach", "run", "--config", str(config), "--db",
                str(tmp_path / "history.db"), "--events", str(ev)]
        if terminal:
            master, slave = pty.openpty()
            proc = subprocess.Popen(args, env=env, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            os.close(slave)
        else:
            proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    stdin=subprocess.DEVNULL)
            master = proc.stdout.fileno()

        def drain():  # the terminal must be read as it is written, or the coach blocks on it
            while True:
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:  # the pty's other side closed
                        return
                    if not chunk:
                        return
                    out.append(chunk)
                elif proc.poll() is not None:
                    return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        lower = None
        while lower is None and time.monotonic() < deadline and proc.poll() is None:
            lower = next((e for e in read_events(ev) if e["type"] == "cue" and e["text"] == "Inhale, lower."), None)
            time.sleep(0.05)
        assert lower is not None, f"the coach never lowered: {proc.stderr.read().decode() if proc.poll() is not None else ''}"
        time.sleep(1.3)  # "Inhale, lower." has been said: the lowering itself is silent
        subprocess.run(["paplay", str(mark)], env=dict(os.environ, PULSE_SINK=f"{tag}_room"), check=True)
        proc.wait(timeout=90)
        reader.join(timeout=5)
        err = proc.stderr.read().decode()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if terminal and master is not None:
            os.close(master)
        unload(module)
    assert proc.returncode == 0, err
    return proc.returncode, b"".join(out).decode("utf-8", "replace"), read_events(ev)


@session("view on a terminal")
def _on_a_terminal(tmp_path: Path):
    return run_with_mark(tmp_path, f"vcview_{os.getpid()}", terminal=True)


@session("view in the journal")
def _in_the_journal(tmp_path: Path):
    return run_with_mark(tmp_path, f"vcjournal_{os.getpid()}", terminal=False)


def _marked(events: list[dict]) -> dict:
    (rep,) = [e for e in events if e["type"] == "rep"]
    assert [c["intent"] for c in events if c["type"] == "command"] == ["back_arched"]
    assert not rep["counted"] and rep["marks"] == ["back_arched"]
    return rep


@pytest.mark.audio
@pytest.mark.model
def test_the_live_view_on_a_terminal_shows_the_command_and_the_rep_not_counted(live_runs):
    _, screen, events = outcome(live_runs, "view on a terminal")
    _marked(events)
    text = ANSI.sub("", screen)
    assert "╭─ voicecoach" in text  # the panel was drawn
    assert re.search(r"now +set 1 of 1 · rep 1 · lowering [123] of 3", text)
    assert re.search(r'heard +"[a-z ]*back arched" [01]\.\d\d → set 1 rep 1 not counted', text)
    # The record above the panel.
    assert re.search(r'command back_arched: "[a-z ]*back arched" \(confidence [01]\.\d\d\) → set 1 rep 1 not counted', text)
    assert re.search(r"set 1 rep 1: not counted \(back arched\) · 0 of 1 so far", text)
    assert "completed: 0 of 1 counted" in text


@pytest.mark.audio
@pytest.mark.model
def test_the_journal_gets_one_plain_line_per_event(live_runs):
    _, printed, events = outcome(live_runs, "view in the journal")
    rep = _marked(events)
    lines = printed.splitlines()
    assert lines and all(re.match(r"\[\d+:\d\d\] \S", line) for line in lines), printed
    assert "\x1b" not in printed  # no terminal codes in the journal
    assert "[0:00] now: getting ready" in lines
    assert any(re.fullmatch(r"\[\d+:\d\d\] says: Inhale, lower\.", line) for line in lines)
    assert any(re.fullmatch(r'\[\d+:\d\d\] command back_arched: "[a-z ]*back arched" \(confidence [01]\.\d\d\) '
                            r"→ set 1 rep 1 not counted", line) for line in lines), printed
    m, s = divmod(int(rep["t"]), 60)
    assert f"[{m}:{s:02d}] set 1 rep 1: not counted (back arched) · 0 of 1 so far" in lines
    assert lines[-1].endswith("completed: 0 of 1 counted") or "completed: 0 of 1 counted" in printed
