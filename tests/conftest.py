"""Shared fixtures: the real Vosk model, a real PulseAudio server, isolated dirs.

Tests never touch the user's files: every test gets its own data dir, history
database and config path. Rendered speech clips share one cache per test run,
because re-rendering every phrase in every test would only measure espeak-ng.

The model is found once, before any test moves VOICECOACH_DATA, and exported
as VOICECOACH_MODEL so that subprocesses (``voicecoach simulate`` ...) use it
too. A missing model FAILS the tests that need it: they are never skipped.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

_run_dir = Path(tempfile.mkdtemp(prefix="voicecoach-tests-"))
os.environ["VOICECOACH_CACHE"] = str(_run_dir / "cache")

try:
    from voicecoach.model import find_model

    MODEL_PATH = find_model()
except Exception as err:  # reported by the fixture, where a test asks for it
    MODEL_PATH, _model_error = None, err
else:
    _model_error = None
if MODEL_PATH is not None:
    os.environ["VOICECOACH_MODEL"] = str(MODEL_PATH)


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's data dir, history DB and config live under its tmp_path."""
    data = tmp_path / "data"
    monkeypatch.setenv("VOICECOACH_DATA", str(data))
    monkeypatch.setenv("VOICECOACH_DB", str(data / "history.db"))
    monkeypatch.setenv("VOICECOACH_CONFIG", str(tmp_path / "config.toml"))
    return data


@pytest.fixture(scope="session")
def model_path() -> Path:
    if MODEL_PATH is None:
        pytest.fail(
            f"no Vosk model installed ({_model_error or 'none found'}); run scripts/setup --test",
            pytrace=False,
        )
    return MODEL_PATH


@pytest.fixture(scope="session")
def vosk_model(model_path: Path):
    """The real small US English model, loaded once per test run as the coach loads it."""
    from voicecoach.model import load_model

    return load_model(model_path)


@pytest.fixture(scope="session")
def pulse() -> str:
    """A running PulseAudio server with null sinks ``coach`` and ``room``.

    These machines have no sound card, so the tests start one with
    scripts/pulse-null-sink (idempotent). The default sink is ``coach`` and the
    default source ``coach.monitor``. Returns the name of the coach sink.
    """
    proc = subprocess.run([str(ROOT / "scripts" / "pulse-null-sink")], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"PulseAudio null sink could not start: {proc.stderr.strip()}", pytrace=False)
    return "coach"


def voicecoach_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m voicecoach ARGS`` as the user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", *args], capture_output=True, text=True, cwd=ROOT, **kwargs
    )


@pytest.fixture
def cli():
    return voicecoach_cli


@pytest.fixture(scope="session")
def live_runs(request, tmp_path_factory, pulse, model_path) -> dict[str, object]:
    """The outcome of each live ``voicecoach run`` session (tests/live_support.py) by
    name: the sessions of every module with a selected test that reads them, run at once."""
    from live_support import SESSIONS, run_all

    modules = {item.module.__name__ for item in request.session.items
               if "live_runs" in getattr(item, "fixturenames", ())}
    return run_all([name for name, fn in SESSIONS.items() if fn.__module__ in modules], tmp_path_factory)
