"""Audio streams: one interface (:class:`AudioIO`), live and simulated.

The coach runtime does the same thing with either::

    io = SimulatedIO(mic_wav, out_wav)            # or LiveIO(output_device=...)
    sched = Scheduler(io.samplerate)
    io.start(sched)                               # the output side now calls sched(out)
    while (block := io.read_mic(timeout=0.5)) is not None:
        ...                                       # feed block.samples to the recognizer
    io.stop()

Timelines: the output clock is the scheduler's sample counter (second t =
sample t * samplerate). ``MicBlock.start`` is in seconds on that same clock:
the moment the block's first sample reached the microphone. In simulation the
two are the same file timeline exactly; live, they are joined using PortAudio's
stream times where the host API reports them and the sample counters (plus the
reported latencies) where it reports zeros (PulseAudio's ALSA plugin does).
"""

from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from voicecoach.audio.scheduler import Scheduler
from voicecoach.audio.wavio import ESPEAK_RATE, VOSK_RATE, WavWriter, float_to_int16, read_wav, resample
from voicecoach.errors import UserError

Render = Callable[[np.ndarray], None]
AHEAD_S = 0.5
"""The most of the output beyond a mic block that :attr:`MicBlock.ahead` holds."""
STARTUP_S = 8.0
"""Grace for a freshly opened live stream's first data before it counts as stalled
(PulseAudio under load can take seconds)."""


@dataclass
class MicBlock:
    """A block of microphone audio for the recognizer."""

    samples: np.ndarray
    """int16 mono at 16 kHz (Vosk's rate)."""
    start: float
    """Seconds on the output clock at which ``samples[0]`` reached the microphone."""
    reference: np.ndarray = field(repr=False)
    """float32 16 kHz, same length: what the speaker played over this span (the
    far-end signal for echo cancellation), aligned as well as known: exactly in
    simulation, to within the latency estimate live."""
    ahead: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32), repr=False)
    """float32 16 kHz: what the output has rendered after this span, as far as
    known (at most :data:`AHEAD_S`; may be empty). An echo canceller needs it
    when the speaker's clock runs ahead of the microphone's."""

    @property
    def far_end(self) -> np.ndarray:
        """``reference`` followed by ``ahead``: what the recognizer's ``feed`` takes."""
        return np.concatenate((self.reference, self.ahead)) if len(self.ahead) else self.reference

    @property
    def duration(self) -> float:
        return len(self.samples) / VOSK_RATE

    @property
    def end(self) -> float:
        return self.start + self.duration


class AudioIO(Protocol):
    """What the runtime (and :class:`voicecoach.audio.resilient.ResilientIO`) may ask of a
    stream pair; :class:`LiveIO`, :class:`SimulatedIO` and ``ResilientIO`` speak it."""

    samplerate: int
    """Output rate (the scheduler's rate)."""
    xruns: dict[str, int]
    """Counted under/overruns, e.g. ``{"output_underflow": 0, "input_overflow": 0}``."""

    def start(self, render: Render) -> None:
        """Start the output side calling ``render(out)`` for each block: the
        :class:`~voicecoach.audio.scheduler.Scheduler` itself (a bare render
        function does for the plain streams)."""

    def read_mic(self, timeout: float | None = None) -> MicBlock | None:
        """The next mic block; None when the input ended (simulation) or timed out (live)."""

    def stop(self) -> None:
        """Stop the streams (and write the output file, in simulation)."""

    @property
    def frames_out(self) -> int:
        """Output samples rendered so far."""

    @property
    def block_in_flight(self) -> int:
        """Samples the output side may render between a caller's reading the
        scheduler's clock and the scheduler's seeing a command: the last output
        block live, 0 where the output renders on the caller's thread (simulation)."""

    @property
    def input_active(self) -> bool:
        """False once the input stream has stopped under us (its device failed); True with no input."""

    @property
    def output_active(self) -> bool:
        """False once the output stream has stopped under us (its device failed)."""

    @property
    def listening(self) -> bool:
        """True while microphone blocks carry what the microphone hears (feed them to a recognizer)."""

    def device_events(self) -> list:
        """The :class:`~voicecoach.events.DeviceLost` / ``DeviceBack`` events since the last call."""


def _xruns() -> dict[str, int]:
    return {"output_underflow": 0, "output_overflow": 0, "input_underflow": 0, "input_overflow": 0}


def room_impulse(rate: int = VOSK_RATE, rt60: float = 0.3, seed: int = 7) -> np.ndarray:
    """A simple synthetic room: the direct sound, a few early reflections, and a
    diffuse tail of exponentially decaying noise reaching -60 dB at ``rt60``."""
    rng = np.random.default_rng(seed)
    n = int(rt60 * rate)
    t = np.arange(n) / rate
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    tail[: int(0.005 * rate)] = 0.0  # the tail builds up after the first reflections
    ir = 0.25 * tail / np.sqrt(np.sum(tail**2))
    for delay_ms, gain in ((3.1, 0.5), (5.7, -0.35), (8.3, 0.25), (11.9, -0.2)):
        ir[int(delay_ms * rate / 1000)] += gain
    ir[0] = 1.0
    return ir.astype(np.float32)


class SimulatedIO:
    """A WAV file as the microphone, a WAV file as the speaker, faster than real time.

    Parameters
    ----------
    mic_wav:
        Any WAV :func:`~voicecoach.audio.wavio.read_wav` reads (any rate and
        channel count; resampled to 16 kHz mono). Bad file -> :class:`UserError`.
    out_wav:
        Written on :meth:`stop`: 16-bit mono at ``samplerate``, exactly as long as the mic file.
    samplerate:
        Output rate (default :data:`~voicecoach.audio.wavio.ESPEAK_RATE`).
    block_ms:
        Mic block length (the last one may be shorter).
    echo_gain, echo_ms, echo_ir:
        With ``echo_gain > 0`` the coach's output is mixed back into the mic
        ``echo_ms`` later at that gain, convolved with ``echo_ir`` (a room's
        impulse response at 16 kHz, e.g. :func:`room_impulse`) if given.
    echo_drift_ppm:
        The speaker's clock against the microphone's, in parts per million:
        the echo is the output resampled (soxr) by ``1 + ppm * 1e-6``, so at
        +150 ppm it arrives 9 ms earlier every minute than :attr:`MicBlock.reference`
        says it was played, and at -150 ppm 9 ms later. The output is rendered
        as far ahead as the faster speaker has played.

    Each :meth:`read_mic` first renders the output up to the end of the block it
    returns (a few ms beyond, for the resampler), so second t of the output is
    second t of the mic, and a cue the caller submits after reading a block is
    placed exactly where it asks, provided that sample is still ahead of
    :attr:`Scheduler.now <voicecoach.audio.scheduler.Scheduler.now>`.
    """

    def __init__(self, mic_wav: str | Path, out_wav: str | Path, *, samplerate: int = ESPEAK_RATE,
                 block_ms: float = 20, echo_gain: float = 0.0, echo_ms: float = 0.0,
                 echo_ir: np.ndarray | None = None, echo_drift_ppm: float = 0.0):
        if samplerate <= 0:
            raise UserError(f"output sample rate must be positive, not {samplerate}")
        if not 1 <= block_ms <= 1000:
            raise UserError(f"block_ms must be from 1 to 1000, not {block_ms}")
        self.samplerate = int(samplerate)
        self.xruns = _xruns()
        self.out_wav = Path(out_wav)
        raw, rate = read_wav(mic_wav)
        self.mic_duration = len(raw) / rate
        self._mic = resample(raw, rate, VOSK_RATE) if rate != VOSK_RATE else raw
        self._out_len = int(round(len(raw) * self.samplerate / rate))
        self._block16 = max(int(round(block_ms * VOSK_RATE / 1000)), 1)
        self._block_out = max(int(round(block_ms * self.samplerate / 1000)), 1)
        self._echo_gain = float(echo_gain)
        self._echo_delay = int(round(echo_ms * VOSK_RATE / 1000))
        self._ir = np.ones(1, dtype=np.float32) if echo_ir is None else np.asarray(echo_ir, dtype=np.float32)
        if self._ir.ndim != 1 or not 1 <= len(self._ir) <= 4 * VOSK_RATE:
            raise UserError("an echo impulse response must be mono and 1 sample to 4 seconds long")
        self._drift = 1.0 + float(echo_drift_ppm) * 1e-6
        # Far-end history at 16 kHz: everything rendered so far (the run renders a little ahead).
        spare = 2 * VOSK_RATE + 4 * self._block16 + int(abs(self._drift - 1.0) * len(self._mic))
        self._ref = np.zeros(len(self._mic) + spare, dtype=np.float32)
        self._ref_len = 0
        # What reaches the mic before the room: the far end on the mic's clock.
        self._src = self._ref if self._drift == 1.0 else np.zeros_like(self._ref)
        self._src_len = 0
        self._drift_rs = None
        # A faster speaker has played past the echo the mic hears now, and a device
        # holds some more in its buffer: what an echo canceller can read ahead.
        self._src_margin = int(0.04 * VOSK_RATE) if self._drift > 1.0 else 0
        self._pos16 = 0
        self._frames_out = 0
        self._render: Render | None = None
        self._writer: WavWriter | None = None
        self._buf = np.zeros(self._block_out, dtype=np.float32)
        self._rs = None
        if len(self._ir) > 1:
            n = 1 << math.ceil(math.log2(self._block16 + 2 * len(self._ir)))
            self._fft_n = n
            self._ir_fft = np.fft.rfft(self._ir.astype(np.float64), n)

    @property
    def rendered(self) -> int:
        """Output samples rendered so far (written to the file up to its length)."""
        return self._writer.frames if self._writer else 0

    @property
    def frames_out(self) -> int:
        return self._frames_out

    block_in_flight = 0  # the output renders inside read_mic, on the caller's thread
    input_active = output_active = listening = True  # files are never lost

    def device_events(self) -> list:
        return []

    def start(self, render: Render) -> None:
        import soxr

        self._render = render
        self._writer = WavWriter(self.out_wav, self.samplerate, max_frames=self._out_len)
        if self.samplerate != VOSK_RATE:
            self._rs = soxr.ResampleStream(self.samplerate, VOSK_RATE, 1, dtype="float32", quality="HQ")
        if self._drift != 1.0:
            self._drift_rs = soxr.ResampleStream(VOSK_RATE * self._drift, VOSK_RATE, 1, dtype="float32", quality="HQ")

    def add_to_mic(self, start_s: float, samples: np.ndarray) -> None:
        """Mix 16 kHz float samples into the microphone from ``start_s`` on (what
        a benchmark's person says in reply to a cue). Only audio not yet read can
        change: the part before the next block is dropped."""
        a = int(round(start_s * VOSK_RATE))
        lo, hi = max(a, self._pos16), min(a + len(samples), len(self._mic))
        if hi > lo:
            self._mic[lo:hi] += np.asarray(samples, dtype=np.float32)[lo - a:hi - a]

    def _render_block(self) -> None:
        buf = self._buf
        self._render(buf)
        self._frames_out += len(buf)
        self._writer.write(buf)
        ref16 = self._rs.resample_chunk(buf) if self._rs is not None else buf
        n = min(len(ref16), len(self._ref) - self._ref_len)
        self._ref[self._ref_len:self._ref_len + n] = ref16[:n]
        self._ref_len += n
        if self._drift_rs is not None:
            src = self._drift_rs.resample_chunk(ref16[:n])
            m = min(len(src), len(self._src) - self._src_len)
            self._src[self._src_len:self._src_len + m] = src[:m]
            self._src_len += m
        else:
            self._src_len = self._ref_len

    def read_mic(self, timeout: float | None = None) -> MicBlock | None:
        """Render the output over the next block's span and return that mic block (None at the end)."""
        if self._render is None:
            raise RuntimeError("SimulatedIO.read_mic before start()")
        if self._writer is None:  # stopped
            return None
        a = self._pos16
        if a >= len(self._mic):
            return None
        b = min(a + self._block16, len(self._mic))
        while (self._ref_len < b or self._src_len < b - self._echo_delay + self._src_margin) \
                and self._ref_len < len(self._ref):
            self._render_block()
        mic = self._mic[a:b].copy()
        if self._echo_gain > 0:
            mic += self._echo_gain * self._echo(a, b)
        self._pos16 = b
        ahead = self._ref[b:min(self._ref_len, b + int(AHEAD_S * VOSK_RATE))].copy()
        return MicBlock(float_to_int16(mic), a / VOSK_RATE, self._ref[a:b].copy(), ahead)

    def _echo(self, a: int, b: int) -> np.ndarray:
        d = self._echo_delay
        if len(self._ir) == 1:
            out = np.zeros(b - a, dtype=np.float32)
            lo, hi = max(a - d, 0), b - d
            if hi > lo:
                out[lo - (a - d):] = self._src[lo:hi]
            return out
        taps = len(self._ir)
        lo = a - d - taps + 1
        seg = np.zeros(b - lo, dtype=np.float64)
        src_lo, src_hi = max(lo, 0), max(b - d, 0)
        if src_hi > src_lo:
            seg[src_lo - lo:src_hi - lo] = self._src[src_lo:src_hi]
        n = self._fft_n
        y = np.fft.irfft(np.fft.rfft(seg, n) * self._ir_fft, n)
        return y[taps - 1:taps - 1 + (b - a)].astype(np.float32)

    def stop(self) -> None:
        """Render the output to the mic's full length (if not done yet) and write ``out_wav``."""
        if self._writer is None:
            return
        while self._writer.frames < self._out_len:
            self._render_block()
        self._writer.close()
        self._writer = None


def running(stream) -> bool:
    """Is a PortAudio stream still running? PortAudio stops a stream whose device
    failed; a closed one raises. No stream (``None``) counts as running."""
    if stream is None:
        return True
    try:
        return bool(stream.active)
    except Exception:
        return False


def _chirp(rate: int) -> np.ndarray:
    """0.3 s rising sweep 300 Hz -> 3 kHz: one sharp correlation peak, unlike a tone."""
    n = int(0.3 * rate)
    t = np.arange(n) / rate
    return (np.sin(2 * np.pi * (300 * t + 4500 * t**2)) * np.hanning(n)).astype(np.float32)


class LiveIO:
    """Real devices through PortAudio (sounddevice): a callback OutputStream and InputStream.

    Parameters
    ----------
    output_device, input_device:
        Index, name (exact or a unique substring), or ``None``/``""`` for the
        default. Unknown, ambiguous or channel-less -> :class:`UserError`
        listing the devices.
    samplerate:
        Output rate; 0 uses the output device's default rate. The mic runs at
        its device's default rate (or this one, if it accepts it) and is
        resampled to 16 kHz with a streaming soxr resampler.
    blocksize:
        Output callback block length; 0 lets PortAudio choose.
    latency:
        PortAudio's suggested output latency ("low", "high" or seconds); the
        input uses "high". Default 0.1 s, measured with scripts/bench_audio.py
        through PulseAudio on a loaded 2-core machine: "high" (35 ms there)
        underran 6 times in 30 s and moved a tick by 25 ms; 0.1 s ran 30-60 s
        with no underrun and every tick on its sample. Cues are placed on the
        sample clock, so latency only delays reactions, never the count.
    use_input:
        False opens no input stream (``voicecoach say``).
    stream_times:
        Anchor the mic timeline on PortAudio's ADC/DAC times when it reports
        them (non-zero); False always uses the sample counters and reported
        latencies (the fallback for host APIs that report zeros).
    count_underruns:
        False leaves the silence an underrun plays out of the output history
        and the mic timeline (:attr:`underrun_frames` stays 0; the underrun is
        still counted in :attr:`xruns`): how LiveIO was before it counted it,
        for ``scripts/bench_underrun.py --without`` to compare against.

    An output underrun makes the device play silence that ``render`` never
    wrote, and everything after it plays that much later than the sample clock
    says. LiveIO measures the silence on PortAudio's DAC clock and keeps it in
    the output history, so each :class:`MicBlock`'s ``reference`` is what the
    speaker really played at that time and the echo does not jump against it.
    The mic timeline is this device timeline; the scheduler's sample clock
    does not count the silence.

    Attributes
    ----------
    xruns:
        Under/overflow counts reported by PortAudio's callbacks.
    underrun_frames:
        Output frames of silence the device played in underruns (DAC clock estimate).
    anchor:
        How the mic timeline was anchored: "stream times" or "sample counters".
    render_errors, last_render_error:
        Exceptions raised by ``render`` (that block is played as silence).
    cpu_seconds:
        CPU time spent inside the output callback (audio thread), for the CPU share.
    """

    LOG_BLOCKS = 1 << 14

    def __init__(self, output_device: str | int | None = None, input_device: str | int | None = None,
                 samplerate: int = 0, blocksize: int = 0, latency: str | float = 0.1,
                 *, use_input: bool = True, history_s: float = 10.0, stream_times: bool = True,
                 count_underruns: bool = True):
        from voicecoach.audio import devices

        self.xruns = _xruns()
        self.output = devices.resolve(output_device, "output")
        self.input = devices.resolve(input_device, "input") if use_input else None
        rate = int(samplerate) or int(round(self.output.default_samplerate))
        devices.check_rate(self.output, "output", rate)
        self.samplerate = rate
        self.blocksize = int(blocksize)
        self.latency_setting = latency
        self.in_rate = 0
        if self.input is not None:
            self.in_rate = devices.input_rate(self.input, rate)
        self.cpu_seconds = 0.0
        self.callback_seconds = 0.0
        self.render_errors = 0
        self.last_render_error = ""
        self.stream_times = stream_times
        self.count_underruns = count_underruns
        self.anchor = ""
        self.blocks = 0
        self._render: Render | None = None
        self._out = None
        self._in = None
        self._buf = np.zeros(max(self.blocksize, 8192), dtype=np.float32)
        self._frames_out = 0
        self.underrun_frames = 0
        self._q: queue.SimpleQueue = queue.SimpleQueue()
        self._stopped = threading.Event()
        # Output history (for MicBlock.reference) and a per-block log, preallocated.
        self._hist = np.zeros(int(history_s * rate), dtype=np.float32)
        n = self.LOG_BLOCKS
        self.log_first = np.zeros(n, dtype=np.int64)
        self.log_frames = np.zeros(n, dtype=np.int64)
        self.log_mono = np.zeros(n, dtype=np.float64)
        self.log_dac = np.zeros(n, dtype=np.float64)
        self.log_now = np.zeros(n, dtype=np.float64)
        self._in16 = 0
        self._mic_offset: float | None = None
        self._rs = None

    # --- output ----------------------------------------------------------------------

    def _out_callback(self, outdata, frames, t, status) -> None:
        c0 = time.thread_time()
        m0 = time.monotonic()
        if status:
            if status.output_underflow:
                self.xruns["output_underflow"] += 1
                if self.count_underruns:
                    self._add_underrun_silence(t.outputBufferDacTime)
            if status.output_overflow:
                self.xruns["output_overflow"] += 1
        if frames > len(self._buf):  # only if PortAudio hands a block larger than any expected
            self._buf = np.zeros(frames, dtype=np.float32)
        buf = self._buf[:frames]
        try:
            self._render(buf)
        except Exception as err:  # a bug in render must not kill the stream silently
            buf[:] = 0.0
            self.render_errors += 1
            self.last_render_error = f"{type(err).__name__}: {err}"
        if outdata.shape[1] == 1:
            outdata[:, 0] = buf
        else:
            outdata[:] = buf[:, None]
        first = self._frames_out
        self._write_history(first + self.underrun_frames, buf)
        j = self.blocks % self.LOG_BLOCKS
        self.log_first[j] = first
        self.log_frames[j] = frames
        self.log_mono[j] = m0
        self.log_dac[j] = t.outputBufferDacTime
        self.log_now[j] = t.currentTime
        self._frames_out = first + frames
        self.blocks += 1
        self.cpu_seconds += time.thread_time() - c0
        self.callback_seconds += time.monotonic() - m0

    def _add_underrun_silence(self, dac: float) -> None:
        """Count, and keep in the history, the silence an underrun played before this block:
        how much later its DAC time is than the last block's end (0 if PortAudio gives no times)."""
        if not self.blocks or dac <= 0:
            return
        j = (self.blocks - 1) % self.LOG_BLOCKS
        if self.log_dac[j] <= 0:
            return
        gap = int(round((dac - self.log_dac[j]) * self.samplerate)) - int(self.log_frames[j])
        if gap > 0:
            self._write_history(self._frames_out + self.underrun_frames, np.zeros(min(gap, len(self._hist)), np.float32))
            self.underrun_frames += gap

    def _write_history(self, at: int, x: np.ndarray) -> None:
        """Put ``x`` in the output history from device frame ``at`` on."""
        h = len(self._hist)
        i = at % h
        k = min(len(x), h - i)
        self._hist[i:i + k] = x[:k]
        if k < len(x):
            self._hist[:len(x) - k] = x[k:]

    @property
    def _device_frames(self) -> int:
        """Frames on the device's timeline so far: rendered ones and the underruns' silence."""
        return self._frames_out + self.underrun_frames

    @property
    def listening(self) -> bool:
        """True when an input stream was asked for (``use_input``)."""
        return self.input is not None

    def device_events(self) -> list:
        """Always empty: a lost device shows in :attr:`input_active` / :attr:`output_active`;
        :class:`voicecoach.audio.resilient.ResilientIO` turns that into events."""
        return []

    @property
    def input_active(self) -> bool:
        return running(self._in)

    @property
    def output_active(self) -> bool:
        return running(self._out)

    @property
    def block_in_flight(self) -> int:
        """The length of the last output block (0 before the first)."""
        return int(self.log_frames[(self.blocks - 1) % self.LOG_BLOCKS]) if self.blocks else 0

    def output_latency(self) -> float:
        """The output stream's latency as PortAudio reports it (seconds)."""
        return float(self._out.latency) if self._out is not None else 0.0

    def output_clock_at(self, mono: float) -> float:
        """Seconds on the output clock being heard at monotonic time ``mono`` (estimate).

        From the latest block: its first sample leaves the DAC about ``latency``
        after its callback ran.
        """
        if not self.blocks:
            return 0.0
        start, _, called = self._last_block()
        return start + (mono - called) - self.output_latency()

    def _last_block(self) -> tuple[float, float, float]:
        """The latest output block (call only once there is one): output-clock
        seconds of its first frame on the device timeline (the underruns' silence
        counted), its DAC time and the monotonic time its callback ran."""
        j = (self.blocks - 1) % self.LOG_BLOCKS
        return (self.log_first[j] + self.underrun_frames) / self.samplerate, self.log_dac[j], self.log_mono[j]

    # --- input ----------------------------------------------------------------------

    def _in_callback(self, indata, frames, t, status) -> None:
        if status:
            if status.input_overflow:
                self.xruns["input_overflow"] += 1
            if status.input_underflow:
                self.xruns["input_underflow"] += 1
        mono = indata[:, 0].copy() if indata.shape[1] == 1 else indata.mean(axis=1, dtype=np.float32)
        self._q.put((mono, t.inputBufferAdcTime, t.currentTime, time.monotonic()))

    def _place_mic(self, frames: int, adc: float, now: float, mono: float) -> float:
        """Output-clock seconds at which the first mic sample was captured."""
        if self.stream_times and adc > 0 and now > 0 and self.blocks:
            start, dac, _ = self._last_block()
            if dac > 0:
                self.anchor = "stream times"
                return start + (adc - dac)
        # Host API reports no times: the sample counters and the reported latencies.
        self.anchor = "sample counters"
        in_latency = float(self._in.latency) if self._in is not None else 0.0
        return self.output_clock_at(mono) - in_latency - frames / self.in_rate

    def read_mic(self, timeout: float | None = None) -> MicBlock | None:
        """The next mic block as 16 kHz int16; None on timeout or after :meth:`stop`."""
        if self._in is None:
            return None
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._stopped.is_set():
                return None
            try:
                wait = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                item = self._q.get(timeout=wait)
            except queue.Empty:
                return None
            if item is None:
                return None
            raw, adc, now, mono = item
            if self._mic_offset is None:
                # Kept on the 16 kHz grid (31 us at most, far below the estimate's error)
                # so that mic sample n sits exactly at output time offset + n/16k.
                self._mic_offset = round(self._place_mic(len(raw), adc, now, mono) * VOSK_RATE) / VOSK_RATE
            x = self._rs.resample_chunk(raw) if self._rs is not None else raw
            if len(x):
                break
        start16 = self._in16
        self._in16 += len(x)
        start = self._mic_offset + start16 / VOSK_RATE
        end = start + len(x) / VOSK_RATE
        rendered = int(min(AHEAD_S, self._device_frames / self.samplerate - end) * VOSK_RATE)
        ahead = self._reference(end, rendered) if rendered > 0 else np.zeros(0, dtype=np.float32)
        return MicBlock(float_to_int16(x), start, self._reference(start, len(x)), ahead)

    def _reference(self, start: float, n16: int) -> np.ndarray:
        """What the output played over [start, start + n16/16k) on the output clock, at 16 kHz.

        The segment is resampled from a point on the grid shared by both rates
        (the mic timeline is kept on the 16 kHz grid), so consecutive blocks
        equal one resampling of the whole output, not a chain of approximations.
        """
        sr = self.samplerate
        g = math.gcd(sr, VOSK_RATE)
        step_out, step_in = sr // g, VOSK_RATE // g
        i0 = int(round(start * VOSK_RATE))
        pad = 512  # 16 kHz samples of context for the resampler's filter on each side
        k = (i0 - pad) // step_in
        lo, lo16 = k * step_out, k * step_in
        hi = int(math.ceil((i0 + n16 + pad) * sr / VOSK_RATE))
        seg = np.zeros(hi - lo, dtype=np.float32)
        h = len(self._hist)
        played = self._device_frames
        avail_lo = max(lo, played - h, 0)
        avail_hi = min(hi, played)
        if avail_hi > avail_lo:
            idx = np.arange(avail_lo, avail_hi) % h
            seg[avail_lo - lo:avail_hi - lo] = self._hist[idx]
        y = resample(seg, sr, VOSK_RATE) if sr != VOSK_RATE else seg
        out = np.zeros(n16, dtype=np.float32)
        part = y[i0 - lo16:i0 - lo16 + n16]
        out[:len(part)] = part
        return out

    # --- lifecycle ---------------------------------------------------------------------

    def start(self, render: Render) -> None:
        """Open and start the streams; ``render`` runs in the output callback from now on."""
        import sounddevice as sd

        self._render = render
        if isinstance(render, Scheduler):  # its mixing buffers, before the audio thread needs them
            render.reserve(max(len(self._buf), self.blocksize))
        try:
            self._out = self._open_output(sd)
            if self.input is not None:
                import soxr

                if self.in_rate != VOSK_RATE:
                    self._rs = soxr.ResampleStream(self.in_rate, VOSK_RATE, 1, dtype="float32", quality="HQ")
                self._in = self._open_input(sd)
            self._out.start()
            if self._in is not None:
                # The mic timeline is anchored on the output's timing at the first mic block,
                # so let the output settle first (an idle PulseAudio sink holds it up to 2 s).
                self.wait_flowing(timeout=3.0, steady_s=0.05)
                self._in.start()
        except sd.PortAudioError as err:
            self.stop()
            from voicecoach.audio.devices import describe, list_devices

            raise UserError(f"cannot open audio stream: {err}; devices: {describe(list_devices())}") from None

    def _open_input(self, sd):
        last = None
        for channels in (1, 2):
            if channels > self.input.max_input_channels:
                break
            try:
                return sd.InputStream(
                    device=self.input.index, samplerate=self.in_rate, channels=channels, dtype="float32",
                    latency="high", callback=self._in_callback,
                )
            except sd.PortAudioError as err:  # some USB microphones only open in stereo
                last = err
        raise last

    def _open_output(self, sd):
        last = None
        for channels in (1, 2):
            if channels > self.output.max_output_channels:
                break
            try:
                return sd.OutputStream(
                    device=self.output.index, samplerate=self.samplerate, blocksize=self.blocksize,
                    channels=channels, dtype="float32", latency=self.latency_setting,
                    callback=self._out_callback,
                )
            except sd.PortAudioError as err:  # some hardware only opens in stereo
                last = err
        raise last

    def calibrate(self, scheduler, *, timeout: float = 4.0, gain: float = 0.3) -> float | None:
        """Measure where the mic hears the speaker and correct the mic timeline by it.

        Plays a 0.3 s chirp through ``scheduler`` (the one this stream renders),
        finds it in the microphone, and shifts :attr:`MicBlock.start` of later
        blocks so that a sound played at output second t is heard at mic second
        t (plus the acoustic path). The blocks read meanwhile are consumed.

        Why: the mic timeline is anchored once, on PortAudio's stream times (or,
        where the host API reports zeros, on the sample counters and reported
        latencies), which are estimates. Through PulseAudio's ALSA plugin the
        anchor was measured (scripts/bench_audio.py, part 4) within 3.2 ms of the
        truth once the output flows, but 0.65-0.7 s off when the mic started
        while an idle sink still held the output; a real room adds the acoustic
        path and converters. Returns the error found before correcting
        (seconds), or None if the chirp was not heard clearly (nothing changes).
        """
        if self._in is None:
            return None
        from voicecoach.audio.clips import Clip

        sr = self.samplerate
        clip = Clip(gain * _chirp(sr), sr, "calibration chirp")
        # The scheduler's clock may run ahead of this stream's own counter (ResilientIO reopens).
        while True:
            f0 = self._frames_out
            k = scheduler.now - f0
            if self._frames_out == f0:
                break
        at = scheduler.now + int(0.3 * sr)
        scheduler.submit(clip, at, tag="calibration")
        want = (at - k) / sr
        blocks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            block = self.read_mic(timeout=0.2)
            if block is not None:
                blocks.append(block)
                if block.end > want + clip.duration + 1.5:
                    break
        if not blocks:
            return None
        mic = np.concatenate([b.samples for b in blocks]).astype(np.float64) / 32768
        probe = resample(clip.samples, sr, VOSK_RATE).astype(np.float64)
        if len(mic) <= len(probe):
            return None
        n = 1 << (len(mic) + len(probe)).bit_length()
        corr = np.fft.irfft(np.fft.rfft(mic, n) * np.conj(np.fft.rfft(probe, n)), n)[: len(mic) - len(probe) + 1]
        lag = int(np.argmax(corr))
        seg = mic[lag:lag + len(probe)]
        norm = np.linalg.norm(seg) * np.linalg.norm(probe)
        if not norm or corr[lag] / norm < 0.3:
            return None
        error = blocks[0].start + lag / VOSK_RATE - want
        self._mic_offset = round((self._mic_offset - error) * VOSK_RATE) / VOSK_RATE
        return float(error)

    def wait_flowing(self, timeout: float = 5.0, steady_s: float = 0.2) -> bool:
        """Wait until the output consumes audio at its rate; False if not within ``timeout``.

        Measured here: a PulseAudio null sink left idle renders in 2-second
        periods, and a new stream is first served only when that period ends,
        so the first callback can be followed by up to 2 s of silence. Cues are
        placed on the sample clock, so this only shifts them in wall time; call
        this when wall time matters (benchmarks, ``voicecoach say``).
        :meth:`start` calls it before starting the microphone, because the mic
        timeline is anchored on the output's timing at the first mic block.
        """
        deadline = time.monotonic() + timeout
        prefill = self._frames_out
        while time.monotonic() < deadline:
            time.sleep(0.01)
            if self._frames_out == 0:
                continue
            if prefill == 0:
                prefill = self._frames_out
            if self._frames_out - prefill >= (self.output_latency() + steady_s) * self.samplerate:
                return True
        return False

    def stop(self) -> None:
        """Stop and close both streams; a waiting :meth:`read_mic` returns None."""
        self._stopped.set()
        self._q.put(None)
        for stream in (self._out, self._in):
            if stream is not None:
                try:
                    stream.stop()
                    stream.close()
                except Exception:
                    pass

    @property
    def frames_out(self) -> int:
        """Output samples handed to PortAudio so far."""
        return self._frames_out


def open_live(audio: dict, *, use_input: bool = True) -> LiveIO:
    """A :class:`LiveIO` (not started) for the ``[audio]`` table of the config."""
    return LiveIO(
        output_device=_device(audio.get("output_device")),
        input_device=_device(audio.get("input_device")),
        samplerate=int(audio.get("samplerate") or 0),
        blocksize=int(audio.get("blocksize") or 0),
        use_input=use_input,
    )


def _device(value):
    """A config device value for LiveIO: "" means the default (index 0 is a device)."""
    return None if value is None or value == "" else value
