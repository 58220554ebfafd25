"""WAV files in and out, the conversion to what Vosk wants (16 kHz int16 mono),
and the rates of the two speech engines.

:func:`read_wav` parses the RIFF chunks itself rather than using :mod:`wave`,
because Python 3.11's ``wave`` refuses IEEE-float and WAVE_FORMAT_EXTENSIBLE
files, which recorders and sox commonly write.
"""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np

from voicecoach.errors import UserError

_PCM = 1
MIN_RATE = 1000
"""Lowest sample rate :func:`read_wav` accepts (8 kHz telephony is the lowest in real use)."""
MAX_RATE = 768000
"""Highest sample rate :func:`read_wav` accepts (the highest PCM rate recorders write)."""
_FLOAT = 3
_EXTENSIBLE = 0xFFFE


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """Read a WAV file as float32 mono in [-1, 1] and its sample rate.

    Handles 8-bit (unsigned), 16/24/32-bit integer PCM, 32/64-bit float, the
    extensible header, and any channel count (mixed down by averaging), at
    :data:`MIN_RATE` to :data:`MAX_RATE`. A missing, unreadable or malformed
    file (or one at an absurd rate) raises :class:`UserError` naming it.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such WAV file") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror or err}") from None
    try:
        samples, rate = _parse(data)
    except _BadWav as err:
        raise UserError(f"{path}: not a usable WAV file ({err})") from None
    return samples, rate


class _BadWav(Exception):
    pass


def _parse(data: bytes) -> tuple[np.ndarray, int]:
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RIFX") or data[8:12] != b"WAVE":
        raise _BadWav("no RIFF/WAVE header")
    if data[:4] == b"RIFX":
        raise _BadWav("big-endian RIFX is not supported")
    fmt = None
    body = None
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = struct.unpack_from("<I", data, pos + 4)[0]
        start = pos + 8
        if cid == b"fmt ":
            if size < 16 or start + 16 > len(data):
                raise _BadWav("truncated fmt chunk")
            fmt = data[start:start + size]
        elif cid == b"data":
            # Streamed recordings may leave the size at 0 or 0xFFFFFFFF: take what is there.
            end = len(data) if size in (0, 0xFFFFFFFF) or start + size > len(data) else start + size
            body = data[start:end]
            if fmt is not None:
                break
        pos = start + size + (size & 1)
    if fmt is None:
        raise _BadWav("no fmt chunk")
    if body is None:
        raise _BadWav("no data chunk")
    tag, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _EXTENSIBLE:
        if len(fmt) < 40:
            raise _BadWav("truncated extensible fmt chunk")
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the SubFormat GUID
    if channels < 1:
        raise _BadWav("zero channels")
    if rate < 1:
        raise _BadWav("zero sample rate")
    if not MIN_RATE <= rate <= MAX_RATE:
        # Resampling to 16 kHz scales the data by 16000/rate: before this check a
        # 40 kB file claiming 1 Hz made `simulate` grow past 1.8 GB in 20 s (measured).
        raise _BadWav(f"sample rate {rate} Hz is outside {MIN_RATE} to {MAX_RATE} Hz")
    width = bits // 8 if bits % 8 == 0 else (bits + 7) // 8
    if align and align != width * channels:
        width = align // channels
    if tag == _PCM and width in (1, 2, 3, 4):
        samples = _pcm(body, width)
    elif tag == _FLOAT and width in (4, 8):
        usable = len(body) - len(body) % width
        # Clip before narrowing: a damaged float64 file may hold values float32 cannot.
        wide = np.frombuffer(body[:usable], dtype="<f4" if width == 4 else "<f8")
        wide = np.clip(np.nan_to_num(wide, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
        samples = wide.astype(np.float32)
    else:
        raise _BadWav(f"unsupported encoding (format {tag}, {bits} bits)")
    frames = len(samples) // channels
    samples = samples[: frames * channels]
    if channels > 1:
        samples = samples.reshape(frames, channels).mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(samples, dtype=np.float32), int(rate)


def _pcm(body: bytes, width: int) -> np.ndarray:
    usable = len(body) - len(body) % width
    raw = np.frombuffer(body[:usable], dtype=np.uint8)
    if width == 1:
        return (raw.astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return raw.view("<i2").astype(np.float32) / 32768.0
    if width == 4:
        return (raw.view("<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    b = raw.reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    v = np.where(v >= 1 << 23, v - (1 << 24), v)
    return v.astype(np.float32) / float(1 << 23)


def float_to_int16(samples: np.ndarray) -> np.ndarray:
    """Float in [-1, 1] -> int16 (x * 32768, rounded, clipped): the inverse of :func:`int16_to_float`."""
    return np.clip(np.round(np.asarray(samples, dtype=np.float32) * 32768.0), -32768, 32767).astype(np.int16)


def int16_to_float(samples: np.ndarray) -> np.ndarray:
    """int16 -> float32 in [-1, 1) (x / 32768), as :func:`read_wav` scales 16-bit PCM."""
    return np.asarray(samples, dtype=np.int16).astype(np.float32) / 32768.0


def write_wav(path: str | Path, samples: np.ndarray, samplerate: int) -> None:
    """Write ``samples`` (float in [-1, 1], or int16) as a 16-bit PCM mono WAV."""
    samples = np.asarray(samples)
    pcm = samples if samples.dtype == np.int16 else float_to_int16(samples)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(samplerate))
        w.writeframes(pcm.tobytes())


class WavWriter:
    """Append float blocks to a 16-bit mono WAV, stopping at ``max_frames`` if given."""

    def __init__(self, path: str | Path, samplerate: int, *, max_frames: int | None = None):
        self.path = Path(path)
        self.samplerate = int(samplerate)
        self.max_frames = max_frames
        self.frames = 0
        # Opened here, not by wave.open(path): when that open fails, the half-built
        # Wave_write prints an "Exception ignored in __del__" traceback (seen with
        # `simulate --out DIR`), so the user's one-line error came with a traceback.
        try:
            self._f = open(self.path, "wb")
        except OSError as err:
            raise UserError(f"{self.path}: cannot write: {err.strerror or err}") from None
        self._w = wave.open(self._f, "wb")
        self._w.setnchannels(1)
        self._w.setsampwidth(2)
        self._w.setframerate(self.samplerate)

    def write(self, samples: np.ndarray) -> None:
        if self.max_frames is not None:
            samples = samples[: max(self.max_frames - self.frames, 0)]
        if len(samples):
            self._w.writeframesraw(float_to_int16(samples).tobytes())
            self.frames += len(samples)

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None
            self._f.close()  # wave closes only files it opened itself


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Whole-signal resampling with soxr (HQ), float32 out; time-aligned (no added delay)."""
    samples = np.asarray(samples, dtype=np.float32)
    if rate_in == rate_out:
        return samples.copy()
    import soxr

    return soxr.resample(samples, rate_in, rate_out, quality="HQ").astype(np.float32, copy=False)


VOSK_RATE = 16000
"""The rate Vosk's recognizer takes: every mic block is 16 kHz."""
ESPEAK_RATE = 22050
"""The rate espeak-ng renders at. A :class:`~voicecoach.speech.tts.ClipCache` at this
rate hands out its renders as they are, not resampled: the output rate of a
simulation unless one is given, and the rate to render at where none matters."""


def to_16k_int16(samples: np.ndarray, samplerate: int) -> np.ndarray:
    """Resample float (or int16) mono audio to 16 kHz int16, what Vosk's recognizer takes."""
    samples = np.asarray(samples)
    if samples.dtype == np.int16:
        samples = samples.astype(np.float32) / 32768.0
    return float_to_int16(resample(samples, samplerate, VOSK_RATE))
