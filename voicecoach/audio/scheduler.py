"""The sample-accurate mixer: clips placed at exact indexes on the output clock.

The output stream's sample counter is the coach's one clock. :meth:`Scheduler.render`
is what the output callback does: it fills the next block with every clip due in
it, each starting exactly at the sample it was submitted for, and advances
:attr:`Scheduler.now` by the block length. Other threads talk to it only
through :meth:`~Scheduler.submit`, :meth:`~Scheduler.cancel`,
:meth:`~Scheduler.cancel_from`, :meth:`~Scheduler.clear` and
:meth:`~Scheduler.duck`, which append a command
to a lock-free inbox (``collections.deque.append``/``popleft`` are atomic in
CPython) that ``render`` drains at the start of each block. So the audio
thread never waits on a lock, never does file or TTS work, and mixes into
preallocated buffers.

It is the one owner of the cues in flight: a caller names each cue by a key
of its own (the runtime: the session's :class:`~voicecoach.events.Cue`) and
learns from :meth:`~Scheduler.started` where each began; a cue cancelled or
cleared before it starts is simply never reported.

Typical use::

    sched = Scheduler(io.samplerate)
    io.start(sched)                                             # the stream calls sched(out)
    cue = sched.submit(clip, at=sched.now + sched.samplerate)   # in one second
    ...
    for cue_id, sample in sched.started(): ...                  # where cues began
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from voicecoach.audio.clips import Clip

FADE_S = 0.010
"""Length of the fade on cancel and of a duck's gain ramp (raised cosine)."""


@dataclass(order=True)
class _Voice:
    at: int
    seq: int  # submission order: breaks ties of ``at`` (keys need not be comparable)
    cue_id: object = field(compare=False)  # the caller's key
    sample: int = field(compare=False)  # the sample asked for (``at`` moves if the cue is late)
    keyed: bool = field(compare=False)  # the caller gave the key: cancel_from applies
    samples: np.ndarray = field(compare=False)  # int16 or float32 (Clip.pcm)
    gain: float = field(compare=False, default=1.0)
    tag: str = field(compare=False, default="")
    scale: float = field(compare=False, default=1.0)  # Clip.scale: int16 units to float
    pos: int = field(compare=False, default=0)
    # Gain ramp in progress: from ramp_from to gain over the fade curve.
    ramp_from: float = field(compare=False, default=1.0)
    ramp_pos: int = field(compare=False, default=-1)  # -1: no ramp
    stopping: bool = field(compare=False, default=False)  # cancelled: ends when the ramp ends


class Scheduler:
    """Mixes clips placed at exact sample indexes on the output sample clock.

    Parameters
    ----------
    samplerate:
        Output rate; every submitted clip must have this rate.
    max_voices:
        Clips sounding at once. A cue that would exceed it is dropped (and
        counted in :attr:`dropped`) rather than slowing the audio thread down.
    volume:
        Master gain applied to the mix (config ``audio.volume``).

    Attributes
    ----------
    late:
        Cues whose planned sample had already been rendered when the audio
        thread first saw them; they start at once, at the first sample of the
        next block (:meth:`started` tells where).
    dropped:
        Cues dropped because ``max_voices`` clips were already sounding.
    """

    def __init__(self, samplerate: int, *, max_voices: int = 64, volume: float = 1.0):
        if samplerate <= 0:
            raise ValueError("samplerate must be positive")
        self.samplerate = int(samplerate)
        self.max_voices = int(max_voices)
        self.volume = float(volume)
        self.late = 0
        self.dropped = 0
        self._now = 0
        self._ids = itertools.count(1)
        self._inbox: deque[tuple] = deque()
        # Bounded so that a caller who never drains it cannot grow memory for ever.
        self._started: deque[tuple[int, int]] = deque(maxlen=1 << 16)
        self._pending: list[_Voice] = []  # heap by (at, cue_id)
        self._active: list[_Voice] = []
        fade = max(int(round(FADE_S * self.samplerate)), 2)
        # Raised cosine 0 -> 1, with one extra sample of 1.0 so a ramp ends exactly on its target.
        self._curve = (0.5 - 0.5 * np.cos(np.pi * np.arange(fade + 1) / fade)).astype(np.float32)
        self._fade = fade
        self._scratch = np.zeros(0, dtype=np.float32)
        self._env = np.zeros(0, dtype=np.float32)

    # --- any thread -----------------------------------------------------------

    @property
    def now(self) -> int:
        """Index of the next sample :meth:`render` will produce (samples played or in flight before it)."""
        return self._now

    def submit(self, clip: Clip, at: int, *, gain: float = 1.0, tag: str = "", key=None):
        """Place ``clip`` so that its first sample is output sample ``at``. Thread-safe.

        ``key`` names the cue (any hashable; the runtime gives the session's
        :class:`~voicecoach.events.Cue`); without one the scheduler issues an int.
        Returns the key (for :meth:`cancel`, :meth:`duck`, :meth:`started`).
        Only cues submitted with a key are withdrawn by :meth:`cancel_from`.
        If ``at`` has already been rendered when the audio thread sees the cue,
        the cue starts at once and :attr:`late` is incremented. The clip's
        buffer (int16 or float32) is taken here, on the caller's thread: a
        :class:`~voicecoach.audio.clips.ResampledClip` is converted now, never
        in the audio callback.
        """
        if clip.samplerate != self.samplerate:
            raise ValueError(
                f"clip {clip.label!r} is at {clip.samplerate} Hz, the scheduler at {self.samplerate} Hz"
            )
        seq = next(self._ids)
        cue_id = seq if key is None else key
        voice = _Voice(int(at), seq, cue_id, int(at), key is not None, clip.pcm, float(gain), tag, scale=clip.scale)
        self._inbox.append(("submit", voice))
        return cue_id

    def cancel(self, cue_id: int | None = None, *, tag: str | None = None) -> None:
        """Stop cues: a sounding one fades out over 10 ms, an unstarted one is dropped.

        Select by ``cue_id`` or by ``tag``; with neither, every cue is cancelled.
        """
        self._inbox.append(("cancel", cue_id, tag))

    def cancel_from(self, sample: int) -> None:
        """Withdraw every keyed cue (see :meth:`submit`) placed at ``sample`` or later. Thread-safe.

        What the session's :class:`~voicecoach.events.Cancel` asks for: a waiting
        cue is dropped, one already sounding fades out over 10 ms as with
        :meth:`cancel`; clips submitted without a key (the device sentences, a
        calibration chirp) are left alone.
        """
        self._inbox.append(("cancel_from", int(sample)))

    def clear(self) -> None:
        """Drop every cue submitted before this call, sounding or waiting, at once (no fade). Thread-safe.

        For an output that was cut under the scheduler (a lost device): the clip
        that was sounding stopped mid-word, and what was waiting belongs to a plan
        made before the loss, so the next stream must start from silence. A fade,
        as :meth:`cancel` does, would replay 10 ms of the cut word. Takes effect
        at the next rendered block; cues submitted after the call are kept. A
        dropped cue that had not started is never reported by :meth:`started`.
        """
        self._inbox.append(("clear",))

    def duck(self, gain: float, *, cue_id: int | None = None, tag: str | None = None) -> None:
        """Ramp the gain of cues (sounding or not yet started) to ``gain`` over 10 ms.

        Select by ``cue_id`` or ``tag``; with neither, every cue present now.
        ``duck(1.0, ...)`` restores a ducked cue.
        """
        self._inbox.append(("duck", float(gain), cue_id, tag))

    def started(self) -> list[tuple[int, int]]:
        """Drain and return ``(cue_id, sample)`` for cues that began since the last call.

        ``sample`` is the output sample where the clip's first sample was placed.
        The last 65,536 starts are kept between calls.
        """
        out = []
        while True:
            try:
                out.append(self._started.popleft())
            except IndexError:
                return out

    @property
    def busy(self) -> bool:
        """True while any cue is sounding or waiting (as of the last rendered block)."""
        return bool(self._active or self._pending or self._inbox)

    # --- the audio thread ----------------------------------------------------------

    def reserve(self, blocksize: int) -> None:
        """Preallocate mixing buffers for blocks up to ``blocksize`` (call before streaming)."""
        if len(self._scratch) < blocksize:
            self._scratch = np.zeros(blocksize, dtype=np.float32)
            self._env = np.zeros(blocksize, dtype=np.float32)

    def __call__(self, out: np.ndarray) -> None:
        """The scheduler is the output side's render function: ``io.start(sched)``."""
        self.render(out)

    def render(self, out: np.ndarray) -> None:
        """Fill the float32 1-D ``out`` with the next ``len(out)`` samples and advance :attr:`now`.

        Called from the output callback (or the simulated stream). Does no I/O
        and takes no lock; it allocates only if ``out`` is longer than any
        block seen before (call :meth:`reserve` first to avoid even that).
        """
        n = len(out)
        if n > len(self._scratch):
            self.reserve(n)
        start = self._now
        end = start + n
        self._drain_inbox(start)
        pending = self._pending
        while pending and pending[0].at < end:
            voice = heapq.heappop(pending)
            if len(self._active) >= self.max_voices:
                self.dropped += 1
                continue
            self._active.append(voice)
        out[:] = 0.0
        active = self._active
        i = 0
        while i < len(active):
            voice = active[i]
            if self._mix(voice, out, start, n):
                i += 1
            else:
                active[i] = active[-1]
                active.pop()
        if self.volume != 1.0:
            out *= self.volume
        np.clip(out, -1.0, 1.0, out=out)
        self._now = end

    def _drain_inbox(self, start: int) -> None:
        inbox = self._inbox
        while True:
            try:
                cmd = inbox.popleft()
            except IndexError:
                return
            kind = cmd[0]
            if kind == "submit":
                voice = cmd[1]
                if voice.at < start:
                    self.late += 1
                    voice.at = start
                voice.ramp_from = voice.gain
                heapq.heappush(self._pending, voice)
            elif kind == "clear":
                # list.clear(): no allocation in the audio thread.
                self._pending.clear()
                self._active.clear()
            elif kind == "cancel":
                _, cue_id, tag = cmd
                self._stop(lambda v: _selected(v, cue_id, tag))
            elif kind == "cancel_from":
                sample = cmd[1]
                self._stop(lambda v: v.keyed and v.sample >= sample)
            else:  # duck
                _, gain, cue_id, tag = cmd
                for v in self._pending:
                    if _selected(v, cue_id, tag):
                        v.gain = v.ramp_from = gain
                for v in self._active:
                    if _selected(v, cue_id, tag) and not v.stopping:
                        self._ramp(v, gain)

    def _stop(self, selected) -> None:
        """Drop the selected waiting cues; fade out the selected sounding ones."""
        kept = [v for v in self._pending if not selected(v)]
        if len(kept) != len(self._pending):
            heapq.heapify(kept)
            self._pending = kept
        for v in self._active:
            if selected(v) and not v.stopping:
                v.stopping = True
                self._ramp(v, 0.0)

    def _ramp(self, v: _Voice, target: float) -> None:
        v.ramp_from = self._gain_now(v)
        v.gain = target
        v.ramp_pos = 0

    def _gain_now(self, v: _Voice) -> float:
        if v.ramp_pos < 0:
            return v.gain
        return v.ramp_from + (v.gain - v.ramp_from) * float(self._curve[v.ramp_pos])

    def _mix(self, v: _Voice, out: np.ndarray, start: int, n: int) -> bool:
        """Add this block's part of ``v`` to ``out``; False when the voice is finished."""
        offset = v.at - start if v.at > start else 0
        if offset >= n:
            return True
        count = min(n - offset, len(v.samples) - v.pos)
        if v.stopping and v.ramp_pos < 0:
            return False
        if count <= 0:
            return False
        if v.pos == 0:
            self._started.append((v.cue_id, start + offset))
        dst = out[offset:offset + count]
        # Copy (and, for int16, convert) this block's part into the scratch buffer
        # first: a ufunc given int16 and float32 operands at once allocates a
        # cast buffer, which the audio thread must not do.
        tmp = self._scratch[:count]
        tmp[:] = v.samples[v.pos:v.pos + count]
        if v.scale != 1.0:
            tmp *= v.scale
        if v.ramp_pos >= 0:
            k = min(count, self._fade - v.ramp_pos)
            env = self._env[:count]
            np.multiply(self._curve[v.ramp_pos:v.ramp_pos + k], v.gain - v.ramp_from, out=env[:k])
            env[:k] += v.ramp_from
            env[k:] = v.gain
            tmp *= env
            v.ramp_pos += k
            if v.ramp_pos >= self._fade:
                v.ramp_pos = -1
                if v.stopping:
                    # The fade ended inside this block: nothing of the clip after it.
                    tmp[k:] = 0.0
                    dst += tmp
                    return False
        elif v.gain != 1.0:
            tmp *= v.gain
        dst += tmp
        v.pos += count
        return v.pos < len(v.samples)


def _selected(v: _Voice, cue_id: int | None, tag: str | None) -> bool:
    if cue_id is None and tag is None:
        return True
    return (cue_id is not None and v.cue_id == cue_id) or (tag is not None and v.tag == tag)
