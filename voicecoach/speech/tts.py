"""Text to clips: espeak-ng speech rendered once, trimmed, resampled, cached on disk.

:class:`ClipCache` turns a phrase into a :class:`~voicecoach.audio.clips.Clip`
at the output rate whose first sample is the start of speech. Renders go to
``<cache_dir>/<sha256>.wav`` (the raw engine output, trimmed), keyed by the
text, voice, rate and engine version, so a phrase is synthesised once per
machine. The key does not fix the audio: espeak-ng's render of a phrase depends
on what the same process rendered before it (up to ~80 ms of length for one
phrase across orders; the same order gives the same samples), so cue timings of
one session can differ between a warm cache and an empty one. In memory a phrase is kept as that same int16 audio at the engine's
rate (:data:`~voicecoach.audio.wavio.ESPEAK_RATE`); at another output rate :meth:`ClipCache.get` returns a
:class:`~voicecoach.audio.clips.ResampledClip` that is converted when it is
mixed (a session's phrases took ~25 MB as float32 at 44.1 kHz, ~6 MB so).

Render every phrase a session needs with :meth:`ClipCache.prepare` before it
starts; for a phrase known only during the session (a set summary) use
:meth:`ClipCache.prepare_async` and schedule the clip when the future is done.

Why the engine is wrapped the way it is (known pyttsx3 bugs):

- the pyttsx3 engine object is not thread-safe, and re-running ``runAndWait``
  has been reported to hang (nateshmbhat/pyttsx3#194 "Loop hangs when saving to
  file", #126 "Engine never returns after speaking", austin-bowen/voicebox#8
  "deadlocks when generating speech more than once"). So one engine lives on
  one dedicated thread for the life of the process, and every render waits on
  it with a timeout;
- measured here with pyttsx3 2.99: through ``Engine.setProperty`` +
  ``save_to_file`` + ``runAndWait`` (a command queue) a rate set before one
  render was applied to the next one. So the espeak driver is driven directly
  and synchronously (set voice and rate, ``save_to_file``, ``startLoop``);
- words have been reported skipped in ``save_to_file`` output on Linux
  (nateshmbhat/pyttsx3#334), and the espeak driver writes an empty file when
  the synth callback never sees the end-of-message event. So an empty or
  missing output, an exception or a timeout switches this cache to the
  ``espeak-ng -w`` command line (same library, same voice data) for good;
- the espeak driver prints "Audio saved to ..." on stdout for every file; that
  print (made on espeak's own synthesis thread) is swallowed while rendering.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import hashlib
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from voicecoach import paths
from voicecoach.audio.clips import Clip, ResampledClip
from voicecoach.errors import UserError

RENDER_VERSION = 1
"""Bump when trimming or rendering changes, so stale cache entries are ignored."""

RENDER_TIMEOUT_S = 15.0
"""A pyttsx3 render slower than this is taken as the known hang (a phrase takes ~10 ms)."""

_MISSING = (
    "espeak-ng is not installed: install the Debian package espeak-ng (sudo apt install espeak-ng)"
)


def espeak_version() -> str:
    """The espeak-ng library version (via pyttsx3's binding), or the CLI's; UserError if neither."""
    try:
        from pyttsx3.drivers import _espeak

        return _espeak.Info(None).decode("ascii", "replace")
    except Exception:
        pass
    exe = shutil.which("espeak-ng")
    if exe:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10).stdout
            return out.split(":")[1].split()[0] if ":" in out else out.strip()
        except (OSError, subprocess.SubprocessError, IndexError):
            pass
    raise UserError(_MISSING)


class _MuteForeign:
    """A stdout that drops writes from threads Python did not start (espeak's synth thread)."""

    def __init__(self, inner):
        self._inner = inner

    def write(self, s):
        if isinstance(threading.current_thread(), threading._DummyThread):
            return len(s)
        return self._inner.write(s)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def trim(samples: np.ndarray, samplerate: int) -> np.ndarray:
    """Cut leading and trailing silence; the result starts at the first audible sample.

    "Audible" is above -50 dB re the peak (and above 2 LSB of 16-bit), which
    keeps soft onsets like /s/ and drops the engine's silent lead-in. 10 ms are
    kept after the last audible sample, with a 5 ms fade so the end never clicks.
    """
    x = np.asarray(samples, dtype=np.float32)
    if not len(x):
        return x
    level = np.abs(x)
    peak = float(level.max())
    thr = max(peak * 10 ** (-50 / 20), 2 / 32768)
    loud = np.flatnonzero(level > thr)
    if not len(loud):
        return x[:0].copy()
    first, last = int(loud[0]), int(loud[-1])
    end = min(len(x), last + 1 + int(0.010 * samplerate))
    out = x[first:end].copy()
    fade = min(int(0.005 * samplerate), len(out) // 2)
    if fade > 1:
        out[-fade:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(fade) + 1) / fade)
    return out


# espeak-ng is a process-wide singleton behind pyttsx3 (its driver initialises the
# library once per process), so every ClipCache shares one engine on one thread,
# and each render sets its own voice and rate.
class _DaemonWorker:
    """One daemon thread running submitted calls in order.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so a
    render stuck inside pyttsx3 (the hang this module guards against) would
    keep the process from exiting."""

    def __init__(self, name: str):
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn, *args) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._q.put((fut, fn, args))
        return fut

    def _run(self) -> None:
        while True:
            fut, fn, args = self._q.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn(*args))
            except BaseException as err:
                fut.set_exception(err)


_TTS_THREAD = _DaemonWorker("voicecoach-tts")
_ENGINE: list = []
_BROKEN: list[str] = []
"""Why pyttsx3 was given up on in this process (then every cache renders with the CLI)."""


@atexit.register
def _release_engine() -> None:
    # Drop the engine while modules are intact: pyttsx3's DriverProxy.__del__ needs
    # contextlib, and at interpreter teardown it prints "Exception ignored ... suppress".
    _ENGINE.clear()


def _espeak_driver(engine):
    """pyttsx3's espeak driver behind ``engine``: pyttsx3 has no public call for it
    (its private ``proxy._driver``), and the driver must be driven directly (see below)."""
    return engine.proxy._driver


def _espeak_default_voice(driver_class) -> str:
    """The voice espeak starts with: pyttsx3 keeps it only in a private class attribute."""
    return driver_class._defaultVoice


def _render_pyttsx3(text: str, voice: str, rate: int) -> tuple[np.ndarray, int] | None:
    """Render on the TTS thread with the shared pyttsx3 engine; None if it wrote no audio."""
    from voicecoach.audio.wavio import read_wav

    if not _ENGINE:
        try:
            import pyttsx3

            _ENGINE.append(pyttsx3.init("espeak"))
        except (ImportError, OSError, RuntimeError) as err:
            if not shutil.which("espeak-ng"):
                raise UserError(_MISSING) from None
            raise RuntimeError(f"pyttsx3 could not start espeak: {err}") from None
    engine = _ENGINE[0]
    from pyttsx3.drivers.espeak import EspeakDriver

    # Engine.setProperty/save_to_file/runAndWait go through pyttsx3's command queue, and
    # measured here (pyttsx3 2.99) a rate set before one runAndWait was applied to the
    # next render instead, and runAndWait can return before espeak finished. So the
    # espeak driver is driven directly and synchronously on this thread: set voice and
    # rate (voice first: espeak resets the rate with it), save_to_file, startLoop.
    try:
        EspeakDriver.setProperty("voice", voice or _espeak_default_voice(EspeakDriver))
    except ValueError:
        raise UserError(f"unknown espeak-ng voice {voice!r}; list them with: espeak-ng --voices") from None
    EspeakDriver.setProperty("rate", rate)
    with tempfile.TemporaryDirectory(prefix="voicecoach-tts-") as tmp:
        out = Path(tmp) / "say.wav"
        saved = sys.stdout
        sys.stdout = _MuteForeign(saved)
        driver = _espeak_driver(engine)
        try:
            driver.save_to_file(text, str(out))
            driver.startLoop()  # returns when espeak reports the end of the message
        finally:
            if isinstance(sys.stdout, _MuteForeign):
                sys.stdout = saved
        if not out.exists() or out.stat().st_size <= 44:
            return None
        return read_wav(out)


class ClipCache:
    """Text -> :class:`Clip` at ``samplerate`` via pyttsx3 (espeak-ng), cached on disk.

    Parameters
    ----------
    samplerate:
        Rate of the clips returned (the output stream's rate).
    voice:
        espeak-ng voice name (``espeak-ng --voices``); ``""`` is the default voice.
    rate:
        Speaking rate in words per minute.
    cache_dir:
        Where rendered phrases are kept; default ``voicecoach.paths.cache_dir() / "clips"``.

    Attributes
    ----------
    renders:
        Number of real syntheses done by this object (disk and memory hits do not count).
    engine:
        ``"pyttsx3"`` or ``"espeak-ng-cli"``: what renders now (see the module doc).
    """

    def __init__(self, samplerate: int, *, voice: str = "", rate: int = 160,
                 cache_dir: Path | None = None):
        # _memory holds each phrase at the engine's rate as int16 (see the module doc).
        if cache_dir is None:
            from voicecoach.paths import cache_dir as default_cache

            cache_dir = default_cache() / "clips"
        self.samplerate = int(samplerate)
        self.voice = voice
        self.rate = int(rate)
        self.cache_dir = Path(cache_dir)
        self.renders = 0
        self.engine = "pyttsx3"
        self.fallback_reason = ""
        self.version = espeak_version()
        self._memory: dict[str, Clip] = {}
        self._lock = threading.Lock()
        self._jobs = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="voicecoach-prepare")
        if _BROKEN:
            self._fall_back(_BROKEN[0])

    # --- public ---------------------------------------------------------------

    def get(self, text: str) -> Clip:
        """The clip for ``text`` at :attr:`samplerate`, rendering it if neither memory nor disk has it.

        At the engine's own rate this is the clip held in memory (the same object
        every time); at another rate a :class:`~voicecoach.audio.clips.ResampledClip`
        of it (cheap to make; its samples are computed when it is mixed).
        """
        clip = self._memory.get(text)
        if clip is None:
            with self._lock:
                clip = self._memory.get(text)
                if clip is None:
                    clip = self._load_or_render(text)
                    self._memory[text] = clip
        if clip.samplerate == self.samplerate:
            return clip
        return ResampledClip(clip, self.samplerate)

    def prepare(self, texts: Iterable[str]) -> None:
        """Render every phrase in ``texts`` now (call before a session starts)."""
        for text in texts:
            self.get(text)

    def prepare_async(self, text: str, *, keep: bool = True) -> concurrent.futures.Future:
        """Render ``text`` on a worker thread.

        With ``keep`` the future's result is the clip, also held in memory. With
        ``keep=False`` the phrase is only put in the disk cache (the result is
        None): for the many phrases a session might say but mostly will not
        (every possible count), which held ~240 MB in a 10 x 30 session when kept.
        A later :meth:`get` loads it from disk in a few milliseconds.
        """
        if keep:
            return self._jobs.submit(self.get, text)
        return self._jobs.submit(self._ensure_on_disk, text)

    def key(self, text: str) -> str:
        """The disk cache key of ``text`` with this voice, rate and engine version."""
        ident = json.dumps([text, self.voice, self.rate, "espeak-ng", self.version, RENDER_VERSION])
        return hashlib.sha256(ident.encode("utf-8")).hexdigest()

    def memory_bytes(self) -> int:
        """Bytes of audio this cache holds in memory (the clips :meth:`get` has kept)."""
        with self._lock:
            return sum(c.pcm.nbytes for c in self._memory.values())

    def close(self) -> None:
        self._jobs.shutdown(wait=False, cancel_futures=True)

    # --- internals ---------------------------------------------------------------

    def _load_or_render(self, text: str) -> Clip:
        """The phrase as the disk cache holds it: trimmed, int16, at the engine's rate."""
        from voicecoach.audio.wavio import float_to_int16

        cached = self._load_pcm(text)
        if cached is None:
            raw, raw_rate = self._render_to_disk(text)
            # raw is 16-bit audio read as float (k / 32768): back to int16 exactly.
            cached = float_to_int16(raw), raw_rate
        return Clip(cached[0], cached[1], text)

    def _ensure_on_disk(self, text: str) -> None:
        if text in self._memory or self._path(text).exists():
            return
        with self._lock:  # get() renders under the same lock: never twice at once
            if not self._path(text).exists():
                self._render_to_disk(text)

    def _path(self, text: str) -> Path:
        return self.cache_dir / f"{self.key(text)}.wav"

    def _load_pcm(self, text: str) -> tuple[np.ndarray, int] | None:
        """The cached 16-bit samples as they are in the file (no float copy), or None.

        The cache holds only files :meth:`_render_to_disk` wrote (mono 16-bit PCM);
        anything else there, or a damaged file, is None and is rendered again.
        """
        from voicecoach.audio.wavio import MAX_RATE, MIN_RATE

        try:
            with wave.open(str(self._path(text)), "rb") as w:
                if (w.getnchannels(), w.getsampwidth(), w.getcomptype()) != (1, 2, "NONE"):
                    return None
                rate = w.getframerate()
                data = w.readframes(w.getnframes())
        except (OSError, EOFError, wave.Error):
            return None
        if not MIN_RATE <= rate <= MAX_RATE or len(data) < 2:
            return None
        # A read-only view of the bytes read: the clip keeps it as it is.
        return np.frombuffer(data, dtype="<i2", count=len(data) // 2), rate

    def _render_to_disk(self, text: str) -> tuple[np.ndarray, int]:
        from voicecoach.audio.wavio import float_to_int16, int16_to_float, write_wav

        raw, raw_rate = self._render(text)
        # Quantise as the disk copy will be, so a fresh clip equals a cached one.
        raw = int16_to_float(float_to_int16(trim(raw, raw_rate)))
        self.renders += 1
        try:
            paths.make_private_dirs(self.cache_dir)
            fd, tmp = tempfile.mkstemp(suffix=".wav", dir=self.cache_dir)
            os.close(fd)
            write_wav(tmp, raw, raw_rate)
            os.replace(tmp, self._path(text))  # atomic: a reader never sees half a file
        except OSError:
            pass  # an unwritable cache only costs a re-render next time
        return raw, raw_rate

    def _render(self, text: str) -> tuple[np.ndarray, int]:
        if not text.strip():
            raise ValueError("cannot render empty text")
        if self.engine == "pyttsx3":
            try:
                result = _TTS_THREAD.submit(self._render_pyttsx3, text).result(RENDER_TIMEOUT_S)
                if result is not None and len(result[0]):
                    return result
                self._fall_back("pyttsx3 wrote no audio")
            except concurrent.futures.TimeoutError:
                # Unstick the driver's loop if it is what hangs; renders go to the CLI from now on.
                if _ENGINE:
                    _espeak_driver(_ENGINE[0]).endLoop()
                self._fall_back(f"pyttsx3 did not finish within {RENDER_TIMEOUT_S:g} s")
            except UserError:
                raise
            except Exception as err:  # pyttsx3/espeak driver errors are not ours to fix
                self._fall_back(f"pyttsx3 failed: {err}")
        return self._render_cli(text)

    def _fall_back(self, reason: str) -> None:
        self.engine = "espeak-ng-cli"
        self.fallback_reason = reason
        if not _BROKEN:
            _BROKEN.append(reason)

    def _render_pyttsx3(self, text: str) -> tuple[np.ndarray, int] | None:
        return _render_pyttsx3(text, self.voice, self.rate)

    def _render_cli(self, text: str) -> tuple[np.ndarray, int]:
        from voicecoach.audio.wavio import read_wav

        exe = shutil.which("espeak-ng")
        if not exe:
            raise UserError(_MISSING)
        with tempfile.TemporaryDirectory(prefix="voicecoach-tts-") as tmp:
            out = Path(tmp) / "say.wav"
            cmd = [exe, "-w", str(out), "-s", str(self.rate)]
            if self.voice:
                cmd += ["-v", self.voice]
            try:
                proc = subprocess.run(cmd + ["--", text], capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                raise RuntimeError(f"espeak-ng did not finish rendering {text!r}") from None
            if proc.returncode != 0 or not out.exists():
                msg = (proc.stderr or proc.stdout).strip().splitlines()
                detail = msg[-1] if msg else f"exit status {proc.returncode}"
                if self.voice and "voice" in detail.lower():
                    raise UserError(
                        f"unknown espeak-ng voice {self.voice!r}; list them with: espeak-ng --voices"
                    )
                raise RuntimeError(f"espeak-ng failed: {detail}")
            return read_wav(out)
