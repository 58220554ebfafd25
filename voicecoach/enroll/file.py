"""The enrollment file: one person's takes and what was chosen from them.

``enrollment.json`` in the data dir (``$VOICECOACH_DATA``), mode 0600: the
takes are recordings of the person's voice. One JSON object::

    {"format": "voicecoach enrollment", "version": 1,
     "takes": {"back_arched": [{"pcm16": "<base64 int16 16 kHz mono>", "source": "a.wav",
                                "added": "2026-12-07T10:00:00+00:00"}, ...], ...},
     "enrollment": {"spellings": {"doming": ["down one"]}, "floors": {"help": 0.41}}}

The takes are kept, not only what was chosen from them, so that a later
version can choose again without asking the person for them. Writes are
atomic (a temporary file in the same folder, fsynced, then renamed): a crash
leaves the old file or the new one, never half of one. A file this version
cannot read is a :class:`UserError` naming it, never overwritten silently.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from voicecoach.errors import UserError
from voicecoach.speech.enrollment import Enrollment

FORMAT = "voicecoach enrollment"
VERSION = 1
NAME = "enrollment.json"


def default_path() -> Path:
    from voicecoach.paths import data_dir

    return data_dir() / NAME


@dataclass
class Take:
    """One recording of a phrase: int16 mono at 16 kHz."""

    pcm: np.ndarray
    source: str = ""
    added: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))


@dataclass
class Enrolled:
    """The file's content: the takes per intent and the enrollment chosen from them."""

    takes: dict[str, list[Take]] = field(default_factory=dict)
    enrollment: Enrollment = field(default_factory=Enrollment)


def load(path: Path | None = None) -> Enrolled | None:
    """The stored enrollment, or None when there is no file.

    Raises:
        UserError: the file cannot be read, is damaged, or is of a newer version.
    """
    path = Path(path) if path is not None else default_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot read the enrollment: {err}") from None
    fix = "run 'voicecoach enroll --reset' to start again, or use --no-enrollment"
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("not an enrollment file")
        version = data.get("version")
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"bad version {version!r}")
        if version > VERSION:
            raise UserError(f"{path}: the enrollment was written by a newer voicecoach (format {version}, "
                            f"this one reads {VERSION}); upgrade, or use --no-enrollment")
        takes = {}
        for intent, rows in data.get("takes", {}).items():
            takes[str(intent)] = [
                Take(np.frombuffer(base64.b64decode(r["pcm16"], validate=True), dtype="<i2").astype(np.int16),
                     str(r.get("source", "")), str(r.get("added", "")))
                for r in rows
            ]
        enrollment = Enrollment.from_json(data.get("enrollment", {}))
    except UserError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise UserError(f"{path}: the enrollment file is damaged ({err}); {fix}") from None
    return Enrolled(takes, enrollment)


def save(enrolled: Enrolled, path: Path | None = None) -> Path:
    """Write ``enrolled`` atomically, mode 0600 (the data dir made 0700 if missing)."""
    from voicecoach.paths import make_private_dirs

    path = Path(path) if path is not None else default_path()
    data = {
        "format": FORMAT,
        "version": VERSION,
        "takes": {intent: [{"pcm16": base64.b64encode(t.pcm.astype("<i2").tobytes()).decode("ascii"),
                            "source": t.source, "added": t.added} for t in rows]
                  for intent, rows in sorted(enrolled.takes.items()) if rows},
        "enrollment": enrolled.enrollment.to_json(),
    }
    try:
        make_private_dirs(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=".enrollment-", suffix=".tmp", dir=path.parent)  # mkstemp: 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as err:
        raise UserError(f"{path}: cannot write the enrollment: {err.strerror or err}") from None
    return path


def remove(path: Path | None = None) -> bool:
    """Delete the enrollment file; False when there was none."""
    path = Path(path) if path is not None else default_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        raise UserError(f"{path}: cannot remove the enrollment: {err.strerror or err}") from None
    return True
