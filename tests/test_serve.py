"""`voicecoach serve` and device recovery, with the real model, espeak-ng speech and PulseAudio.

Each live test gets its own null sinks (``PULSE_SINK``/``PULSE_SOURCE`` route
the ALSA pulse device to them), so other tests playing into the shared
``coach`` sink cannot reach this microphone. The coach's speaker and the
person's voice go to different sinks here: echo handling is the recognizer's
own test; this one is about serving.
"""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.null_sinks import MicAndSpeaker
from tests.speech_support import build_track, pink_noise, speak, to_int16, write_wav

ROOT = Path(__file__).resolve().parent.parent

SHORT = """\
[program]
sets = 1
reps = 2
warmup = false
rest_s = 10.0
"""


# --- the gate and the wake listener (sans-IO, real speech) ----------------------------------


def test_sound_gate_opens_on_speech_not_on_silence_or_steady_noise():
    from voicecoach.service.wake import SoundGate

    gate = SoundGate()
    assert not gate.loud(np.zeros(16000, dtype=np.int16))
    assert gate.loud(to_int16(speak("start workout")))
    noisy = SoundGate()
    noise = to_int16(pink_noise(12.0, seed=3) * 0.3)
    blocks = [noisy.loud(noise[i:i + 320]) for i in range(0, len(noise), 320)]
    assert not any(blocks[-100:]), "a steady noise must become the room within seconds"
    words = speak("start workout")
    assert noisy.loud(to_int16(np.clip(words + pink_noise(2.0, seed=4)[: len(words)] * 0.3, -1, 1)))


def test_wake_listener_hears_only_start_workout_and_sleeps_in_silence(vosk_model):
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.service.wake import WakeListener

    wake = WakeListener(vosk_model, load_grammar(model=vosk_model))
    track = build_track(
        [(2.0, speak("what time is it")), (6.0, speak("pause")), (12.0, speak("start workout", voice="en-us+f2")),
         (17.0, speak("stop point"))],
        duration_s=30.0,
    )
    pcm = to_int16(track)
    heard = []
    for i in range(0, len(pcm), 320):
        heard += wake.feed(pcm[i:i + 320], i / 16000)
    assert [h.intent for h in heard] == ["start_workout"]
    assert 11.8 <= heard[0].start <= 12.5
    # the recognizer ran only around the speech: far less than the 30 s of audio
    assert wake.fed_s < 0.6 * wake.heard_s


# --- live: helpers ------------------------------------------------------------------------------


class Sinks(MicAndSpeaker):
    def say(self, text: str, tmp: Path) -> None:
        """Play espeak-ng speech into the microphone's sink (blocks until played)."""
        wav = tmp / f"say-{uuid.uuid4().hex[:6]}.wav"
        write_wav(wav, np.concatenate([np.zeros(3200, np.float32), speak(text), np.zeros(3200, np.float32)]))
        self.play(wav)


@pytest.fixture
def sinks(pulse):
    s = Sinks()
    yield s
    s.close()


class Lines:
    """Reads a process's stderr in a thread; ``wait_for`` a line containing some text."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self._q: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream):
        for line in stream:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, text: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                break
            if line is None:
                break
            self.lines.append(line)
            if text in line:
                return line
        raise AssertionError(f"no line with {text!r} in {timeout} s; got:\n" + "\n".join(self.lines))

    def rest(self, timeout: float = 5.0) -> list[str]:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
        return self.lines


class _Recorder:
    """Records a PulseAudio source from this process (sounddevice on the ALSA pulse device)."""

    RATE = 16000

    def __init__(self, source: str):
        import sounddevice as sd

        self.chunks: list[np.ndarray] = []
        saved = os.environ.get("PULSE_SOURCE")
        os.environ["PULSE_SOURCE"] = source  # read by the pulse plugin when the stream opens
        try:
            self.stream = sd.InputStream(device="pulse" if _has_device("pulse") else None, samplerate=self.RATE,
                                         channels=1, dtype="float32",
                                         callback=lambda data, frames, t, status: self.chunks.append(data[:, 0].copy()))
            self.stream.start()
        finally:
            if saved is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = saved

    def stop(self) -> np.ndarray:
        self.stream.stop()
        self.stream.close()
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


def _has_device(name: str) -> bool:
    import sounddevice as sd

    return any(d["name"] == name and d["max_input_channels"] > 0 for d in sd.query_devices())


# --- live: serve ---------------------------------------------------------------------------------


def test_serve_starts_a_session_on_spoken_start_workout(sinks, model_path, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(SHORT)
    db = tmp_path / "history.db"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(0.2)
    messages: list[str] = []

    def collect():  # as systemd does: read every message as it comes
        while True:
            try:
                messages.append(notify.recv(4096).decode())
            except socket.timeout:
                continue
            except OSError:
                return

    threading.Thread(target=collect, daemon=True).start()
    env = {**os.environ, **sinks.env(), "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "2000000", "VOICECOACH_DB": str(db), "VOICECOACH_MODEL": str(model_path),
           "PYTHONUNBUFFERED": "1"}
    env.pop("WATCHDOG_PID", None)
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "serve", "--config", str(cfg), "--sessions", "1",
                             "--idle-exit", "120"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        out = Lines(proc.stderr)
        out.wait_for("listening for 'start workout'", 60)
        sinks.say("hello there", tmp_path)  # not the wake phrase: nothing happens
        speaker = _Recorder(f"{sinks.out}.monitor")  # what the coach's speaker plays
        sinks.say("start workout", tmp_path)
        out.wait_for("heard 'start workout'", 15)
        time.sleep(1.5)
        played = speaker.stop()
        # The person says "stop workout" until it is acted on: said while the coach
        # itself is talking it may be missed (barge-in is the recognizer's own test).
        for attempt in range(8):
            sinks.say("stop workout", tmp_path)
            try:
                out.wait_for("command stop_workout", 2.5)
                break
            except AssertionError:
                continue
        out.wait_for("session stopped", 30)
        assert proc.wait(timeout=20) == 0
        lines = out.rest(1.0)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not any("hello" in line for line in lines)
    # the chime (a bell-like 1318.5 Hz note first) reached the speaker after the wake phrase
    from voicecoach.service.doctor import _band_db

    rate = _Recorder.RATE
    band, _ = _band_db(played, rate, 1318.5)
    # (the chime peaks at about -12 dBFS there; speech at full scale stays under -20)
    assert band.max() > -16, f"no chime on the speaker (1318.5 Hz peak {band.max():.0f} dBFS, {len(played) / rate:.1f} s)"
    time.sleep(0.3)
    notify.close()
    assert any(m.startswith("READY=1") for m in messages), messages
    assert "WATCHDOG=1" in messages, messages
    assert any("coaching a session" in m for m in messages), messages
    from voicecoach.history.store import Store

    store = Store(db)
    sessions = store.sessions()
    store.close()
    assert [s["status"] for s in sessions] == ["stopped"]
    assert any(c["intent"] == "stop_workout" for c in sessions[0]["commands"])


def test_serve_reloads_an_edited_config_between_sessions(tmp_path):
    from argparse import Namespace

    from voicecoach.commands.serve import Server

    cfg = tmp_path / "c.toml"
    cfg.write_text("[program]\nreps = 5\n")
    server = Server(Namespace(config=str(cfg), db=None, sessions=0, idle_exit=0.0))
    assert server.config()["program"]["reps"] == 5
    cfg.write_text("[program]\nreps = 7\n")
    os.utime(cfg, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert server.config()["program"]["reps"] == 7
    cfg.write_text("[program]\nreps = 'many'\n")  # a bad edit keeps the last good config
    assert server.config()["program"]["reps"] == 7
    server.close()


def test_serve_falls_back_to_the_default_grammar_on_a_bad_one(vosk_model, tmp_path, capsys):
    from argparse import Namespace

    from voicecoach import config
    from voicecoach.commands.serve import Server

    bad = tmp_path / "g.toml"
    bad.write_text("[intents.start_workout]\nkind = 'control'\nphrases = ['start zorkblat']\n")
    server = Server(Namespace(config=None, db=None, sessions=0, idle_exit=0.0))
    cfg = config.defaults()
    cfg["speech"]["grammar"] = str(bad)
    grammar = server.grammar(vosk_model, cfg)
    server.close()
    assert grammar.intent("start_workout").phrases[0] == "start workout"
    assert "zorkblat" in capsys.readouterr().err



def test_serve_wakes_on_an_enrolled_spelling_of_start_workout_unless_told_not_to(sinks, vosk_model, tmp_path,
                                                                                monkeypatch):
    """The wake listener uses the stored enrollment (as `voicecoach enroll` leaves it):
    "green kettle" spelled for start workout wakes it; with --no-enrollment it is talk."""
    from voicecoach import cli, config
    from voicecoach.enroll import file as enrollment_file
    from voicecoach.commands.serve import Server
    from voicecoach.speech.enrollment import Enrollment
    from voicecoach.speech.grammar import load_grammar

    enrollment_file.save(enrollment_file.Enrolled({}, Enrollment(spellings={"start_workout": ("green kettle",)})))
    for name, value in sinks.env().items():
        monkeypatch.setenv(name, value)
    grammar, cfg = load_grammar(model=vosk_model), config.defaults()

    def wake(*flags: str):
        server = Server(cli.build_parser().parse_args(["serve", "--idle-exit", "5", *flags]))
        done = threading.Event()

        def person():  # says it once the server listens
            while server.mic is None:
                if done.wait(0.05):
                    return
            sinks.say("green kettle", tmp_path)

        speaking = threading.Thread(target=person)
        speaking.start()
        try:
            return server.wait_for_wake(vosk_model, grammar, cfg)
        finally:
            done.set()
            speaking.join()
            server.close()

    heard = wake()
    assert heard is not None and heard.intent == "start_workout", heard
    assert wake("--no-enrollment") is None


# --- live: a device vanishes mid-session -------------------------------------------------------------


def test_a_headset_that_vanishes_mid_session_is_recovered_and_no_rep_is_lost(sinks, vosk_model, tmp_path,
                                                                            monkeypatch):
    """Both streams are aborted under the session after the first rep (what PortAudio does
    when a USB headset goes away); reopening fails twice as if it were still unplugged (the
    one fake here: nothing can be unplugged on this machine)."""
    from voicecoach import config as config_mod, runtime
    from voicecoach.speech.voice import Voice
    from voicecoach.errors import UserError
    from voicecoach.events import Rep
    from voicecoach.audio.recovery import Backoff, Recovery
    from voicecoach.audio.resilient import ResilientIO
    from voicecoach.audio.streams import open_live
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer
    from voicecoach.history.store import Store

    for k, v in sinks.env().items():
        monkeypatch.setenv(k, v)
    # The shortest session that has reps before and after the loss: fast speech, the
    # variation with the shortest setup talk.
    cfg = config_mod.validate({"program": {"sets": 1, "reps": 3, "warmup": False, "rest_s": 10.0, "lift_s": 1.0,
                                           "variation": "hanging"},
                               "speech": {"rate": 300}})
    unplugged = {"attempts_left": 0}

    def open_io(use_input):
        if unplugged["attempts_left"] > 0:
            unplugged["attempts_left"] -= 1
            raise UserError("cannot open audio stream: Device unavailable [PaErrorCode -9985]")
        return open_live(cfg["audio"], use_input=use_input)

    logs = []
    guard = ResilientIO(cfg["audio"], open_io=open_io, log=logs.append, stall_s=2.0,
                        recovery=Recovery(Backoff(first_s=0.3, factor=2.0, max_s=1.0, give_up_s=60)))
    voice = Voice(guard.samplerate, cfg["speech"])
    guard.say = voice.speech.get
    reps: list[Rep] = []
    t0 = time.monotonic()

    def on_event(event):
        if os.environ.get("VC_DEBUG"):
            print(f"{time.monotonic() - t0:6.1f}", event.to_json()[:110], flush=True)
        if isinstance(event, Rep):
            reps.append(event)
            if len(reps) == 1:
                unplugged["attempts_left"] = 2
                guard.io._out.abort()  # the headset goes: speaker and microphone
                guard.io._in.abort()

    store = Store(tmp_path / "h.db")
    recognizer = CommandRecognizer(vosk_model, load_grammar(model=vosk_model))
    person = _Person(recognizer, stop_after=lambda: len(reps) >= 2)
    rt = runtime.Runtime(cfg, guard, recognizer=person, store=store, timing=runtime.LIVE,
                         simulated=False, voice=voice, on_event=on_event)
    result = rt.run()
    sessions = store.sessions()
    store.close()

    actions = [s.action for s in guard.steps]
    assert actions[0] == "pause" and actions[-1] == "resume" and actions.count("retry") >= 1, (actions, logs)
    assert any("speaker" in line and "lost" in line for line in logs), logs
    assert result.summary is not None and result.summary.status == "stopped"
    (session,) = sessions
    stored = [(s["set"], r["rep"]) for s in session["sets"] for r in s["reps"]]
    # every rep that ended is stored once, numbered without a gap: the rep cut
    # by the loss was redone from the top, not lost and not counted twice
    assert stored == [(r.set, r.rep) for r in reps] == [(1, 1), (1, 2)]
    assert session["attempted"] == 2
    intents = [c["intent"] for c in session["commands"]]
    assert intents[:2] == ["next_set", "pause"] and "resume" in intents


def test_a_microphone_that_vanishes_keeps_the_speaker_going_and_comes_back(sinks, monkeypatch):
    """Only the microphone goes: the speaker must keep playing (the coach says what happened)
    while the microphone is retried, and the session is paused then resumed."""
    from voicecoach.audio.clips import Clip
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.errors import UserError
    from voicecoach.audio.recovery import Backoff, Recovery
    from voicecoach.audio.resilient import ResilientIO
    from voicecoach.audio.streams import open_live

    for k, v in sinks.env().items():
        monkeypatch.setenv(k, v)
    fails = {"left": 0}

    def open_io(use_input):
        if use_input and fails["left"] > 0:
            fails["left"] -= 1
            raise UserError("cannot open audio stream: Device unavailable [PaErrorCode -9985]")
        return open_live({}, use_input=use_input)

    said = []

    def say(text):
        said.append(text)
        return Clip(np.full(2205, 0.1, dtype=np.float32), guard.samplerate, text)

    guard = ResilientIO({}, open_io=open_io, say=say, stall_s=2.0,
                        recovery=Recovery(Backoff(first_s=0.2, factor=2.0, max_s=0.4)))
    sched = Scheduler(guard.samplerate)
    guard.start(sched)
    heard = []
    frames_while_lost = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        block = guard.read_mic(timeout=0.5)
        if block is not None:
            heard += guard.device_events()
        if guard.turns == 5:
            fails["left"] = 2
            guard.io._in.abort()
        if guard.lost:
            frames_while_lost.append(sched.now)
        if "device_back" in [h.type for h in heard]:
            break
    guard.stop()
    assert [type(h).__name__ for h in heard] == ["DeviceLost", "DeviceBack"]  # the session pauses, then resumes
    assert [s.action for s in guard.steps][:2] == ["pause", "retry"]
    assert frames_while_lost[-1] > frames_while_lost[0], "the speaker stopped while only the mic was away"
    assert any("microphone" in text for text in said)


def test_no_microphone_at_all_means_cue_only_and_saying_so(pulse, monkeypatch):
    from voicecoach.audio.clips import Clip
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.audio.resilient import ResilientIO

    monkeypatch.setenv("PULSE_SOURCE", f"no_such_source_{uuid.uuid4().hex[:6]}")  # no microphone anywhere
    said = []
    guard = ResilientIO({})
    guard.say = lambda text: said.append(text) or Clip(np.zeros(100, np.float32), guard.samplerate, text)
    assert guard.cue_only and [s.action for s in guard.steps] == ["cue_only"]
    assert not guard.listening  # the runtime feeds no recognizer
    sched = Scheduler(guard.samplerate)
    guard.start(sched)
    try:
        for _ in range(10):
            block = guard.read_mic(timeout=0.2)
            assert block is None or not block.samples.any()
    finally:
        guard.stop()
    assert sched.now > 0, "the speaker runs without a microphone"
    assert len(said) == 1 and "can't find a microphone" in said[0]


def test_serve_without_a_microphone_says_so_and_keeps_looking(cli, pulse, model_path, tmp_path):
    env = {**os.environ, "PULSE_SOURCE": f"no_such_source_{uuid.uuid4().hex[:6]}"}
    fast = tmp_path / "fast.toml"
    fast.write_text("[speech]\nrate = 300\n")  # the notice is said in full: say it fast
    proc = cli("serve", "--idle-exit", "2.5", "--config", str(fast), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("no microphone") == 1  # said once, looked for again quietly
    assert "exiting (--idle-exit)" in proc.stderr


class _Person:
    """What the person on the mat says, as commands: "next set" at once (skipping the
    first-session introduction, about 25 s of talk this test has no use for) and
    "stop workout" when ``stop_after()`` becomes true. Recognising these spoken is the
    recognizer's own test; here they only keep the session short."""

    def __init__(self, inner, stop_after):
        self.inner = inner
        self.stop_after = stop_after
        self.said: set[str] = set()

    def feed(self, samples, start, reference=None):
        from voicecoach.events import Heard

        out = self.inner.feed(samples, start, reference)
        say = None
        if "next_set" not in self.said:
            say = "next_set"
        elif "stop_workout" not in self.said and self.stop_after():
            say = "stop_workout"
        if say:
            self.said.add(say)
            out = out + [Heard(say, "control", say.replace("_", " "), start, start, start, 1.0)]
        return out

    def coach_says(self, text, start, end):
        self.inner.coach_says(text, start, end)

    def listen_during(self, phase):
        self.inner.listen_during(phase)

    def finish(self):
        return self.inner.finish()

    def reset(self):
        self.inner.reset()
