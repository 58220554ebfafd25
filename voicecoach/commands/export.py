"""``voicecoach export``: the history as CSV files (one per table) or JSON."""

from __future__ import annotations

import argparse

HELP = "export the history: --csv DIR writes one CSV per table; --json writes every table as JSON"


def configure(parser: argparse.ArgumentParser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--csv", metavar="DIR", help="write sessions.csv, sets.csv, reps.csv, commands.csv into DIR")
    what.add_argument(
        "--json", metavar="FILE", nargs="?", const="-", help="write {table: [rows]} to FILE (default: stdout)"
    )
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")


def main(args: argparse.Namespace) -> int:
    import csv
    import json
    import os
    import sys
    from pathlib import Path

    from voicecoach.history import store
    from voicecoach.commands.history import user_config
    from voicecoach.errors import UserError

    cfg = user_config()
    opened = store.open_existing(args.db, cfg)
    if opened is None:
        raise UserError(f"no history to export: {store.resolve_path(args.db, cfg)} does not exist yet")
    with opened:
        for line in opened.notices:
            print(f"voicecoach: {line}", file=sys.stderr)
        tables = {name: opened.table(name) for name in store.TABLES}
        if args.csv:
            out = Path(args.csv)
            try:
                out.mkdir(mode=0o700, parents=True, exist_ok=True)
                for name, (columns, rows) in tables.items():
                    target = out / f"{name}.csv"
                    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with open(fd, "w", newline="", encoding="utf-8") as f:
                        writer = csv.writer(f)
                        writer.writerow(columns)
                        writer.writerows(rows)
            except OSError as err:
                raise UserError(f"cannot write the export to {out}: {err.strerror or err}") from None
            print(f"Wrote {', '.join(f'{n}.csv' for n in tables)} to {out}")
            return 0
        data = {"schema_version": store.SCHEMA_VERSION}
        data.update({name: [dict(zip(cols, row)) for row in rows] for name, (cols, rows) in tables.items()})
        if args.json == "-":
            json.dump(data, sys.stdout, indent=1)
            sys.stdout.write("\n")
            return 0
        try:
            fd = os.open(args.json, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, indent=1)
                f.write("\n")
        except OSError as err:
            raise UserError(f"cannot write {args.json}: {err.strerror or err}") from None
        return 0
