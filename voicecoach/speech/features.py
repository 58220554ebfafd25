"""What the audio around the words shows, per 10 ms frame: sound, voice, hiss, echo.

The decoder says which words it heard; these features say what else was
there, and the rejection rules (:mod:`voicecoach.speech.rules`) ask them
whether the person's voice went on around a phrase.

- :class:`SoundDetector` classifies each frame of a block: sound (over a
  noise floor it tracks), voiced (pitch periodicity), hissing (an /s/).
- :class:`FrameHistory` keeps those features for the last 10 s of decoded
  audio, indexed by decoder sample, and answers questions about a stretch.

Sample indices count audio given to the decoder (see
:class:`~voicecoach.speech.recognizer.CommandRecognizer`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.speech.echo import FRAME
from voicecoach.speech.settings import RecognizerSettings

HISTORY_FRAMES = 1000
"""10 s of 10 ms frames."""
MOSTLY_ECHO = 0.5
"""A frame whose power is at least this share echo is the coach's, not the person's."""
MIN_VOICED_RUN = 3
"""10 ms frames: a vowel is voiced throughout; breath noise passes for voiced in ones and twos."""
VOICING_BREAK = 2
"""10 ms frames: a word's voicing may drop out this long and still be one stretch."""
TAIL_SOURCE_FRAMES = 20
"""10 ms frames: a room's tail after words is measured from their loudest frame this close to their end."""
HISS_DB = 10.0
"""A frame hisses when its 4-8 kHz band is this many dB over its 0.1-3 kHz band
(an /s/ is +10..+17 dB, vowels -20..-37 dB, pink noise about -7 dB)."""

# Computed once, not per block: the recognizer takes 16 kHz audio only.
_HISS_WINDOW = np.hanning(FRAME)
_HISS_FREQS = np.fft.rfftfreq(FRAME, 1.0 / VOSK_RATE)
_HISS_HIGH_BAND = _HISS_FREQS >= 4000
_HISS_LOW_BAND = (_HISS_FREQS >= 100) & (_HISS_FREQS < 3000)


class SoundDetector:
    """Per 10 ms frame of a stream: is it sound, is it voiced, does it hiss.

    Feed every block of the stream in order (decoded or not), so that the
    noise floor and the voicing windows' context follow the audio.
    """

    def __init__(self, settings: RecognizerSettings, samplerate: int = VOSK_RATE):
        self.settings = settings
        self.samplerate = samplerate
        self.reset()

    def reset(self) -> None:
        self._levels = np.zeros(int(self.settings.floor_window_s * 100))  # smoothed dB per 10 ms frame
        self._level_count = 0
        self._smooth = deque([-100.0, -100.0], maxlen=2)
        self._emphasised_tail = np.zeros(2 * FRAME, dtype=np.float32)  # context for the voicing windows
        self._last_sample = 0.0

    def classify(self, clean: np.ndarray, power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Which whole 10 ms frames of ``clean`` are sound (above the noise floor), and
        which of those are voiced; ``power`` is each frame's power from the front end."""
        n = len(clean) // FRAME
        if n == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        if len(power) != n:
            power = np.zeros(n) if len(power) == 0 else np.resize(power, n)
        db = 10 * np.log10(power + 1e-10)
        # 30 ms average: single 10 ms frames of noise swing too much.
        history = np.concatenate([np.asarray(self._smooth), db])
        level = 10 * np.log10(np.convolve(10 ** (history / 10), np.ones(3) / 3, "valid"))
        self._smooth.extend(db[-2:])
        # The floor is a low percentile of the last few seconds, not their
        # minimum: noise after suppression dips far below its usual level
        # (seen: hum whose minimum sits 6 dB under its median), and a floor
        # at the dips would take the noise itself for sound.
        slots = (self._level_count + np.arange(n)) % len(self._levels)
        self._levels[slots] = level
        self._level_count += n
        seen = self._levels[: min(self._level_count, len(self._levels))]
        k = int(len(seen) * self.settings.floor_percentile / 100)
        floor = float(np.partition(seen, k)[k])
        loud = (level > floor + self.settings.vad_margin_db) & (level > -70.0)
        if not loud.any():
            self._emphasised(clean, n)  # keeps the voicing windows' context
            return loud, loud
        return loud, loud & (self._periodicity(clean, n) >= self.settings.voicing_threshold)

    def hiss(self, clean: np.ndarray, loud: np.ndarray) -> np.ndarray:
        """Which of the ``loud`` frames of ``clean`` hiss (an /s/, not a vowel or pink noise)."""
        if not loud.any():
            return loud
        n = len(loud)
        frames = clean[: n * FRAME].reshape(n, FRAME).astype(np.float32)
        spec = np.abs(np.fft.rfft(frames * _HISS_WINDOW, axis=1)) ** 2
        high = spec[:, _HISS_HIGH_BAND].sum(axis=1)
        low = spec[:, _HISS_LOW_BAND].sum(axis=1)
        return loud & (10 * np.log10((high + 1e-6) / (low + 1e-6)) >= HISS_DB)

    def _emphasised(self, clean: np.ndarray, n: int) -> np.ndarray:
        """The block's ``n`` frames pre-emphasised, after the last 20 ms of the one before."""
        x = clean[: n * FRAME].astype(np.float32)
        # Pre-emphasis: pink noise and hum are mostly low-frequency and would
        # otherwise correlate at short lags like a voice does.
        y = np.empty_like(x)
        y[0] = x[0] - 0.95 * self._last_sample
        y[1:] = x[1:] - 0.95 * x[:-1]
        self._last_sample = float(x[-1])
        y = np.concatenate([self._emphasised_tail, y])
        self._emphasised_tail = y[-2 * FRAME :]
        return y

    def _periodicity(self, clean: np.ndarray, n: int) -> np.ndarray:
        """Per 10 ms frame: the highest normalised autocorrelation over pitch lags of
        80-400 Hz, on a 30 ms window ending with the frame."""
        y = self._emphasised(clean, n)
        win = 3 * FRAME
        frames = np.lib.stride_tricks.sliding_window_view(y, win)[::FRAME][:n]
        frames = frames - frames.mean(axis=1, keepdims=True)
        spec = np.fft.rfft(frames, 2 * win, axis=1)
        ac = np.fft.irfft(spec.real**2 + spec.imag**2, axis=1)
        lo, hi = self.samplerate // 400, self.samplerate // 80
        lags = np.arange(lo, hi + 1)
        r = ac[:, lo : hi + 1] * (win / (win - lags)) / np.maximum(ac[:, :1], 1e-6)
        return r.max(axis=1)


@dataclass(frozen=True)
class Tail:
    """The room's reverberation of words ending at ``words_end_n`` (decoder samples),
    in a room whose reverberation time is at most ``rt60_s``."""

    words_end_n: int
    rt60_s: float


class FrameHistory:
    """The features of the last :data:`HISTORY_FRAMES` decoded 10 ms frames.

    The owner of the decoded-sample count: frames are appended in decoding
    order, so :attr:`decoded` is the index of the next sample the decoder
    gets. A question about frames no longer kept gets "no evidence" (None, 0
    or True, as each method says), never a guess from newer frames.
    """

    def __init__(self, samplerate: int = VOSK_RATE):
        self.samplerate = samplerate
        self.reset()

    def reset(self) -> None:
        self._power = np.zeros(HISTORY_FRAMES)  # each frame's power
        self._echo = np.zeros(HISTORY_FRAMES)  # the share of that power that is echo
        self._voiced = np.zeros(HISTORY_FRAMES, dtype=bool)
        self._hiss = np.zeros(HISTORY_FRAMES, dtype=bool)
        self._frames = 0

    @property
    def decoded(self) -> int:
        """Samples given to the decoder so far (whole frames)."""
        return self._frames * FRAME

    def append(self, echo: np.ndarray, power: np.ndarray, voiced: np.ndarray, hiss: np.ndarray) -> None:
        """Add the next ``len(voiced)`` decoded frames (``echo`` and ``power`` may be short: 0)."""
        n = len(voiced)
        if n == 0:
            return
        idx = (self._frames + np.arange(n)) % HISTORY_FRAMES
        self._power[idx] = power[:n] if len(power) >= n else 0.0
        self._echo[idx] = _padded(echo, n)
        self._voiced[idx] = voiced
        self._hiss[idx] = hiss
        self._frames += n

    @staticmethod
    def theirs(echo: np.ndarray, n: int) -> np.ndarray:
        """Which of ``n`` frames with this echo share are the person's, not the coach's."""
        return _padded(echo, n) < MOSTLY_ECHO

    def their_voicing(self, a_n: int, b_n: int, min_frames: int = 10, *, tail: Tail | None = None,
                      floor_db: float | None = None) -> np.ndarray | None:
        """Per 10 ms frame over samples ``a_n`` to ``b_n``: voiced and not echo; None
        when that is no evidence (under ``min_frames`` frames, or no longer kept).
        With ``tail``, frames the room's tail of the words before can explain are not
        voice; with ``floor_db``, nor are frames whose power is under it (farther voices)."""
        a, b = max(a_n, 0) // FRAME, b_n // FRAME
        idx = self._kept(a, b) if b - a >= min_frames else None
        if idx is None:
            return None
        voiced = self._voiced[idx] & (self._echo[idx] < MOSTLY_ECHO)
        if floor_db is not None:
            voiced &= _db(self._power[idx]) >= floor_db
        return voiced & ~self._in_tail(tail, a, b) if tail is not None else voiced

    def voiced_share(self, a_n: int, b_n: int, *, tail: Tail | None = None, floor_db: float | None = None) -> float:
        """The share of those frames that are the person's voice (0 without evidence)."""
        voiced = self.their_voicing(a_n, b_n, tail=tail, floor_db=floor_db)
        return 0.0 if voiced is None else float(np.mean(voiced))

    def their_voice_s(self, a_n: int, b_n: int, min_frames: int = 10, *, tail: Tail | None = None,
                      floor_db: float | None = None) -> float:
        """Seconds of the person's voice over these samples, counting only voiced
        stretches of :data:`MIN_VOICED_RUN` frames or more (0 without evidence)."""
        voiced = self.their_voicing(a_n, b_n, min_frames, tail=tail, floor_db=floor_db)
        return 0.0 if voiced is None else in_runs(voiced, MIN_VOICED_RUN) * FRAME / self.samplerate

    def loudest_db(self, a_n: int, b_n: int) -> float | None:
        """dB of the most powerful 10 ms frame over these samples; None when none is kept."""
        a, b = max(a_n, 0) // FRAME, max(b_n // FRAME, max(a_n, 0) // FRAME + 1)
        idx = self._kept(max(a, self._oldest()), b)
        if idx is None or not len(idx):
            return None
        return float(_db(np.max(self._power[idx])))

    def _in_tail(self, tail: Tail, a: int, b: int) -> np.ndarray:
        """Which of frames ``a`` to ``b`` lie under ``tail``'s line: their power no more
        than the room's reverberation of the words' loudest end frame would leave.

        A room's tail only dies away, at 60 dB per reverberation time; what rises
        above that line after the words is new sound."""
        end = tail.words_end_n // FRAME
        peak_db = self.loudest_db((end - TAIL_SOURCE_FRAMES) * FRAME, end * FRAME)
        if peak_db is None:
            return np.zeros(b - a, dtype=bool)
        frames = np.arange(a, b)
        line = peak_db - (60.0 / tail.rt60_s) * (frames - end) * FRAME / self.samplerate
        power_db = _db(self._power[frames % HISTORY_FRAMES])
        return (frames >= end) & (power_db <= line)

    def voiced_onset(self, start_n: int) -> int:
        """Where a word the decoder starts at ``start_n`` begins to sound voiced.

        Vosk sets a word's start up to ~0.2 s late, so when the start falls
        inside a voiced stretch, the voice before it is the word's own: the
        onset is where that stretch began (:data:`VOICING_BREAK` frames
        unvoiced are part of it). A start on an unvoiced frame ("st" in
        "start") is its own onset.
        """
        onset = start_n // FRAME
        oldest = self._oldest()
        if onset < oldest or not self._voiced[onset % HISTORY_FRAMES]:
            return start_n
        k = onset - 1
        while k >= oldest and onset - k <= VOICING_BREAK + 1:
            if self._voiced[k % HISTORY_FRAMES]:
                onset = k
            k -= 1
        return onset * FRAME

    def hiss_starts(self, from_n: int, latest_n: int, shortest: int, longest: int) -> bool | None:
        """True when the person hisses for ``shortest`` to ``longest`` frames in a
        stretch that starts after ``from_n`` and by ``latest_n``; None when not all
        of it has been decoded yet, or it is no longer kept."""
        a, b = from_n // FRAME, latest_n // FRAME + longest + 1
        idx = self._kept(a, b) if b <= self._frames else None
        if idx is None:
            return None
        hiss = self._hiss[idx] & (self._echo[idx] < MOSTLY_ECHO)
        latest = latest_n // FRAME - a
        # A stretch already hissing at a, or still at b, may be longer than it shows.
        return any(0 < s <= latest and e < len(hiss) and shortest <= e - s <= longest for s, e in runs(hiss))

    def not_echo_db(self, start_n: int, end_n: int) -> float | None:
        """dB of the power over these samples that is not the coach's echo, against
        the whole; None when there was no echo in them or they are no longer kept."""
        a, b = start_n // FRAME, max(start_n // FRAME + 1, end_n // FRAME)
        idx = self._kept(a, b)
        if idx is None:
            return None
        share = self._echo[idx]
        if not np.any(share > 0):
            return None
        power = self._power[idx] + 1e-12
        near = float(np.sum(power * (1.0 - share)) / np.sum(power))
        return 10 * np.log10(near + 1e-12)

    def _oldest(self) -> int:
        """The oldest decoded 10 ms frame whose features are still kept."""
        return max(self._frames - HISTORY_FRAMES, 0)

    def _kept(self, a: int, b: int) -> np.ndarray | None:
        """Slots of decoded 10 ms frames ``a`` to ``b`` (exclusive), or None when the
        oldest of them is no longer kept.

        Frames past the newest decoded one are not refused here: refusing them
        let the coach's own words through as the person's in ``voicecoach run``
        through the null sink (docs/recognizer.md, "Frames past the newest")."""
        if a < self._oldest() or b - a >= HISTORY_FRAMES:
            return None
        return np.arange(a, b) % HISTORY_FRAMES


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each stretch of True in ``flags``, end exclusive."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def in_runs(flags: np.ndarray, min_run: int) -> int:
    """How many of ``flags`` are True in stretches of at least ``min_run``."""
    return sum(e - s for s, e in runs(flags) if e - s >= min_run)


def _db(power):
    """Power in dB (full scale 0 dB); silence comes out at -120, not minus infinity."""
    return 10 * np.log10(power + 1e-12)


def _padded(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or padded with zeros to ``n`` values."""
    out = np.zeros(n)
    out[: min(n, len(x))] = x[:n]
    return out
