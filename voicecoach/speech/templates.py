"""A second detector from a person's own takes: cepstra compared by dynamic time warping.

The decoder hears some voices badly whatever its grammar allows (a "doming"
said as "dom-" is no word it knows). A person's enrolled takes are then the
best description of what their phrase sounds like, as Rhasspy's Raven and
the Snips personal wake word use them:

- :func:`mfcc` turns audio into a sequence of cepstral frames, 10 ms apart,
  mean-normalised so that the microphone's and the room's colouring cancel;
- :func:`dtw_distance` says how far one such sequence is from another,
  whatever their tempo;
- :class:`TakeMatcher` holds a person's takes per intent and names the
  intent an utterance matches, if one is near enough and clearly nearer than
  any other. How near is near enough is measured on the takes themselves:
  a multiple of how far this person's takes of one phrase are from each
  other (:data:`LIMIT_FACTOR`).

The recognizer asks it only about an utterance the decoder made no phrase
of, and what it names goes through the same rejection rules as a decoded
phrase (docs/recognizer.md, "Enrollment").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE

WINDOW = 400
"""25 ms analysis window at 16 kHz."""
HOP = 160
"""10 ms between frames."""
N_FFT = 512
N_MELS = 26
N_CEPS = 12
"""Cepstral coefficients c1..c12 (c0, the loudness, is left out)."""
LOW_HZ, HIGH_HZ = 100.0, 7600.0
LEAD_S, TAIL_S = 0.2, 0.25
"""Unvoiced sound kept before and after the voice ("st" of "stop", "t" of "point")."""

LIMIT_FACTOR = 2.0
"""A match may be this many times as far as the person's takes of one phrase
are from each other (their median distance)."""
MARGIN = 0.8
"""The nearest intent must be at most this share of the distance to the next one."""
MIN_TAKES = 2
"""An intent with fewer usable takes is not matched: one take is no description of a phrase."""


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_filters() -> np.ndarray:
    """(N_MELS, N_FFT // 2 + 1) triangular filters, evenly spaced on the mel scale."""
    edges_mel = np.linspace(_mel(LOW_HZ), _mel(HIGH_HZ), N_MELS + 2)
    edges_hz = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(N_FFT, 1.0 / VOSK_RATE)
    lo, mid, hi = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    return np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))


def _dct_matrix() -> np.ndarray:
    """(N_CEPS, N_MELS) orthonormal DCT-II rows 1..N_CEPS."""
    n = np.arange(N_MELS)
    k = np.arange(1, N_CEPS + 1)[:, None]
    return np.sqrt(2.0 / N_MELS) * np.cos(np.pi * k * (2 * n + 1) / (2 * N_MELS))


_TO_MEL = np.ascontiguousarray(_mel_filters().T)  # contiguous: numpy's product over a transposed view is ~60x slower
_TO_CEPS = np.ascontiguousarray(_dct_matrix().T)
_WINDOW = np.hamming(WINDOW)


def mfcc(audio: np.ndarray) -> np.ndarray:
    """(frames, N_CEPS) float32 cepstra of 16 kHz mono ``audio`` (int16, or float
    in [-1, 1]), one frame per 10 ms, each coefficient's mean over the stretch
    taken off; no frames when ``audio`` is shorter than one window."""
    x = np.asarray(audio)
    x = x / 32768.0 if x.dtype.kind == "i" else x.astype(np.float64)
    if len(x) < WINDOW:
        return np.zeros((0, N_CEPS), np.float32)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    n = 1 + (len(x) - WINDOW) // HOP
    idx = np.arange(WINDOW)[None, :] + HOP * np.arange(n)[:, None]
    mel = (np.abs(np.fft.rfft(x[idx] * _WINDOW, N_FFT)) ** 2) @ _TO_MEL
    ceps = np.log(mel + 1e-10) @ _TO_CEPS
    return (ceps - ceps.mean(axis=0)).astype(np.float32)


def dtw_distance(template: np.ndarray, stretch: np.ndarray) -> float:
    """How far ``stretch`` is from ``template`` (both (frames, dims)), whatever
    their tempo: the least cost of a warping path that takes in every frame of
    both, over their total length (symmetric steps, a diagonal step counting
    twice); inf when either is empty."""
    if len(template) == 0 or len(stretch) == 0:
        return float("inf")
    cost = np.sqrt(((template[:, None, :] - stretch[None, :, :]) ** 2).sum(axis=2))
    n, m = cost.shape
    row = np.cumsum(cost[0]) + cost[0, 0]
    for i in range(1, n):
        c = cost[i]
        diag = np.concatenate(([np.inf], row[:-1]))
        # D[i, j] = min(D[i-1, j-1] + 2c, D[i-1, j] + c, D[i, j-1] + c): the
        # last, a run along the row, is a running minimum over its cumulative cost.
        entry = np.minimum(diag + 2 * c, row + c)
        s = np.cumsum(c)
        row = s + np.minimum.accumulate(entry - s)
    return float(row[-1] / (n + m))


def speech_stretch(audio: np.ndarray, voiced: np.ndarray | None = None) -> tuple[int, int]:
    """Where in an utterance's ``audio`` (int16, 16 kHz) a phrase is compared:
    (first, end) samples from its first to its last frame well over its own
    noise floor (:func:`~voicecoach.speech.takes.speech_span`), kept within
    :data:`LEAD_S` before and :data:`TAIL_S` after the person's voice when
    ``voiced`` (one flag per 10 ms frame of ``audio``) says where that is.
    (0, 0) when there is none."""
    from voicecoach.speech.takes import speech_span

    x = np.asarray(audio)
    span = speech_span(x / 32768.0 if x.dtype.kind == "i" else x)
    if span is None:
        return 0, 0
    a, b = int(span[0] * VOSK_RATE), int(span[1] * VOSK_RATE)
    if voiced is not None:
        frames = np.flatnonzero(voiced)
        if len(frames) == 0:
            return 0, 0
        a = max(a, int(frames[0] * HOP - LEAD_S * VOSK_RATE))
        b = min(b, int((frames[-1] + 1) * HOP + TAIL_S * VOSK_RATE))
    return (a, b) if b > a else (0, 0)


@dataclass(frozen=True)
class TakeMatch:
    """What :meth:`TakeMatcher.match` found."""

    intent: str
    distance: float
    """To the intent's nearest take."""
    limit: float
    """The largest distance a match may have."""
    runner_up: float
    """The distance to the next intent's nearest take (inf when there is none)."""


class TakeMatcher:
    """One person's takes as cepstra, per intent, and how far a match may be.

    Args:
        takes: per intent, the person's takes as the recognizer would hear them
            (int16 16 kHz, noise-suppressed like the decoder's input); each is
            cut to its :func:`speech_stretch`. An intent needs :data:`MIN_TAKES`.
    """

    def __init__(self, takes: dict[str, list[np.ndarray]]):
        self.cepstra: dict[str, tuple[np.ndarray, ...]] = {}
        for intent, pcms in takes.items():
            feats = []
            for pcm in pcms:
                a, b = speech_stretch(pcm)
                if b > a:
                    feats.append(mfcc(pcm[a:b]))
            if len(feats) >= MIN_TAKES:
                self.cepstra[intent] = tuple(feats)
        spreads = [min(dtw_distance(other, t) for j, other in enumerate(ts) if j != k)
                   for ts in self.cepstra.values() for k, t in enumerate(ts)]
        self.spread = float(np.median(spreads)) if spreads else 0.0
        """The median distance of a take to the nearest other take of its phrase."""
        self.limit = LIMIT_FACTOR * self.spread

    def __bool__(self) -> bool:
        return bool(self.cepstra)

    def distances(self, audio: np.ndarray, first: int, end: int) -> dict[str, float]:
        """{intent: distance to its nearest take} of the stretch ``audio[first:end]``
        of an utterance (int16 16 kHz, heard as the takes were)."""
        features = mfcc(audio[first:end])
        return {intent: min(dtw_distance(t, features) for t in ts) for intent, ts in self.cepstra.items()}

    def match(self, audio: np.ndarray, first: int, end: int, intents=None) -> TakeMatch | None:
        """The intent whose takes the stretch ``audio[first:end]`` matches, among
        ``intents`` (all when None): within :attr:`limit` and at most
        :data:`MARGIN` of the next intent's distance; else None."""
        found = sorted(((k, d) for k, d in self.distances(audio, first, end).items()
                        if intents is None or k in intents), key=lambda x: x[1])
        if not found:
            return None
        intent, d = found[0]
        runner_up = found[1][1] if len(found) > 1 else float("inf")
        if d > self.limit or d > MARGIN * runner_up:
            return None
        return TakeMatch(intent, d, self.limit, runner_up)
