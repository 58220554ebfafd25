"""``voicecoach history``: the sessions recorded, with sets, reps and marks."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

HELP = "show the recorded sessions (sets, perfect reps, marks, floor, variation)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the sessions as one JSON array")
    parser.add_argument("--since", metavar="DATE", type=str, help="only sessions on or after DATE (YYYY-MM-DD)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")


def parse_date(text: str | None, option: str = "--since") -> date | None:
    from voicecoach.errors import UserError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date; use YYYY-MM-DD") from None


def user_config() -> dict:
    """The user's config file if there is one (for ``[store] db`` and ``[program]``)."""
    from voicecoach import config, paths

    path = paths.config_file()
    return config.load(path) if path.exists() else config.defaults()


def load_history(db: str | None, since: date | None = None, cfg: dict | None = None) -> tuple[str, list[dict]]:
    """``(database path, sessions)``; no sessions when the default database does not exist yet."""
    from voicecoach.history import store

    cfg = cfg if cfg is not None else user_config()
    opened = store.open_existing(db, cfg)
    if opened is None:
        return str(store.resolve_path(db, cfg)), []
    with opened:
        for line in opened.notices:
            print(f"voicecoach: {line}", file=sys.stderr)
        return str(opened.path), opened.sessions(since)


def format_session(s: dict) -> list[str]:
    from voicecoach.history import progression, report

    marks = ", ".join(f"{name.replace('_', ' ')} {n}" for name, n in sorted(s["marks"].items()))
    variation = progression.NAMES.get(s.get("variation") or "", s.get("variation") or "?")
    head = (
        f"{report.local_start(s):%Y-%m-%d %H:%M}  #{s['id']:<4} {s['status']:<11} {variation:<19} "
        f"{len(s['sets'])} set{'s' if len(s['sets']) != 1 else ''}  {s['counted']}/{s['attempted']} perfect  "
        f"floor {report.percent(s['floor'])}"
    )
    lines = [head + (f"  marks: {marks}" if marks else "")]
    if s.get("plank_s") is not None:
        target = s.get("plank_target_s")
        lines.append(f"    plank: held {s['plank_s']:g} s" + (f" of {target:g}" if target else ""))
    for st in s["sets"]:
        set_marks = ", ".join(f"{k.replace('_', ' ')} {n}" for k, n in sorted(st["marks"].items()))
        lines.append(f"    set {st['set']}: {st['counted']}/{st['attempted']}" + (f"  {set_marks}" if set_marks else ""))
    return lines


def main(args: argparse.Namespace) -> int:
    since = parse_date(args.since)
    path, sessions = load_history(args.db, since)
    if args.json:
        json.dump(sessions, sys.stdout, indent=1)
        sys.stdout.write("\n")
        return 0
    if not sessions:
        print(f"No sessions recorded{' since ' + str(since) if since else ''} yet ({path}).")
        return 0
    for s in sessions:
        print("\n".join(format_session(s)))
    return 0
