"""A clip: mono sound at a sample rate, ready to be placed on the output clock."""

from __future__ import annotations

import numpy as np

INT16_SCALE = 1.0 / 32768.0
"""int16 PCM to float: the scale :func:`voicecoach.audio.wavio.read_wav` uses."""


class Clip:
    """Mono sound to mix into the output.

    Held as 16-bit PCM (``int16``) or as ``float32`` nominally in [-1, 1], at
    ``samplerate``. Speech clips are int16: that is what espeak-ng renders and
    what the disk cache stores, and it takes half the memory of float32 (a
    session holds a few dozen phrases). The scheduler mixes either kind without
    converting the whole clip.

    The first sample is the start of the sound (speech clips are trimmed of
    leading silence), so a clip placed at sample N is *heard* from sample N.
    The buffer is read-only: the scheduler reads clips from the audio thread
    while other threads hold them.
    """

    __slots__ = ("_pcm", "_samplerate", "_label")

    def __init__(self, samples: np.ndarray, samplerate: int, label: str):
        pcm = samples
        if not (
            isinstance(pcm, np.ndarray)
            and pcm.dtype in (np.float32, np.int16)
            and pcm.flags.c_contiguous
            and not pcm.flags.writeable
        ):
            pcm = np.asarray(samples)
            dtype = np.int16 if pcm.dtype == np.int16 else np.float32
            pcm = np.array(pcm, dtype=dtype, copy=True, order="C")
        if pcm.ndim != 1:
            raise ValueError(f"clip {label!r}: samples must be 1-D, got shape {pcm.shape}")
        if samplerate <= 0:
            raise ValueError(f"clip {label!r}: samplerate must be positive")
        pcm.flags.writeable = False
        self._pcm = pcm
        self._samplerate = int(samplerate)
        self._label = label

    @property
    def pcm(self) -> np.ndarray:
        """The stored buffer (int16 or float32, read-only): what the scheduler mixes."""
        return self._pcm

    @property
    def scale(self) -> float:
        """What one unit of :attr:`pcm` is in float samples (1/32768 for int16, 1 for float32)."""
        return INT16_SCALE if self._pcm.dtype == np.int16 else 1.0

    @property
    def samples(self) -> np.ndarray:
        """The sound as float32 in [-1, 1] (for analysis and tests).

        For an int16 clip this is a new array on every access; the audio path
        uses :attr:`pcm` and :attr:`scale` instead.
        """
        if self._pcm.dtype == np.float32:
            return self._pcm
        out = self._pcm.astype(np.float32)
        out *= INT16_SCALE
        return out

    @property
    def samplerate(self) -> int:
        return self._samplerate

    @property
    def label(self) -> str:
        """The text spoken, or the tone's name."""
        return self._label

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self._pcm) / self._samplerate

    def __len__(self) -> int:
        return len(self._pcm)

    def __repr__(self) -> str:
        return f"Clip({self._label!r}, {len(self)} samples {self._pcm.dtype} at {self._samplerate} Hz)"


class ResampledClip(Clip):
    """``source`` as heard at ``samplerate``, converted only when it is mixed.

    Speech is held at espeak-ng's own rate (:data:`~voicecoach.audio.wavio.ESPEAK_RATE`) as int16: 4x less memory
    than float32 at a 44.1 kHz output. Length and duration are known without
    converting (they are what the session plans with); :attr:`pcm` resamples
    on each access (soxr, a few ms for a sentence; the scheduler reads it once
    per cue, outside the audio callback) and is not kept, so only the cues in
    flight exist at the output rate.
    """

    __slots__ = ("_source", "_length")

    def __init__(self, source: Clip, samplerate: int):
        if samplerate <= 0:
            raise ValueError(f"clip {source.label!r}: samplerate must be positive")
        self._source = source
        self._samplerate = int(samplerate)
        self._label = source.label
        # soxr's whole-buffer length, n * out / in rounded half up; pcm is cut or
        # padded to exactly this, so durations planned with it are exact.
        n, a, b = len(source), source.samplerate, self._samplerate
        self._length = (2 * n * b + a) // (2 * a)

    @property
    def source(self) -> Clip:
        """The clip at its own rate."""
        return self._source

    @property
    def pcm(self) -> np.ndarray:
        """float32 at :attr:`samplerate`, computed now (a new read-only array each time)."""
        from voicecoach.audio.wavio import resample

        src = self._source
        converted = resample(src.samples, src.samplerate, self._samplerate)
        out = np.zeros(self._length, dtype=np.float32)
        n = min(len(converted), self._length)
        out[:n] = converted[:n]
        _fade_tail(out, self._samplerate)
        out.flags.writeable = False
        return out

    @property
    def scale(self) -> float:
        return 1.0

    @property
    def samples(self) -> np.ndarray:
        return self.pcm

    @property
    def duration(self) -> float:
        return self._length / self._samplerate

    def __len__(self) -> int:
        return self._length

    def __repr__(self) -> str:
        return f"ResampledClip({self._label!r}, {self._length} samples at {self._samplerate} Hz from {self._source!r})"


def _fade_tail(x: np.ndarray, samplerate: int) -> None:
    """A 5 ms raised-cosine fade-out on the last samples of ``x`` (in place): the
    resampler's filter leaves a little ringing at the cut, which must not click."""
    fade = min(int(0.005 * samplerate), len(x) // 2)
    if fade > 1:
        x[-fade:] *= (0.5 + 0.5 * np.cos(np.pi * (np.arange(fade) + 1) / fade)).astype(np.float32)
