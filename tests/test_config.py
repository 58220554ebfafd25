"""Config: defaults, checks, and one clear error for anything a user can write."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicecoach import config
from voicecoach.errors import UserError


def write(tmp_path, text: str | bytes):
    path = tmp_path / "config.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_no_file_means_defaults():
    assert config.load(None) == config.defaults()
    assert config.defaults()["program"]["sets"] == 3 and config.defaults()["program"]["reps"] == 10


def test_values_override_defaults(tmp_path):
    cfg = config.load(write(tmp_path, '[program]\nreps = 12\nbreathing = "shielding"\ndescent_s = 4\n'))
    assert cfg["program"]["reps"] == 12
    assert cfg["program"]["breathing"] == "shielding"
    assert cfg["program"]["descent_s"] == 4.0 and isinstance(cfg["program"]["descent_s"], float)
    assert cfg["program"]["sets"] == 3


@pytest.mark.parametrize(
    "text, names",
    [
        ("[program]\nreps = -1\n", ["program.reps", "-1", "1 to 30"]),
        ("[program]\ndescent_s = 60\n", ["program.descent_s", "3 to 4"]),
        ("[program]\nreps = 10.5\n", ["program.reps", "integer"]),
        ("[program]\nwarmup = 1\n", ["program.warmup", "true or false"]),
        ('[program]\nvariation = "crunches"\n', ["program.variation", "bent_knee", "hanging"]),
        ("[program]\nrepz = 3\n", ["unknown key program.repz", "reps"]),
        ("[programme]\nreps = 3\n", ["unknown table [programme]", "[program]"]),
        ("program = 3\n", ["program must be a table"]),
        ("[program\nreps = 3\n", ["invalid TOML"]),
        ('[audio]\noutput_device = -1\n', ["audio.output_device", "-1", "device name", "index", '"" for the system default']),
        ('[audio]\ninput_device = true\n', ["audio.input_device", "True", "device name", "index"]),
        ("[audio]\nsamplerate = 500000\n", ["audio.samplerate", "500000", "0 to 192000"]),
        ("[audio]\nblocksize = -5\n", ["audio.blocksize", "-5", "0 to 8192"]),
        ("[audio]\nvolume = 1.5\n", ["audio.volume", "1.5", "0 to 1"]),
        ("[audio]\nspeaker = 1\n", ["unknown key audio.speaker", "output_device", "input_device", "volume"]),
        ("[speech]\nrate = 500\n", ["speech.rate", "500", "80 to 300"]),
        ("[speech]\nrate = 160.5\n", ["speech.rate", "integer"]),
        ("[speech]\nvoice = 3\n", ["speech.voice", "3", "a string"]),
        ("[speech]\ngrammar = false\n", ["speech.grammar", "False", "a string"]),
        ("[speech]\nlanguage = \"en\"\n", ["unknown key speech.language", "voice", "rate", "grammar"]),
    ],
)
def test_bad_config_names_file_key_and_what_is_allowed(tmp_path, text, names):
    path = write(tmp_path, text)
    with pytest.raises(UserError) as err:
        config.load(path)
    message = str(err.value)
    assert message.startswith(str(path))
    assert "\n" not in message
    for name in names:
        assert name in message


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        config.load(tmp_path / "nope.toml")
    with pytest.raises(UserError, match="not UTF-8"):
        config.load(write(tmp_path, b"\xff\xfe\x00junk"))


toml_scalars = st.one_of(
    st.integers(-10**6, 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    table=st.sampled_from([*config.SCHEMA, "bogus"]),
    key=st.one_of(st.sampled_from([k for t in config.SCHEMA.values() for k in t]), st.text(min_size=1, max_size=8)),
    value=toml_scalars,
)
def test_any_single_value_is_accepted_or_one_line_error(table, key, value):
    """Whatever a user writes, validate() returns a full config or raises one UserError line."""
    try:
        cfg = config.validate({table: {key: value}}, "fuzz.toml")
    except UserError as err:
        assert str(err).startswith("fuzz.toml: ") and "\n" not in str(err)
    else:
        assert set(cfg) == set(config.SCHEMA)
        assert cfg[table][key] == value


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_never_escape_as_another_exception(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("fuzz") / "c.toml"
    path.write_bytes(blob)
    try:
        config.load(path)
    except UserError as err:
        assert "\n" not in str(err)


@pytest.mark.parametrize("command", ["run", "simulate"])
@pytest.mark.parametrize("text, where, names", [
    ("[audio]\nvolume = 2.0\n", "--config", ["audio.volume = 2.0", "a number from 0 to 1"]),
    ("[speech]\nrate = 500\n", "default", ["speech.rate = 500", "an integer from 80 to 300"]),
])
def test_run_and_simulate_refuse_a_bad_config_in_one_line(tmp_path, cli, command, text, where, names):
    """`run` and `simulate` stop before coaching on a bad config, given with --config or
    found at the user's config path, with one line naming the file, key and allowed values."""
    import os
    import wave

    path = tmp_path / ("given.toml" if where == "--config" else "config.toml")  # conftest's VOICECOACH_CONFIG
    path.write_text(text)
    mic = tmp_path / "mic.wav"
    with wave.open(str(mic), "wb") as w:  # a valid second of silence: only the config is wrong
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 16000)
    out, events, db = tmp_path / "out.wav", tmp_path / "ev.jsonl", tmp_path / "history.db"
    args = [command, "--db", str(db)]
    if command == "simulate":
        args += ["--mic", str(mic), "--out", str(out), "--events", str(events)]
    if where == "--config":
        args += ["--config", str(path)]
    proc = cli(*args, env={**os.environ, "VOICECOACH_CONFIG": str(tmp_path / "config.toml")}, timeout=30)
    assert proc.returncode != 0
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"voicecoach: {path}: ")
    for name in names:
        assert name in line
    assert not db.exists() and not out.exists() and not events.exists()
