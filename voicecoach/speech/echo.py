"""Removing the coach's own voice from the microphone signal.

:class:`FrontEnd` is what the recognizer uses: per 10 ms frame it removes
the echo, judges how much of what is left is still echo, and suppresses
stationary noise. Inside it:

- :class:`LinearEchoCanceller`, a partitioned-block frequency-domain
  adaptive filter (two-path, proportionate, as Speex's MDF): its output is
  what gets decoded, because it leaves the person's words intact;
- :class:`ResidualEcho`, the judge of what is echo: how much of the
  canceller's output is the echo it leaves;
- :class:`EchoCanceller`, WebRTC's AEC3 (``pywebrtc-audio``), the other
  judge (``judge="aec3"``), run on the same input: its suppressor also cuts
  the person's words during double talk (measured: -1.5 dB
  signal-to-distortion), so its output is not decoded, and in a ringing room
  it takes the echo's tail for the person.

The far end (``reference``) is what the speaker played over the same span
of time as the mic block; the filters find the acoustic delay (up to
``tail_s``, 300 ms) themselves. When pywebrtc-audio is missing,
:class:`EchoGate` is the fallback: it only says when the coach was audible,
so a caller can ignore what was heard then (half-duplex: commands spoken
over the coach are lost).
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE
from voicecoach.speech.alignment import EchoAligner

FRAME = VOSK_RATE // 100
"""Samples per AEC3 frame at 16 kHz (10 ms)."""
ECHO_TAIL_S = 0.4
"""How long the coach stays audible at the mic after it stops playing: the room's tail and the output latency."""


def aec_available() -> bool:
    """True when WebRTC's echo canceller can be loaded."""
    try:
        import pywebrtc_audio  # noqa: F401
    except Exception:
        return False
    return True


class EchoCanceller:
    """Streaming AEC3 at 16 kHz mono int16, for blocks of any length.

    ``process(near, far)`` returns the cleaned samples that are ready: the
    first ``len(near) // 160 * 160``-ish samples, the rest follow with the
    next call. ``far`` is float32 in [-1, 1] (or None for silence).
    """

    def __init__(self, samplerate: int = VOSK_RATE, *, noise_suppression: int | None = None):
        import pywebrtc_audio

        if samplerate != VOSK_RATE:
            raise ValueError("EchoCanceller runs at 16 kHz")
        self._aec = pywebrtc_audio.EchoCanceller(sample_rate=samplerate, num_channels=1)
        self._ns = (
            pywebrtc_audio.NoiseSuppressor(sample_rate=samplerate, num_channels=1, level=noise_suppression)
            if noise_suppression is not None
            else None
        )
        self._near = np.zeros(0, dtype=np.int16)
        self._far = np.zeros(0, dtype=np.int16)

    def process(self, near: np.ndarray, far: np.ndarray | None) -> np.ndarray:
        near = np.asarray(near, dtype=np.int16)
        if far is None:
            far16 = np.zeros(len(near), dtype=np.int16)
        else:
            far = np.asarray(far, dtype=np.float32)
            if len(far) != len(near):
                # A reference of the wrong length is cut or padded: the
                # canceller must stay aligned with the mic stream.
                far = np.resize(far, len(near)) if len(far) else np.zeros(len(near), np.float32)
            far16 = (np.clip(far, -1.0, 1.0) * 32767.0).astype(np.int16)
        self._near = np.concatenate([self._near, near])
        self._far = np.concatenate([self._far, far16])
        n = len(self._near) // FRAME * FRAME
        if n == 0:
            return np.zeros(0, dtype=np.int16)
        out = np.asarray(self._aec.process(self._near[:n], self._far[:n]), dtype=np.int16)
        if self._ns is not None:
            out = np.asarray(self._ns.process(out), dtype=np.int16)
        self._near = self._near[n:]
        self._far = self._far[n:]
        return out

    def flush(self) -> np.ndarray:
        """The held-back remainder, unprocessed (end of input)."""
        rest, self._near, self._far = self._near, np.zeros(0, np.int16), np.zeros(0, np.int16)
        return rest

    def reset(self) -> None:
        self._aec.reset()
        if self._ns is not None:
            self._ns.reset()
        self._near = np.zeros(0, dtype=np.int16)
        self._far = np.zeros(0, dtype=np.int16)


class EchoGate:
    """Remembers when the coach was audible (reference above ``threshold_db`` dBFS).

    ``hangover_s`` covers the room's echo tail and the output latency.
    """

    def __init__(self, *, threshold_db: float = -45.0, hangover_s: float = ECHO_TAIL_S):
        self.threshold_db = threshold_db
        self.hangover_s = hangover_s
        self._spans: list[tuple[float, float]] = []

    def update(self, reference: np.ndarray | None, start: float, samplerate: int) -> None:
        if reference is None or len(reference) == 0:
            return
        ref = np.asarray(reference, dtype=np.float32)
        n = len(ref) // FRAME
        if n == 0:
            return
        frames = ref[: n * FRAME].reshape(n, FRAME)
        db = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        loud = np.flatnonzero(db > self.threshold_db)
        if loud.size == 0:
            return
        s = start + loud[0] * FRAME / samplerate
        e = start + (loud[-1] + 1) * FRAME / samplerate + self.hangover_s
        if self._spans and s <= self._spans[-1][1]:
            self._spans[-1] = (self._spans[-1][0], max(e, self._spans[-1][1]))
        else:
            self._spans.append((s, e))
        if len(self._spans) > 256:
            del self._spans[:128]

    def overlaps(self, start: float, end: float) -> bool:
        return any(s < end and start < e for s, e in self._spans)

    def reset(self) -> None:
        self._spans.clear()


class CoachWords:
    """Which commands the coach's own sentences name, and when they are audible.

    The coach says the very phrases it listens for ("... and say stop point
    where it starts to lift", the help list). What the canceller leaves of
    that echo decodes as the phrase itself, so a phrase heard while the coach
    says it, or within ``hangover_s`` after (:data:`ECHO_TAIL_S`, as for
    :class:`EchoGate`), is the coach's and not the person's. Times are seconds
    on the mic timeline.
    """

    def __init__(self, grammar, *, hangover_s: float = ECHO_TAIL_S):
        self.grammar = grammar
        self.hangover_s = hangover_s
        self._spans: deque[tuple[float, float, frozenset[str]]] = deque(maxlen=64)

    def add(self, text: str, start: float, end: float) -> None:
        """The coach says ``text`` from ``start`` to ``end``."""
        intents = self.grammar.intents_in(text)
        if intents:
            self._spans.append((start, end + self.hangover_s, intents))

    def said(self, intent: str, start: float, end: float) -> bool:
        """True when a sentence naming ``intent`` was audible between ``start`` and ``end``."""
        return any(s < end and start < e and intent in names for s, e, names in self._spans)

    def reset(self) -> None:
        self._spans.clear()


class ResidualEcho:
    """How much of the linear canceller's output is still the coach's echo: the linear judge.

    The echo a linear filter leaves (its misadjustment, and what of the room's
    tail is longer than the filter) follows the far end's power over the
    filter's span, band by band (``bands`` bands from 100 Hz up, even in log
    frequency). So per block the echo left is expected at the far end's mean power over the last ``span``
    blocks times the ratio of output to that power the canceller has been
    leaving: its median over the blocks of the last ``window_s`` in which the
    coach played (the median holds while the person talks over the coach for
    less than half of them). Output more than ``margin_db`` above that
    expectation is the person's; :meth:`share` is the part of a block's output
    power that is not. Until the canceller has once removed the 6 dB it is
    trusted at, it has found no echo whose residue could be learned: the
    echo's share is its estimate's share of the microphone's power (with no
    echo, what a filter misled by the person's voice subtracts).
    """

    def __init__(self, block: int, samplerate: int = VOSK_RATE, *, margin_db: float, span: int, bands: int = 8,
                 window_s: float = 5.0):
        self.margin = 10.0 ** (margin_db / 10.0)
        self._window = np.hanning(block)
        bins = np.fft.rfftfreq(block, 1.0 / samplerate)
        self._starts = np.unique(np.searchsorted(bins, np.geomspace(100.0, samplerate / 2.0, bands + 1)[:-1]))
        self._floor = 1e-10 * np.sum(self._window**2)  # far end under -100 dBFS teaches nothing
        self._far = np.zeros((span, len(self._starts)))
        self._ratios = np.full((max(1, int(window_s * samplerate / block)), len(self._starts)), np.nan)
        self.reset()

    def reset(self) -> None:
        self._far[:] = 0.0
        self._blocks = 0
        self._ratios[:] = np.nan
        self._learned = 0
        self._rho = np.ones(self._ratios.shape[1])

    def _bands(self, x: np.ndarray) -> np.ndarray:
        """Band powers of a block, or of each row of blocks (one FFT call for all)."""
        spec = np.fft.rfft(x * self._window)
        return np.add.reduceat(spec.real**2 + spec.imag**2, self._starts, axis=-1)

    def hear_far(self, far: np.ndarray) -> None:
        """One block of the far end (:meth:`share` does; alone, for a block the canceller skips)."""
        self._keep_far(self._bands(far))

    def _keep_far(self, bands: np.ndarray) -> None:
        self._far[self._blocks % len(self._far)] = bands
        self._blocks += 1

    def share(self, far: np.ndarray, estimate: np.ndarray, output: np.ndarray, *, learn: bool, trusted: bool,
              found: bool) -> float:
        """The echo's share of the power of ``output`` (one block of the canceller's output),
        given the ``far`` end and the canceller's ``estimate`` of the echo over the same
        block; ``learn``: the coach played in it; ``trusted``: the canceller is (before,
        the block is all echo); ``found``: it has removed an echo (see above)."""
        far_bands, e = self._bands(np.stack((far, output)))
        self._keep_far(far_bands)
        y = np.add.reduce(self._far, axis=0) / len(self._far)  # np.mean's sum and division, without its overhead
        if learn:
            self._ratios[self._learned % len(self._ratios)] = np.where(y > self._floor, e / np.maximum(y, 1e-30),
                                                                      np.nan)
            self._learned += 1
            if self._learned % 5 == 0:  # the median moves slowly: every 5 blocks is enough
                self._rho = _median_seen(self._ratios, self._rho)
        if not trusted:
            return 1.0
        if not found:
            mic = estimate + output
            return min(1.0, float(np.dot(estimate, estimate)) / (float(np.dot(mic, mic)) + 1e-12))
        total = float(e.sum())
        if total <= 0.0:
            return 0.0
        return 1.0 - float(np.maximum(0.0, e - self.margin * self._rho * y).sum()) / total


class LinearEchoCanceller:
    """Partitioned-block frequency-domain adaptive filter (linear echo removal only).

    WebRTC's AEC3 follows its linear filter with a suppressor that, while the
    coach talks, also cuts the person's own words (measured here: their
    speech came out at -1.5 dB signal-to-distortion during double talk), and
    that loses the very marks spoken over the count. This canceller only
    subtracts the linear echo estimate, so the person's words pass intact;
    what is left of the echo is dealt with downstream: given a ``judge``
    (:class:`ResidualEcho`), the canceller says per block how much of its
    output is still echo (:attr:`echo_share`).

    Two filters (Ochiai's two-path scheme, as in Speex's MDF): a background
    filter adapts on every 10 ms block; the foreground filter, whose output
    is used, copies it only when it removes more. Double talk makes the
    background filter worse, so it is then not copied (and is reset from the
    foreground when it has clearly diverged).

    ``tail_s`` is the longest echo path covered (delay plus room reverb);
    after ``trust_after_s`` of far end the filter's estimate is trusted even if
    it never removed much (there was no echo to remove). Once it has followed an
    echo for ``settled_after_s`` of far end, output louder than the microphone
    for three blocks in a row means the echo moved (:attr:`louder`).
    """

    def __init__(self, samplerate: int = VOSK_RATE, *, tail_s: float = 0.3, mu: float = 0.4, block: int = 2 * FRAME,
                 trust_after_s: float = 5.0, judge_margin_db: float | None = None, settled_after_s: float = 1.0):
        self.n = block
        self.trust_after = int(trust_after_s * samplerate)
        self.settled_after = int(settled_after_s * samplerate)
        self.p = max(1, int(np.ceil(tail_s * samplerate / block)))
        self.judge = None if judge_margin_db is None else ResidualEcho(block, samplerate, margin_db=judge_margin_db,
                                                                       span=self.p)
        self.mu = mu
        self.samplerate = samplerate
        self.reset()

    def reset(self) -> None:
        bins = self.n + 1
        # The filters run in single precision, as Speex's float build: the far end
        # comes as float32, and the error they leave is far above float32's.
        self._x_pair = np.zeros(2 * self.n, dtype=np.float32)
        """The previous far-end block, then this one (what the newest partition transforms)."""
        self._e_pad = np.zeros(2 * self.n, dtype=np.float32)
        """Zeros, then the background filter's error for this block."""
        self._grad = np.zeros((self.p, bins), dtype=np.complex64)
        self._prod = np.zeros((2, self.p, bins), dtype=np.complex64)
        # The far end's spectra, newest first, are the P rows from _X_at on: a
        # new block steps _X_at back instead of moving all the others, and the
        # rows move to the end of the buffer once every P blocks.
        self._X_buf = np.zeros((2 * self.p, bins), dtype=np.complex64)
        self._X_at = self.p
        self._X = self._X_buf[self._X_at:self._X_at + self.p]
        # The foreground and background filters in one array: both outputs come
        # from one product, one sum and one inverse FFT.
        self._w = np.zeros((2, self.p, bins), dtype=np.complex64)
        self._wf, self._wb = self._w
        self._pxx = np.zeros(bins, dtype=np.float32)
        self._prop = np.full(self.p, 1.0 / self.p)
        self._turn = 0
        self._silent = 0
        self._sf = 0.0
        self._sb = 0.0
        self._near = np.zeros(0, dtype=np.float64)
        self._far = np.zeros(0, dtype=np.float64)
        self.echo_share: list[float] = []
        """With a judge, per processed block: the share (0..1) of the output's power
        that is still echo, for the caller to consume. Until the filter has
        converged, a block in which the far end plays is all echo (half-duplex
        until the canceller can be trusted)."""
        if self.judge is not None:
            self.judge.reset()
        self.converged = False
        """The filter's estimate can be trusted: it has removed 6 dB, or heard enough far end to have."""
        self.found_echo = False
        """The filter has removed 6 dB: there is an echo (a judge has something to judge)."""
        self._heard_far = 0
        self.louder: list[int] = []
        """Where, in the samples given to the latest :meth:`process` (negative: before them),
        began a run of blocks that came out louder than the microphone: once an echo was
        found, the filter subtracts one that is not there, because the echo moved against
        the far end."""
        self._louder = False
        self._louder_run = 0
        self._found_for = 0
        """Far-end samples played since the filter found the echo."""
        self._near_s = 0.0
        self._out_s = 0.0

    def process(self, near: np.ndarray, far: np.ndarray | None) -> np.ndarray:
        """int16 near, float32 far (same length or None) -> cleaned int16, whole frames only."""
        near = np.asarray(near, dtype=np.int16).astype(np.float64) / 32768.0
        if far is None:
            far = np.zeros(len(near))
        else:
            far = np.asarray(far, dtype=np.float64).reshape(-1)
            if len(far) != len(near):
                far = np.resize(far, len(near)) if len(far) else np.zeros(len(near))
        self._near = np.concatenate([self._near, near])
        self._far = np.concatenate([self._far, far])
        k = len(self._near) // self.n
        out = np.empty(k * self.n)
        self.louder = []
        for j in range(k):
            d = self._near[j * self.n : (j + 1) * self.n]
            x = self._far[j * self.n : (j + 1) * self.n]
            self._louder = False
            out[j * self.n : (j + 1) * self.n] = self._block(d, x)
            if self._louder:
                # Where the run of louder blocks began: the echo moved there, not later.
                self.louder.append((j + 1 - self._louder_run) * self.n - (len(self._near) - len(near)))
        self._near = self._near[k * self.n :]
        self._far = self._far[k * self.n :]
        return (np.clip(out, -1.0, 1.0) * 32767.0).astype(np.int16)

    def flush(self) -> np.ndarray:
        rest = (np.clip(self._near, -1, 1) * 32767.0).astype(np.int16)
        self._near = np.zeros(0)
        self._far = np.zeros(0)
        return rest

    def skip(self, far: np.ndarray) -> None:
        """The microphone gave digital silence (a generated file) over ``far`` (whole
        blocks): nothing to cancel or learn from, but the far end's history moves on,
        or the echo that follows is met with a history that skipped these blocks; and
        far end played into a silent microphone counts as heard without an echo."""
        far = np.asarray(far, dtype=np.float64).reshape(-1)
        for j in range(len(far) // self.n):
            x = far[j * self.n:(j + 1) * self.n]
            if not self.found_echo and float(np.dot(x, x)) / self.n > 1e-6:
                self._count_far_heard(self.n)
            if self._push_far(x) and self.judge is not None:
                self.judge.hear_far(x)

    def _push_far(self, x: np.ndarray) -> bool:
        """Add a far-end block to the history; False when the far end has been silent
        for longer than the filter (there is no echo to estimate, and the history
        holds only zeros: it is left as it is)."""
        n = self.n
        playing = float(np.dot(x, x)) > 1e-9 * n
        self._silent = 0 if playing else self._silent + 1
        if self._silent > self.p + 1:
            return False
        if self._X_at == 0:
            self._X_buf[self.p + 1:] = self._X_buf[:self.p - 1]
            self._X_at = self.p + 1
        self._X_at -= 1
        self._X = self._X_buf[self._X_at:self._X_at + self.p]
        self._x_pair[n:] = x
        self._X[0] = np.fft.rfft(self._x_pair)
        self._x_pair[:n] = x
        return True

    def _block(self, d: np.ndarray, x: np.ndarray) -> np.ndarray:
        n = self.n
        xx = float(np.dot(x, x))
        playing = xx > 1e-9 * n
        if not self._push_far(x):
            self._judged(0.0)
            return d
        if not self._X[0].any() and not self._wf.any():
            self._judged(0.0)
            return d
        yf, yb = np.fft.irfft(np.sum(np.multiply(self._w, self._X, out=self._prod), axis=1))[:, n:]
        ef = d - yf
        eb = d - yb
        # Background update: NLMS normalised by the far end's power per bin,
        # only while the far end plays (nothing to learn from silence).
        self._pxx = 0.9 * self._pxx + 0.1 * np.abs(self._X[0]) ** 2
        if playing:
            mean = np.add.reduce(self._pxx) / len(self._pxx)  # np.mean's arithmetic, without its overhead
            norm = self.p * (self._pxx + 1e-2 * mean) + 1e-9
            self._e_pad[n:] = eb
            Eb = np.fft.rfft(self._e_pad)
            # Proportionate step (as Speex's MDF): partitions that hold more of
            # the echo path adapt faster, which speeds up convergence on a path
            # with a bulk delay and a decaying tail.
            prop = 0.99 * self._prop + 0.01 / self.p
            step = ((self.mu * self.p) * prop[:, None]).astype(np.float32)
            grad = np.conjugate(self._X, out=self._grad)
            np.multiply(step, grad, out=grad)
            np.multiply(grad, Eb / norm, out=grad)
            self._wb += grad
            # Keep each partition's impulse response causal and N long (the
            # gradient constraint), one partition per block in turn, as Speex
            # does: constraining all of them every block costs 2P FFTs.
            j = self._turn % self.p
            self._turn += 1
            w = np.fft.irfft(self._wb[j])
            w[n:] = 0.0
            self._wb[j] = np.fft.rfft(w)
            if self._turn % 4 == 0:
                energy = np.sqrt(np.sum(self._wb.real**2 + self._wb.imag**2, axis=1)) + 1e-9
                self._prop = energy / np.sum(energy)
        # Foreground follows the background when it is clearly better.
        self._sf = 0.7 * self._sf + 0.3 * float(np.dot(ef, ef))
        self._sb = 0.7 * self._sb + 0.3 * float(np.dot(eb, eb))
        if self._sb < 0.8 * self._sf:
            self._wf[:] = self._wb
            self._sf = self._sb
        elif self._sb > 4.0 * self._sf + 1e-9:
            self._wb[:] = self._wf
            self._sb = self._sf
        if not self.found_echo and xx / n > 1e-6:
            # Echo return loss enhancement over ~1 s of far-end activity; or, when
            # there is no echo to remove (a quiet or distant speaker), enough far end
            # heard that the filter would have found one.
            self._near_s = 0.99 * self._near_s + float(np.dot(d, d))
            self._out_s = 0.99 * self._out_s + float(np.dot(ef, ef))
            self.found_echo = self._near_s > 1e-3 and self._near_s > 4.0 * self._out_s
            self._count_far_heard(n)
        dd = float(np.dot(d, d))
        if self.found_echo and playing:
            self._found_for += n
        # Three blocks in a row (a converging filter, or one block, can overshoot), once the
        # filter has followed the echo for a while.
        louder = self.found_echo and playing and dd > 1e-6 * n and float(np.dot(ef, ef)) > 1.5 * dd
        self._louder_run = self._louder_run + 1 if louder else 0
        self._louder = self._louder_run >= 3 and self._found_for >= self.settled_after
        if self.judge is not None:
            # Until the filter is trusted, whatever reaches the microphone within its span
            # of the far end playing is taken for echo: the room's tail too.
            self._judged(self.judge.share(x, yf, ef, learn=playing, trusted=self.converged, found=self.found_echo))
        return ef

    def _count_far_heard(self, n: int) -> None:
        """``n`` more samples of the far end played while no echo has been found yet:
        enough of them and the filter is trusted (it would have found an echo)."""
        self._heard_far += n
        self.converged = self.converged or self.found_echo or self._heard_far >= self.trust_after

    def _judged(self, share: float) -> None:
        if self.judge is not None:
            self.echo_share.append(share)


class Cleaned(NamedTuple):
    """What :meth:`FrontEnd.process` returns for the whole 10 ms frames ready so far."""

    clean: np.ndarray
    """int16: echo removed and noise suppressed, what the decoder is given."""
    unsuppressed: np.ndarray
    """int16: the same samples with the echo removed but no noise suppression
    (a second hypothesis for the decoder: suppression loses some words it keeps)."""
    echo: np.ndarray
    """Per frame, the share (0..1) of its power that is the coach's echo (0 without a reference)."""
    power: np.ndarray
    """Per frame, its power before noise suppression (suppression leaves a
    fluctuating floor that makes a poor voice-activity signal)."""


class FrontEnd:
    """What the recognizer hears: mic blocks -> echo removed -> noise suppressed, 10 ms frames.

    Args:
        aec: ``"linear"`` (the default) decodes the output of
            :class:`LinearEchoCanceller`, which keeps the person's words
            intact while the coach talks. ``"webrtc"`` decodes AEC3's output
            itself; None does no cancellation. Cancellation starts with the
            first block that comes with a reference.
        noise_suppression: WebRTC noise suppression level 0-3, or None.
        judge: with ``aec="linear"``, what says how much of a frame is echo:
            ``"linear"``, the linear canceller's own estimate
            (:class:`ResidualEcho`: the whole frame until the filter can be
            trusted), or ``"aec3"``, WebRTC's AEC3 run beside it (what its
            suppressor keeps is the person's).
        judge_margin_db: for the linear judge, how far above the echo expected
            to be left the output must be to be the person's.

    :meth:`process` returns a :class:`Cleaned`: the samples ready so far, with
    and without noise suppression, and per 10 ms frame its echo share and power.
    """

    def __init__(self, samplerate: int = VOSK_RATE, *, aec: str | None = "linear", noise_suppression: int | None = 1,
                 judge: str = "linear", judge_margin_db: float = 21.0):
        if aec not in ("linear", "webrtc", None):
            raise ValueError(f"aec must be 'linear', 'webrtc' or None, not {aec!r}")
        if judge not in ("aec3", "linear"):
            raise ValueError(f"judge must be 'aec3' or 'linear', not {judge!r}")
        self.samplerate = samplerate
        self.aec_kind = aec
        self.judge = judge
        self.judge_margin_db = judge_margin_db
        self.webrtc = aec_available()
        self.ns_level = noise_suppression if self.webrtc else None
        self.reset()

    def reset(self) -> None:
        self._align: EchoAligner | None = None
        self._lin: LinearEchoCanceller | None = None
        self._aec3 = None
        self._ns = None
        if self.ns_level is not None:
            import pywebrtc_audio

            self._ns = pywebrtc_audio.NoiseSuppressor(sample_rate=self.samplerate, num_channels=1, level=self.ns_level)
        self._near = np.zeros(0, dtype=np.int16)
        self._far = np.zeros(0, dtype=np.float32)
        self._done = 0
        """Samples given to the canceller (or skipped as digital silence): the next one's index among those fed."""
        self._align_from = 0
        """The index among those fed of the aligner's first sample (its own count starts there)."""

    @property
    def cancelling(self) -> bool:
        """True once echo cancellation runs (a reference has been given)."""
        return self._lin is not None or self._aec3 is not None

    def echo_in_doubt(self, lo: int, hi: int) -> bool:
        """True when the echo's place was in doubt over samples [lo, hi) of those fed
        while the far end played (:meth:`EchoAligner.in_doubt`); False before cancelling, and
        while the linear canceller has found no echo (a speaker the microphone does not hear
        leaves the aligner only chance peaks, which can line up and then leave it)."""
        if self._align is None or (self._lin is not None and not self._lin.found_echo):
            return False
        return self._align.in_doubt(lo - self._align_from, hi - self._align_from)

    @property
    def aligner(self) -> EchoAligner | None:
        """The :class:`EchoAligner` keeping the far end on the microphone's clock (None before cancelling starts)."""
        return self._align

    def process(self, near: np.ndarray, far: np.ndarray | None, ahead: np.ndarray | None = None) -> Cleaned:
        """``ahead``: what the output rendered after this block (``MicBlock.ahead``), which
        lets the echo be followed when the speaker's clock runs ahead of the mic's."""
        near = np.asarray(near, dtype=np.int16)
        if far is not None and self.aec_kind is not None and not self.cancelling:
            self._align = EchoAligner(self.samplerate)
            self._align_from = self._done + len(self._near)
            if self.aec_kind == "linear":
                judging = self.judge == "linear" or not self.webrtc
                self._lin = LinearEchoCanceller(self.samplerate,
                                                judge_margin_db=self.judge_margin_db if judging else None)
            if self.webrtc and (self.aec_kind == "webrtc" or self.judge == "aec3"):
                self._aec3 = EchoCanceller(self.samplerate)
        if far is None:
            far = np.zeros(len(near), dtype=np.float32)
        else:
            far = np.asarray(far, dtype=np.float32).reshape(-1)
            if len(far) != len(near):
                far = np.resize(far, len(near)) if len(far) else np.zeros(len(near), np.float32)
        if self._align is not None:
            far = self._align.align(near, far, ahead)
        self._near = np.concatenate([self._near, near])
        self._far = np.concatenate([self._far, far])
        hop = self._lin.n if self._lin is not None else FRAME
        n = len(self._near) // hop * hop
        if n == 0:
            return Cleaned(np.zeros(0, dtype=np.int16), np.zeros(0, dtype=np.int16), np.zeros(0), np.zeros(0))
        d, x = self._near[:n], self._far[:n]
        self._near, self._far = self._near[n:], self._far[n:]
        k = n // FRAME
        share = np.zeros(k)
        if not d.any():
            self._done += n
            # Digital silence (a generated WAV; a real microphone always has
            # some noise): there is no echo in it to cancel or learn from, and
            # nothing to suppress. AEC3 still gets it, or its idea of the echo
            # delay breaks and it takes the next words for echo (seen: 5 of 30
            # marks lost); the linear canceller's far-end history moves on.
            if self._aec3 is not None:
                self._aec3.process(d, x)
            if self._lin is not None:
                self._lin.skip(x)
            return Cleaned(d, d, share, np.zeros(k))
        first = self._done
        self._done += n
        if self._lin is not None:
            out = self._lin.process(d, x)
            if self._lin.louder and self._align is not None:
                self._align.doubt_from(first + self._lin.louder[0] - self._align_from)
            if self._aec3 is not None:
                # What AEC3 lets through of this frame is the near end's part.
                p_near = frame_power(self._aec3.process(d, x))
                share = 1.0 - np.minimum(1.0, p_near / (frame_power(out) + 1e-12))
            else:
                share = np.repeat(np.asarray(self._lin.echo_share, dtype=np.float64), self._lin.n // FRAME)[-k:]
            del self._lin.echo_share[:]
            d = out
        elif self._aec3 is not None:
            d = np.asarray(self._aec3.process(d, x), dtype=np.int16)
        power = frame_power(d, dc=True)
        clean = d if self._ns is None else np.asarray(self._ns.process(d), dtype=np.int16)
        return Cleaned(clean, d, share, power)

    def flush(self) -> np.ndarray:
        rest, self._near, self._far = self._near, np.zeros(0, np.int16), np.zeros(0, np.float32)
        return rest


def _median_seen(x: np.ndarray, default: np.ndarray) -> np.ndarray:
    """Per column of ``x``, the median of its values that are not NaN (``default``'s where all are),
    bit for bit as ``np.median`` of them: all columns at once, with one sort."""
    seen = np.count_nonzero(~np.isnan(x), axis=0)
    ranked = np.sort(x, axis=0)  # NaNs last
    cols = np.arange(x.shape[1])
    lo, hi = ranked[np.maximum(seen - 1, 0) // 2, cols], ranked[seen // 2, cols]
    # np.median's mean of the middle one or two: (a + a) / 2 is a exactly.
    return np.where(seen > 0, (lo + hi) / 2.0, default)


def frame_power(x: np.ndarray, dc: bool = False) -> np.ndarray:
    """Mean power of each 10 ms frame (of int16 samples, full scale 1); ``dc``: remove each frame's mean first."""
    x = np.asarray(x, dtype=np.float64) / 32768.0
    k = len(x) // FRAME
    frames = x[: k * FRAME].reshape(k, FRAME)
    if dc:
        frames = frames - frames.mean(axis=1, keepdims=True)
    return np.mean(frames**2, axis=1)
