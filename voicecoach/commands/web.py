"""``voicecoach web``: the history as a read-only page (127.0.0.1 unless asked otherwise)."""

from __future__ import annotations

import argparse
import sys

STOP_DEFERRED = True
"""wsgiref's handler swallows any exception raised in a request (KeyboardInterrupt
too, as a 500), so a stop signal raised there would be lost: it is noted instead
and the serving loop looks at it between requests."""
STOP_POLL_S = 0.5

HELP = "serve a read-only progress page (plan, charts, sessions); --host 0.0.0.0 for a phone, with a token"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to listen on (default: the config's [web] host, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: the config's [web] port, 8421)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")


def _shown(host: str) -> str:
    """The address to type on a phone: a wildcard address means this machine's name."""
    import socket

    if host in LOCAL_HOSTS:
        return "localhost"
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def main(args: argparse.Namespace) -> int:
    from voicecoach.history import store
    from voicecoach.commands.history import user_config
    from voicecoach.errors import UserError
    from voicecoach.web import server, token

    cfg = user_config()
    host = args.host or cfg["web"]["host"]
    port = args.port if args.port is not None else cfg["web"]["port"]
    if not 0 <= port <= 65535:
        raise UserError(f"--port {port} is not a port; use 1 to 65535")
    db = store.resolve_path(args.db, cfg)
    if args.db and not db.is_file():
        raise UserError(f"no history database at {db}")
    # Off this machine, only with the token: anyone on the Wi-Fi could read the history.
    secret = None if host in LOCAL_HOSTS else token.load_or_create()
    httpd = server.serve(host, port, server.app(db, cfg["program"], secret))
    url = f"http://{_shown(host)}:{httpd.server_port}/" + (f"?token={secret}" if secret else "")
    print(f"voicecoach web: {url}", flush=True)
    print("voicecoach web: read-only; Ctrl-C to stop", file=sys.stderr)
    if not db.exists():
        print(f"voicecoach web: no history yet at {db}; the page says so until the first session", file=sys.stderr)
    from voicecoach import stopping

    httpd.timeout = STOP_POLL_S  # handle_request returns at least this often to look for a stop
    try:
        while not stopping.requested():
            httpd.handle_request()
    finally:
        httpd.server_close()
    print("voicecoach web: stopped", file=sys.stderr)
    return 0
