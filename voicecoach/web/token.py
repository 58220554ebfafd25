"""The access token for the page on the network: made once, kept 0600 in the data dir."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from voicecoach import paths
from voicecoach.errors import UserError

VALID = re.compile(r"[A-Za-z0-9_-]{32,128}")


def token_file() -> Path:
    return paths.data_dir() / "web-token"


def load_or_create(path: Path | None = None) -> str:
    """The token in ``path``, made there (0600, exclusive create) when missing.

    A token readable by other users, or a file that is not a token, is an error
    rather than something to repair silently: someone may have copied it.
    """
    path = path or token_file()
    if not path.exists():
        paths.make_private_dirs(path.parent)
        token = secrets.token_urlsafe(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as err:
            raise UserError(f"cannot create the web token {path}: {err.strerror}") from None
        with os.fdopen(fd, "w") as f:
            f.write(token + "\n")
        return token
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the web token {path}: {getattr(err, 'strerror', None) or err}") from None
    if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
        raise UserError(f"the web token {path} is readable by others; delete it and a new one is made")
    if not VALID.fullmatch(text):
        raise UserError(f"the web token {path} is not a token; delete it and a new one is made")
    return text
