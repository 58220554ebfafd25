"""The WSGI app and its server (the standard library's wsgiref: nothing to install on the Pi).

GET only; every response carries the strict headers; with a token required,
any request without it is 403 before the history is read.
"""

from __future__ import annotations

import hmac
import re
import socket
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from voicecoach.errors import UserError
from voicecoach.history.store import StoreError
from voicecoach.web import pages, reader, view

HEADERS = [
    # Inline <style> only: no script runs on the page at all.
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),  # the token is in the URL: never pass it on
    ("Cache-Control", "no-store"),
]
SESSION_PATH = re.compile(r"/session/(\d{1,9})")


def app(db: Path, program: dict, token: str | None, now: Callable[[], datetime] = lambda: datetime.now().astimezone()):
    """The page as a WSGI application over the history at ``db``."""

    def respond(environ: dict, start_response) -> Iterable[bytes]:
        status, html = _route(environ, db, program, token, now)
        body = html.encode("utf-8")
        start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", str(len(body))), *HEADERS])
        return [body] if environ["REQUEST_METHOD"] != "HEAD" else []

    return respond


def _route(environ: dict, db: Path, program: dict, token: str | None, now) -> tuple[str, str]:
    if environ["REQUEST_METHOD"] not in ("GET", "HEAD"):
        return "405 Method Not Allowed", pages.message("Not allowed", "This page is read-only.")
    if token is not None:
        given = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return "403 Forbidden", pages.message("Forbidden", "Open the address printed by voicecoach web.")
    path = environ.get("PATH_INFO", "/")
    try:
        if path == "/":
            return "200 OK", pages.home(view.overview(reader.load(db), program, now()), token)
        match = SESSION_PATH.fullmatch(path)
        if match:
            wanted = int(match.group(1))
            found = [s for s in reader.load(db) if s["id"] == wanted]
            if found:
                return "200 OK", pages.session(found[0], token)
    except StoreError as err:
        return "503 Service Unavailable", pages.message("History unavailable", str(err))
    return "404 Not Found", pages.message("Not found", "No such page.")


class _QuietHandler(WSGIRequestHandler):
    # One request at a time: a client that stops sending must not hold the page for long.
    timeout = 10
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass  # a log line per request would fill the Pi's journal; errors still show


class _Server(WSGIServer):
    # Restarting the unit must not wait out TIME_WAIT on the port.
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def serve(host: str, port: int, wsgi_app) -> WSGIServer:
    """A bound server (call ``serve_forever``); a port in use is a :class:`UserError`."""
    server_class = _Server6 if ":" in host else _Server
    try:
        return make_server(host, port, wsgi_app, server_class=server_class, handler_class=_QuietHandler)
    except OSError as err:
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
