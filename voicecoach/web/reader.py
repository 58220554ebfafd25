"""The history opened read-only: ``mode=ro``, so the page can never write.

:class:`voicecoach.history.store.Store` opens read-write (it sets WAL and marks dead
sessions interrupted); the page must not, so it reuses only the Store's reading
code on a connection SQLite itself refuses to write through.
"""

from __future__ import annotations

import sqlite3
import threading
import urllib.parse
from pathlib import Path

from voicecoach.history.store import SCHEMA_VERSION, Store, StoreError


class ReadOnlyStore(Store):
    """:meth:`Store.sessions` over a ``mode=ro`` connection (a session may be writing: WAL)."""

    def __init__(self, path: Path | str, timeout: float = 5.0):  # noqa: D107 (no Store.__init__: it writes)
        self.path = Path(path)
        self.notices = []
        self._lock = threading.RLock()
        self._lockfd = None
        self._open_sessions = set()
        self._timeout = timeout
        self.read_only = True
        if not self.path.is_file():
            raise StoreError(f"no history database at {self.path}")
        uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?mode=ro"
        try:
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=timeout)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.Error as err:
            self._db = None
            raise StoreError(f"cannot read history database {self.path}: {err}") from None
        if version != SCHEMA_VERSION:
            self.close()
            raise StoreError(f"history database {self.path} is schema version {version}; "
                             f"this voicecoach reads {SCHEMA_VERSION} (run voicecoach history once to upgrade)")


def load(path: Path) -> list[dict]:
    """Every session, oldest first; none when the database does not exist yet."""
    if not path.exists():
        return []
    with ReadOnlyStore(path) as store:
        return store.sessions()
