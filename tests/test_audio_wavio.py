"""WAV reading of the formats recorders write, and clear errors for bad files."""

from __future__ import annotations

import struct
import wave

import numpy as np
import pytest

from voicecoach.audio.wavio import read_wav, to_16k_int16, write_wav
from voicecoach.errors import UserError

RATE = 11025


def signal(n: int = 2000) -> np.ndarray:
    t = np.arange(n) / RATE
    return (0.6 * np.sin(2 * np.pi * 440 * t)).astype(np.float64)


def riff(fmt_tag: int, channels: int, bits: int, frames: bytes, *, extensible: bool = False,
         extra_chunk: bool = False) -> bytes:
    align = channels * bits // 8
    if extensible:
        guid = struct.pack("<H", fmt_tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, RATE, RATE * align, align, bits, 22, bits, 0) + guid
    else:
        fmt = struct.pack("<HHIIHH", fmt_tag, channels, RATE, RATE * align, align, bits)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if extra_chunk:  # odd-sized LIST chunk: exercises the pad byte
        chunks += b"LIST" + struct.pack("<I", 3) + b"abc\x00"
    chunks += b"data" + struct.pack("<I", len(frames)) + frames
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks


def encode(x: np.ndarray, kind: str) -> bytes:
    if kind == "u8":
        return np.clip(np.round(x * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    if kind == "s16":
        return np.round(x * 32767).astype("<i2").tobytes()
    if kind == "s24":
        v = np.round(x * 8388607).astype(np.int32)
        b = v.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3]
        return b.tobytes()
    if kind == "s32":
        return np.round(x * 2147483647).astype("<i4").tobytes()
    if kind == "f32":
        return x.astype("<f4").tobytes()
    if kind == "f64":
        return x.astype("<f8").tobytes()
    raise ValueError(kind)


FORMATS = {"u8": (1, 8, 1 / 100), "s16": (1, 16, 1e-4), "s24": (1, 24, 1e-6), "s32": (1, 32, 1e-6),
           "f32": (3, 32, 1e-6), "f64": (3, 64, 1e-6)}


@pytest.mark.parametrize("kind", list(FORMATS))
@pytest.mark.parametrize("channels", [1, 2, 6])
@pytest.mark.parametrize("extensible", [False, True])
def test_reads_formats_and_mixes_down(tmp_path, kind, channels, extensible):
    tag, bits, tol = FORMATS[kind]
    x = signal()
    # Every channel the same signal, except a second one that is its negative half the time:
    # the mixdown is the mean of the channels.
    cols = [x] * channels
    if channels > 1:
        cols = [x, 0.5 * x] + [x] * (channels - 2)
    inter = np.stack(cols, axis=1).reshape(-1)
    path = tmp_path / f"{kind}.wav"
    path.write_bytes(riff(tag, channels, bits, encode(inter, kind), extensible=extensible, extra_chunk=True))
    got, rate = read_wav(path)
    assert rate == RATE and got.dtype == np.float32 and got.ndim == 1
    np.testing.assert_allclose(got, np.mean(np.stack(cols, axis=1), axis=1), atol=tol)


def test_write_then_read_roundtrip(tmp_path):
    x = signal()
    write_wav(tmp_path / "a.wav", x, RATE)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
    got, rate = read_wav(tmp_path / "a.wav")
    np.testing.assert_allclose(got, x, atol=1 / 32768)


def test_streamed_header_with_unknown_data_size(tmp_path):
    data = riff(1, 1, 16, encode(signal(), "s16"))
    i = data.index(b"data")
    data = data[: i + 4] + b"\xff\xff\xff\xff" + data[i + 8:]
    (tmp_path / "s.wav").write_bytes(data)
    got, _ = read_wav(tmp_path / "s.wav")
    assert len(got) == 2000


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "no RIFF"),
        (b"hello this is not audio at all", "no RIFF"),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", "no fmt"),
        (riff(1, 1, 16, b"")[:-8], "no data"),
        (riff(2, 1, 4, b"\x00" * 10), "unsupported encoding"),
        (riff(1, 0, 16, b"\x00" * 10), "zero channels"),
    ],
)
def test_bad_files_name_the_file(tmp_path, content, words):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(UserError, match=words) as err:
        read_wav(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such WAV file"):
        read_wav(tmp_path / "nope.wav")


def test_to_16k_int16_keeps_timing_and_level():
    x = np.zeros(44100, dtype=np.float32)
    x[22050] = 0.9  # an impulse at 0.5 s
    y = to_16k_int16(x, 44100)
    assert y.dtype == np.int16 and len(y) == 16000
    assert abs(int(np.argmax(np.abs(y))) - 8000) <= 1
    tone = (0.5 * np.sin(2 * np.pi * 1000 * np.arange(48000) / 48000)).astype(np.float32)
    z = to_16k_int16(tone, 48000).astype(np.float32) / 32768
    assert np.sqrt(np.mean(z[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    tag=st.sampled_from([1, 3, 0xFFFE, 2, 0]),
    channels=st.integers(0, 9),
    bits=st.sampled_from([0, 4, 8, 12, 16, 20, 24, 32, 64, 7]),
    body=st.binary(max_size=64),
    cut=st.integers(0, 200),
    flip=st.integers(0, 199),
)
def test_any_damaged_header_is_a_user_error_or_audio(tmp_path_factory, tag, channels, bits, body, cut, flip):
    data = bytearray(riff(tag if tag != 0xFFFE else 1, max(channels, 1), max(bits, 8), body,
                          extensible=tag == 0xFFFE))
    if channels == 0:
        data[22:24] = b"\x00\x00"
    if flip < len(data):
        data[flip] ^= 0xFF
    data = bytes(data[: len(data) - cut if cut < len(data) else len(data)])
    path = tmp_path_factory.mktemp("fuzz") / "x.wav"
    path.write_bytes(data)
    try:
        samples, rate = read_wav(path)
    except UserError as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        assert samples.dtype == np.float32 and samples.ndim == 1 and rate > 0
        assert np.all(np.isfinite(samples)) and np.all(np.abs(samples) <= 1.0)
