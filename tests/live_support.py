"""Live ``voicecoach run`` sessions, all run at once.

A live test of ``run`` watches a real session through its own private
PulseAudio sink, and such a session is mostly the coach's own talk: the test
waits, the machine idles. So a test module registers the session it watches
with :func:`session`, and its tests read the outcome from the ``live_runs``
fixture (tests/conftest.py). The first test that reads one starts every
session registered by a module that has a selected test using ``live_runs``,
together, each in its own thread and tmp dir; each test then asserts on its
own session's outcome, as if it had run the session itself.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

SESSIONS: dict[str, Callable[[Path], object]] = {}
"""Each registered session by name: ``fn(tmp_path) -> outcome``."""


def session(name: str):
    """Register the decorated ``fn(tmp_path) -> outcome`` as the live session ``name``."""

    def register(fn: Callable[[Path], object]) -> Callable[[Path], object]:
        assert name not in SESSIONS, f"two live sessions named {name}"
        SESSIONS[name] = fn
        return fn

    return register


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment for a session's process: its own data dir, history and config
    (these sessions start outside any test's isolated_dirs), plus ``extra``."""
    data = tmp_path / "data"
    return dict(os.environ, VOICECOACH_DATA=str(data), VOICECOACH_DB=str(data / "history.db"),
                VOICECOACH_CONFIG=str(tmp_path / "config.toml"), **extra)


def run_all(names: Iterable[str], tmp_path_factory) -> dict[str, object]:
    """Run the sessions ``names`` at once; each maps to its outcome, or to the
    exception it raised (which :func:`outcome` raises in the test that reads it)."""
    names = list(names)

    def one(name: str) -> object:
        try:
            return SESSIONS[name](tmp_path_factory.mktemp(name.replace(" ", "_")))
        except BaseException as err:  # raised by the test that reads this session, not here
            return err

    with ThreadPoolExecutor(max(1, len(names))) as pool:
        futures = {name: pool.submit(one, name) for name in names}
    return {name: future.result() for name, future in futures.items()}


def outcome(runs: dict[str, object], name: str):
    """Session ``name``'s outcome; what it raised is raised here."""
    result = runs[name]
    if isinstance(result, BaseException):
        raise result
    return result
