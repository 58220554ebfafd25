"""The microphone and the speaker on their own, outside a session.

What ``serve`` holds open while it waits for the wake phrase, and what
``enroll`` records takes and plays its prompts with:

- :class:`Microphone`: the input stream alone, 16 kHz int16 blocks timed from
  its start, and :attr:`Microphone.alive` to tell a stream that stopped or went
  quiet. A device that is not there, or will not open, raises
  :class:`UserError` (from the constructor or :meth:`Microphone.start`).
- :func:`play_once`: open the speaker, play one clip (waiting for its end, at
  most ``timeout``), close it; a :class:`UserError` on the way (no speaker, a
  stream that will not start) is logged in one line and returns False.

Neither retries nor pauses anything: the caller decides what a missing device
means (``serve`` looks again with back-off, ``enroll`` stops). During a session
the live streams are :class:`~voicecoach.audio.resilient.ResilientIO`.
"""

from __future__ import annotations

import time
from typing import Callable

from voicecoach.audio.streams import STARTUP_S, open_live, running
from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.errors import UserError


class Microphone:
    """The microphone alone, at 16 kHz in ``block_s`` blocks: what ``serve`` holds open while it waits.

    Waiting for a wake phrase needs no speaker, and an output stream running all
    day costs CPU for nothing; so this opens an input stream only (at 16 kHz if
    the device takes it, else at its own rate, resampled with soxr), with long
    blocks so the Python side wakes up ten times a second.

    ``device``: index, name or ``""``/``None`` for the default; a device that is
    not there raises :class:`UserError`. :meth:`read` returns ``(samples,
    start)``: int16 16 kHz and the start in seconds since :meth:`start`, or
    ``None`` on timeout. :attr:`alive` turns False when the stream stops or
    delivers nothing for ``stall_s`` (after a grace for the first block).
    """

    def __init__(self, device: str | int | None = None, *, block_s: float = 0.1, stall_s: float = 4.0):
        from voicecoach.audio import devices

        self.device = devices.resolve(device if device not in ("", None) else None, "input")
        self.rate = devices.input_rate(self.device, VOSK_RATE)
        self.block_s = block_s
        self.stall_s = stall_s
        self.overflows = 0
        self._stream = None
        self._rs = None
        self._n16 = 0
        self._q = None

    def start(self) -> "Microphone":
        import queue

        import sounddevice as sd

        self._q = queue.SimpleQueue()
        if self.rate != VOSK_RATE:
            import soxr

            self._rs = soxr.ResampleStream(self.rate, VOSK_RATE, 1, dtype="float32", quality="HQ")
        try:
            self._stream = sd.InputStream(device=self.device.index, samplerate=self.rate, channels=1,
                                          dtype="float32", blocksize=int(self.rate * self.block_s),
                                          latency="high", callback=self._callback)
            self._stream.start()
        except sd.PortAudioError as err:
            self.stop()
            raise UserError(f"cannot open the microphone {self.device.name!r}: {err}") from None
        self._opened = self._last = time.monotonic()
        self._got = False
        return self

    def _callback(self, indata, frames, t, status) -> None:
        if status and status.input_overflow:
            self.overflows += 1
        self._q.put(indata[:, 0].copy())

    def read(self, timeout: float | None = None):
        import queue

        try:
            x = self._q.get(timeout=timeout)
        except queue.Empty:
            return None
        if self._rs is not None:
            x = self._rs.resample_chunk(x)
        from voicecoach.audio.wavio import float_to_int16

        start = self._n16 / VOSK_RATE
        self._n16 += len(x)
        self._last = time.monotonic()
        self._got = True
        return float_to_int16(x), start

    @property
    def alive(self) -> bool:
        if self._stream is None or not running(self._stream):
            return False
        grace = self.stall_s if self._got else max(self.stall_s, STARTUP_S)
        return time.monotonic() - self._last < grace

    def stop(self) -> None:
        if self._stream is not None:
            try:
                self._stream.stop()
                self._stream.close()
            except Exception:
                pass
            self._stream = None


def play_once(audio: dict, clip_for: Callable[[int], object], *, timeout: float = 10.0,
              log: Callable[[str], None] = lambda line: None) -> bool:
    """Open the speaker, play one clip (``clip_for(samplerate) -> Clip``), close it; False if it failed."""
    from voicecoach.audio.scheduler import Scheduler

    try:
        io = open_live(audio, use_input=False)
    except UserError as err:
        log(f"cannot play: {err}")
        return False
    sched = Scheduler(io.samplerate, volume=float(audio.get("volume", 1.0)))
    try:
        clip = clip_for(io.samplerate)
        io.start(sched)
        sched.submit(clip, sched.now + int(0.05 * io.samplerate))
        end = time.monotonic() + timeout
        while time.monotonic() < end and (sched.busy or sched.now == 0):
            time.sleep(0.02)
        # what is in PortAudio's buffer still has to reach the speaker
        time.sleep(min(io.output_latency(), 0.5))
        return True
    except UserError as err:
        log(f"cannot play: {err}")
        return False
    finally:
        io.stop()
