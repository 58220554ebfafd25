#!/usr/bin/env python3
"""Footprint on this machine: startup to the first cue, memory, idle CPU; aarch64 wheels.

    python scripts/bench_footprint.py [--idle-s 20] [--no-wheels] [--alsa-pulse-only]

Everything runs for real: `voicecoach run` and `voicecoach serve` as
subprocesses on the real model, espeak-ng and PortAudio through private
PulseAudio null sinks (the script starts the server with scripts/pulse-null-sink).

- startup to first cue: from launching `voicecoach run` to the first cue in
  its --events file (a cue is logged when the output callback has placed its
  first sample), with an empty clip cache (cold) and again with the cache the
  first run filled (warm). Targets: warm <= 2 s.
- RSS: resident memory of `voicecoach serve` idle (listening), in a session
  (after "start workout", with the recognizer and coach running), and idle
  again after "stop workout" (what the service holds between sessions),
  plus the peak (VmHWM), and where it is (/proc/PID/smaps: shared libraries,
  the malloc heap, per-thread malloc arenas, other anonymous memory; PSS).
  Target <= 200 MB (MB here are MiB, as /proc reports kB).
  `--alsa-pulse-only` loads only ALSA's PulseAudio plugin (PortAudio otherwise
  maps every plugin this machine has, ~13 MB of libraries a Pi does not have).
- idle CPU: `serve` listening, over --idle-s seconds, in silence and with a
  steady noise (a fan) playing into its microphone. Target <= 5% of one core.
- aarch64: which dependencies have wheels for manylinux aarch64 (Raspberry Pi
  OS 64-bit, glibc 2.36), by `pip download --platform ... --only-binary=:all:`.

Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.null_sinks import MicAndSpeaker  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")

SHORT = """\
[program]
sets = 1
reps = 3
warmup = false
"""


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in kB from /proc/PID/status."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def memory_parts(pid: int) -> dict[str, int]:
    """Where the resident memory of PID is, in kB, from /proc/PID/smaps.

    file: shared libraries and other mapped files (clean pages, shared with other
    processes); heap: the main malloc heap; arenas: glibc's per-thread malloc heaps
    (anonymous maps aligned to 64 MB); anon: other anonymous maps (the Vosk model's
    large blocks, big numpy arrays, Python's object arenas, stacks). Pss and
    Private_* from smaps_rollup: what the process does not share with others.
    """
    parts = {"file": 0, "heap": 0, "arenas": 0, "anon": 0}
    try:
        start, name = 0, ""
        for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
            fields = line.split()
            if "-" in fields[0] and not fields[0].endswith(":"):
                start = int(fields[0].split("-")[0], 16)
                name = fields[5] if len(fields) >= 6 else ""
            elif fields[0] == "Rss:":
                kb = int(fields[1])
                if name.startswith("/"):
                    parts["file"] += kb
                elif name == "[heap]":
                    parts["heap"] += kb
                elif not name and start % (64 << 20) == 0:
                    parts["arenas"] += kb
                else:
                    parts["anon"] += kb
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                parts[key] = int(value.split()[0])
    except OSError:
        pass
    return parts


def describe(parts: dict[str, int]) -> str:
    if not parts or not parts.get("heap"):
        return "?"
    private = parts.get("Private_Clean", 0) + parts.get("Private_Dirty", 0)
    return (f"libraries and files {mb(parts['file'])}, malloc heap {mb(parts['heap'])}, thread arenas "
            f"{mb(parts['arenas'])}, other anonymous {mb(parts['anon'])}; PSS {mb(parts.get('Pss'))}, "
            f"private {mb(private)}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def mb(kb: int | None) -> str:
    return "?" if not kb else f"{kb / 1024:.0f} MB"


def lines_of(stream, sink: list[str]):
    def pump():
        for line in stream:
            sink.append(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()


def wait_line(lines: list[str], text: str, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if any(text in line for line in lines):
            return True
        time.sleep(0.05)
    return False


def startup(env: dict, tmp: Path, label: str) -> dict:
    """Launch `voicecoach run`, time the first cue, sample RSS for a while, stop it."""
    events = tmp / f"events-{label}.jsonl"
    events.unlink(missing_ok=True)
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "run", "--config", str(tmp / "short.toml"),
                             "--events", str(events), "--db", str(tmp / f"{label}.db")],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    lines_of(proc.stderr, err)
    first = None
    peak = {}
    try:
        while time.monotonic() - t0 < 120 and proc.poll() is None:
            if events.exists():
                for line in events.read_text().splitlines():
                    if '"type":"cue"' in line:
                        first = time.monotonic() - t0
                        break
            if first is not None:
                break
            time.sleep(0.01)
        end = time.monotonic() + 8.0  # into the session: recognizer and coach running
        while first is not None and time.monotonic() < end and proc.poll() is None:
            peak = proc_status(proc.pid) or peak
            time.sleep(0.2)
        parts = memory_parts(proc.pid) if first is not None else {}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if first is None:
        print(f"  {label}: no cue within 120 s; stderr: {' | '.join(err[-5:])}")
    return {"first_cue_s": first, **peak, "parts": parts}


PARTS_CHILD = """
import time
t0 = time.monotonic()
import voicecoach.cli, voicecoach.runtime, numpy, sounddevice, vosk
t1 = time.monotonic()
import json, os, sys
kb = os.sysconf("SC_PAGE_SIZE") // 1024
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * kb
out = {"imports_s": t1 - t0, "rss_after_imports_kb": rss()}
from voicecoach.model import load_model
model = load_model()
out["model_load_s"] = time.monotonic() - t1
out["rss_model_kb"] = rss() - out["rss_after_imports_kb"]
t2 = time.monotonic()
# the session's recognizer, fed 7 s of speech and silence (as a session would)
import numpy as np
from tests.speech_support import speak
from voicecoach.speech.grammar import load_grammar
from voicecoach.speech.recognizer import CommandRecognizer
x = np.concatenate([np.zeros(16000, np.float32), speak("stop point"), np.zeros(5 * 16000, np.float32)])
r0 = rss()
rec = CommandRecognizer(model, load_grammar(None, model=model))
for i in range(0, len(x) - 1600, 1600):
    rec.feed(x[i:i + 1600], i / 16000, np.zeros(1600, np.float32))
out["rss_recognizer_kb"] = rss() - r0
# the session's speech clips, as `voicecoach run` holds them (from the warm disk cache)
from voicecoach import runtime
from voicecoach.commands import load_config
from voicecoach.speech.voice import Voice
from voicecoach.coach import program
cfg = load_config(os.environ.get("VOICECOACH_CONFIG"))
r0 = rss()
voice = Voice(int(sys.argv[1]), cfg["speech"])
phrases = program.phrases(cfg["program"])
voice.prepare(phrases)
out["rss_clips_kb"] = rss() - r0
out["clip_bytes"] = voice.memory_bytes()
out["clips"] = len(phrases)
out["not_startup_s"] = time.monotonic() - t2
print(json.dumps(out))
"""

DOWNLOADER_CHILD = """
import os
kb = os.sysconf("SC_PAGE_SIZE") // 1024
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * kb
import numpy, sounddevice
r0 = rss()
import requests, urllib.request, tqdm, srt  # what vosk/__init__.py imports besides its binding
print(rss() - r0)
"""


def breakdown(env: dict, samplerate: int = 44100) -> dict:
    """Where a warm start goes before the session (interpreter + imports, loading the model),
    and what the session's parts add to RSS: the recognizer in use, the speech clips, and
    the modules vosk imports for its downloader."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", PARTS_CHILD, str(samplerate)], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    total = time.monotonic() - t0
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["interpreter_and_imports_s"] = total - out.pop("not_startup_s") - out["model_load_s"]
    proc = subprocess.run([sys.executable, "-c", DOWNLOADER_CHILD], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    out["rss_vosk_downloader_kb"] = int(proc.stdout.split()[-1])
    out["clip_samplerate"] = samplerate
    return out


def serve_figures(env: dict, tmp: Path, sinks: MicAndSpeaker, idle_s: float) -> dict:
    from tests.speech_support import pink_noise, speak, write_wav
    import numpy as np

    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "serve", "--config", str(tmp / "short.toml"),
                             "--db", str(tmp / "serve.db"), "--sessions", "2"],
                            cwd=ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    lines_of(proc.stderr, err)
    out: dict = {}
    try:
        if not wait_line(err, "listening for", 90):
            print("  serve did not start listening: " + " | ".join(err[-5:]))
            return out
        time.sleep(2.0)  # settle
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(idle_s)
        out["idle_cpu"] = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
        out["idle_rss"] = proc_status(proc.pid).get("VmRSS")
        out["idle_parts"] = memory_parts(proc.pid)
        # a fan in the room: steady noise at about -30 dBFS, the gate learns it
        noise = tmp / "fan.wav"
        write_wav(noise, np.clip(pink_noise(idle_s + 8.0, seed=5) * 0.3, -1, 1))
        player = sinks.play(noise, wait=False)
        time.sleep(6.0)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(idle_s)
        out["noise_cpu"] = (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
        player.wait()
        # a session: "start workout", then RSS while coaching
        wake = tmp / "wake.wav"
        write_wav(wake, np.concatenate([np.zeros(3200, np.float32), speak("start workout"), np.zeros(3200, np.float32)]))
        sinks.play(wake)
        if wait_line(err, "heard 'start workout'", 15):
            t_wake = time.monotonic()
            end = t_wake + 15.0
            rss = 0
            while time.monotonic() < end and proc.poll() is None:
                rss = max(rss, proc_status(proc.pid).get("VmRSS", 0))
                time.sleep(0.2)
            out["session_rss"] = rss
            out["session_hwm"] = proc_status(proc.pid).get("VmHWM")
            out["session_parts"] = memory_parts(proc.pid)
            # "stop workout", then idle again: what the service holds between sessions
            stop = tmp / "stop.wav"
            write_wav(stop, np.concatenate([np.zeros(3200, np.float32), speak("stop workout"),
                                            np.zeros(3200, np.float32)]))
            listening = sum("listening for" in line for line in err)
            sinks.play(stop)
            end = time.monotonic() + 30.0
            while time.monotonic() < end and sum("listening for" in line for line in err) <= listening:
                time.sleep(0.2)
            if sum("listening for" in line for line in err) > listening:
                time.sleep(3.0)
                out["after_rss"] = proc_status(proc.pid).get("VmRSS")
                out["after_parts"] = memory_parts(proc.pid)
            else:
                print("  serve did not listen again after 'stop workout': " + " | ".join(err[-3:]))
        else:
            print("  the wake phrase was not heard: " + " | ".join(err[-5:]))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return out


DEPENDENCIES = [
    # (name, why)
    ("vosk", "speech recognition"), ("numpy", "audio arrays"), ("soxr", "resampling"),
    ("sounddevice", "PortAudio binding"), ("pyttsx3", "TTS driver"), ("platformdirs", "paths"),
    ("pywebrtc-audio", "echo cancellation (extra)"),
    ("cffi", "vosk dependency"), ("requests", "vosk dependency"), ("tqdm", "vosk dependency"),
    ("websockets", "vosk dependency"), ("srt", "vosk dependency"),
]
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")


def wheels() -> list[tuple[str, str, str]]:
    """(name, result, file) for each dependency: an aarch64 wheel, a pure-Python sdist, or none."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-aarch64-") as tmp:
        for name, _why in DEPENDENCIES:
            found = None
            for plat in PLATFORMS[::-1]:
                d = Path(tmp) / plat / name
                proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                                       "--platform", plat, "--python-version", "3.11", "--only-binary=:all:",
                                       "--no-deps", "-d", str(d), name], capture_output=True, text=True)
                if proc.returncode == 0:
                    found = (plat, next(d.iterdir()).name)
                    break
            if found:
                rows.append((name, "aarch64 wheel", found[1]))
                continue
            d = Path(tmp) / "sdist" / name
            proc = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
                                   "--no-binary=:all:", "--no-deps", "-d", str(d), name], capture_output=True, text=True)
            rows.append((name, "sdist only" if proc.returncode == 0 else "NOT FOUND",
                         next(d.iterdir()).name if proc.returncode == 0 else proc.stderr.strip().splitlines()[-1]))
    return rows


ALSA_CONF = Path("/usr/share/alsa/alsa.conf")
PULSE_CONFS = ("50-pulseaudio.conf", "pulse.conf")


def alsa_pulse_only(tmp: Path) -> str | None:
    """An ALSA top config that loads only the PulseAudio plugin's files (for ALSA_CONFIG_PATH).

    PortAudio opens every ALSA device at start-up; with Debian's libasound2-plugins
    that maps the a52 encoder (ffmpeg), JACK, OSS, ... libraries into the process.
    A Pi installed by scripts/install-pi.sh has none of them (and no PulseAudio).
    """
    shipped = Path("/usr/share/alsa/alsa.conf.d")
    if not ALSA_CONF.is_file() or not all((shipped / name).is_file() for name in PULSE_CONFS):
        return None
    confd = tmp / "alsa.conf.d"
    confd.mkdir()
    for name in PULSE_CONFS:
        (confd / name).symlink_to(shipped / name)
    conf = tmp / "alsa.conf"
    conf.write_text(ALSA_CONF.read_text().replace('"/etc/alsa/conf.d"', f'"{confd}"'))
    return str(conf)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--idle-s", type=float, default=20.0, help="seconds of each idle CPU measurement")
    ap.add_argument("--no-wheels", action="store_true", help="skip the aarch64 wheel check (needs PyPI)")
    ap.add_argument("--alsa-pulse-only", action="store_true",
                    help="load only ALSA's PulseAudio plugin, not this machine's other ALSA plugins "
                         "(closer to a Pi's libraries)")
    args = ap.parse_args()

    subprocess.run([str(ROOT / "scripts" / "pulse-null-sink")], check=True)
    from voicecoach.model import find_model

    model = find_model()
    if model is None:
        print("no Vosk model installed (scripts/setup --test)")
        return 1
    sinks = MicAndSpeaker("bench")
    tmp = Path(tempfile.mkdtemp(prefix="bench-footprint-"))
    (tmp / "short.toml").write_text(SHORT)
    env = {**os.environ, **sinks.env(), "VOICECOACH_MODEL": str(model), "VOICECOACH_CACHE": str(tmp / "cache"),
           "VOICECOACH_DATA": str(tmp / "data"), "VOICECOACH_CONFIG": str(tmp / "short.toml")}
    env.pop("NOTIFY_SOCKET", None)
    if args.alsa_pulse_only:
        conf = alsa_pulse_only(tmp)
        if conf is None:
            print("--alsa-pulse-only: no /usr/share/alsa/alsa.conf with the PulseAudio plugin's files here")
            sinks.close()
            return 1
        env["ALSA_CONFIG_PATH"] = conf
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; model {model}"
          + ("; ALSA: the PulseAudio plugin only" if args.alsa_pulse_only else ""))
    try:
        cold = startup(env, tmp, "cold")
        warm = startup(env, tmp, "warm")
        warm2 = startup(env, tmp, "warm2")
        parts = breakdown(env)
        serve = serve_figures(env, tmp, sinks, args.idle_s)
    finally:
        sinks.close()

    def s(x):
        return "?" if x is None else f"{x:.2f} s"

    print()
    print("startup to the first cue (voicecoach run)")
    print(f"  cold clip cache : {s(cold.get('first_cue_s'))}   (RSS 8 s into the session {mb(cold.get('VmRSS'))}, peak {mb(cold.get('VmHWM'))})")
    print(f"  warm clip cache : {s(warm.get('first_cue_s'))}, again {s(warm2.get('first_cue_s'))}   target <= 2 s"
          f"   (RSS {mb(warm.get('VmRSS'))}, peak {mb(warm.get('VmHWM'))})")
    print(f"  of which: interpreter and imports {parts['interpreter_and_imports_s']:.2f} s, model load "
          f"{parts['model_load_s']:.2f} s; the rest is planning, clips from the cache and opening the streams "
          f"(LiveIO waits for the output to flow: up to 2 s on an idle PulseAudio null sink)")
    print(f"  memory: after the imports {mb(parts['rss_after_imports_kb'])} (of which vosk's downloader "
          f"imports: requests, urllib.request with ssl, tqdm, srt {mb(parts['rss_vosk_downloader_kb'])}); "
          f"the Vosk model adds {mb(parts['rss_model_kb'])}, the session's recognizer fed 7 s of speech "
          f"{mb(parts['rss_recognizer_kb'])}, its {parts['clips']} speech clips "
          f"{mb(parts['rss_clips_kb'])} ({parts['clip_bytes'] / 2**20:.1f} MB of samples, "
          f"for a {parts['clip_samplerate']} Hz output)")
    print(f"  in the warm session: {describe(warm.get('parts', {}))}")
    print("voicecoach serve")
    if "idle_cpu" in serve:
        print(f"  idle, silent room   : CPU {serve['idle_cpu'] * 100:.1f}% of one core   target <= 5%   RSS {mb(serve.get('idle_rss'))}")
    if "noise_cpu" in serve:
        print(f"  idle, steady noise  : CPU {serve['noise_cpu'] * 100:.1f}% of one core (pink noise at about -30 dBFS RMS)")
    if "session_rss" in serve:
        print(f"  in a session        : RSS {mb(serve['session_rss'])}, peak {mb(serve.get('session_hwm'))}   target <= 200 MB")
    if "idle_parts" in serve:
        print(f"  idle memory         : {describe(serve['idle_parts'])}")
    if "session_parts" in serve:
        print(f"  session memory      : {describe(serve['session_parts'])}")
    if "after_rss" in serve:
        print(f"  idle after a session: RSS {mb(serve['after_rss'])}   target <= 200 MB   "
              f"({describe(serve['after_parts'])})")
    if not args.no_wheels:
        print("aarch64 (Raspberry Pi OS 64-bit) availability, by pip download --platform:")
        for name, result, file in wheels():
            print(f"  {name:<15} {result:<14} {file}")
    print(json.dumps({"cold": cold, "warm": warm, "warm2": warm2, "parts": parts, "serve": serve}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
