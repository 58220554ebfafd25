"""Fuzzing the parsers a user can feed (issue 8): WAV files and grammar files.

The property is the same everywhere: whatever the bytes, the parser returns a
usable result or raises one :class:`UserError` line naming the file; no other
exception escapes to become a traceback.
"""

from __future__ import annotations

import io
import struct
import wave

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach.audio.wavio import read_wav
from voicecoach.errors import UserError

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid_wav(frames: int = 400, channels: int = 1, width: int = 2, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels), w.setsampwidth(width), w.setframerate(rate)
        w.writeframes(bytes(frames * channels * width))
    return buf.getvalue()


def check_read(path) -> None:
    try:
        samples, rate = read_wav(path)
    except UserError as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert rate > 0
        assert np.all(np.isfinite(samples)) and np.all(np.abs(samples) <= 1.0)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), min_size=1, max_size=8),
       cut=st.integers(0, 900))
def test_mutated_wav_headers(tmp_path, edits, cut):
    data = bytearray(valid_wav())
    for pos, value in edits:  # the header is the first 44 bytes: mutate there and just past it
        data[pos] = value
    path = tmp_path / "fuzz.wav"
    path.write_bytes(bytes(data[: len(data) - cut]))
    check_read(path)


@FUZZ
@given(channels=st.integers(0, 12), rate=st.integers(0, 400_000), bits=st.integers(0, 72),
       tag=st.sampled_from([0, 1, 3, 6, 7, 0xFFFE, 0x55]), body=st.binary(max_size=64))
def test_arbitrary_fmt_fields(tmp_path, channels, rate, bits, tag, body):
    align = channels * max(bits // 8, 1)
    fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * align, align, bits)
    riff = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(body)) + body
    path = tmp_path / "fields.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(riff)) + riff)
    check_read(path)


grammar_values = st.recursive(
    st.one_of(st.text(max_size=10), st.integers(), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@FUZZ
@given(doc=st.dictionaries(st.sampled_from(["fillers", "intents", "sounds_like", "x"]), grammar_values, max_size=3))
def test_fuzzed_grammar_documents(tmp_path, doc):
    from voicecoach.speech.grammar import load_grammar

    path = tmp_path / "g.toml"
    path.write_text(_to_toml(doc))
    try:
        grammar = load_grammar(path)
    except UserError as err:
        assert "\n" not in str(err) and "g.toml" in str(err)
    else:
        assert all(i.kind in ("mark", "control") and i.phrases for i in grammar.intents)


@FUZZ
@given(st.binary(max_size=300))
def test_arbitrary_bytes_as_grammar(tmp_path, blob):
    from voicecoach.speech.grammar import load_grammar

    path = tmp_path / "g.toml"
    path.write_bytes(blob)
    try:
        load_grammar(path)
    except UserError as err:
        assert "\n" not in str(err)


def _to_toml(doc: dict) -> str:
    """A tiny TOML writer for fuzzed documents (tomllib reads, nothing in stdlib writes)."""
    import json

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v)

    return "".join(f"{key} = {value(v)}\n" for key, v in doc.items())
