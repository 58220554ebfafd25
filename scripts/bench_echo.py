#!/usr/bin/env python3
"""Marks said over the coach's count while its own voice reaches the microphone:
a fixed echo, speaker and microphone clocks that drift apart, and rooms.

    python scripts/bench_echo.py                          # 30-minute sessions, every condition
    python scripts/bench_echo.py --minutes 5 --conditions delay,drift+150
    python scripts/bench_echo.py --live-two-sinks --minutes 5 --ppm 100,-100
    python scripts/bench_echo.py --minutes 2 --conditions room-small,room-large \
        --coach-only echo_judge=aec3 --coach-only echo_judge=linear

Each condition is one whole session through the runtime ``voicecoach simulate``
uses (SimulatedIO, the coach's real espeak-ng cues, the real Vosk recognizer
and its echo canceller). A person answers the coach: in every counted lowering
they say one mark ("back arched", "good rep", "doming"; in the first lowering,
the floor test, "stop point" at 2.1 s), starting 0.2, 0.5 or 0.8 s after its
first tick, in turn in each voice of the recognizer's quick dev corpus
(``scripts/corpus.py`` QUICK_VOICES: every engine), 6 dB below, level with or
6 dB above the coach's echo at the microphone ("loud": 10 dB below). The person's clips are the same in every
condition; each is measured against the same marks without the echo (in a
room, through the same room with the speaker silent: ``room-small-no-echo``,
``room-large-no-echo``; for the others the session ``none``, and for
``loud`` ``none-quiet``), the echo's cost in points.

Per condition it prints: marks heard (exactly that intent, within a second of
its words), per level and per engine; commands no one said (the coach's own
voice taken for a command, or a mark heard as another; a pause or stop no
one asked for the person answers with "resume" 4 s later (after the coach's reply), 6 dB over
the echo, so that the session goes on); marks heard per 10
minutes (does it get worse as the clocks slide?); and the linear canceller's
echo return loss enhancement per 5 minutes, over the frames where the coach
plays and the person is silent.

Rooms are the shoebox rooms of ``scripts/rooms.py`` (pyroomacoustics,
``scripts/setup --bench``), their responses scaled to unit energy so that the
person's level against the echo means the same in every room. In a room the
person's voice reaches the microphone through it too, from where they lie
(``--dry-person``: straight, as before 2026-12-07).

``--coach-only SETTINGS`` (once per variant) has no one answer the coach: the
session's calls to the recognizer are recorded and replayed into one
recognizer per variant, call by call in turn, so that each is timed under the
same load. Per condition and variant it prints how much of the coach's talk
the decoder was awake for (it should rest: no one speaks), the CPU (process
time) and wall time of the recognizer per second of audio, and every command
heard (all of them false).

``--live-two-sinks`` runs the live path instead, in real time, once per
``--ppm``: the coach's sentences and counts played through LiveIO to a null
sink at ``--speaker-rate``, carried by a relay (tests/room_support.py) with
the speaker's clock that many ppm fast into a second sink at ``--mic-rate``
whose monitor the microphone records. It prints, per 30 s, where the echo is
behind LiveIO's reference (measured by GCC-PHAT, apart from the project's
aligner), where the recognizer's aligner puts it, and the canceller's ERLE.
No person speaks: it measures the alignment, not marks.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import multiprocessing as mp
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_args import parse_settings  # noqa: E402
from scripts.corpus import QUICK_VOICES  # noqa: E402
from scripts.rooms import impulse_response, through  # noqa: E402
from tests.speech_support import engine_of, mic_floor, speak, write_wav  # noqa: E402
from voicecoach.audio.wavio import VOSK_RATE  # noqa: E402

SR16 = VOSK_RATE
GAIN = 0.5  # the coach's echo at the microphone, against its output
DELAY_MS = 40.0
LEVELS = (-6.0, 0.0, 6.0)
LOUD_LEVEL = -10.0
PHRASES = (("back arched", "back_arched"), ("good rep", "good_rep"), ("doming", "doming"))
OFFSETS = (0.2, 0.5, 0.8)
FLOOR_TEST = ("stop point", "stop_point", 2.1)


@dataclass(frozen=True)
class Condition:
    name: str
    gain: float = GAIN
    drift_ppm: float = 0.0
    room: str | None = None
    levels: tuple[float, ...] = LEVELS
    reference: str = "none"
    """The condition with the same marks and no echo, which this one is measured against."""


CONDITIONS = {c.name: c for c in (
    Condition("none", gain=0.0),
    Condition("none-quiet", gain=0.0, levels=(LOUD_LEVEL,)),
    Condition("delay"),
    Condition("drift+50", drift_ppm=50.0),
    Condition("drift-50", drift_ppm=-50.0),
    Condition("drift+150", drift_ppm=150.0),
    Condition("drift-150", drift_ppm=-150.0),
    Condition("room-small", room="small", reference="room-small-no-echo"),
    Condition("room-large", room="large", reference="room-large-no-echo"),
    Condition("room-small-no-echo", gain=0.0, room="small"),
    Condition("room-large-no-echo", gain=0.0, room="large"),
    Condition("loud", room="large", levels=(LOUD_LEVEL,), reference="none-quiet"),
)}
"""Each condition's ``reference`` is the same marks without the echo (in a room, through that room;
``loud``'s is ``none-quiet``, dry)."""


@dataclass
class Said:
    """One mark the person said."""

    intent: str
    text: str
    start: float
    end: float
    voice: str
    level: float
    heard: bool = False
    why: list = field(default_factory=list)
    """For a missed one: (words, verdict) of every candidate the decoder produced around it."""


RESUME = "resume"
"""What the person says when the coach stops on a control they never gave."""
RESUME_VOICE = "en-us"
RESUME_LEVEL = 6.0
"""The person speaks up, clearly: the answer keeps the session going, it is not what is measured."""
STOPPING_CONTROLS = ("pause", "stop_workout")
ANSWER_AFTER_S = 4.0
"""Seconds after a pause they did not ask for that the person answers: after the coach's
reply ("Paused. Say resume when you're ready."), which a "resume" said over would be its echo."""


@dataclass
class Person:
    """Answers the coach: one mark in every counted lowering, mixed into the mic not yet read.

    A pause or stop they never asked for (one of their marks heard as it) is
    answered with "resume" (``clips[RESUME]``: its clip and gain), as a person
    would, so that the session goes on being measured; :attr:`answered` keeps
    when."""

    io: object
    clips: dict
    plan: list
    lower_phrase: str
    ends_at: float
    said: list[Said] = field(default_factory=list)
    events: list = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    _armed: bool = False
    _turn: int = 0

    def on_event(self, event) -> None:
        from voicecoach.events import Command, Cue

        self.events.append(event)
        if isinstance(event, Command) and event.intent in STOPPING_CONTROLS:
            self._resume(event.t + ANSWER_AFTER_S)
        if not isinstance(event, Cue):
            return
        if event.kind == "speech":
            self._armed = event.text == self.lower_phrase
        elif event.kind == "tick" and self._armed:
            self._armed = False
            self._say(event.t)

    def _say(self, tick_t: float) -> None:
        if self._turn == 0:
            text, intent, offset = FLOOR_TEST
            voice, level = self.plan[0][0], 0.0
        else:
            voice, (text, intent), level, offset = self.plan[(self._turn - 1) % len(self.plan)]
        self._turn += 1
        clip, gain = self.clips[voice, text, level]
        at = tick_t + offset
        if at + len(clip) / SR16 > self.ends_at - 2.0:
            return  # the session would end while it is being decided
        self.io.add_to_mic(at, gain * clip)
        self.said.append(Said(intent, text, at, at + len(clip) / SR16, voice, level))

    def _resume(self, at: float) -> None:
        clip, gain = self.clips[RESUME]
        if at + len(clip) / SR16 > self.ends_at - 2.0:
            return
        self.io.add_to_mic(at, gain * clip)
        self.answered.append(at)


def person_plan(levels: tuple[float, ...], seed: int = 0) -> list:
    """Every (voice, phrase, level, offset) once, in a fixed shuffled order."""
    voices = [v for vs in QUICK_VOICES.values() for v in vs]
    plan = list(itertools.product(voices, PHRASES, levels, OFFSETS))
    np.random.default_rng(seed).shuffle(plan)
    return plan


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest (speech, not the gaps)."""
    n = len(x) // 320
    p = np.mean(x[: n * 320].astype(np.float64).reshape(n, 320) ** 2, axis=1)
    return float(np.sqrt(np.mean(p[p > p.max() * 1e-3])))


def echo_level(cfg: dict) -> float:
    """Active RMS of the coach's count ("one-one-thousand") at the mic, at gain 1 and a unit-energy path."""
    from voicecoach.speech.voice import Voice

    voice = Voice(SR16, cfg["speech"])
    try:
        count = np.asarray(voice.clip("speech", "one-one-thousand").samples, dtype=np.float64)
    finally:
        voice.close()
    if np.abs(count).max() > 1.5:  # int16
        count = count / 32768.0
    return active_rms(count) * float(cfg["audio"]["volume"])


def session_config() -> dict:
    """The benchmark's session: 8 sets of 30 reps, 10 s rests, no warm-up."""
    from voicecoach.config import validate

    return validate({"program": dict(sets=8, reps=30, rest_s=10.0, warmup=False)})


def simulated_io(cond: Condition, seconds: float, work: Path):
    """SimulatedIO for one session in ``cond``: the room's noise floor as the microphone, the coach's echo
    added as ``cond`` says. Returns (the io, a function giving the mic and reference it has delivered so far)."""
    from voicecoach.audio.streams import SimulatedIO

    work.mkdir(parents=True, exist_ok=True)
    mic_path = work / "mic.wav"
    write_wav(mic_path, mic_floor(int(seconds * SR16)), SR16)
    ir = impulse_response(cond.room) if cond.room else None
    io = SimulatedIO(mic_path, work / "out.wav", samplerate=22050, echo_gain=cond.gain, echo_ms=DELAY_MS,
                     echo_ir=ir, echo_drift_ppm=cond.drift_ppm)
    n = int(seconds * SR16)
    mic_log, ref_log, logged = np.zeros(n, np.int16), np.zeros(n, np.float32), [0]
    read = io.read_mic

    def read_and_log(timeout=None):
        block = read(timeout)
        if block is not None:
            i, k = logged[0], min(len(block.samples), n - logged[0])
            mic_log[i:i + k], ref_log[i:i + k] = block.samples[:k], block.reference[:k]
            logged[0] += k
        return block

    io.read_mic = read_and_log
    return io, lambda: (mic_log[:logged[0]], ref_log[:logged[0]])


def run_condition(args) -> dict:
    name, minutes, workdir, settings, dry_person = args
    from voicecoach.coach import program as P
    from voicecoach.events import Command, Withdrawn
    from voicecoach.model import load_model
    from voicecoach.runtime import SIMULATED, Runtime
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer
    from voicecoach.speech.settings import RecognizerSettings
    from voicecoach.speech.echo import FrontEnd

    cond = CONDITIONS[name]
    cfg = session_config()
    seconds = minutes * 60.0

    # The person's level is set against the echo of the default condition, so
    # the same clips are said in every condition (and in "none").
    target = GAIN * echo_level(cfg)
    plan = person_plan(cond.levels)

    def person_says(text: str, voice: str, level: float) -> tuple[np.ndarray, float]:
        """The clip as it reaches the microphone, and its gain to ``level`` dB about the echo."""
        clip = speak(text, voice=voice, speed=150, pitch=50, samplerate=SR16)
        if cond.room and not dry_person:
            clip = through(clip, cond.room, source="person")
        return clip, target * 10 ** (level / 20) / active_rms(clip)

    clips = {RESUME: person_says(RESUME, RESUME_VOICE, RESUME_LEVEL)}
    for voice, (text, _), level, _ in plan + [(plan[0][0], FLOOR_TEST[:2], 0.0, 0)]:
        if (voice, text, level) not in clips:
            clips[voice, text, level] = person_says(text, voice, level)

    io, logged = simulated_io(cond, seconds, Path(workdir) / name)
    person = Person(io, clips, plan, P.lower_phrase(cfg["program"]["breathing"]), seconds)
    recognizer = CommandRecognizer(load_model(), load_grammar(None), provisional=True,
                                   settings=RecognizerSettings(**settings))
    recognizer.explain = []
    t0, c0 = time.monotonic(), time.process_time()
    Runtime(cfg, io, recognizer=recognizer, timing=SIMULATED, on_event=person.on_event).run()
    wall, cpu = time.monotonic() - t0, time.process_time() - c0

    commands = [e for e in person.events if isinstance(e, Command)
                and not (e.intent == "resume" and any(abs(e.start - a) <= 1.0 for a in person.answered))]
    withdrawn = [e for e in person.events if isinstance(e, Withdrawn)]
    unmatched = list(commands)
    for s in person.said:
        for c in unmatched:
            if c.intent == s.intent and abs(c.start - s.start) <= 1.0:
                s.heard = True
                unmatched.remove(c)
                break
    for s in person.said:
        if not s.heard:  # what the decoder made of it, and which rule took it
            s.why = [(x.words, x.verdict) for x in recognizer.explain if x.start < s.end + 0.3 and x.end > s.start - 0.3]
    return {
        "name": name,
        "said": [s.__dict__ for s in person.said],
        "extra": [(c.intent, c.text, round(c.start, 2)) for c in unmatched],
        "withdrawn": [(w.intent, round(w.start, 2)) for w in withdrawn],
        "answered": [round(a, 2) for a in person.answered],
        "erle": erle_per_window(*logged(), person.said, FrontEnd) if cond.gain else [],
        "audio_s": len(logged()[0]) / SR16,
        "wall_s": wall,
        "cpu_s": cpu,
    }


class Recorder:
    """Stands for the recognizer in a session: passes the runtime's calls on to ``recognizer`` and keeps
    them, to be replayed into others (the recognizer is sans-IO: the same calls, the same stream)."""

    def __init__(self, recognizer):
        self.recognizer = recognizer
        self.calls: list[tuple[str, tuple]] = []

    def _call(self, method: str, *args):
        self.calls.append((method, tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args)))
        return getattr(self.recognizer, method)(*args)

    def feed(self, samples, start, reference=None):
        return self._call("feed", samples, start, reference)

    def coach_says(self, text, start, end):
        return self._call("coach_says", text, start, end)

    def listen_during(self, phase):
        return self._call("listen_during", phase)

    def finish(self):
        return self._call("finish")

    def reset(self):
        return self._call("reset")


def coach_talk(calls: list, tail_s: float = 0.4) -> list[bool]:
    """Per ``feed`` call: does the coach's voice reach the microphone in that block (its reference plays
    above -50 dBFS in some 10 ms frame of it, or did less than ``tail_s`` before: the room's tail)?"""
    talk, last = [], -1e9
    for method, args in calls:
        if method != "feed":
            continue
        samples, start, far = args
        ref = np.zeros(len(samples)) if far is None else np.asarray(far[:len(samples)], dtype=np.float64)
        k = len(ref) // 160
        playing = np.flatnonzero(np.mean(ref[: k * 160].reshape(k, 160) ** 2, axis=1) > 1e-5)
        if len(playing):
            last = start + (playing[-1] + 1) * 0.01
        talk.append(start < last + tail_s)
    return talk


def run_coach_only(args) -> dict:
    """One session of the coach in ``name`` with no one answering, then the recognizer's calls replayed into
    one recognizer per settings in ``variants``, call by call in turn (the order alternating), so that each
    is timed under the same load: per variant the share of coach-talk blocks on which the decoder ran, its
    CPU (process time) and wall time, and every command (all of them false: no one spoke)."""
    name, minutes, workdir, variants = args
    from voicecoach.events import Heard
    from voicecoach.model import load_model
    from voicecoach.runtime import SIMULATED, Runtime
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer
    from voicecoach.speech.settings import RecognizerSettings

    cond = CONDITIONS[name]
    seconds = minutes * 60.0
    model, grammar = load_model(), load_grammar(None)
    io, logged = simulated_io(cond, seconds, Path(workdir) / name)
    recorder = Recorder(CommandRecognizer(model, grammar, provisional=True, settings=RecognizerSettings()))
    Runtime(session_config(), io, recognizer=recorder, timing=SIMULATED, on_event=lambda e: None).run()
    talk = coach_talk(recorder.calls)
    recs = [CommandRecognizer(model, grammar, provisional=True, settings=RecognizerSettings(**v)) for v in variants]
    rows = [{"settings": v, "cpu_s": 0.0, "wall_s": 0.0, "awake_talk": 0, "awake": 0, "commands": []}
            for v in variants]
    block = 0
    for k, (method, call_args) in enumerate(recorder.calls):
        for i in (range(len(recs)) if k % 2 == 0 else reversed(range(len(recs)))):
            rec, row = recs[i], rows[i]
            before = rec.decoded_samples
            c0, t0 = time.process_time(), time.perf_counter()
            out = getattr(rec, method)(*call_args)
            row["cpu_s"] += time.process_time() - c0
            row["wall_s"] += time.perf_counter() - t0
            if method == "feed":
                woke = rec.decoded_samples > before
                row["awake"] += woke
                row["awake_talk"] += woke and talk[block]
            row["commands"] += [(h.intent, h.text, round(h.start, 2)) for h in out or ()
                                if isinstance(h, Heard) and h.final]
        block += method == "feed"
    return {"name": name, "rows": rows, "blocks": len(talk), "talk_blocks": sum(talk),
            "audio_s": len(logged()[0]) / SR16}


def report_coach_only(results: list[dict], minutes: float) -> None:
    print(f"\n## The coach alone through the room, {minutes:g}-minute sessions, no one answering\n")
    print("Decoder awake: share of the blocks in which the decoder was fed, over the blocks where the coach's voice "
          "reaches the mic (its reference plays, or did within 0.4 s) and over the whole session. CPU is process "
          "time, real-time factor wall time, both of the recognizer's calls only, the variants fed in turn.\n")
    print("| condition | settings | decoder awake, coach talking | decoder awake, all | CPU s per s | "
          "real-time factor | commands (all false) |\n|---|---|---|---|---|---|---|")
    for r in results:
        for row in r["rows"]:
            label = ", ".join(f"{k}={v}" for k, v in row["settings"].items()) or "defaults"
            print(f"| {r['name']} | {label} | {pct(row['awake_talk'], r['talk_blocks'])} | "
                  f"{pct(row['awake'], r['blocks'])} | {row['cpu_s'] / r['audio_s']:.4f} | "
                  f"{row['wall_s'] / r['audio_s']:.4f} | {len(row['commands'])} {row['commands'][:4]} |")


def erle_per_window(mic: np.ndarray, ref: np.ndarray, said: list[Said], front_end_cls, window_s: float = 300.0) -> list:
    """Echo return loss enhancement (dB) of the recognizer's echo canceller per window:
    mic power over cancelled power, in the 10 ms frames where the coach plays and the person is silent."""
    fe = front_end_cls(SR16, aec="linear", noise_suppression=None)
    outs, block = [], 800
    for i in range(0, len(mic) - block + 1, block):
        # The reference is logged whole: what lies after a block is what the run had as its ``ahead``.
        out = fe.process(mic[i:i + block], ref[i:i + block], ref[i + block:i + block + 4800]).clean
        outs.append(out)
    out = np.concatenate(outs).astype(np.float64) / 32768
    k = len(out) // 160
    p_in = np.mean((mic[: k * 160].astype(np.float64) / 32768).reshape(k, 160) ** 2, axis=1)
    p_out = np.mean(out[: k * 160].reshape(k, 160) ** 2, axis=1)
    p_ref = np.mean(ref[: k * 160].astype(np.float64).reshape(k, 160) ** 2, axis=1)
    use = p_ref > 1e-5  # the coach plays (above -50 dBFS)
    for s in said:
        use[max(0, int((s.start - 0.3) * 100)):int((s.end + 0.5) * 100)] = False
    rows = []
    per = int(window_s * 100)
    for w in range(0, k, per):
        sel = use[w:w + per]
        if sel.sum() > 100:
            rows.append((w / 100, 10 * np.log10(p_in[w:w + per][sel].sum() / (p_out[w:w + per][sel].sum() + 1e-15))))
    return rows


def coach_speech(rate: int, seconds: float):
    """(second, clip) of a coach-like far end: lift cue, "Inhale, lower.", four counts on a 1 s beat with
    ticks, a pause; a sentence of the lesson every fourth rep. The coach's voice at ``rate``."""
    from voicecoach.coach import program as P
    from voicecoach.config import defaults
    from voicecoach.speech.voice import Voice

    voice = Voice(rate, defaults()["speech"])
    out, t, rep = [], 0.5, 0
    try:
        while t < seconds:
            if rep % 4 == 3:
                clip = voice.clip("speech", P.TEACHING[rep // 4 % len(P.TEACHING)])
                out.append((t, clip))
                t += clip.duration + 0.8
            for kind, text in (("speech", P.lift_phrase("bent_knee", "normal", rep)), ("speech", P.lower_phrase(""))):
                clip = voice.clip(kind, text)
                out.append((t, clip))
                t += clip.duration + 0.6
            for k in range(1, 5):
                out.append((t, voice.clip("tick", P.TICK)))
                out.append((t + 0.05, voice.clip("speech", P.count_long(k))))
                t += 1.0
            t += 1.5
            rep += 1
    finally:
        voice.close()
    return [(s, c) for s, c in out if s + c.duration < seconds]


def run_live(speaker_rate: int, mic_rate: int, ppm: float, minutes: float) -> dict:
    """One live run through two null sinks and the relay; the mic and reference at 16 kHz and what the
    recognizer's front end made of them."""
    import os

    from tests.null_sinks import null_sink
    from tests.room_support import play_through_the_room
    from voicecoach.audio import devices
    from voicecoach.speech.echo import FrontEnd

    seconds = minutes * 60.0
    plan = coach_speech(speaker_rate, seconds)
    tag = f"bench_echo_{os.getpid()}"
    with null_sink(f"{tag}_speaker", rate=speaker_rate, mono=True) as speaker, \
            null_sink(f"{tag}_room", rate=mic_rate, mono=True) as room:
        os.environ["PULSE_SINK"], os.environ["PULSE_SOURCE"] = speaker, f"{room}.monitor"
        # PulseAudio records at any rate asked; a microphone that records only at its own rate is stood in for.
        devices.input_rate = lambda device, preferred: mic_rate
        # A faster speaker draws on the relay's cushion: more than the run will drift.
        cushion_ms = 50 + int(max(ppm, 0.0) * 1e-6 * seconds * 1000)
        try:
            blocks, io, relay_runs = play_through_the_room(
                speaker, room, speaker_rate=speaker_rate, mic_rate=mic_rate, ppm=ppm, clips=list(plan),
                seconds=seconds, cushion_ms=cushion_ms)
        except RuntimeError as err:
            raise SystemExit(f"bench_echo: {err}") from None
    xruns = dict(io.xruns)
    xruns["relay"] = len(relay_runs)
    fe = FrontEnd(SR16, noise_suppression=None)
    out, fed, followed = [], 0, []
    for b in blocks:
        out.append(fe.process(b.samples, b.reference, b.ahead).clean)
        fed += len(b.samples)
        followed.append((fed, fe.aligner.delay_at(fed)))
    return {
        "speaker_rate": speaker_rate, "mic_rate": mic_rate, "ppm": ppm, "xruns": xruns,
        "mic": np.concatenate([b.samples for b in blocks]), "ref": np.concatenate([b.reference for b in blocks]),
        "out": np.concatenate(out), "followed": followed, "drift_ppm": fe.aligner.drift_ppm,
    }


def report_live(r: dict, span_s: float = 30.0) -> None:
    from tests.room_support import echo_lags

    mic = r["mic"].astype(np.float64) / 32768
    lags = echo_lags(mic, r["ref"])
    t, d = np.array(lags).T
    i, j = np.triu_indices(len(t), 1)  # a robust line (Theil-Sen): a window that peaks falsely does not tilt it
    ok = t[j] - t[i] > 10.0
    slope = float(np.median((d[j] - d[i])[ok] / (t[j] - t[i])[ok]))
    intercept = float(np.median(d - slope * t))
    fed = np.array([n for n, _ in r["followed"]])
    est = np.array([np.nan if x is None else x for _, x in r["followed"]])
    out = r["out"].astype(np.float64) / 32768
    k = len(out) // 160
    shift = int(round(intercept))  # where the coach's sound is in the mic, near enough for 10 ms frames
    p_ref = np.mean(np.pad(r["ref"], (shift, 0))[: k * 160].astype(np.float64).reshape(k, 160) ** 2, axis=1)
    p_in = np.mean(mic[: k * 160].reshape(k, 160) ** 2, axis=1)
    p_out = np.mean(out[: k * 160].reshape(k, 160) ** 2, axis=1)
    playing = p_ref > 1e-5
    print(f"\n## Live: speaker {r['speaker_rate']} Hz, microphone {r['mic_rate']} Hz, "
          f"speaker clock {r['ppm']:+g} ppm, {len(mic) / SR16 / 60:.1f} min\n")
    print("| span (s) | echo behind the reference (ms) | the aligner's delay (ms) | aligner - echo (samples) "
          "| ERLE (dB) |\n|---|---|---|---|---|")
    for lo in np.arange(0.0, len(mic) / SR16, span_s):
        sel = (t >= lo) & (t < lo + span_s)
        if not sel.any():
            continue
        mid = float(np.median(t[sel]))
        heard = float(np.median(d[sel]))
        k = min(int(np.searchsorted(fed, mid * SR16)), len(fed) - 1)
        diff = est[k] - heard
        f = slice(int(lo * 100), int((lo + span_s) * 100))
        use = playing[f]
        erle = 10 * np.log10(p_in[f][use].sum() / (p_out[f][use].sum() + 1e-15)) if use.sum() > 100 else np.nan
        print(f"| {lo:.0f}-{lo + span_s:.0f} | {heard / 16:.2f} | {est[k] / 16:.2f} | {diff:+.1f} | {erle:.1f} |")
    late = t > 10.0
    off = np.abs(np.interp(t[late] * SR16, fed, est) - d[late])
    jumps = int(np.sum(np.abs(d - (intercept + slope * t)) > 3.0))
    print(f"\nthe echo's drift: {slope / SR16 * 1e6:+.1f} ppm heard by the microphone ({-r['ppm']:+g} made by the "
          f"relay), {r['drift_ppm']:+.1f} ppm by the aligner; after 10 s the aligner is a median {np.median(off):.2f} "
          f"samples from the echo ({np.percentile(off, 99):.2f} at the 99th percentile); the echo found in "
          f"{len(lags)} 2-second windows, {jumps} more than 3 samples off the line (a jump, or a false peak); "
          f"xruns {r['xruns']}")


def pct(a: int, n: int) -> str:
    return f"{100.0 * a / n:.1f}% ({a}/{n})" if n else "-"


def report(results: dict, minutes: float) -> None:
    def heard(rows):
        return sum(r["heard"] for r in rows), len(rows)

    print(f"\n## Marks over the count, {minutes:g}-minute sessions (echo gain {GAIN}, {DELAY_MS:g} ms)\n")
    print("| condition | marks heard | person 6 dB below the echo | level | 6 dB above | 10 dB below "
          "| commands no one said | marks withdrawn |\n|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        by = collections.defaultdict(list)
        for s in r["said"]:
            by[s["level"]].append(s)
        cells = [pct(*heard(by[lv])) if by[lv] else "-" for lv in (-6.0, 0.0, 6.0, LOUD_LEVEL)]
        print(f"| {name} | {pct(*heard(r['said']))} | {' | '.join(cells)} | {len(r['extra'])} | {len(r['withdrawn'])} |")

    against = [(n, CONDITIONS[n].reference) for n, r in results.items() if CONDITIONS[n].gain and CONDITIONS[n].reference in results]
    if against:
        print("\n| condition | marks heard | the same marks without the echo | the echo's cost (points) |\n|---|---|---|---|")
        for name, ref in against:
            (a, n), (b, m) = heard(results[name]["said"]), heard(results[ref]["said"])
            print(f"| {name} | {pct(a, n)} | {ref}: {pct(b, m)} | {100.0 * (b / m - a / n):.1f} |")

    print("\n| condition | " + " | ".join(QUICK_VOICES) + " |\n|---|" + "---|" * len(QUICK_VOICES))
    for name, r in results.items():
        by = collections.defaultdict(list)
        for s in r["said"]:
            by[engine_of(s["voice"])].append(s)
        print(f"| {name} | " + " | ".join(pct(*heard(by[e])) for e in QUICK_VOICES) + " |")

    print("\n| condition | heard per 10 minutes |\n|---|---|")
    for name, r in results.items():
        cells = []
        for lo in range(0, int(minutes * 60), 600):
            cells.append(pct(*heard([s for s in r["said"] if lo <= s["start"] < lo + 600])))
        print(f"| {name} | {' · '.join(cells)} |")

    print("\n| condition | echo return loss enhancement per 5 minutes (dB) |\n|---|---|")
    for name, r in results.items():
        if r["erle"]:
            print(f"| {name} | {' · '.join(f'{e:.1f}' for _, e in r['erle'])} |")

    print("\n| condition | audio | wall | CPU | real-time factor (recognizer, canceller and coach) |\n|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['audio_s'] / 60:.1f} min | {r['wall_s']:.0f} s | {r['cpu_s']:.0f} s "
              f"| {r['cpu_s'] / r['audio_s']:.3f} |")
    print("\n| condition | why marks were missed (the verdict on the words nearest each) |\n|---|---|")
    for name, r in results.items():
        why = collections.Counter()
        for s in r["said"]:
            if not s["heard"]:
                verdicts = [v for _, v in s.get("why", [])]
                why["no words" if not verdicts else "heard as another command" if "command" in verdicts
                    else verdicts[0]] += 1
        print(f"| {name} | {', '.join(f'{k} {n}' for k, n in why.most_common()) or '-'} |")
    for name, r in results.items():
        missed = [(s["intent"], s["voice"], s["level"], round(s["start"], 1)) for s in r["said"] if not s["heard"]]
        if missed or r["extra"]:
            print(f"\n{name}: missed {missed[:12]}{' ...' if len(missed) > 12 else ''}; no one said {r['extra'][:8]}"
                  + (f"; the person said \"{RESUME}\" at {r['answered']}" if r.get("answered") else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=30.0, help="length of each session (default 30)")
    ap.add_argument("--conditions", default=",".join(CONDITIONS),
                    help=f"comma-separated, from: {', '.join(CONDITIONS)}")
    ap.add_argument("--jobs", type=int, default=2, help="sessions at a time (default 2)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a recognizer setting (voicecoach.speech.settings), e.g. echo_judge=linear")
    ap.add_argument("--save", metavar="FILE", help="write every mark and command as JSON")
    ap.add_argument("--dry-person", action="store_true",
                    help="in the rooms, the person's voice reaches the microphone straight, not through the room")
    ap.add_argument("--coach-only", action="append", default=[], metavar="KEY=VALUE,...",
                    help="no one answers: the recognizer's cost through each condition with these settings "
                         "(once per variant, replayed in turn), e.g. --coach-only echo_judge=aec3 "
                         "--coach-only echo_judge=linear")
    ap.add_argument("--live-two-sinks", action="store_true",
                    help="the live path through two null sinks and a drifting room instead (real time)")
    ap.add_argument("--ppm", default="100,-100", help="with --live-two-sinks: the speaker clocks, comma-separated")
    ap.add_argument("--speaker-rate", type=int, default=44100, help="with --live-two-sinks (default 44100)")
    ap.add_argument("--mic-rate", type=int, default=48000, help="with --live-two-sinks (default 48000)")
    args = ap.parse_args()
    if args.live_two_sinks:
        import subprocess

        proc = subprocess.run([str(ROOT / "scripts" / "pulse-null-sink")], capture_output=True, text=True)
        if proc.returncode != 0:
            ap.exit(1, proc.stderr)
        for ppm in (float(p) for p in args.ppm.split(",") if p):
            report_live(run_live(args.speaker_rate, args.mic_rate, ppm, args.minutes))
        return 0
    names = [c for c in args.conditions.split(",") if c]
    unknown = [c for c in names if c not in CONDITIONS]
    if unknown:
        ap.error(f"unknown condition(s) {', '.join(unknown)}; known: {', '.join(CONDITIONS)}")
    settings = parse_settings(args.set)
    if settings:
        print(f"settings: {settings}")
    t0 = time.monotonic()
    if args.coach_only:
        variants = [{**settings, **parse_settings([x for x in v.split(",") if x])} for v in args.coach_only]
        with tempfile.TemporaryDirectory() as tmp, mp.get_context("spawn").Pool(args.jobs) as pool:
            done = pool.map(run_coach_only, [(n, args.minutes, tmp, variants) for n in names], chunksize=1)
        report_coach_only(done, args.minutes)
        print(f"\n{len(names)} sessions in {(time.monotonic() - t0) / 60:.1f} min wall")
        return 0
    with tempfile.TemporaryDirectory() as tmp, mp.get_context("spawn").Pool(args.jobs) as pool:
        done = pool.map(run_condition, [(n, args.minutes, tmp, settings, args.dry_person) for n in names], chunksize=1)
    results = {r["name"]: r for r in done}
    report(results, args.minutes)
    print(f"\n{len(names)} sessions in {(time.monotonic() - t0) / 60:.1f} min wall")
    if args.save:
        Path(args.save).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
