"""``voicecoach doctor``: is this machine ready to coach? One line per check, with a fix.

Each check returns a :class:`Check`: ``ok``, ``warn`` (works, but look at it),
``fail`` (the coach cannot work until this is fixed) or ``skip`` (not
applicable here). :func:`run_checks` runs them in order; a check that needs
something an earlier one found missing is skipped rather than failed twice.

The checks: the config file loads; the Vosk model is present and loads;
espeak-ng renders speech; the output and the input device open at the rates
the coach will use; a short loopback (a tone played, the microphone listening)
measures what the microphone hears of the speaker and of the room; there is
disk space for the history; the systemd service's state.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

STATUSES = ("ok", "warn", "fail", "skip")

MIN_FREE_BYTES = 50 * 1024 * 1024
"""Free space wanted where the history lives (a session takes a few kilobytes;
this leaves room for years of them plus the SQLite journal)."""


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    """One of :data:`STATUSES`."""
    detail: str
    """What was found, in one line."""
    fix: str = ""
    """What to do about it (empty when there is nothing to do)."""

    def line(self, width: int = 9) -> str:
        tag = self.status.upper() if self.status in ("fail", "warn") else self.status
        text = f"{tag:<5} {self.name:<{width}} {self.detail}"
        return text + (f"; fix: {self.fix}" if self.fix else "")


# --- config -------------------------------------------------------------------------


def check_config(path: str | None):
    """(Check, config): the config file loads (the defaults when there is none)."""
    from voicecoach import config, paths
    from voicecoach.errors import UserError

    file = Path(path) if path else paths.config_file()
    if not file.exists():
        if path:
            return Check("config", "fail", f"{file} does not exist", "give an existing file to --config"), config.defaults()
        return Check("config", "ok", f"no file at {file}; using the defaults"), config.defaults()
    try:
        cfg = config.load(file)
    except UserError as err:
        return Check("config", "fail", str(err), f"edit {file} (every key is optional)"), config.defaults()
    return Check("config", "ok", f"{file} loads"), cfg


# --- model -------------------------------------------------------------------------


def check_model():
    """(Check, vosk.Model or None)."""
    from voicecoach import model as model_mod
    from voicecoach.errors import UserError

    try:
        path = model_mod.find_model()
    except UserError as err:
        return Check("model", "fail", str(err), "unset $VOICECOACH_MODEL or point it at a model"), None
    if path is None:
        return Check("model", "fail", "no Vosk model installed",
                     "voicecoach model fetch (needs internet) or voicecoach model install FILE"), None
    t0 = time.monotonic()
    try:
        loaded = model_mod.load_model()
    except UserError as err:
        return Check("model", "fail", str(err), "voicecoach model install FILE (a fresh copy)"), None
    size = model_mod.dir_size(path) / 1e6
    return Check("model", "ok", f"{path} ({size:.0f} MB) loads in {time.monotonic() - t0:.1f} s"), loaded


def check_grammar(model, cfg: dict) -> Check:
    from voicecoach.errors import UserError
    from voicecoach.speech.grammar import load_grammar

    if model is None:
        return Check("grammar", "skip", "no model to check the grammar's words against")
    try:
        grammar = load_grammar(cfg["speech"]["grammar"] or None, model=model)
    except UserError as err:
        return Check("grammar", "fail", str(err), "fix the grammar file or clear [speech] grammar")
    n = sum(len(i.phrases) for i in grammar.intents)
    return Check("grammar", "ok", f"{len(grammar.intents)} commands, {n} phrases, every word known to the model")


# --- speech out ----------------------------------------------------------------------


def check_espeak(cfg: dict) -> Check:
    """espeak-ng is installed and renders a phrase through the coach's TTS path."""
    import tempfile

    exe = shutil.which("espeak-ng")
    if exe is None:
        return Check("espeak", "fail", "espeak-ng is not installed", "sudo apt install espeak-ng")
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout.split()
    except (OSError, subprocess.TimeoutExpired) as err:
        return Check("espeak", "fail", f"espeak-ng does not run ({err})", "sudo apt install --reinstall espeak-ng")
    from voicecoach.audio.wavio import ESPEAK_RATE
    from voicecoach.speech.tts import ClipCache

    with tempfile.TemporaryDirectory(prefix="voicecoach-doctor-") as tmp:
        cache = ClipCache(ESPEAK_RATE, voice=cfg["speech"]["voice"], rate=cfg["speech"]["rate"], cache_dir=Path(tmp))
        try:
            t0 = time.monotonic()
            clip = cache.get("Lie flat on your back.")
            took = time.monotonic() - t0
        except Exception as err:  # UserError or an engine failure: either way no speech
            return Check("espeak", "fail", f"rendering speech failed: {err}",
                         "sudo apt install espeak-ng libespeak-ng1; check [speech] voice")
        finally:
            cache.close()
    if clip.duration < 0.3:
        return Check("espeak", "fail", f"espeak-ng rendered only {clip.duration:.2f} s of sound",
                     "check [speech] voice (espeak-ng --voices lists them)")
    name = version[version.index("text-to-speech:") + 1] if "text-to-speech:" in version else "?"
    return Check("espeak", "ok", f"espeak-ng {name} via {cache.engine}: {clip.duration:.1f} s of speech in {took * 1000:.0f} ms")


# --- devices ---------------------------------------------------------------------------


def _busy_fix(err: str) -> str:
    if "busy" in err.lower() or "unavailable" in err.lower():
        return "the device is in use (by the voicecoach service?): sudo systemctl stop voicecoach, then run doctor again"
    return "choose a device in [audio] (voicecoach devices lists them) or plug it in"


def check_output(cfg: dict):
    """(Check, io or None): the speaker opens at the configured rate and plays."""
    from voicecoach.errors import UserError
    from voicecoach.audio.streams import open_live

    try:
        io = open_live(cfg["audio"], use_input=False)
    except UserError as err:
        return Check("output", "fail", str(err), _busy_fix(str(err))), None
    from voicecoach.audio.scheduler import Scheduler

    sched = Scheduler(io.samplerate)
    try:
        io.start(sched)
        time.sleep(0.3)
    except UserError as err:
        return Check("output", "fail", str(err), _busy_fix(str(err))), None
    finally:
        io.stop()
    if io.frames_out == 0:
        return Check("output", "fail", f"{io.output.name!r} opened but played nothing in 0.3 s", _busy_fix("")), None
    return Check("output", "ok", f"{io.output.index} {io.output.name!r} plays at {io.samplerate} Hz"), io


def check_input(cfg: dict) -> Check:
    """The microphone opens (at the output's rate or its own) and delivers audio."""
    from voicecoach.audio.wavio import VOSK_RATE
    from voicecoach.errors import UserError
    from voicecoach.audio.streams import open_live

    try:
        io = open_live(cfg["audio"], use_input=True)
    except UserError as err:
        text = str(err)
        if "input" not in text:
            return Check("input", "skip", "no speaker to pair the microphone with")
        return Check("input", "fail", text + " (the coach would run cue-only)",
                     "plug in a USB microphone, or set [audio] input_device (voicecoach devices)")
    from voicecoach.audio.scheduler import Scheduler

    sched = Scheduler(io.samplerate)
    got = 0
    try:
        io.start(sched)
        end = time.monotonic() + 3.0
        while time.monotonic() < end and got < 3200:
            block = io.read_mic(timeout=0.5)
            if block is not None:
                got += len(block.samples)
    except UserError as err:
        return Check("input", "fail", str(err), _busy_fix(str(err)))
    finally:
        io.stop()
    if got == 0:
        return Check("input", "fail", f"{io.input.name!r} opened but delivered no audio in 3 s", _busy_fix(""))
    how = f"{io.in_rate} Hz" + (" resampled to 16 kHz" if io.in_rate != VOSK_RATE else "")
    return Check("input", "ok", f"{io.input.index} {io.input.name!r} records at {how}")


def _band_db(x, rate: int, freq: float, frame: int = 800):
    """Per-frame level (dBFS) of ``x`` around ``freq`` (a windowed DFT bin), and broadband level."""
    import numpy as np

    n = len(x) // frame
    if n == 0:
        return np.array([-120.0]), np.array([-120.0])
    frames = x[: n * frame].reshape(n, frame).astype(np.float64)
    frames = frames - frames.mean(axis=1, keepdims=True)
    w = np.hanning(frame)
    t = np.arange(frame) / rate
    probe = w * np.exp(-2j * np.pi * freq * t)
    amp = np.abs(frames @ probe) * 2 / w.sum()
    band = 20 * np.log10(amp + 1e-9)
    broad = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    return band, broad


def check_loopback(cfg: dict, *, freq: float = 1000.0, level: float = 0.25) -> Check:
    """Play a 1 kHz tone and listen: how loud the microphone hears the speaker and the room.

    ``fail`` when the microphone delivers digital silence (muted or dead);
    ``warn`` when the tone is not heard 10 dB above the room (speaker too quiet
    or far, or a headset); ``ok`` otherwise.
    """
    import numpy as np

    from voicecoach.audio.clips import Clip
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.audio.wavio import VOSK_RATE
    from voicecoach.errors import UserError
    from voicecoach.audio.streams import open_live

    try:
        io = open_live(cfg["audio"], use_input=True)
    except UserError:
        return Check("loopback", "skip", "needs both a speaker and a microphone")
    sched = Scheduler(io.samplerate)
    rate = io.samplerate
    n = int(0.4 * rate)
    tt = np.arange(n) / rate
    env = np.minimum(1.0, np.minimum(tt, tt[::-1]) / 0.01)
    tone = Clip((level * env * np.sin(2 * np.pi * freq * tt)).astype(np.float32), rate, "doctor tone")
    mic = []
    try:
        io.start(sched)
        t_end = time.monotonic() + 4.0
        submitted = False
        heard_s = 0.0
        while time.monotonic() < t_end and heard_s < 1.5:
            block = io.read_mic(timeout=0.5)
            if block is None:
                continue
            mic.append(block.samples)
            heard_s += len(block.samples) / VOSK_RATE
            if not submitted and heard_s >= 0.4:  # room first, then the tone
                sched.submit(tone, sched.now + int(0.1 * rate))
                submitted = True
    except UserError as err:
        return Check("loopback", "fail", str(err), _busy_fix(str(err)))
    finally:
        io.stop()
    if not mic:
        return Check("loopback", "fail", "the microphone delivered nothing", _busy_fix(""))
    x = np.concatenate(mic).astype(np.float32) / 32768.0
    if np.max(np.abs(x)) == 0.0:
        return Check("loopback", "fail", "the microphone hears digital silence (muted or dead)",
                     "unmute it (alsamixer -c CARD, capture) or try another microphone")
    band, broad = _band_db(x, VOSK_RATE, freq)
    head = max(1, int(0.35 * VOSK_RATE / 800))  # before the tone can arrive
    room = float(np.median(broad[:head]))
    room_band = float(np.median(band[:head]))
    tone_db = float(np.max(band))
    floor = -100.0  # below this a room is silent, however many dB a null device claims
    margin = tone_db - max(room_band, floor)
    noise = f"room noise {room:.0f} dBFS" if room > floor else f"room silent (below {floor:.0f} dBFS)"
    detail = f"speaker heard at {tone_db:.0f} dBFS ({margin:.0f} dB above the room), {noise}"
    if margin < 10:
        return Check("loopback", "warn", detail,
                     "turn the speaker up or move it closer to the microphone (alsamixer); fine with a headset")
    if tone_db > -3:
        return Check("loopback", "warn", detail, "the microphone clips: lower its capture gain (alsamixer)")
    return Check("loopback", "ok", detail)


# --- disk and service -----------------------------------------------------------------------


def check_disk(db: Path, need: int = MIN_FREE_BYTES) -> Check:
    """Free space and write access where the history database lives (or will)."""
    where = Path(db).expanduser().absolute()
    existing = where if where.exists() else next((p for p in where.parents if p.exists()), Path("/"))
    if existing != where and not existing.is_dir():
        return Check("disk", "fail", f"{where} cannot be created: {existing} is a file, not a directory",
                     "set [store] db (or --db) to a path in a directory")
    directory = existing if existing.is_dir() else existing.parent
    try:
        free = shutil.disk_usage(directory).free
    except OSError as err:
        return Check("disk", "fail", f"cannot read free space at {directory}: {err.strerror}", "check the mount")
    writable = os.access(where if where.exists() else directory, os.W_OK)
    detail = f"{free / 1e9:.1f} GB free for the history at {where}"
    if not writable:
        return Check("disk", "fail", f"{where} is not writable", f"chown it to the user that runs the coach ({directory})")
    if free < need:
        return Check("disk", "fail", detail, f"free at least {need / 1e6:.0f} MB on that file system")
    return Check("disk", "ok", detail)


def check_service(unit: str = "voicecoach.service") -> Check:
    """The systemd unit's state, when there is a systemd to ask."""
    systemctl = shutil.which("systemctl")
    if systemctl is None or not Path("/run/systemd/system").is_dir():
        return Check("service", "skip", "systemd is not running here (run in a terminal, or install with scripts/install-pi.sh)")

    def ask(*args: str) -> str:
        try:
            return subprocess.run([systemctl, *args, unit], capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"

    enabled, active = ask("is-enabled"), ask("is-active")
    if enabled in ("", "not-found") or "No such file" in enabled:
        return Check("service", "skip", f"{unit} is not installed", "sudo scripts/install-pi.sh")
    detail = f"{unit} is {active}, {enabled} at boot"
    if active == "failed":
        return Check("service", "fail", detail, "journalctl -u voicecoach -n 50 shows why; sudo systemctl restart voicecoach")
    if active != "active" or enabled != "enabled":
        return Check("service", "warn", detail, "sudo systemctl enable --now voicecoach")
    return Check("service", "ok", detail)


# --- all of them -------------------------------------------------------------------------------


def run_checks(config_path: str | None = None, *, audio: bool = True, db: str | None = None,
               progress=None) -> list[Check]:
    """Every check in order; ``progress(check)`` is called as each one finishes."""
    results: list[Check] = []

    def add(check: Check) -> None:
        results.append(check)
        if progress is not None:
            progress(check)

    cfg_check, cfg = check_config(config_path)
    add(cfg_check)
    model_check, model = check_model()
    add(model_check)
    add(check_grammar(model, cfg))
    add(check_espeak(cfg))
    service = check_service()
    if audio and service.status == "ok":
        # The running service holds the sound devices (ALSA hardware is exclusive).
        for name in ("output", "input", "loopback"):
            add(Check(name, "skip", "the voicecoach service is running and holds the devices",
                      "sudo systemctl stop voicecoach to test them, then start it again"))
    elif audio:
        out_check, io = check_output(cfg)
        add(out_check)
        if io is None:
            add(Check("input", "skip", "no speaker to pair the microphone with"))
            add(Check("loopback", "skip", "needs both a speaker and a microphone"))
        else:
            in_check = check_input(cfg)
            add(in_check)
            if in_check.status == "ok":
                add(check_loopback(cfg))
            else:
                add(Check("loopback", "skip", "needs both a speaker and a microphone"))
    else:
        for name in ("output", "input", "loopback"):
            add(Check(name, "skip", "--no-audio"))
    from voicecoach.history.store import resolve_path

    add(check_disk(resolve_path(db, cfg)))
    add(service)
    return results
