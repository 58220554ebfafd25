"""``voicecoach report``: a summary of the history, and optionally a PNG chart."""

from __future__ import annotations

import argparse

HELP = "summarise the history (weekly sessions, perfect reps, floor, next suggestion); --png draws a chart"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--png", metavar="FILE", help="also draw perfect reps and floor over time (needs matplotlib)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")
    parser.add_argument("--config", metavar="FILE", help="config whose [program] the suggestion is for")


def main(args: argparse.Namespace) -> int:
    from datetime import datetime

    from voicecoach import config
    from voicecoach.history import report
    from voicecoach.commands.history import load_history, user_config
    from voicecoach.errors import UserError

    if args.png:
        try:
            import matplotlib  # noqa: F401  (fail before printing anything)
        except ImportError:
            raise UserError(report.MATPLOTLIB_MISSING) from None
    cfg = config.load(args.config) if args.config else user_config()
    _, sessions = load_history(args.db, cfg=cfg)
    print(report.text_summary(sessions, cfg["program"], datetime.now().astimezone()))
    if args.png:
        path = report.write_png(sessions, args.png)
        print(f"\nChart written to {path}")
    return 0
