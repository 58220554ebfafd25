"""``voicecoach enroll INTENT`` live: real PortAudio through a PulseAudio null sink.

As in tests/test_run_live.py, the coach's speaker and the person both play
into a private null sink, the "room", whose monitor is the coach's
microphone. Each time the coach says it is listening, the test plays a take
(real espeak-ng speech, a different rendering each time) into the room: first
one far too quiet, which must be asked for again, then three good ones, which
must be stored. A recording of the room shows the coach's prompts were spoken.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest

from enroll_support import enroll_live, room_env
from null_sinks import load, unload
from speech_support import speak, write_wav
from voicecoach.enroll import file as enrollment_file
from voicecoach.audio.wavio import read_wav


@pytest.mark.audio
@pytest.mark.model
def test_live_enrollment_asks_records_retries_a_bad_take_and_stores(tmp_path, pulse, model_path, isolated_dirs):
    takes = []
    for i, (speed, pitch, gain) in enumerate(((150, 50, 0.012), (140, 45, 1.0), (165, 55, 1.0), (155, 62, 1.0))):
        takes.append(tmp_path / f"take{i}.wav")
        write_wav(takes[-1], speak("back arched", voice="en-us+f2", speed=speed, pitch=pitch) * gain)
    heard = tmp_path / "room.wav"
    sink = f"vc22_{os.getpid()}_room"
    env = dict(os.environ, **room_env(sink))
    module = load(sink)
    rec = subprocess.Popen(["parecord", "--channels=1", "--rate=16000", "--file-format=wav", str(heard)], env=env)
    try:
        run = enroll_live(["back_arched"], lambda n, line: takes[n], env, reaction_s=0.3, timeout_s=180)
    finally:
        rec.terminate()
        rec.wait(timeout=10)
        unload(module)
    lines = run.lines
    assert run.returncode == 0, (lines, run.stderr)
    assert [line for line in lines if line.startswith("listening:")] == [
        'listening: say "back arched" (take 1 of 3)', 'listening: say "back arched" (take 1 of 3)',
        'listening: say "back arched" (take 2 of 3)', 'listening: say "back arched" (take 3 of 3)']
    assert any(line.startswith("take 1 of 'back arched': too quiet") for line in lines), lines
    assert lines.count('coach: "Say back arched."') == 4
    stored = enrollment_file.load()
    assert list(stored.takes) == ["back_arched"] and len(stored.takes["back_arched"]) == 3
    # Each stored take is one of the good ones: about its length, and none is the coach's prompt.
    for take, wav in zip(stored.takes["back_arched"], takes[1:]):
        x, rate = read_wav(wav)
        assert abs(len(take.pcm) / 16000 - (len(x) / rate + 0.6)) < 0.35, (len(take.pcm), len(x) / rate)
    # The room heard the prompts as well as the takes: more sound than the takes alone.
    room_audio, rate = read_wav(heard)
    frames = room_audio[: len(room_audio) // 160 * 160].reshape(-1, 160)
    sound_s = float(np.sum(np.sqrt(np.mean(frames**2, axis=1)) > 0.01)) * 160 / rate
    takes_s = sum(len(read_wav(t)[0]) / read_wav(t)[1] for t in takes[1:])
    assert sound_s > takes_s + 4 * 0.5, (sound_s, takes_s)
