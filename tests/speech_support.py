"""Test speech and test noise, generated at test time (never committed).

Reusable by any test or benchmark that needs audio with known content at
known times::

    from tests.speech_support import speak, pink_noise, mix_at_snr, build_track

    clip = speak("stop point", voice="en-us+f2", speed=150)   # float32, 16 kHz
    noise = pink_noise(5.0, seed=1)
    track = build_track([(1.0, clip)], duration_s=5.0, noise=noise * 0.01)

Everything is float32 mono in [-1, 1] at ``samplerate`` (16 kHz unless told).
Speech is real synthesis, resampled with soxr and cached in-process by its
arguments. A voice names its engine (see :func:`engine_of`): a plain name is an
espeak-ng voice (``espeak-ng -v VOICE -s SPEED -p PITCH``);
``mbrola:us1`` is an MBROLA diphone voice spoken through espeak-ng;
``festival:kal_diphone`` a festival voice (its MBROLA ones end in ``_mbrola``);
``flite:slt`` a voice of CMU Flite (its ``awb``, ``rms`` and ``slt`` are
statistical parametric voices); ``rhvoice:clb`` a voice of RHVoice (HTS
voices of its own vocoder, two with a Russian accent); ``pico:en-US`` SVOX
Pico's US or UK voice (both female).
The tests use espeak-ng alone; the other engines are for the benchmarks
(``scripts/setup --bench`` installs them).
Noise generators take a ``seed`` so a failing case can be replayed.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile

import numpy as np

SAMPLERATE = 16000

# espeak-ng voices and variants that ship with Debian's espeak-ng-data and
# sound clearly different from one another (accent, sex, formant variant).
VOICES = ("en-us", "en", "en-us+m3", "en-us+f2", "en-us+f4", "en-gb-x-rp", "en+m7", "en-029")


# Voices of the other engines, each with the mean pitch (Hz) that SPEED/PITCH
# variants are placed around for festival, which has no pitch option of its own.
MBROLA_VOICES = ("mbrola:us1", "mbrola:us2", "mbrola:us3", "mbrola:en1")
FESTIVAL_VOICES = {
    "festival:us1_mbrola": 190.0, "festival:us2_mbrola": 110.0, "festival:us3_mbrola": 110.0,
    "festival:en1_mbrola": 105.0, "festival:kal_diphone": 105.0, "festival:rab_diphone": 105.0,
    "festival:don_diphone": 110.0,
}
FLITE_VOICES = {"flite:kal16": 106.0, "flite:awb": 140.0, "flite:rms": 90.0, "flite:slt": 178.0}
RHVOICE_VOICES = ("rhvoice:alan", "rhvoice:bdl", "rhvoice:clb", "rhvoice:slt", "rhvoice:evgeniy-eng", "rhvoice:lyubov")
PICO_VOICES = ("pico:en-US", "pico:en-GB")


def engine_of(voice: str) -> str:
    """The engine that renders ``voice``: espeak, espeak-mbrola, festival-mbrola, festival, flite, rhvoice or pico."""
    for engine in ("flite", "rhvoice", "pico"):
        if voice.startswith(engine + ":"):
            return engine
    if voice.startswith("mbrola:"):
        return "espeak-mbrola"
    if voice.startswith("festival:"):
        return "festival-mbrola" if voice.endswith("_mbrola") else "festival"
    return "espeak"


def have_espeak() -> bool:
    """True when the ``espeak-ng`` program is on PATH."""
    return shutil.which("espeak-ng") is not None


def _synthesis_command(text: str, voice: str, speed: int, pitch: int, out: str) -> tuple[list[str], bytes | None]:
    """The command line that writes ``text`` as a WAV to the file ``out``, and its stdin."""
    if voice.startswith("festival:"):
        name = voice.split(":", 1)[1]
        # espeak's PITCH 0-99 (50 normal) spans an octave around the voice's own mean.
        f0 = FESTIVAL_VOICES[voice] * 2.0 ** ((pitch - 50) / 100)
        return ["text2wave", "-o", out,
                "-eval", f"(voice_{name})",
                "-eval", f"(Parameter.set 'Duration_Stretch {175 / speed:.3f})",
                "-eval", f"(set! int_lr_params '((target_f0_mean {f0:.0f}) (target_f0_std {f0 / 7:.0f}) "
                         "(model_f0_mean 170) (model_f0_std 34)))"], text.encode()
    if voice.startswith("flite:"):
        # Flite's statistical voices (awb, rms) keep their own pitch whatever is asked.
        f0 = FLITE_VOICES[voice] * 2.0 ** ((pitch - 50) / 100)
        return ["flite", "-voice", voice.split(":", 1)[1], "--setf", f"duration_stretch={175 / speed:.3f}",
                "--setf", f"int_f0_target_mean={f0:.0f}", "-t", text, "-o", out], None
    # RHVoice and Pico take speed and pitch as percentages of the voice's own.
    speed_percent, pitch_percent = round(100 * speed / 175), round(100 * 2.0 ** ((pitch - 50) / 100))
    if voice.startswith("rhvoice:"):
        return ["RHVoice-test", "-p", voice.split(":", 1)[1], "-r", str(speed_percent), "-t", str(pitch_percent),
                "-o", out], text.encode()
    if voice.startswith("pico:"):
        return ["pico2wave", "-l", voice.split(":", 1)[1], "-w", out,
                f"<speed level='{speed_percent}'><pitch level='{pitch_percent}'>{text}</pitch></speed>"], None
    if voice.startswith("mbrola:"):
        voice = {"en1": "mb-en1"}.get(voice[7:], f"us-mbrola-{voice[-1]}")
    return ["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", out, text], None


@functools.lru_cache(maxsize=4096)
def _speak_cached(text: str, voice: str, speed: int, pitch: int, samplerate: int) -> bytes:
    # A file, not stdout: on a pipe text2wave cannot seek back to fill in the
    # header, and appends a second one after the samples (a click).
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "speech.wav")
        command, stdin = _synthesis_command(text, voice, speed, pitch, out)
        subprocess.run(command, input=stdin, capture_output=True, check=True)
        with open(out, "rb") as f:
            data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise RuntimeError(f"{command[0]} returned no WAV for {text!r} ({voice})")
    rate = int.from_bytes(data[24:28], "little")
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if cid == b"data":
            body = data[pos + 8 : pos + 8 + size]
            break
        pos += 8 + size + (size & 1)
    else:
        raise RuntimeError(f"{command[0]} WAV has no data chunk")
    body = body[: len(body) // 2 * 2]
    pcm = np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0
    if voice.startswith("festival:"):
        pcm *= 0.7  # text2wave scales to full range; espeak-ng peaks about here
    if rate != samplerate:
        import soxr

        pcm = soxr.resample(pcm, rate, samplerate).astype(np.float32)
    return pcm.tobytes()


def speak(
    text: str, *, voice: str = "en-us", speed: int = 160, pitch: int = 50, samplerate: int = SAMPLERATE
) -> np.ndarray:
    """Render ``text`` in ``voice`` (see :func:`engine_of`); returns float32 mono at ``samplerate``.

    Leading and trailing silence that the engine adds is trimmed to 20 ms so
    that a clip placed at time t starts speaking at about t. The result is a
    fresh array (callers may modify it).
    """
    pcm = np.frombuffer(_speak_cached(text, voice, int(speed), int(pitch), int(samplerate)), dtype=np.float32)
    return trim(pcm, samplerate=samplerate).copy()


def trim(clip: np.ndarray, *, samplerate: int = SAMPLERATE, threshold: float = 0.01, pad_s: float = 0.02) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``threshold``, keeping ``pad_s`` each side."""
    loud = np.flatnonzero(np.abs(clip) > threshold)
    if loud.size == 0:
        return clip[:0]
    pad = int(pad_s * samplerate)
    return clip[max(0, loud[0] - pad) : loud[-1] + pad + 1]


def speech_bounds(clip: np.ndarray, *, samplerate: int = SAMPLERATE, threshold: float = 0.01) -> tuple[float, float]:
    """(first, last) time in seconds where ``clip`` is louder than ``threshold``."""
    loud = np.flatnonzero(np.abs(clip) > threshold)
    if loud.size == 0:
        return (0.0, 0.0)
    return (loud[0] / samplerate, (loud[-1] + 1) / samplerate)


# --- noise -------------------------------------------------------------------


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _normalise(x: np.ndarray, level: float = 0.1) -> np.ndarray:
    r = rms(x)
    return (x * (level / r)).astype(np.float32) if r > 0 else x.astype(np.float32)


def white_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE) -> np.ndarray:
    """Gaussian white noise at RMS 0.1."""
    rng = np.random.default_rng(seed)
    return _normalise(rng.standard_normal(int(duration_s * samplerate)))


def pink_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE) -> np.ndarray:
    """1/f noise (white noise shaped by 1/sqrt(f) in the frequency domain), RMS 0.1."""
    n = int(duration_s * samplerate)
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    return _normalise(np.fft.irfft(spec, n))


def _bandpass(x: np.ndarray, lo: float, hi: float, samplerate: int) -> np.ndarray:
    spec = np.fft.rfft(x)
    freqs = np.fft.rfftfreq(len(x), 1.0 / samplerate)
    spec[(freqs < lo) | (freqs > hi)] = 0.0
    return np.fft.irfft(spec, len(x))


MIC_FLOOR_RMS = 0.002
"""A quiet room through a USB microphone, about -54 dBFS."""


def mic_floor(samples: int, *, seed: int = 11, samplerate: int = SAMPLERATE) -> np.ndarray:
    """What a microphone hears with no one there: ``samples`` of pink noise at :data:`MIC_FLOOR_RMS`.

    A track made of speech alone is digital silence between the words, which no
    microphone gives and which the echo canceller treats as a generated file's
    (no echo to learn from)."""
    # Half a sample over: a duration of n/rate seconds can come back as n - 1 samples.
    noise = pink_noise((samples + 0.5) / samplerate, seed=seed, samplerate=samplerate)[:samples]
    return noise * np.float32(MIC_FLOOR_RMS / 0.1)


def breathing_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE, rate_hz: float = 0.4) -> np.ndarray:
    """Breath-like bursts: band-passed noise (300-3000 Hz) under smooth in/out envelopes.

    About ``rate_hz`` breaths per second with random lengths (0.4-1.6 s) and
    loudness, some sharp (exhale through the mouth), some soft; RMS 0.1 overall.
    """
    n = int(duration_s * samplerate)
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=np.float64)
    t = rng.uniform(0.0, 1.0 / rate_hz)
    while t < duration_s:
        length = rng.uniform(0.4, 1.6)
        m = int(length * samplerate)
        start = int(t * samplerate)
        if start >= n:
            break
        m = min(m, n - start)
        burst = rng.standard_normal(m)
        lo, hi = rng.uniform(200, 600), rng.uniform(1500, 4000)
        burst = _bandpass(burst, lo, hi, samplerate)
        attack = rng.uniform(0.1, 0.5)
        env = np.sin(np.pi * np.clip(np.linspace(0, 1, m) ** attack, 0, 1)) ** 2
        out[start : start + m] += burst * env * rng.uniform(0.3, 1.0)
        t += length + rng.exponential(1.0 / rate_hz)
    return _normalise(out)


def reverb(x: np.ndarray, *, rt60_s: float = 0.3, samplerate: int = SAMPLERATE, seed: int = 0, wet: float = 0.5) -> np.ndarray:
    """A simple room: convolve with exponentially decaying noise (RT60 ``rt60_s``), mixed ``wet``.

    Output has the same length as the input.
    """
    rng = np.random.default_rng(seed)
    m = int(rt60_s * samplerate)
    if m < 2 or len(x) == 0:
        return x.astype(np.float32)
    t = np.arange(m) / samplerate
    ir = rng.standard_normal(m) * np.exp(-6.9 * t / rt60_s)
    ir[0] = 0.0
    ir /= np.sqrt(np.sum(ir**2)) + 1e-12
    tail = convolve(x, ir)[: len(x)]
    return ((1.0 - wet) * x + wet * tail).astype(np.float32)


def convolve(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """``x`` convolved with ``ir`` (by FFT), whole: ``len(x) + len(ir) - 1`` samples, float64."""
    n = len(x) + len(ir) - 1
    nfft = 1 << int(np.ceil(np.log2(len(x) + len(ir))))
    return np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(ir, nfft), nfft)[:n]


def hum_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE, mains_hz: float = 50.0) -> np.ndarray:
    """Room hum: mains harmonics plus a fan's low band noise, through a reverberant room; RMS 0.1."""
    n = int(duration_s * samplerate)
    rng = np.random.default_rng(seed)
    t = np.arange(n) / samplerate
    x = np.zeros(n)
    for k, a in zip((1, 2, 3, 4, 6), (1.0, 0.5, 0.35, 0.2, 0.1)):
        x += a * np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 2 * np.pi))
    fan = _bandpass(rng.standard_normal(n), 60, 900, samplerate)
    x = x / (rms(x) + 1e-12) + 0.7 * fan / (rms(fan) + 1e-12)
    return _normalise(reverb(x.astype(np.float32), rt60_s=0.4, samplerate=samplerate, seed=seed))


BABBLE_VOICES = ("en-us+m3", "en-gb-x-rp", "en+m7", "en-us+f4", "en-029", "en-us+f2")


def babble_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE, talkers: int = 4) -> np.ndarray:
    """A room of people talking (or a television) across the room: ``talkers``
    espeak-ng voices each saying everyday sentences with short gaps, overlaid,
    through a reverberant room; RMS 0.1. None of it holds a command phrase."""
    n = int(duration_s * samplerate)
    rng = np.random.default_rng(seed)
    out = np.zeros(n, dtype=np.float64)
    for _ in range(talkers):
        voice = BABBLE_VOICES[int(rng.integers(len(BABBLE_VOICES)))]
        t = int(rng.uniform(-2.0, 0.0) * samplerate)
        while t < n:
            s = speak(EVERYDAY[int(rng.integers(len(EVERYDAY)))], voice=voice,
                      speed=int(rng.choice((140, 160, 180))), samplerate=samplerate)
            a, b = max(0, -t), min(len(s), n - t)
            if b > a:
                out[t + a : t + b] += s[a:b] / (rms(s) + 1e-12)
            t += len(s) + int(rng.uniform(0.1, 0.6) * samplerate)
    return _normalise(reverb(out.astype(np.float32), rt60_s=0.4, samplerate=samplerate, seed=seed))


def music_noise(duration_s: float, *, seed: int = 0, samplerate: int = SAMPLERATE) -> np.ndarray:
    """Music across the room: chords of three plucked tones (harmonics 1-4, 110-880 Hz,
    decaying), a new chord every 0.15-0.5 s, through a reverberant room; RMS 0.1.
    Its tones are as periodic as a voice."""
    n = int(duration_s * samplerate)
    rng = np.random.default_rng(seed)
    out = np.zeros(n)
    t = 0
    while t < n:
        m = min(int(rng.uniform(0.15, 0.5) * samplerate), n - t)
        time = np.arange(m) / samplerate
        for f0 in 110.0 * 2.0 ** (rng.integers(0, 36, size=3) / 12):
            tone = sum(a * np.sin(2 * np.pi * f0 * k * time) for k, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)))
            out[t : t + m] += tone * np.exp(-time * rng.uniform(2.0, 6.0))
        t += m
    return _normalise(reverb(out.astype(np.float32), rt60_s=0.4, samplerate=samplerate, seed=seed))


NOISES = {"pink": pink_noise, "breathing": breathing_noise, "hum": hum_noise, "babble": babble_noise,
          "music": music_noise}
"""Noise type name -> generator(duration_s, *, seed, samplerate)."""


def at_level(audio: np.ndarray, level_db: float) -> np.ndarray:
    """``audio`` through a microphone gain of ``level_db`` (clipped at full scale, as a sound card does)."""
    if not level_db:
        return audio
    return np.clip(audio * 10 ** (level_db / 20), -1, 1).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled so that speech power / noise power is ``snr_db``.

    Speech power is measured over the speech's active part (samples within
    40 dB of its peak envelope), as a person would judge loudness; the noise
    is tiled or cut to the speech's length. Returns float32, clipped to [-1, 1].
    """
    speech = np.asarray(speech, dtype=np.float32)
    if len(noise) < len(speech):
        noise = np.tile(noise, int(np.ceil(len(speech) / max(1, len(noise)))))
    noise = np.asarray(noise[: len(speech)], dtype=np.float32)
    return np.clip(speech + noise_gain(speech, noise, snr_db) * noise, -1.0, 1.0).astype(np.float32)


def noise_gain(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> float:
    """The factor for ``noise`` that puts ``speech`` (active part) ``snr_db`` above it."""
    active = _active(np.asarray(speech, dtype=np.float32))
    ps = np.mean(np.square(active, dtype=np.float64)) if active.size else 0.0
    pn = np.mean(np.square(np.asarray(noise), dtype=np.float64)) if len(noise) else 0.0
    if pn <= 0 or ps <= 0:
        return 0.0
    return float(np.sqrt(ps / (pn * 10 ** (snr_db / 10.0))))


def _active(x: np.ndarray, frame: int = 320) -> np.ndarray:
    n = len(x) // frame
    if n == 0:
        return x
    frames = x[: n * frame].reshape(n, frame)
    e = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    keep = e > e.max() * 0.01
    return frames[keep].ravel()


def scale_to_snr(noise: np.ndarray, speech_level_rms: float, snr_db: float) -> np.ndarray:
    """Scale ``noise`` so that a speech clip of RMS ``speech_level_rms`` sits ``snr_db`` above it."""
    r = rms(noise)
    if r == 0:
        return noise.astype(np.float32)
    return (noise * (speech_level_rms / (r * 10 ** (snr_db / 20.0)))).astype(np.float32)


def build_track(
    placements: list[tuple[float, np.ndarray]],
    duration_s: float,
    samplerate: int = SAMPLERATE,
    noise: np.ndarray | None = None,
) -> np.ndarray:
    """A float32 track of ``duration_s`` with each ``(t, clip)`` added at second ``t``.

    ``noise`` (already at the level wanted) is added under everything, tiled
    or cut to length. Clips running past the end are cut. Clipped to [-1, 1].
    """
    n = int(round(duration_s * samplerate))
    track = np.zeros(n, dtype=np.float32)
    for t, clip in placements:
        i = int(round(t * samplerate))
        if i >= n or i + len(clip) <= 0:
            continue
        j0 = max(0, -i)
        m = min(len(clip) - j0, n - max(i, 0))
        track[max(i, 0) : max(i, 0) + m] += clip[j0 : j0 + m]
    if noise is not None and len(noise):
        reps = int(np.ceil(n / len(noise)))
        track += np.tile(noise, reps)[:n]
    return np.clip(track, -1.0, 1.0)


def echo_of(
    output: np.ndarray,
    *,
    gain: float = 0.5,
    delay_ms: float = 40.0,
    samplerate: int = SAMPLERATE,
    rt60_s: float = 0.25,
    seed: int = 0,
) -> np.ndarray:
    """What the microphone picks up of the speaker's ``output``: delayed, reverberated, scaled.

    Same length as ``output`` (the tail beyond the end is cut).
    """
    d = int(round(delay_ms * samplerate / 1000.0))
    delayed = np.concatenate([np.zeros(d, dtype=np.float32), np.asarray(output, dtype=np.float32)])[: len(output)]
    return (gain * reverb(delayed, rt60_s=rt60_s, samplerate=samplerate, seed=seed)).astype(np.float32)


def to_int16(x: np.ndarray) -> np.ndarray:
    """float32 [-1, 1] -> int16 (clipped)."""
    return (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)


def write_wav(path, x: np.ndarray, samplerate: int = SAMPLERATE, channels: int = 1) -> None:
    """Write float32 (mono, or interleaved frames x channels) as 16-bit PCM WAV (stdlib only)."""
    import wave

    pcm = to_int16(np.asarray(x))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(samplerate)
        w.writeframes(pcm.tobytes())


# --- what the coach says (negatives that must never become commands) -----------

COACH_CUES = (
    "stop just before your back arches",
    "exhale and lift",
    "inhale and lower slowly",
    "one one thousand, two one thousand, three one thousand",
    "one one thousand",
    "two one thousand",
    "three one thousand",
    "four one thousand",
    "press your lower back into the floor",
    "keep your head on the floor",
    "pull your belly button in and up",
    "if the back pops up, the rep is over",
    "lift slowly towards vertical",
    "legs as straight as your hamstrings allow",
    "set one, rep three",
    "rest for thirty seconds",
    "good. next rep",
    "breathe out as you lift",
    "short sharp breaths through the nose",
    "only perfect reps count",
    "the work is the lowering",
    "find your stop point and do not go below it",
    "well done, that was a good set",
    "let's start the workout",
)

EVERYDAY = (
    "what time is it",
    "I need to get some water",
    "can you hear me",
    "that was really hard",
    "my legs are shaking",
    "the phone is ringing",
    "I think I'm going to take a break",
    "hold on a second",
    "this is harder than it looks",
    "where did I put my towel",
    "the weather is nice today",
    "let me check my messages",
    "okay okay",
    "oh my god",
    "how are you doing",
    "turn the music down",
    "I forgot to stretch",
    "that hurts a little",
    "come here please",
    "dinner is almost ready",
)

CONTAINS_A_PHRASE = (
    "pause the music please",
    "how many calories did I burn",
    "help me get up",
    "repeat after me",
    "is there a slower version of this",
    "can you count any faster than that",
    "resume playing the song",
    "next set of stairs is steep",
    "the cat's back arched when it saw the dog",
    "they say again and again that it helps",
    "are we done yet",
    "don't stop now",
)
"""Sentences that hold a command phrase among other words, meaning something else: not commands."""

MEANS_A_COMMAND = (
    ("my back arched a lot in that one", "back_arched"),
    ("say again what you said about the floor", "repeat"),
    ("I'm done", "end_hold"),
)
"""Sentences that ask for a command in more words. Either the command or nothing
is right (a command is said on its own, but a coach that takes these is not wrong);
another command is an error."""

COUNT_WORDS = ("one one thousand", "two one thousand", "three one thousand", "four one thousand")


WARMUP_CUES = (
    "lie flat with your arms at your sides",
    "press your lower back into the floor",
    "keep your head on the floor",
    "lift slowly towards vertical",
    "pull your belly button in and up",
    "only perfect reps count",
    "the work is the lowering",
)


def coach_track(
    *, warmup_s: float = 20.0, voice: str = "en-gb-x-rp", tail_s: float = 2.0, samplerate: int = SAMPLERATE
) -> tuple[np.ndarray, list[float]]:
    """What the speaker plays over one rep: ``warmup_s`` of instructions, the lift
    and lower cues, then the count ("one one thousand" ... "four one thousand").

    Returns (the output track, float32; the start time of each count phrase).
    A warm-up is what a real session has before its first rep (the coach
    explains the exercise), and what an echo canceller adapts on.
    """
    clips: list[tuple[float, np.ndarray]] = []
    t = 0.3
    i = 0
    while t < warmup_s:
        c = speak(WARMUP_CUES[i % len(WARMUP_CUES)], voice=voice, samplerate=samplerate)
        clips.append((t, c))
        t += len(c) / samplerate + 0.6
        i += 1
    for s in ("exhale and lift", "inhale and lower slowly"):
        c = speak(s, voice=voice, samplerate=samplerate)
        clips.append((t, c))
        t += len(c) / samplerate + 0.5
    starts = []
    for w in COUNT_WORDS:
        c = speak(w, voice=voice, samplerate=samplerate)
        clips.append((t, c))
        starts.append(t)
        t += len(c) / samplerate + 0.15
    return build_track(clips, t + tail_s, samplerate=samplerate), starts
