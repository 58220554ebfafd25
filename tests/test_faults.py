"""Faults while coaching (issue 8): the workout goes on and every record is kept.

- the speech recognizer breaks in the middle of a spoken command (the real
  Vosk decoder raises): the coach goes cue-only, says so, keeps counting, and
  what was heard before is kept;
- under/overruns in the LIVE path (PortAudio through the PulseAudio null
  sink): counted in ``xruns``, the count stays on its samples;
- SIGTERM to ``voicecoach simulate`` at random points and to ``voicecoach run``:
  the session ends with its summary, in the events file and the history;
- a damaged history under ``history``/``report``/``export``: one line, the file
  untouched.

What the store helper already covers is not repeated here (tests/test_store.py:
SIGKILL/SIGTERM of a bare store, disk full, read-only dir, damaged DB under a
simulated session).
"""

from __future__ import annotations

import _thread
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from session_support import drive, heard, lowering_starts, of
from signal_support import (AFTER_SUMMARY, MANY, OUTCOMES, SESSION, STARTUP, events_of, sigterm_trial,
                            silent_wav)
from speech_support import build_track, speak, write_wav
from voicecoach import cli
from voicecoach.coach import program as P
from voicecoach.coach.session import Session
from voicecoach.config import validate
from voicecoach.events import Cue, SessionSummary
from voicecoach.runtime import LIVE, SIMULATED, Runtime
from voicecoach.history.planning import plan_today
from voicecoach.speech.voice import Voice
from voicecoach.history.store import Store

ROOT = Path(__file__).resolve().parent.parent
SR = 22050


# --- the recognizer breaks ---------------------------------------------------------------


class BreakingDecoder:
    """The real Vosk KaldiRecognizer, made to raise once ``fail_at`` samples have
    reached it. Vosk cannot be made to fail on demand from outside; wrapping its
    decoder keeps every other part of the real recognizer in the path."""

    def __init__(self, real, state: dict):
        self.real, self.state = real, state

    def __getattr__(self, name):
        return getattr(self.real, name)

    def AcceptWaveform(self, data: bytes):
        if self.state["broken"]:
            self.state["calls_after"] += 1
        # The microphone's time, not the decoder's: the decoder skips quiet stretches.
        if self.state["fed"] >= self.state["fail_at"]:
            self.state["broken"] = True
            raise RuntimeError("kaldi: decoder state corrupted")
        return self.real.AcceptWaveform(data)

    def FinalResult(self):
        if self.state.get("fail_final"):
            self.state["broken"] = True
            raise MemoryError("std::bad_alloc")
        return self.real.FinalResult()


def breaking_recognizer(model, state: dict):
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer

    class Breaking(CommandRecognizer):
        def _new_decoder(self):
            return BreakingDecoder(super()._new_decoder(), state)

        def feed(self, samples, start, reference=None):
            state["fed"] += len(samples)
            return super().feed(samples, start, reference)

    return Breaking(model, load_grammar(model=model))


def dry_cues(cfg: dict, voice: Voice, marks=()) -> list[Cue]:
    """The cue timeline the runtime will follow (the pure session, same clip lengths)."""
    program, floor, greeting = plan_today(cfg, [], None)
    session = Session(program, SR, floor=floor, greeting=greeting, durations=voice.seconds,
                      start=round(SIMULATED.lookahead_s * SR))
    return [e for e in drive(session, 600, list(marks), lookahead_s=SIMULATED.lookahead_s) if isinstance(e, Cue)]


@pytest.mark.model
def test_vosk_breaking_mid_command_goes_cue_only_and_keeps_every_rep(tmp_path, vosk_model):
    cfg = validate({"program": dict(sets=1, reps=4, warmup=False, rest_s=10.0)})
    voice = Voice(SR, cfg["speech"])
    try:
        first = lowering_starts(dry_cues(cfg, voice))[0] + 0.3  # "back arched" in rep 1's lowering: heard
        mark1 = heard("back_arched", first, first + 0.7, latency=0.45)
        cues = dry_cues(cfg, voice, [mark1])
        low = lowering_starts(cues)
        second, third = low[1] + 0.3, low[2] + 0.3  # rep 2: the decoder breaks mid-words; rep 3: deaf
        end = max(c.t for c in cues) + 10.0
    finally:
        voice.close()
    words = speak("back arched", voice="en-us", speed=150)
    track = build_track([(first, words), (second, words), (third, words)], end)
    mic = tmp_path / "mic.wav"
    write_wav(mic, track)
    state = {"fed": 0, "fail_at": int((second + 0.3) * 16000), "broken": False, "calls_after": 0}
    recognizer = breaking_recognizer(vosk_model, state)
    from voicecoach.audio.streams import SimulatedIO

    db = tmp_path / "h.db"
    with Store(db) as store, open(tmp_path / "ev.jsonl", "w") as ev:
        result = Runtime(cfg, SimulatedIO(mic, tmp_path / "out.wav", samplerate=SR), recognizer=recognizer,
                         store=store, events=ev).run()
    events = events_of(tmp_path / "ev.jsonl")

    assert state["broken"] and state["calls_after"] == 0  # dropped at once, never fed again
    [notice] = [e for e in of(events, "notice") if e["level"] == "error"]
    assert "cue-only" in notice["text"] and "decoder state corrupted" in notice["text"]
    assert abs(notice["t"] - (second + 0.3)) < 0.25
    [told] = [e for e in of(events, "cue") if e["text"] == P.CUE_ONLY]
    assert told["t"] >= notice["t"]
    # What was heard before the failure is kept; what was said after is not heard.
    assert [(c["intent"], round(c["start"])) for c in of(events, "command")] == [("back_arched", round(first))]
    reps = of(events, "rep")
    assert [r["rep"] for r in reps] == [1, 2, 3, 4]
    assert [r["counted"] for r in reps] == [False, True, True, True]  # rep 2's mark was in flight: lost
    assert reps[0]["marks"] == ["back_arched"]
    assert any(e["t"] > told["t"] for e in of(events, "cue"))  # counting went on after saying so
    assert result.summary.status == "completed" and events[-1]["type"] == "session"
    with Store(db) as store:
        [s] = store.sessions()
    assert s["status"] == "completed"
    assert [(r["rep"], r["counted"]) for r in s["sets"][0]["reps"]] == [(r["rep"], r["counted"]) for r in reps]
    assert [c["intent"] for c in s["commands"]] == ["back_arched"]


@pytest.mark.model
def test_vosk_breaking_at_the_end_of_input_still_closes_the_session(tmp_path, vosk_model):
    """The mic file ends mid-workout and the decoder's final flush raises: the
    session is still closed (interrupted) with its summary, saved."""
    cfg = validate({"program": dict(sets=1, reps=3, warmup=False, rest_s=10.0)})
    mic = tmp_path / "mic.wav"
    write_wav(mic, np.zeros(16000 * 45, dtype=np.float32))  # ends in rep 2 or 3, after the floor test
    state = {"fed": 0, "fail_at": 1 << 60, "broken": False, "calls_after": 0, "fail_final": True}
    from voicecoach.audio.streams import SimulatedIO

    db = tmp_path / "h.db"
    with Store(db) as store, open(tmp_path / "ev.jsonl", "w") as ev:
        result = Runtime(cfg, SimulatedIO(mic, tmp_path / "out.wav", samplerate=SR),
                         recognizer=breaking_recognizer(vosk_model, state), store=store, events=ev).run()
    events = events_of(tmp_path / "ev.jsonl")
    assert state["broken"]
    assert any("cue-only" in n["text"] and "bad_alloc" in n["text"] for n in of(events, "notice"))
    assert result.summary.status == "interrupted" and events[-1]["type"] == "session"
    with Store(db) as store:
        [s] = store.sessions()
    assert s["status"] == "interrupted" and s["attempted"] == len(of(events, "rep")) >= 1


# --- under/overruns in the live path ------------------------------------------------------


def test_live_underruns_and_overruns_are_counted_and_survived(pulse, tmp_path):
    """Through the real PulseAudio null sink. Output underruns are real: the render
    callback stalls for 0.25 s (longer than the 0.1 s buffer) now and then, and
    PortAudio reports them. Input overruns are not reported through PulseAudio's
    ALSA plugin even when the input callback stalls for 2.5 s (measured), so stalled
    callbacks also get PortAudio's input-overflow flag, through the stream's own
    callback, as a device that drops samples would set it."""
    import sounddevice as sd

    from voicecoach.audio.streams import LiveIO

    class StallingIO(LiveIO):
        def start(self, render):
            self.stalls, self.in_stalls = [], []

            def stalling(out):
                if self.blocks and self.blocks % 40 == 0:
                    self.stalls.append(self.frames_out)
                    self.last_stall = time.monotonic()
                    time.sleep(0.25)
                render(out)

            super().start(stalling)

        def _in_callback(self, indata, frames, t, status):
            self.in_calls = getattr(self, "in_calls", 0) + 1
            if self.in_calls % 25 == 0:
                time.sleep(0.1)
                self.in_stalls.append(time.monotonic())
                flagged = sd.CallbackFlags()
                flagged |= status  # what PortAudio said, plus an input overflow
                flagged.input_overflow = True
                status = flagged
            super()._in_callback(indata, frames, t, status)

    cfg = validate({"program": dict(sets=1, reps=2, warmup=False, rest_s=10.0)})
    io = StallingIO(samplerate=SR)
    mic_blocks = []
    read = io.read_mic

    def reading(timeout=None):
        block = read(timeout)
        if block is not None:
            mic_blocks.append(time.monotonic())
        return block

    io.read_mic = reading
    logged = []
    rt = Runtime(cfg, io, recognizer=None, timing=LIVE, simulated=False, on_event=logged.append)
    # Ctrl-C once 10 s have been played (the second line of the greeting has started);
    # a whole session would take minutes.
    done = threading.Event()
    interrupted_at: list[float] = []

    def interrupt_later():
        deadline = time.monotonic() + 60
        while not done.wait(0.05) and time.monotonic() < deadline:
            if io.frames_out >= 10 * SR:
                break
        if not done.is_set():
            interrupted_at.append(time.monotonic())
            _thread.interrupt_main()

    stopper = threading.Thread(target=interrupt_later, daemon=True)
    stopper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            rt.run()
    finally:
        done.set()
        stopper.join()
    print("xruns:", io.xruns, "output stalls:", len(io.stalls), "input stalls:", len(io.in_stalls))
    assert io.xruns["output_underflow"] >= 1 and io.xruns["input_overflow"] >= 1, io.xruns
    assert len(io.stalls) >= 3
    # Survived: the output went on well past the last stall, the mic kept delivering,
    # no cue started late (they sit on the sample clock), no render failed.
    assert io.frames_out - io.stalls[-2] > 0.5 * SR
    [end] = interrupted_at
    assert len([t for t in io.in_stalls if t < end - 1.0]) >= 2
    assert sum(end - 1.0 < t <= end for t in mic_blocks) >= 3  # the mic still flowing at the end
    assert rt.result.late_cues == 0 and io.render_errors == 0
    cues = [e for e in logged if isinstance(e, Cue)]
    assert len(cues) >= 2 and all(c.sample == round(c.t * SR) for c in cues)
    assert any(c.sample > io.stalls[0] for c in cues)  # a cue planned after a stall, on its sample
    assert isinstance(logged[-1], SessionSummary) and logged[-1].status == "interrupted"


# --- SIGTERM -----------------------------------------------------------------------------

def test_sigterm_to_simulate_at_random_points_ends_with_the_summary(tmp_path):
    """12 SIGTERMs to `voicecoach simulate` (a cue-only session of 4 sets on a 300-second
    mic, which runs in about 2 s): 3 during start-up, 6 aimed inside the session, 3 as
    soon as the summary is printed (the exit path). Each must end cleanly (see
    signal_support): never by the signal's default action, never with a traceback,
    the history holding exactly the reps of the events file."""
    config = tmp_path / "many.toml"
    config.write_text(MANY)
    mic = silent_wav(tmp_path / "mic.wav", 300.0)
    rng = random.Random(11)
    outcomes = dict.fromkeys(OUTCOMES, 0)
    for trial in range(12):
        aim = (STARTUP, SESSION, SESSION, AFTER_SUMMARY)[trial % 4]
        delay = rng.uniform(0.0, 0.6 if aim == STARTUP else 0.5)
        outcomes[sigterm_trial(tmp_path, f"t{trial}", aim, delay, mic, config)] += 1
    print("SIGTERM outcomes:", outcomes)
    assert outcomes["mid-session"] >= 5, outcomes
    assert outcomes["after it ended"] >= 3, outcomes


def test_sigterm_to_run_ends_the_live_session_with_its_summary(pulse, tmp_path):
    config = tmp_path / "short.toml"
    config.write_text("[program]\nwarmup = false\nsets = 1\nreps = 2\nrest_s = 10.0\n")
    ev, db = tmp_path / "ev.jsonl", tmp_path / "h.db"
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--cue-only", "--config", str(config),
                             "--events", str(ev), "--db", str(db)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if ev.exists() and of(events_of_complete(ev), "cue"):  # the greeting has started
                time.sleep(0.5)
                break
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130 and "Traceback" not in err, err
    # The live view's last line (stdout is a pipe here: plain lines).
    assert out.strip().splitlines()[-1].endswith("] interrupted: 0 of 0 counted")
    assert "the session so far is saved" in err
    events = events_of(ev)
    assert events[-1]["type"] == "session" and events[-1]["status"] == "interrupted"
    with Store(db) as store:
        [s] = store.sessions()
    assert s["status"] == "interrupted" and s["ended_at"], s


def events_of_complete(path: Path) -> list[dict]:
    """The whole lines of an events file another process is still writing."""
    text = path.read_text()
    return [json.loads(line) for line in text.split("\n")[:-1] if line]


def test_events_file_on_a_full_disk_does_not_end_the_workout(tmp_path):
    """The events file fills its disk mid-session (/dev/full: every flush fails with
    ENOSPC). It used to end `simulate` with a traceback before the session closed."""
    config = tmp_path / "many.toml"
    config.write_text(MANY)
    db = tmp_path / "h.db"
    mic = silent_wav(tmp_path / "mic.wav", 400.0)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "simulate", "--cue-only", "--mic", str(mic),
         "--out", str(tmp_path / "out.wav"), "--events", "/dev/full", "--db", str(db), "--config", str(config)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "events file could not be written" in proc.stderr
    with Store(db) as store:
        [s] = store.sessions()
    # The whole workout that fitted in the mic is in the history, closed with its summary.
    assert s["attempted"] >= 30 and s["status"] in ("completed", "interrupted") and s["ended_at"]
    assert proc.stdout.startswith(f"{s['status']}: {s['counted']} of {s['attempted']} counted")


# --- a damaged history under the readers ------------------------------------------------------


def _history(db: Path) -> None:
    from datetime import datetime, timedelta, timezone

    from voicecoach.events import Rep, SetSummary

    with Store(db) as store:
        for day in range(12):
            sid = store.begin_session(started_at=datetime(2026, 10, 1, tzinfo=timezone.utc) + timedelta(days=day),
                                      config={"program": {"variation": "bent_knee"}})
            for n in range(1, 11):
                store.record_rep(sid, Rep(t=float(n), set=1, rep=n, counted=n % 3 != 0,
                                          marks=("back_arched",) * (n % 3 == 0), descent_s=3.0, stop_point=0.6))
            store.record_set(sid, SetSummary(t=40.0, set=1, counted=7, attempted=10))
            store.end_session(sid, SessionSummary(t=50.0, sets=1, counted=7, attempted=10, floor=0.6))


def _damaged(good: bytes, rng: random.Random) -> tuple[str, bytes]:
    page = 4096
    how = rng.choice(["pages", "truncate", "header", "zero-page"])
    data = bytearray(good)
    if how == "pages":
        for _ in range(rng.randint(1, 6)):
            at = rng.randrange(100, len(data) - 16)
            data[at:at + rng.randint(1, 64)] = rng.randbytes(min(64, len(data) - at))[: rng.randint(1, 64)]
        data = data[: len(good)]
    elif how == "truncate":
        data = data[: rng.randrange(1, len(data) - 1)]
    elif how == "header":
        at = rng.randrange(0, 100)
        data[at] ^= 1 << rng.randrange(8)
    else:
        p = rng.randrange(1, max(len(data) // page, 2))
        data[p * page:(p + 1) * page] = bytes(page)
    return how, bytes(data)


@pytest.mark.parametrize("seed", range(3))
def test_damaged_history_under_the_readers_is_one_line_and_kept(tmp_path, capsys, seed):
    """12 sessions on disk, then damaged (pages overwritten, cut short, a header bit
    flipped, a page zeroed), 8 ways per seed: `history`, `history --json`, `report`
    and `export --json` either still read it or say so in one line; the file is
    never changed, moved or repaired behind the user's back."""
    good_db = tmp_path / "good.db"
    _history(good_db)
    sqlite3.connect(good_db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    good = good_db.read_bytes()
    rng = random.Random(seed)
    for case in range(8):
        how, data = _damaged(good, rng)
        folder = tmp_path / f"case{case}"
        folder.mkdir()
        db = folder / "history.db"
        db.write_bytes(data)
        for argv in (["history"], ["history", "--json"], ["report"], ["export", "--json"]):
            code = cli.main([*argv, "--db", str(db)])
            out, err = capsys.readouterr()
            assert "Traceback" not in err
            if code == 0:
                if argv[-1] == "--json":
                    json.loads(out)  # whatever was printed is whole JSON
                assert err.count("\n") <= 1, (how, argv, err)
            else:
                assert err.count("\n") == 1 and err.startswith("voicecoach: "), (how, argv, err)
            assert db.read_bytes() == data, (how, argv)
            assert [p.name for p in folder.iterdir() if "corrupt" in p.name] == [], (how, argv)
