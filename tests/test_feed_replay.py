"""The coach's own words under an output glitch the far end missed, and the replay of a feed.

Under CPU load the live path's speaker can stop for a moment without the
reference knowing (seen through the PulseAudio null sink: the echo 104 ms later
from one second to the next, no underrun reported), and until the echo aligner
follows, the canceller leaves the coach's voice for the person's: the live test
heard "doming" and "resume" from the coach's own sentences (issue 21). Here the
real runtime plays the opening of test_run_live's session (``simulate``,
cue-only, fast speech); its output, with a gap the reference does not have, is
the microphone (the null sink's monitor: an exact copy), fed in the live path's
540-sample blocks and told the coach's sentences as the runtime tells them.
What is fed is recorded with :class:`FeedRecorder` and replayed by
``voicecoach recognize --explain``, which names the rule that stopped the words.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.speech_support import speak, write_wav
from voicecoach import cli
from voicecoach.audio.wavio import read_wav, to_16k_int16
from voicecoach.speech.feedlog import FeedRecorder, calls, replay
from voicecoach.speech.grammar import load_grammar
from voicecoach.speech.recognizer import CommandRecognizer

SR = 16000
BLOCK = 540  # what PortAudio hands the live path here, resampled to 16 kHz


@functools.lru_cache(maxsize=1)
def session_opening() -> tuple[np.ndarray, tuple[dict, ...]]:
    """16 s of the live test's session as the runtime plays it (16 kHz) and its spoken cues."""
    d = Path(tempfile.mkdtemp(prefix="vc_played_"))
    try:
        (d / "live.toml").write_text("[program]\nsets = 2\nreps = 1\nwarmup = false\nrest_s = 20.0\n"
                                     "[speech]\nrate = 300\n")
        write_wav(d / "mic.wav", np.zeros(16 * SR, np.float32))
        # Its own process and cache: speech another test rendered in this one (another
        # voice or rate) would make another session of it.
        code = subprocess.run(
            [sys.executable, "-m", "voicecoach", "simulate", "--mic", str(d / "mic.wav"), "--out", str(d / "out.wav"),
             "--events", str(d / "ev.jsonl"), "--config", str(d / "live.toml"), "--db", str(d / "h.db"), "--cue-only"],
            env=dict(os.environ, VOICECOACH_CACHE=str(d / "cache"), VOICECOACH_DATA=str(d / "data")),
            capture_output=True).returncode
        assert code == 0
        x, rate = read_wav(d / "out.wav")
        events = [json.loads(line) for line in (d / "ev.jsonl").read_text().splitlines()]
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return to_16k_int16(x, rate).astype(np.float32) / 32768.0, tuple(
        e for e in events if e["type"] == "cue" and e["kind"] == "speech")


@pytest.fixture
def session_output(isolated_dirs) -> tuple[np.ndarray, list[dict]]:
    played, cues = session_opening()
    return played, list(cues)


def coach_sentences(cues) -> tuple[tuple[str, float, float], ...]:
    """(text, start, end) of each cue, its end estimated from its length."""
    return tuple((c["text"], c["t"], c["t"] + 0.07 * len(c["text"])) for c in cues)


def glitched(played: np.ndarray, at_s: float, ms: float) -> np.ndarray:
    """What the speaker really played: ``played`` with ``ms`` of silence from ``at_s`` on."""
    k, n = int(at_s * SR), int(ms * SR / 1000)
    return np.concatenate([played[:k], np.zeros(n, np.float32), played[k:]])[:len(played)]


def feed(rec, mic: np.ndarray, reference: np.ndarray, cues: list[dict], lookahead_s: float = 0.35) -> list:
    """As the live runtime does: each cue told as it starts (within the lookahead), then the blocks."""
    pcm = (np.clip(mic, -1, 1) * 32767).astype(np.int16)
    todo, out = list(cues), []
    for i in range(0, len(pcm), BLOCK):
        while todo and todo[0]["t"] <= i / SR + lookahead_s:
            rec.coach_says(*coach_sentences([todo.pop(0)])[0])
        out += rec.feed(pcm[i:i + BLOCK], i / SR, reference[i:i + BLOCK])
    return out + rec.finish()


@pytest.mark.model
@pytest.mark.parametrize("at_s", [4.8, 5.8])
def test_an_output_glitch_the_reference_missed_makes_no_command_of_the_coachs_words(
        vosk_model, model_path, session_output, tmp_path, monkeypatch, capsys, at_s):
    played, cues = session_output
    rec = CommandRecognizer(vosk_model, load_grammar(model=vosk_model), provisional=True)
    recorder = FeedRecorder(rec, tmp_path / "feed")
    heard = feed(recorder, glitched(played, at_s, 150.0), played, cues)
    recorder.close()
    assert [h for h in heard if getattr(h, "final", False)] == []
    # The replay gives the recognizer the same calls, and says which rule stopped the coach's words.
    monkeypatch.setenv("VOICECOACH_MODEL", str(model_path))
    assert cli.main(["recognize", "--explain", "--json", str(tmp_path / "feed")]) == 0
    verdicts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert "echo_path_moved" in {v["verdict"] for v in verdicts}, verdicts
    assert "command" not in {v["verdict"] for v in verdicts}, verdicts


@pytest.mark.model
def test_a_replayed_feed_gives_the_recognizer_what_the_recorded_one_had(vosk_model, session_output, tmp_path):
    """Every call comes back in order with its samples, far end and times; the same
    recognizer given them again hears the same (here: a command said in the clear,
    after the coach's output is cut at 13 s)."""
    played, cues = session_output
    played = np.where(np.arange(len(played)) < 13 * SR, played, 0.0).astype(np.float32)
    cues = [c for c in cues if c["t"] < 12.5]
    person = np.zeros_like(played)
    said = speak("stop workout", voice="en-us")
    person[int(13.8 * SR):int(13.8 * SR) + len(said)] = said[:len(played) - int(13.8 * SR)]
    grammar = load_grammar(model=vosk_model)
    recorder = FeedRecorder(CommandRecognizer(vosk_model, grammar, provisional=True), tmp_path / "feed")
    live = feed(recorder, played + person, played, cues)
    recorder.close()
    again = replay(tmp_path / "feed", CommandRecognizer(vosk_model, grammar, provisional=True))
    assert again == live
    assert [h.intent for h in live if getattr(h, "final", False)] == ["stop_workout"]
    fed = [c for c in calls(tmp_path / "feed") if c["call"] == "feed"]
    assert np.array_equal(np.concatenate([c["samples"] for c in fed]),
                          (np.clip(played + person, -1, 1) * 32767).astype(np.int16))
    assert [c["start"] for c in fed] == [i / SR for i in range(0, len(played), BLOCK)]
    assert [c["text"] for c in calls(tmp_path / "feed") if c["call"] == "coach_says"] == [c["text"] for c in cues]


@pytest.mark.model
@pytest.mark.parametrize("first_line", ["not json", '{"call": "feed"}', '{"call": "coach_says", "text": "x"}'])
def test_a_directory_that_holds_no_recorded_feed_is_one_line_and_a_failure(tmp_path, isolated_dirs, model_path,
                                                                          first_line):
    from test_enroll import voicecoach

    (tmp_path / "calls.jsonl").write_text(first_line + "\n")
    (tmp_path / "mic.i16").write_bytes(b"")
    r = voicecoach("recognize", str(tmp_path))
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        f"voicecoach: {tmp_path}: cannot replay the recorded feed: {tmp_path / 'calls.jsonl'}: line 1 is not a recorded call"]
