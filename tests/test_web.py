"""``voicecoach web``: the data the page shows, its token, headers and errors (no browser: test_web_browser.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from voicecoach import config
from voicecoach.history import progression
from voicecoach.commands.history import load_history
from voicecoach.web import reader, server, token, view
from test_runtime_security import listening, socket_inodes
from web_support import SESSIONS, fill

NOW = datetime(2026, 10, 27, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def db() -> Path:
    path = Path(os.environ["VOICECOACH_DB"])
    fill(path)
    return path


@pytest.fixture
def page(db: Path):
    """A live server on 127.0.0.1 with the token required; yields (base url, token)."""
    secret = token.load_or_create()
    httpd = server.serve("127.0.0.1", 0, server.app(db, config.defaults()["program"], secret, now=lambda: NOW))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", secret
    httpd.shutdown()
    httpd.server_close()


def get(url: str, method: str = "GET") -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read().decode()


def test_the_overview_is_the_history_the_cli_reads(db: Path) -> None:
    history = reader.load(db)
    assert history == load_history(str(db))[1]
    data = view.overview(history, config.defaults()["program"], NOW)
    assert len(data.points) == SESSIONS and [p.counted for p in data.points][:3] == [10, 10, 12]
    assert data.points[-1].floor == pytest.approx(0.5 + 8 * 0.04)
    assert data.points[0].marks == {"back_arched": 6, "doming": 4, "stop_point": 1}
    assert [w[1] for w in data.weeks] == [3, 3, 3] and data.weeks[0][3] == 60
    assert data.sessions[0]["id"] == history[-1]["id"]  # newest first


def test_the_plan_is_the_greeting_the_coach_would_say(db: Path) -> None:
    history = reader.load(db)
    program = config.defaults()["program"]
    greeting, advice = progression.plan_for_today(history, program, NOW)
    plan = view.next_plan(history, program, NOW)
    assert plan.greeting == greeting and plan.advice == [a.sentence for a in advice if a.sentence]
    assert "floor is at eighty-two percent" in plan.greeting


def test_reading_never_writes_even_while_a_session_is_open(db: Path) -> None:
    from voicecoach import events
    from voicecoach.history.store import Store

    before = db.stat().st_mtime_ns
    with Store(db) as writer:  # a session being recorded: WAL, its lock held
        sid = writer.begin_session(started_at=NOW, config={})
        writer.record_rep(sid, events.Rep(t=1.0, set=1, rep=1, counted=True))
        history = reader.load(db)
        assert history[-1]["status"] == "in_progress" and history[-1]["attempted"] == 1
        with reader.ReadOnlyStore(db) as ro, pytest.raises(sqlite3.OperationalError, match="readonly"):
            ro._db.execute("DELETE FROM sessions")
    assert reader.load(db)[-1]["status"] == "in_progress"  # not marked interrupted by the page
    assert db.stat().st_mtime_ns >= before


def test_token_is_made_once_private_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "data" / "web-token"
    first = token.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600 and token.load_or_create(path) == first
    path.chmod(0o644)
    with pytest.raises(Exception, match="readable by others"):
        token.load_or_create(path)
    path.chmod(0o600)
    path.write_text("short\n")
    with pytest.raises(Exception, match="not a token"):
        token.load_or_create(path)


def test_pages_with_and_without_the_token(page) -> None:
    base, secret = page
    status, headers, body = get(f"{base}/?token={secret}")
    assert status == 200 and "Next session" in body and body.count("<svg") == 5
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in headers["Content-Security-Policy"] and "<script" not in body
    assert f"/session/1?token={secret}" in body
    status, _, one = get(f"{base}/session/1?token={secret}")
    assert status == 200 and "Set 1: 5/10" in one and "back arched" in one
    for bad in ("/", "/?token=wrong", "/session/1", f"/session/1?token={secret[:-1]}"):
        assert get(base + bad)[0] == 403, bad
    assert get(f"{base}/session/999?token={secret}")[0] == 404
    assert get(f"{base}/session/1%20OR%201=1?token={secret}")[0] == 404
    assert get(f"{base}/../etc/passwd?token={secret}")[0] == 404
    assert get(f"{base}/?token={secret}", method="POST")[0] == 405


def test_no_history_yet_says_so(tmp_path: Path) -> None:
    app = server.app(tmp_path / "none.db", config.defaults()["program"], None, now=lambda: NOW)
    status, html = server._route({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, tmp_path / "none.db",
                                 config.defaults()["program"], None, lambda: NOW)
    assert status == "200 OK" and "No sessions recorded yet" in html and "first session" in html
    assert callable(app) and not (tmp_path / "none.db").exists()


def test_port_in_use_and_bad_token_are_one_line(cli, tmp_path: Path) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    env = dict(os.environ)
    proc = cli("web", "--port", str(taken.getsockname()[1]), env=env, timeout=20)
    taken.close()
    assert proc.returncode != 0 and proc.stderr.startswith("voicecoach: cannot listen on 127.0.0.1:")
    assert proc.stderr.count("\n") == 1, proc.stderr
    bad = Path(os.environ["VOICECOACH_DATA"]) / "web-token"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("x")
    bad.chmod(0o600)
    proc = cli("web", "--host", "0.0.0.0", "--port", "0", env=env, timeout=20)
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "not a token" in proc.stderr


def _start(cli_args: list[str]) -> tuple[object, str]:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "voicecoach", "web", "--port", "0", *cli_args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline()


def test_the_command_listens_on_localhost_unless_told_and_then_needs_the_token(db: Path) -> None:
    proc, line = _start([])
    try:
        assert line.startswith("voicecoach web: http://localhost:") and "token" not in line
        url = line.split()[2]
        assert get(url)[0] == 200
        port = int(url.rsplit(":", 1)[1].strip("/"))
        # /proc's view, as the runtime security tests read it: one TCP socket, on loopback only.
        assert listening(socket_inodes(proc.pid)) == [f"tcp 0100007F:{port:04X} state 0A"]
    finally:
        proc.terminate()
        proc.wait(5)
    proc, line = _start(["--host", "0.0.0.0"])
    try:
        secret = token.token_file().read_text().strip()
        assert token.token_file().stat().st_mode & 0o777 == 0o600
        port = line.rsplit(":", 1)[1].split("/")[0]
        assert line.strip() == f"voicecoach web: http://{socket.gethostname()}:{port}/?token={secret}"
        assert get(f"http://127.0.0.1:{port}/")[0] == 403
        assert get(f"http://127.0.0.1:{port}/?token={secret}")[0] == 200
    finally:
        proc.terminate()
        proc.wait(5)
