"""The TOML config: every key has a default, anything else is an error.

A config file is optional. Each table below lists its keys with a default and
a check; an unknown table or key, or a value that fails its check, raises a
:class:`UserError` naming the file, the key and what is allowed.

To add a key, add one :class:`Key` to :data:`SCHEMA`; the dataclass-free
``Config`` is just ``config["program"]["reps"]``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from voicecoach.coach.program import VARIATIONS
from voicecoach.errors import UserError


@dataclass(frozen=True)
class Key:
    default: Any
    allowed: str
    """Human description of the allowed values, used in error messages."""
    check: Callable[[Any], bool]


def int_range(default: int, lo: int, hi: int) -> Key:
    return Key(
        default,
        f"an integer from {lo} to {hi}",
        lambda v: isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
    )


def float_range(default: float, lo: float, hi: float) -> Key:
    return Key(
        default,
        f"a number from {lo:g} to {hi:g}",
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and lo <= v <= hi,
    )


def one_of(default: str, choices: tuple[str, ...]) -> Key:
    return Key(default, "one of " + ", ".join(f'"{c}"' for c in choices), lambda v: v in choices)


def boolean(default: bool) -> Key:
    return Key(default, "true or false", lambda v: isinstance(v, bool))


def text(default: str) -> Key:
    return Key(default, "a string", lambda v: isinstance(v, str))


def device(default: str | int) -> Key:
    return Key(
        default,
        'a device name (string) or index (integer), "" for the system default',
        lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    )


SCHEMA: dict[str, dict[str, Key]] = {
    "program": {
        "variation": one_of("bent_knee", VARIATIONS),
        "sets": int_range(3, 1, 10),
        "reps": int_range(10, 1, 30),
        "rest_s": float_range(60.0, 10.0, 600.0),
        "lift_s": float_range(2.0, 1.0, 4.0),
        "descent_s": float_range(3.0, 3.0, 4.0),
        "breathing": one_of("standard", ("standard", "shielding")),
        "warmup": boolean(True),
        "ticks": boolean(True),
        "count_words": boolean(True),
        # The plank finish: a timed hold after the last set, 0 = none.
        "plank_s": float_range(0.0, 0.0, 300.0),
    },
    "audio": {
        "output_device": device(""),
        "input_device": device(""),
        "samplerate": int_range(0, 0, 192000),
        "blocksize": int_range(0, 0, 8192),
        "volume": float_range(1.0, 0.0, 1.0),
    },
    "speech": {
        "voice": text(""),
        "rate": int_range(160, 80, 300),
        "grammar": text(""),
    },
    "store": {
        "db": text(""),
    },
    # voicecoach web: 127.0.0.1 unless the page is opened to the network (with a token).
    "web": {
        "host": text("127.0.0.1"),
        "port": int_range(8421, 1, 65535),
    },
}
"""Tables and keys. ``samplerate``/``blocksize`` 0 and empty strings mean "choose for me"."""

Config = dict[str, dict[str, Any]]


def defaults() -> Config:
    return {table: {k: key.default for k, key in keys.items()} for table, keys in SCHEMA.items()}


def _name(text: str) -> str:
    """A user-written name as it can be shown on one line (quoted when odd)."""
    return text if text.isidentifier() else repr(text)


def validate(data: dict[str, Any], source: str = "<config>") -> Config:
    """Merge ``data`` over the defaults, checking every table and key."""
    config = defaults()
    for table, values in data.items():
        if table not in SCHEMA:
            raise UserError(
                f"{source}: unknown table [{_name(table)}]; allowed: " + ", ".join(f"[{t}]" for t in SCHEMA)
            )
        if not isinstance(values, dict):
            raise UserError(f"{source}: {_name(table)} must be a table ([{_name(table)}])")
        for name, value in values.items():
            key = SCHEMA[table].get(name)
            if key is None:
                raise UserError(
                    f"{source}: unknown key {table}.{_name(name)}; allowed: " + ", ".join(SCHEMA[table])
                )
            if not key.check(value):
                raise UserError(f"{source}: {table}.{name} = {value!r} is not allowed; use {key.allowed}")
            config[table][name] = float(value) if isinstance(key.default, float) else value
    return config


def load(path: str | Path | None) -> Config:
    """Read and validate ``path``; ``None`` gives the defaults."""
    if path is None:
        return defaults()
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: config file not found") from None
    except OSError as err:
        raise UserError(f"{path}: cannot read config: {err.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: config is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise UserError(f"{path}: invalid TOML: {err}") from None
    return validate(data, str(path))
