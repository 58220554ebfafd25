"""Bad microphone files through the real command line (issue 8).

``voicecoach simulate`` (and ``voicecoach recognize``, once it exists) is run
as the user runs it, in a subprocess, on WAV files that are broken in the ways
files get broken: cut short, another encoding, not a WAV at all, empty,
missing, a directory, a header claiming an absurd sample rate. Each must end
in ONE line on stderr and a non-zero exit, never a traceback, and must leave
what earlier runs wrote (the events file, the output WAV, the history) exactly
as it was. Files that are unusual but valid (8-bit, 96 kHz, 6 channels) must
simply work, and be heard correctly.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from speech_support import build_track, speak
from voicecoach.commands import __path__ as _commands_path

ROOT = Path(__file__).resolve().parent.parent
SHORT = "[program]\nwarmup = false\nsets = 1\nreps = 1\nrest_s = 10.0\n"
HAS_RECOGNIZE = (Path(_commands_path[0]) / "recognize.py").exists()


def pcm_wav(path: Path, x: np.ndarray, rate: int, width: int = 2, channels: int = 1) -> Path:
    """Write float ``x`` (frames, or frames x channels) as ``width``-byte PCM (8-bit is unsigned)."""
    x = np.clip(np.asarray(x, dtype=np.float64), -1, 1)
    if x.ndim == 1 and channels > 1:
        x = np.repeat(x[:, None], channels, axis=1)
    flat = x.reshape(-1)
    if width == 1:
        body = np.round(flat * 127 + 128).astype(np.uint8).tobytes()
    elif width == 2:
        body = np.round(flat * 32767).astype("<i2").tobytes()
    else:  # 24-bit: the low three bytes of each int32
        v = np.round(flat * 8388607).astype("<i4")
        body = v.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(body)
    return path


def raw_wav(path: Path, *, tag: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16,
            body: bytes = b"\0" * 4000) -> Path:
    """A WAV with whatever header fields we like (``wave`` refuses the odd ones)."""
    align = channels * max(bits // 8, 1)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    return path


def run_cli(*args: str, timeout: float = 120) -> tuple[int, str, str, int]:
    """``python -m voicecoach ARGS``: (exit code, stdout, stderr, the child's own peak RSS in KB).

    The child is reaped with wait4 so that its peak is its own, not the maximum
    over every child this test process ever had."""
    import signal
    import threading

    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        err = proc.stderr.read()  # our outputs are small: reading one pipe then the other cannot block
        out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        proc.stdout.close()
        proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, out, err, usage.ru_maxrss


def one_line_error(code: int, err: str, name: str) -> None:
    assert code != 0, err
    assert "Traceback" not in err, err
    assert err.count("\n") == 1 and err.startswith("voicecoach: "), err
    assert name in err, err  # names the file the user has to fix


@pytest.fixture
def earlier_run(tmp_path: Path):
    """A good cue-only run whose events file, output and history must survive the bad ones."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    mic = pcm_wav(tmp_path / "good.wav", np.zeros(16000 * 3), 16000)
    files = {"events": tmp_path / "ev.jsonl", "out": tmp_path / "out.wav", "db": tmp_path / "h.db"}
    code, _, err, _ = run_cli("simulate", "--cue-only", "--mic", str(mic), "--out", str(files["out"]),
                              "--events", str(files["events"]), "--db", str(files["db"]), "--config", str(config))
    assert code == 0, err
    before = {k: p.read_bytes() for k, p in files.items()}
    assert before["events"] and before["db"]
    before["names"] = sorted(p.name for p in tmp_path.iterdir())
    return config, files, before


def _bad_files(tmp: Path) -> dict[str, Path]:
    good = (tmp / "_src.wav")
    pcm_wav(good, np.zeros(16000), 16000)
    data = good.read_bytes()
    (tmp / "dir.wav").mkdir()
    (tmp / "truncated-header.wav").write_bytes(data[:30])
    (tmp / "zero-bytes.wav").write_bytes(b"")
    (tmp / "mp3.wav").write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 8)
    (tmp / "text.wav").write_text("this is not audio\n")
    return {
        "truncated header": tmp / "truncated-header.wav",
        "zero bytes": tmp / "zero-bytes.wav",
        "zero frames": pcm_wav(tmp / "zero-frames.wav", np.zeros(0), 16000),
        "not a wav (mp3)": tmp / "mp3.wav",
        "not a wav (text)": tmp / "text.wav",
        "a-law (format 6)": raw_wav(tmp / "alaw.wav", tag=6, bits=8),
        "12-bit in 2 bytes, format 0x55 (mp3 in wav)": raw_wav(tmp / "fmt55.wav", tag=0x55, bits=12),
        "big-endian RIFX": tmp / "rifx.wav",
        "no data chunk": tmp / "nodata.wav",
        "missing": tmp / "missing.wav",
        "directory": tmp / "dir.wav",
        "1 Hz": raw_wav(tmp / "1hz.wav", rate=1, body=b"\0" * 40000),
        "10 MHz": raw_wav(tmp / "10mhz.wav", rate=10_000_000, body=b"\0" * 40000),
    }


def _write_odd_headers(tmp: Path) -> None:
    data = (tmp / "_src.wav").read_bytes()
    (tmp / "rifx.wav").write_bytes(b"RIFX" + data[4:])
    (tmp / "nodata.wav").write_bytes(data[:36])


def test_bad_mic_files_are_one_line_and_lose_nothing(tmp_path: Path, earlier_run) -> None:
    config, files, before = earlier_run
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = _bad_files(bad_dir)
    _write_odd_headers(bad_dir)
    for what, mic in bad.items():
        code, out, err, peak_kb = run_cli(
            "simulate", "--cue-only", "--mic", str(mic), "--out", str(files["out"]),
            "--events", str(files["events"]), "--db", str(files["db"]), "--config", str(config))
        one_line_error(code, err, mic.name)
        assert out == "", what
        # A header claiming 1 Hz must not be resampled into gigabytes (it was: 1.8 GB and rising).
        assert peak_kb < 400_000, (what, peak_kb)
        after = {k: p.read_bytes() for k, p in files.items()}
        for k in files:
            assert after[k] == before[k], (what, k)  # nothing already written was touched
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != "bad") == before["names"], what


def test_unwritable_outputs_are_one_line_and_lose_nothing(tmp_path: Path, earlier_run) -> None:
    """--out or --events that cannot be written (a directory, a missing folder): one line,
    and neither the earlier events file nor the history gains or loses anything."""
    config, files, before = earlier_run
    mic = pcm_wav(tmp_path / "mic.wav", np.zeros(16000 * 3), 16000)
    (tmp_path / "a-dir").mkdir()
    bad = [("--out", tmp_path / "a-dir"), ("--out", tmp_path / "missing" / "out.wav"),
           ("--events", tmp_path / "a-dir"), ("--events", tmp_path / "missing" / "ev.jsonl")]
    for option, path in bad:
        paths = {"--out": str(files["out"]), "--events": str(files["events"]), option: str(path)}
        code, out, err, _ = run_cli("simulate", "--cue-only", "--mic", str(mic), "--db", str(files["db"]),
                                    "--config", str(config), *[x for kv in paths.items() for x in kv])
        one_line_error(code, err, path.name)
        for k in files:
            if k != option.lstrip("-"):
                assert files[k].read_bytes() == before[k], (option, path, k)


@pytest.mark.skipif(not HAS_RECOGNIZE, reason="`voicecoach recognize` has not landed yet (issue 4)")
def test_bad_files_under_recognize_are_one_line(tmp_path: Path, model_path) -> None:
    bad = _bad_files(tmp_path)
    _write_odd_headers(tmp_path)
    # An empty recording holds no commands: that is an answer (nothing printed), not an error.
    empty = bad.pop("zero frames")
    good = pcm_wav(tmp_path / "quiet.wav", np.zeros(16000), 16000)
    # One run over them all (one model load): each bad file is its own line, and the
    # good files after them are still read.
    paths = [str(p) for p in bad.values()] + [str(empty), str(good)]
    code, out, err, peak_kb = run_cli("recognize", *paths, "--json", timeout=90)
    assert code == 1 and out == "" and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == len(bad), err
    for line, path in zip(lines, bad.values()):
        assert line.startswith("voicecoach: ") and path.name in line, (line, path)
    assert peak_kb < 800_000, peak_kb  # the 1 Hz header is refused, not resampled into gigabytes


def quiet_gap(out_wav: Path, min_s: float = 2.0) -> float:
    """Start of the first stretch of ``min_s`` seconds in which the coach says nothing."""
    from voicecoach.audio.wavio import read_wav

    x, rate = read_wav(out_wav)
    step = rate // 10
    loud = np.abs(x[: len(x) // step * step]).reshape(-1, step).max(axis=1) > 1e-3
    need = int(min_s * 10)
    for i in range(len(loud) - need):
        if not loud[i:i + need].any():
            return i / 10
    raise AssertionError(f"the coach never paused for {min_s} s")


@pytest.mark.model
def test_eight_bit_96k_six_channel_mic_is_heard(tmp_path: Path, model_path) -> None:
    """All three odd-but-valid formats at once, with real speech: the run works, the
    output is on the mic's timeline, and "stop workout" is heard where it was said."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    seconds = 45.0
    # Where the coach is quiet (a dry cue-only run on silence): this test is about the
    # file format, not about hearing a command over the coach's own voice.
    dry = pcm_wav(tmp_path / "silence.wav", np.zeros(int(16000 * seconds)), 16000)
    code, _, err, _ = run_cli("simulate", "--cue-only", "--mic", str(dry), "--out", str(tmp_path / "dry.wav"),
                              "--events", str(tmp_path / "dry.jsonl"), "--db", str(tmp_path / "dry.db"),
                              "--config", str(config))
    assert code == 0, err
    at = quiet_gap(tmp_path / "dry.wav") + 0.2
    rate = 96000
    words = speak("stop workout", voice="en-us", speed=150, samplerate=rate)
    track = build_track([(at, 0.8 * words / np.max(np.abs(words)))], seconds, samplerate=rate)
    frames = np.zeros((len(track), 6))
    frames[:, 0] = frames[:, 1] = track  # front left and right speak; the rest is quiet
    mic = pcm_wav(tmp_path / "odd.wav", frames * 3, rate, width=1, channels=6)  # x3: mixing 6 -> 1 averages
    out, ev = tmp_path / "out.wav", tmp_path / "ev.jsonl"
    code, stdout, err, _ = run_cli("simulate", "--mic", str(mic), "--out", str(out), "--events", str(ev),
                                   "--db", str(tmp_path / "h.db"), "--config", str(config))
    assert code == 0, err
    with wave.open(str(out)) as w:
        assert abs(w.getnframes() / w.getframerate() - seconds) < 0.01
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    [command] = [e for e in events if e["type"] == "command"]
    assert command["intent"] == "stop_workout"
    assert abs(command["start"] - at) < 0.5
    assert events[-1]["type"] == "session" and events[-1]["status"] == "stopped"


@pytest.mark.parametrize("width,rate,channels", [(1, 16000, 1), (2, 96000, 1), (2, 16000, 6), (3, 44100, 2)])
def test_valid_odd_formats_run(tmp_path: Path, width: int, rate: int, channels: int) -> None:
    t = np.arange(int(4.0 * rate)) / rate
    mic = pcm_wav(tmp_path / "mic.wav", 0.1 * np.sin(2 * np.pi * 440 * t), rate, width=width, channels=channels)
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    out, ev = tmp_path / "out.wav", tmp_path / "ev.jsonl"
    code, _, err, _ = run_cli("simulate", "--cue-only", "--mic", str(mic), "--out", str(out), "--events", str(ev),
                              "--db", str(tmp_path / "h.db"), "--config", str(config))
    assert code == 0, err
    with wave.open(str(out)) as w:
        assert abs(w.getnframes() / w.getframerate() - 4.0) < 0.01
    events = [json.loads(line) for line in ev.read_text().splitlines()]
    assert any(e["type"] == "cue" for e in events) and events[-1]["type"] == "session"
