"""Keeping the coach's voice (the far end) on the microphone's clock.

The speaker and a USB microphone run on clocks of their own: tens to a
hundred parts per million apart, so the echo slides against the reference the
recogniser is given (at 150 ppm, 9 ms a minute; 270 ms in half an hour). The
echo canceller's filter covers a fixed span and adapts far too slowly to
follow even 50 ppm. :class:`EchoAligner` measures where the echo is and hands
the canceller the far end resampled so that the echo path it sees stays put.
"""

from __future__ import annotations

import numpy as np

from voicecoach.audio.wavio import VOSK_RATE

_TAPS = 8
"""Half-length of the windowed-sinc interpolator (16 taps: flat to about 7 kHz at 16 kHz)."""
_PHASES = 256
"""Fractional positions tabulated (a 1/256-sample step: far below what the canceller can tell)."""


def _sinc_table() -> np.ndarray:
    x = np.arange(_PHASES + 1)[:, None] / _PHASES - np.arange(-_TAPS + 1, _TAPS + 1)[None, :]
    return np.sinc(x) * (0.5 + 0.5 * np.cos(np.pi * x / _TAPS))


_WEIGHTS = _sinc_table()


def _fft_size(n: int) -> int:
    """The smallest 2^a 3^b 5^c at least ``n``: a length the FFT is fast for, often far below the next power of two."""
    best = 1 << max(0, int(n - 1).bit_length())
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


class EchoAligner:
    """The far end, read where the echo in the microphone says it is.

    Once every ``every_s`` of far-end activity it finds the echo's delay by
    GCC-PHAT between the last ``window_s`` of microphone and far end (from
    ``max_lead_s`` early to ``max_lag_s`` late), keeps the confident ones from
    the last ``memory_s``, and fits a line through them (robustly: the median
    of pairwise slopes); the slope is the clock drift. :meth:`align` returns
    the far end read along that line, less ``target_s``, so the canceller finds
    the echo ``target_s`` into its filter. Until the first measurement it
    returns the far end unchanged.

    The echo can also jump (an output underflow plays silence the reference
    does not have). ``jump_after`` measurements in a row that sit more than
    ``jump_s`` off the line, on one side and within ``jump_s`` of each other,
    are taken for a jump once the line has a slope: the line's offset restarts
    from them, and its slope is fitted from pairs that do not straddle a jump
    (the clocks did not change). Measurements off the line (at most
    ``jump_after - 1``) are held out of the fit until the next ones say
    whether they were strays or a jump.

    An echo that arrives before the reference says it was played (a faster
    speaker clock) can be followed as far as the output has rendered beyond
    the block (``ahead``).

    Until the line follows a jump, the canceller is handed a far end that is
    not where the echo is, and what it leaves of the coach's voice passes for
    the person's. So from the window of a measurement more than ``doubt_s``
    off a line that ``jump_after`` measurements are on (an echo whose place
    was known), to the first one back on it, the echo's place is in doubt:
    :meth:`in_doubt` says whether the far end played then, within ``max_lag_s``
    before a span of microphone samples.
    """

    def __init__(self, samplerate: int = VOSK_RATE, *, target_s: float = 0.03, window_s: float = 2.0,
                 every_s: float = 1.0, max_lag_s: float = 0.5, max_lead_s: float = 0.3, memory_s: float = 120.0,
                 min_peak: float = 6.0, jump_s: float = 0.0005, jump_after: int = 4, doubt_s: float = 0.002):
        self.samplerate = samplerate
        self.target = target_s * samplerate
        self.window = int(window_s * samplerate)
        self.every = int(every_s * samplerate)
        self.max_lag = int(max_lag_s * samplerate)
        self.max_lead = int(max_lead_s * samplerate)
        self.memory = memory_s * samplerate
        self.min_peak = min_peak
        self.jump = jump_s * samplerate
        self.jump_after = jump_after
        self.doubt = doubt_s * samplerate
        self._keep = self.window + self.max_lag + 2 * _TAPS + self.max_lead + 8 * samplerate
        """Far-end samples kept: those from ``_far_base`` on (older ones read as zeros)."""
        self._far_base = -(self.window + self.max_lag + _TAPS)
        """Absolute sample index of the oldest far-end sample kept (negative: the silence before the start)."""
        # Twice what is kept, so that the kept span moves back to the front
        # once every ``_keep`` samples instead of on every block.
        self._far = np.zeros(2 * self._keep, dtype=np.float64)
        self._far_at = self._far_base
        """Absolute sample index of ``_far[0]``."""
        self._far_known = 0
        """Absolute index up to which the far end is known (the blocks and what came ahead)."""
        self._mic_buf = np.zeros(2 * self.window, dtype=np.float64)
        self._mic_end = self.window
        """The last ``window`` microphone samples are ``_mic_buf[_mic_end - window:_mic_end]``."""
        self._n = 0
        """Microphone samples seen (the absolute index of the next one)."""
        self._since = 0
        self._active = 0
        self.measured: list[tuple[int, float, float]] = []
        """(mic sample, echo delay in samples, peak sharpness) of every measurement kept."""
        self._offset = None
        self._slope = 0.0
        self._anchor = 0
        self._sloped = False
        """Whether the line's slope comes from measurements (not the 0 it starts with)."""
        self._strays: list[float] = []
        """How far off the line each of the latest measurements was, when they all were (at most ``jump_after - 1``)."""
        self.jumps: list[int] = []
        """Mic sample of the first measurement after each jump found (within the memory)."""
        self.doubts: list[list[int | None]] = []
        """[first, last) mic samples over which the echo's place was in doubt (last None: it still is)."""

    @property
    def drift_ppm(self) -> float:
        """The drift fitted so far (positive: the echo comes later and later)."""
        return self._slope * 1e6

    def delay_at(self, n: int) -> float | None:
        """The echo's delay (samples) behind the far end at mic sample ``n``, or None before any measurement."""
        if self._offset is None:
            return None
        return self._offset + self._slope * (n - self._anchor)

    def align(self, near: np.ndarray, far: np.ndarray, ahead: np.ndarray | None = None) -> np.ndarray:
        """The far end for these ``near`` samples, on the microphone's clock (float32, same length)."""
        n = len(near)
        self._store_far(far, ahead)
        self._push_mic(near)
        self._since += n
        if float(np.dot(far, far)) > 1e-5 * n:
            self._active += n
        if self._since >= self.every and self._active >= self.every // 2:
            self._measure()
            self._since = self._active = 0
        start = self._n - n
        delay = self.delay_at(start)
        if delay is None:
            return np.asarray(far, dtype=np.float32)
        pos = np.arange(start, self._n, dtype=np.float64)
        pos -= self._offset + self._slope * (pos - self._anchor) - self.target
        return self._read(pos)

    # -- internals ---------------------------------------------------------------

    def _store_far(self, far: np.ndarray, ahead: np.ndarray | None) -> None:
        start = self._n
        chunks = [np.asarray(far, dtype=np.float64)]
        if ahead is not None and len(ahead):
            chunks.append(np.asarray(ahead[: self.max_lead + 2 * _TAPS], dtype=np.float64))
        x = np.concatenate(chunks)
        end = start + len(x)
        self._far_base = max(self._far_base, end - self._keep)
        if end - self._far_at > len(self._far):
            # Nothing past the kept span was ever written: what follows it is zeros.
            kept = self._far[self._far_base - self._far_at:]
            self._far[:len(kept)] = kept
            self._far[len(kept):] = 0.0
            self._far_at = self._far_base
        self._far[start - self._far_at:end - self._far_at] = x
        self._far_known = max(self._far_known, end)

    def _push_mic(self, near: np.ndarray) -> None:
        x = np.asarray(near, dtype=np.float64) / 32768.0
        w = self.window
        if len(x) >= w:
            self._mic_buf[:w] = x[-w:]
            self._mic_end = w
        else:
            if self._mic_end + len(x) > len(self._mic_buf):
                self._mic_buf[:w] = self._mic_buf[self._mic_end - w:self._mic_end]
                self._mic_end = w
            self._mic_buf[self._mic_end:self._mic_end + len(x)] = x
            self._mic_end += len(x)
        self._n += len(near)

    def _segment(self, lo: int, hi: int) -> np.ndarray:
        """Far-end samples [lo, hi) by absolute index; zeros where unknown."""
        out = np.zeros(hi - lo)
        a, b = max(lo, self._far_base), min(hi, self._far_known, self._far_base + self._keep)
        if b > a:
            out[a - lo:b - lo] = self._far[a - self._far_at:b - self._far_at]
        return out

    def _measure(self) -> None:
        """One GCC-PHAT delay estimate over the last window; kept if its peak is sharp."""
        end = self._n
        lead = int(min(self.max_lead, max(0, self._far_known - end)))
        lo = end - self.window - self.max_lag
        far = self._segment(lo, end + lead)
        mic = self._mic_buf[self._mic_end - self.window:self._mic_end]
        size = _fft_size(len(far) + len(mic))
        cross = np.fft.rfft(mic, size) * np.conj(np.fft.rfft(far, size))
        cross /= np.abs(cross) + 1e-12
        gcc = np.fft.irfft(cross, size)
        # gcc[k] pairs mic[i] (absolute end - window + i) with far[i - k] (absolute lo + i - k):
        # an echo delayed by d samples peaks at k = d - max_lag, for d from -lead to max_lag.
        ks = np.arange(-lead - self.max_lag, 1)
        values = gcc[ks % size]
        best = int(np.argmax(values))
        peak = values[best]
        spread = float(np.median(np.abs(values))) + 1e-12
        if peak / spread < self.min_peak:
            return
        frac = 0.0
        if 0 < best < len(values) - 1:
            y0, y1, y2 = values[best - 1], values[best], values[best + 1]
            denom = y0 - 2 * y1 + y2
            frac = 0.5 * (y0 - y2) / denom if denom else 0.0
        delay = self.max_lag + ks[best] + frac
        self._add(end - self.window // 2, float(delay), float(peak / spread))
        self._judge_place(end, float(delay))

    def _judge_place(self, end: int, delay: float) -> None:
        """Open a doubt over the window ending at mic sample ``end`` when its measured ``delay``
        is off the line (as now fitted), close the open one when it is on it."""
        off = abs(delay - self.delay_at(end - self.window // 2)) > self.doubt
        open_ = bool(self.doubts) and self.doubts[-1][1] is None
        # Only an echo whose place was known can be misplaced: with none in the microphone
        # (the person alone), the measurements are scattered and none is a line's.
        known = sum(abs(d - self.delay_at(n)) <= self.doubt for n, d, _ in self.measured) >= self.jump_after
        if off and not open_ and known:
            self.doubts.append([end - self.window, None])
        elif not off and open_:
            self.doubts[-1][1] = end
        while len(self.doubts) > 64:
            del self.doubts[0]

    def doubt_from(self, n: int) -> None:
        """The canceller found the echo moved at mic sample ``n`` (from there on it subtracted
        one that was not there): in doubt from ``n`` until a measurement is on the line."""
        if not (self.doubts and self.doubts[-1][1] is None):
            self.doubts.append([max(0, n), None])

    def in_doubt(self, lo: int, hi: int) -> bool:
        """True when mic samples [lo, hi) overlap a doubt over the echo's place and the far
        end played within ``max_lag_s`` before (or during) them (read while it is kept)."""
        for first, last in self.doubts:
            a, b = max(lo, first), min(hi, self._n if last is None else last)
            if a < b:
                far = self._segment(a - self.max_lag, b)
                k = len(far) // 160  # 10 ms frames at 16 kHz
                if k and float(np.max(np.mean(far[:k * 160].reshape(k, 160) ** 2, axis=1))) > 1e-5:
                    return True
        return False

    def _add(self, n: int, delay: float, peak: float) -> None:
        """Keeps one measurement (echo ``delay`` at mic sample ``n``), finds a jump, and fits the line again."""
        if self._sloped:
            off = delay - self.delay_at(n)
            self._strays = self._strays + [off] if abs(off) > self.jump else []
        self.measured.append((n, delay, peak))
        self.measured = [m for m in self.measured if m[0] > n - self.memory]
        self.jumps = [j for j in self.jumps if j > self.measured[0][0]]
        run = self._strays[-self.jump_after:]
        if len(run) == self.jump_after and max(run) - min(run) <= self.jump:
            self.jumps.append(self.measured[-len(run)][0])
            self._strays = []
        self._strays = self._strays[max(0, len(self._strays) - self.jump_after + 1):]
        self._fit()

    def _fit(self) -> None:
        pts = self.measured[:max(1, len(self.measured) - len(self._strays))]
        t = np.array([p[0] for p in pts], dtype=np.float64)
        d = np.array([p[1] for p in pts], dtype=np.float64)
        part = np.searchsorted(self.jumps, t, side="right")  # which stretch between jumps each point is in
        slope = 0.0
        self._sloped = False
        if len(pts) >= 4:
            i, j = np.triu_indices(len(pts), 1)
            span = t[j] - t[i]
            ok = (span > self.samplerate * 5) & (part[i] == part[j])
            if ok.any():
                slope = float(np.clip(np.median((d[j] - d[i])[ok] / span[ok]), -5e-4, 5e-4))
                self._sloped = True
        self._anchor = int(t[-1])
        self._slope = slope
        last = part == part[-1]
        self._offset = float(np.median(d[last] + slope * (self._anchor - t[last])))

    def _read(self, pos: np.ndarray) -> np.ndarray:
        """The far end at fractional absolute positions (windowed-sinc interpolation)."""
        base = np.floor(pos).astype(np.int64)
        phase = np.rint((pos - base) * _PHASES).astype(np.int64)
        lo, hi = int(base[0]) - _TAPS + 1, int(base[-1]) + _TAPS + 1
        seg = self._segment(lo, hi)
        steady = bool((base[1:] - base[:-1] == 1).all())  # np.diff and np.all cost more than the work
        if steady and not phase.any():  # whole-sample shift: a plain copy
            return seg[_TAPS - 1:_TAPS - 1 + len(pos)].astype(np.float32)
        if steady:  # one sample per row: the rows are a sliding window over seg
            rows = np.lib.stride_tricks.as_strided(seg, (len(pos), 2 * _TAPS), (seg.strides[0],) * 2).copy()
        else:
            rows = seg[(base - base[0])[:, None] + np.arange(2 * _TAPS)[None, :]]
        return np.einsum("ij,ij->i", rows, np.take(_WEIGHTS, phase, axis=0)).astype(np.float32)
