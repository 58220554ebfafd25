"""Where voicecoach keeps its files: model, clip cache, history.

Every location has an environment override so that tests, the Pi service and
a user with odd needs can point it elsewhere without a config file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP = "voicecoach"


def data_dir() -> Path:
    """User data dir (``$VOICECOACH_DATA`` or e.g. ``~/.local/share/voicecoach``)."""
    override = os.environ.get("VOICECOACH_DATA")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP))


def cache_dir() -> Path:
    """Rendered speech clips (``$VOICECOACH_CACHE`` or e.g. ``~/.cache/voicecoach``)."""
    override = os.environ.get("VOICECOACH_CACHE")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP))


def config_file() -> Path:
    """Default config (``$VOICECOACH_CONFIG`` or e.g. ``~/.config/voicecoach/config.toml``)."""
    override = os.environ.get("VOICECOACH_CONFIG")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP)) / "config.toml"


def default_db() -> Path:
    """History database (``$VOICECOACH_DB`` or ``data_dir()/history.db``)."""
    override = os.environ.get("VOICECOACH_DB")
    return Path(override) if override else data_dir() / "history.db"


def grammars_dir() -> Path:
    """The shipped grammars: ``grammars/`` of a source checkout (editable install),
    else ``<prefix>/share/voicecoach/grammars`` where a wheel install puts them."""
    checkout = Path(__file__).resolve().parent.parent / "grammars"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / APP / "grammars"


def make_private_dirs(folder: Path) -> None:
    """Create ``folder`` and its missing parents as 0700.

    Path.mkdir(parents=True) gives them the umask's mode: under umask 000 the
    cache was world-writable, so another local user could have planted a clip
    that the coach would then speak (found by tests/test_runtime_security.py).
    """
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        d.mkdir(mode=0o700, exist_ok=True)
