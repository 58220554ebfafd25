"""The history: every session, set, rep, mark and command, in SQLite.

One :class:`Store` per process. The runtime calls::

    store = Store()                       # $VOICECOACH_DB or the user data dir
    for line in store.notices: tell(line) # e.g. "the old database was damaged..."
    sid = store.begin_session(started_at=datetime.now(timezone.utc), config=config)
    store.record_rep(sid, rep)            # each its own committed transaction
    store.record_set(sid, set_summary)
    store.end_session(sid, session_summary)
    store.close()

What a caller can rely on:

- Durability: WAL with ``synchronous=FULL`` and one transaction per call, so
  a SIGKILL or power cut loses at most the rep in progress.
- A session whose process died stays ``in_progress`` until a later
  :class:`Store` opens the file while no live process holds a session there;
  then it is marked ``interrupted`` (its completed reps are kept). Liveness
  is an advisory lock on ``<db>.lock`` held by every open session, so
  ``voicecoach history`` run during a workout does not mark it interrupted.
- Failures a user can cause (disk full, read-only directory, a file that is
  not a database, a database from a newer voicecoach) raise
  :class:`StoreError` with one line. A write failure leaves the store usable:
  the caller should say once that history is not being saved and go on
  coaching; later calls may succeed again (e.g. after space is freed).
- A damaged file (SQLite says corrupt / not a database) is never
  overwritten: it is renamed to ``<name>.corrupt-<UTC timestamp>`` (with its
  ``-wal``/``-shm``), a fresh database is started, and :attr:`Store.notices`
  says so.
- Files are private: directories created with mode 0700, the database 0600
  (SQLite gives ``-wal``/``-shm`` the database file's mode).
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import threading
import urllib.parse
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from voicecoach import events, paths
from voicecoach.errors import UserError
from voicecoach.history.record import session_record

SCHEMA_VERSION = 3
"""The version :class:`Store` writes; kept in ``PRAGMA user_version``."""

_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL_CODE = 13  # SQLITE_FULL


class StoreError(UserError):
    """The history database cannot be opened or written; the message is one line."""


# --- schema ---------------------------------------------------------------------
# Each migration takes the database from version N-1 to N inside one
# transaction. Never edit a released one: append a new one.


def _script(db: sqlite3.Connection, sql: str) -> None:
    # Not executescript(): it COMMITs first, which would split a migration
    # into pieces that a crash could leave half done.
    for statement in sql.split(";"):
        if statement.strip():
            db.execute(statement)


def _migrate_1(db: sqlite3.Connection) -> None:
    _script(
        db,
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            status TEXT NOT NULL DEFAULT 'in_progress',
            config_json TEXT NOT NULL DEFAULT '{}',
            sets INTEGER,
            counted INTEGER,
            attempted INTEGER
        );
        CREATE TABLE sets (
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            set_no INTEGER NOT NULL,
            t REAL NOT NULL,
            counted INTEGER NOT NULL,
            attempted INTEGER NOT NULL,
            marks_json TEXT NOT NULL DEFAULT '{}',
            PRIMARY KEY (session_id, set_no)
        );
        CREATE TABLE reps (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            set_no INTEGER NOT NULL,
            rep_no INTEGER NOT NULL,
            t REAL NOT NULL,
            counted INTEGER NOT NULL,
            marks_json TEXT NOT NULL DEFAULT '[]',
            lift_s REAL,
            descent_s REAL,
            stop_point REAL
        );
        """
    )


def _migrate_2(db: sqlite3.Connection) -> None:
    # v2: the variation and the plan become columns (the progression rules
    # query them), the session floor is kept, and commands are recorded.
    _script(
        db,
        """
        ALTER TABLE sessions ADD COLUMN variation TEXT;
        ALTER TABLE sessions ADD COLUMN plan_json TEXT;
        ALTER TABLE sessions ADD COLUMN floor REAL;
        CREATE TABLE commands (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id),
            intent TEXT NOT NULL,
            text TEXT NOT NULL,
            start REAL,
            "end" REAL,
            t REAL NOT NULL
        );
        CREATE INDEX reps_by_session ON reps(session_id, id);
        CREATE INDEX commands_by_session ON commands(session_id, id);
        CREATE INDEX sessions_by_start ON sessions(started_at);
        """
    )
    rows = db.execute("SELECT id, config_json FROM sessions").fetchall()
    for sid, config_json in rows:
        db.execute("UPDATE sessions SET variation = ? WHERE id = ?", (_variation(_loads(config_json, {})), sid))


def _migrate_3(db: sqlite3.Connection) -> None:
    # v3: the plank finish, held and planned seconds (NULL: no plank that session).
    _script(
        db,
        """
        ALTER TABLE sessions ADD COLUMN plank_s REAL;
        ALTER TABLE sessions ADD COLUMN plank_target_s REAL;
        """
    )


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migrate_1, _migrate_2, _migrate_3]
"""``MIGRATIONS[n]`` takes a database from version n to n+1."""

assert len(MIGRATIONS) == SCHEMA_VERSION

TABLES = ("sessions", "sets", "reps", "commands")
"""The tables :meth:`Store.table` can dump (``voicecoach export``)."""


# --- helpers ----------------------------------------------------------------------


def _loads(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


def _variation(config: dict) -> str | None:
    program = config.get("program", config) if isinstance(config, dict) else {}
    value = program.get("variation") if isinstance(program, dict) else None
    return value if isinstance(value, str) else None


def _utc_iso(moment: datetime) -> str:
    # A naive datetime is the local wall clock, as datetime.now() gives it.
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_time(text: str) -> datetime:
    """An ISO time from the store as an aware datetime (UTC)."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _reason(err: BaseException) -> str:
    if isinstance(err, sqlite3.Error) and getattr(err, "sqlite_errorcode", None) == _FULL_CODE:
        return "disk full"
    if isinstance(err, OSError):
        return err.strerror or str(err)
    text = str(err)
    if "readonly" in text or "read-only" in text:
        return "the file or its directory is read-only"
    return text


def resolve_path(explicit: str | Path | None = None, config: dict | None = None) -> Path:
    """Where the history lives: ``explicit`` (``--db``), else ``$VOICECOACH_DB``,
    else the config's ``[store] db``, else ``history.db`` in the user data dir.
    """
    if explicit:
        return Path(explicit).expanduser()
    if os.environ.get("VOICECOACH_DB"):
        return paths.default_db()
    configured = ((config or {}).get("store") or {}).get("db")
    if configured:
        return Path(configured).expanduser()
    return paths.default_db()


def open_existing(explicit: str | Path | None = None, config: dict | None = None) -> "Store | None":
    """Open the history for reading tools (history, report, export).

    Returns ``None`` when the default database does not exist yet (nothing
    recorded); an explicit path that does not exist raises :class:`StoreError`.
    """
    path = resolve_path(explicit, config)
    if not path.exists() and not explicit:
        return None
    return Store(path, create=False)


class Store:
    """The history database at ``path`` (default :func:`voicecoach.paths.default_db`).

    ``create=False`` opens an existing database only (for read-only tools such
    as ``voicecoach history``): a missing file raises :class:`StoreError`.
    ``timeout`` is how long a call waits for another process's write lock.

    Raises :class:`StoreError` when the file cannot be created, opened or
    upgraded. Safe to call from more than one thread (calls are serialised).
    """

    notices: list[str]
    """Lines the user should hear or read (e.g. a damaged file was moved aside)."""

    def __init__(self, path: Path | str | None = None, *, create: bool = True, timeout: float = 10.0):
        self.path = Path(path) if path is not None else paths.default_db()
        self.notices = []
        self._lock = threading.RLock()
        self._lockfd: int | None = None
        self._open_sessions: set[int] = set()
        self._db: sqlite3.Connection | None = None
        self._timeout = timeout
        self.read_only = False
        """True when opened read-only (a reader on a read-only file system)."""
        if not create and not self.path.exists():
            raise StoreError(f"no history database at {self.path}")
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a directory, not a history database")
        try:
            try:
                self._db = self._open()
            except (sqlite3.OperationalError, OSError) as err:
                if create or not self._read_only_dir():
                    raise
                # A reader (history, report) on a read-only file system: nobody
                # can be writing, so an immutable open reads it consistently.
                self._db = self._open(immutable=True)
        except sqlite3.DatabaseError as err:
            code = getattr(err, "sqlite_errorcode", None)
            if code not in _CORRUPT_CODES:
                raise StoreError(f"cannot open history database {self.path}: {self._why(err)}") from None
            if not create:
                raise StoreError(
                    f"{self.path} is damaged or not a history database ({err}); "
                    "the next session moves it aside and starts a new one"
                ) from None
            moved = self._move_aside()
            self.notices.append(
                f"The history database {self.path} was damaged; it was moved to {moved.name} "
                "and a new one was started."
            )
            try:
                self._db = self._open()
            except sqlite3.Error as err2:
                raise StoreError(f"cannot open history database {self.path}: {self._why(err2)}") from None
        except OSError as err:
            raise StoreError(f"cannot open history database {self.path}: {self._why(err)}") from None
        self._mark_interrupted()

    # --- opening ------------------------------------------------------------------

    def _read_only_dir(self) -> bool:
        parent = self.path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        return not os.access(parent, os.W_OK)

    def _why(self, err: BaseException) -> str:
        """The reason for a failure, in the user's terms."""
        if isinstance(err, sqlite3.Error) and getattr(err, "sqlite_errorcode", None) == _FULL_CODE:
            return "disk full"
        if self._read_only_dir():
            return f"its directory {self.path.parent} is read-only"
        if self.path.exists() and not os.access(self.path, os.R_OK | os.W_OK):
            return "permission denied (the file must be readable and writable by this user)"
        return _reason(err)

    def _make_private(self) -> None:
        # A file made by hand or by an older install may be readable by others;
        # SQLite copies the database's mode to the -wal and -shm it creates.
        for name in (str(self.path), f"{self.path}-wal", f"{self.path}-shm"):
            try:
                if os.stat(name).st_mode & 0o077:
                    os.chmod(name, 0o600)
            except OSError:
                pass  # missing, or not ours to change: SQLite reports what matters

    def _open(self, immutable: bool = False) -> sqlite3.Connection:
        if immutable:
            uri = "file:" + urllib.parse.quote(str(self.path.resolve())) + "?immutable=1"
            db = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            self.read_only = True
        else:
            # Path.mkdir(parents=True) gives the intermediate dirs the umask's
            # mode; every dir created for the history must be private.
            missing = []
            parent = self.path.parent
            while not parent.exists() and parent != parent.parent:
                missing.append(parent)
                parent = parent.parent
            for folder in reversed(missing):
                folder.mkdir(mode=0o700, exist_ok=True)
            if not self.path.exists():
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
            self._make_private()
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=self._timeout)
        try:
            # Before anything writes: a newer schema is left exactly as it is.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"history database {self.path} is schema version {version}, newer than this "
                    f"voicecoach understands ({SCHEMA_VERSION}); upgrade voicecoach"
                )
            if not immutable:
                mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if mode.lower() != "wal":
                    raise sqlite3.OperationalError(f"cannot use WAL mode (got {mode})")
                db.execute("PRAGMA synchronous = FULL")
                db.execute("PRAGMA foreign_keys = ON")
            # quick_check reads every page, so a damaged file is found now
            # rather than in the middle of a workout.
            result = db.execute("PRAGMA quick_check").fetchall()
            if result != [("ok",)]:
                err = sqlite3.DatabaseError("database disk image is malformed")
                err.sqlite_errorcode = 11  # type: ignore[attr-defined]
                raise err
            if immutable:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version != SCHEMA_VERSION:
                    raise StoreError(
                        f"history database {self.path} needs an upgrade, but its directory is read-only"
                    )
            else:
                self._migrate(db)
        except BaseException:
            db.close()
            raise
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"history database {self.path} is schema version {version}, newer than this "
                f"voicecoach understands ({SCHEMA_VERSION}); upgrade voicecoach"
            )
        while version < SCHEMA_VERSION:
            db.execute("BEGIN IMMEDIATE")
            try:
                # Re-read under the write lock: another process may have migrated.
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version < SCHEMA_VERSION:
                    MIGRATIONS[version](db)
                    version += 1
                    db.execute(f"PRAGMA user_version = {version}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _move_aside(self) -> Path:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while target.exists():
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
            n += 1
        try:
            # The -wal/-shm belong to the damaged file; left behind, SQLite
            # would replay them into the new database.
            for suffix in ("-wal", "-shm"):
                side = Path(str(self.path) + suffix)
                if side.exists():
                    side.rename(Path(str(target) + suffix))
            self.path.rename(target)
        except OSError as err:
            raise StoreError(
                f"history database {self.path} is damaged and cannot be moved aside: {_reason(err)}"
            ) from None
        return target

    def _session_lock(self) -> int:
        """The fd of ``<db>.lock``: shared while sessions are open, probed exclusively."""
        if self._lockfd is None:
            self._lockfd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        return self._lockfd

    def _mark_interrupted(self) -> None:
        try:
            fd = self._session_lock()
        except OSError:
            return  # a read-only directory: nothing is running here anyway
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live process has a session open in this database
        try:
            with self._lock:
                # Look first: the UPDATE would wait for a writer's lock for nothing.
                if self._db.execute("SELECT 1 FROM sessions WHERE status = 'in_progress' LIMIT 1").fetchone():
                    self._db.execute("UPDATE sessions SET status = 'interrupted' WHERE status = 'in_progress'")
        except sqlite3.Error:
            pass  # a read-only file can still be read; the status shows in_progress
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    # --- writing ------------------------------------------------------------------

    def _write(self, what: str, *statements: tuple[str, tuple]) -> sqlite3.Cursor | None:
        if self._db is None:
            raise StoreError(f"history database {self.path} is closed")
        with self._lock:
            cursor = None
            try:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")  # left open by a call that was interrupted
                self._db.execute("BEGIN IMMEDIATE")
                for sql, params in statements:
                    cursor = self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException as err:
                # Also KeyboardInterrupt (serve turns SIGTERM into one): the
                # caller's clean-up must find no transaction left open, or its
                # end_session would fail.
                if self._db.in_transaction:
                    try:
                        self._db.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                if isinstance(err, sqlite3.Error):
                    raise StoreError(f"could not save {what} to {self.path}: {self._why(err)}") from None
                raise
            return cursor

    def begin_session(self, *, started_at: datetime, config: dict, plan: dict | None = None) -> int:
        """Open a session row (status ``in_progress``); returns its id.

        ``config`` is the validated config (or its ``program`` table); ``plan``
        the program actually used today when it differs (e.g. the adjustments
        of :func:`voicecoach.history.progression.plan_for_today` applied). The
        variation recorded is the plan's, else the config's.
        """
        variation = _variation(plan or {}) or _variation(config)
        try:
            # Blocks only while another process probes for dead sessions.
            fcntl.flock(self._session_lock(), fcntl.LOCK_SH)
        except OSError:
            pass  # no lock file (read-only dir): the write below fails with the reason
        cursor = self._write(
            "the session",
            (
                "INSERT INTO sessions (started_at, status, config_json, plan_json, variation) "
                "VALUES (?, 'in_progress', ?, ?, ?)",
                (_utc_iso(started_at), json.dumps(config, default=str),
                 json.dumps(plan, default=str) if plan else None, variation),
            ),
        )
        sid = int(cursor.lastrowid)
        self._open_sessions.add(sid)
        return sid

    def record_rep(self, session_id: int, rep: events.Rep) -> None:
        """Commit one rep; it survives a crash the moment this returns."""
        self._write(
            f"rep {rep.rep} of set {rep.set}",
            (
                "INSERT INTO reps (session_id, set_no, rep_no, t, counted, marks_json, lift_s, "
                "descent_s, stop_point) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id, rep.set, rep.rep, rep.t, int(bool(rep.counted)),
                    json.dumps(list(rep.marks)), rep.lift_s, rep.descent_s, rep.stop_point,
                ),
            ),
        )

    def record_set(self, session_id: int, summary: events.SetSummary) -> None:
        self._write(
            f"set {summary.set}",
            (
                "INSERT OR REPLACE INTO sets (session_id, set_no, t, counted, attempted, marks_json) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, summary.set, summary.t, summary.counted, summary.attempted,
                 json.dumps(summary.marks)),
            ),
        )

    def record_command(self, session_id: int, command: events.Command) -> None:
        self._write(
            f"the command {command.intent!r}",
            (
                'INSERT INTO commands (session_id, intent, text, start, "end", t) VALUES (?, ?, ?, ?, ?, ?)',
                (session_id, command.intent, command.text, command.start, command.end, command.t),
            ),
        )

    def end_session(self, session_id: int, summary: events.SessionSummary) -> None:
        """Close the session with its summary (status from ``summary.status``)."""
        self._write(
            "the session summary",
            (
                "UPDATE sessions SET ended_at = ?, status = ?, sets = ?, counted = ?, attempted = ?, "
                "floor = COALESCE(?, floor), plank_s = ?, plank_target_s = ? WHERE id = ?",
                (_utc_iso(datetime.now(timezone.utc)), summary.status or "completed", summary.sets,
                 summary.counted, summary.attempted, summary.floor, summary.plank_s, summary.plank_target_s,
                 session_id),
            ),
        )
        self._open_sessions.discard(session_id)
        if not self._open_sessions and self._lockfd is not None:
            fcntl.flock(self._lockfd, fcntl.LOCK_UN)

    # --- reading ------------------------------------------------------------------

    def _read(self, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
        if self._db is None:
            raise StoreError(f"history database {self.path} is closed")
        with self._lock:
            try:
                cursor = self._db.execute(sql, params)
                names = [d[0] for d in cursor.description]
                return [dict(zip(names, row)) for row in cursor.fetchall()]
            except sqlite3.Error as err:
                raise StoreError(f"cannot read history database {self.path}: {_reason(err)}") from None

    def floor(self) -> float | None:
        """The latest stop point (0..1 of the lowering, 1 = all the way down), or None."""
        # The same floor as sessions() gives: the summary's, else the last one marked.
        rows = self._read(
            "SELECT floor FROM (SELECT started_at, id, COALESCE(s.floor, (SELECT r.stop_point FROM reps r "
            "WHERE r.session_id = s.id AND r.stop_point IS NOT NULL ORDER BY r.id DESC LIMIT 1)) AS floor "
            "FROM sessions s) WHERE floor IS NOT NULL ORDER BY started_at DESC, id DESC LIMIT 1"
        )
        return rows[0]["floor"] if rows else None

    def sessions(self, since: date | None = None) -> list[dict]:
        """Every session, oldest first, as plain JSON-ready dicts.

        ``since`` keeps sessions that started on or after that local date.
        Each dict: ``id, started_at, ended_at`` (ISO, UTC), ``status``
        (``in_progress``, ``completed``, ``stopped``, ``interrupted``),
        ``variation``, ``config``, ``plan``, ``counted``, ``attempted``,
        ``marks`` (name -> count), ``floor``, ``plank_s`` and ``plank_target_s``
        (the plank finish held and planned, or None), ``sets`` (each with ``set,
        counted, attempted, marks, reps``) and ``commands``. For a session that
        never ended, counts come from its recorded reps.
        """
        rows = self._read("SELECT * FROM sessions ORDER BY started_at, id")
        if since is not None:
            rows = [r for r in rows if parse_time(r["started_at"]).astimezone().date() >= since]
        if not rows:
            return []
        ids = tuple(r["id"] for r in rows)
        marks_sql = ",".join("?" * len(ids))
        reps: dict[int, list[dict]] = {}
        for rep in self._read(f"SELECT * FROM reps WHERE session_id IN ({marks_sql}) ORDER BY id", ids):
            reps.setdefault(rep["session_id"], []).append(rep)
        sets: dict[int, dict[int, dict]] = {}
        for row in self._read(f"SELECT * FROM sets WHERE session_id IN ({marks_sql})", ids):
            sets.setdefault(row["session_id"], {})[row["set_no"]] = row
        commands: dict[int, list[dict]] = {}
        for row in self._read(f"SELECT * FROM commands WHERE session_id IN ({marks_sql}) ORDER BY id", ids):
            commands.setdefault(row["session_id"], []).append(
                {k: row[k] for k in ("intent", "text", "start", "end", "t")}
            )
        return [self._session_dict(r, reps.get(r["id"], []), sets.get(r["id"], {}), commands.get(r["id"], []))
                for r in rows]

    @staticmethod
    def _session_dict(row: dict, reps: list[dict], set_rows: dict[int, dict], commands: list[dict]) -> dict:
        entries = [
            (rep["set_no"], {
                "rep": rep["rep_no"], "t": rep["t"], "counted": bool(rep["counted"]),
                "marks": _loads(rep["marks_json"], []),
                "lift_s": rep["lift_s"], "descent_s": rep["descent_s"], "stop_point": rep["stop_point"],
            })
            for rep in reps
        ]
        summaries = {
            set_no: {"counted": r["counted"], "attempted": r["attempted"], "marks": _loads(r["marks_json"], {})}
            for set_no, r in set_rows.items()
        }
        ended = row["counted"] is not None and row["ended_at"] is not None
        return session_record(
            id=row["id"], started_at=row["started_at"], ended_at=row["ended_at"], status=row["status"],
            variation=row["variation"], config=_loads(row["config_json"], {}),
            plan=_loads(row["plan_json"], None), reps=entries, set_summaries=summaries,
            totals=(row["counted"], row["attempted"]) if ended else None, floor=row["floor"],
            plank_s=row["plank_s"], plank_target_s=row["plank_target_s"], commands=commands,
        )

    def table(self, name: str) -> tuple[list[str], Iterator[tuple]]:
        """Column names and rows of one table in :data:`TABLES`, as stored."""
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}")
        with self._lock:
            try:
                cursor = self._db.execute(f"SELECT * FROM {name} ORDER BY rowid")
                return [d[0] for d in cursor.description], iter(cursor.fetchall())
            except sqlite3.Error as err:
                raise StoreError(f"cannot read history database {self.path}: {_reason(err)}") from None

    def close(self) -> None:
        """Close the database; open sessions stay ``in_progress`` (then ``interrupted``)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
            if self._lockfd is not None:
                os.close(self._lockfd)
                self._lockfd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
