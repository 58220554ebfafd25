"""``voicecoach doctor``: check everything the coach needs, one line each with a fix."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check the model, speech, devices, loopback level, disk and service; one line each with a fix"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config TOML to check (default: the user's config, if any)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")
    parser.add_argument("--no-audio", action="store_true",
                        help="skip the device and loopback checks (they play a short tone)")
    parser.add_argument("--json", action="store_true", help="one JSON object per check instead of text")


def main(args: argparse.Namespace) -> int:
    from voicecoach.service.doctor import run_checks

    def show(check) -> None:
        if args.json:
            print(json.dumps({"check": check.name, "status": check.status, "detail": check.detail,
                              "fix": check.fix}), flush=True)
        else:
            print(check.line(), flush=True)

    results = run_checks(args.config, audio=not args.no_audio, db=args.db, progress=show)
    failed = [c.name for c in results if c.status == "fail"]
    if not args.json:
        warned = [c.name for c in results if c.status == "warn"]
        summary = (f"{len(failed)} check(s) failed: {', '.join(failed)}" if failed
                   else "ready to coach" + (f" (look at: {', '.join(warned)})" if warned else ""))
        print(summary, file=sys.stderr if failed else sys.stdout)
    return 1 if failed else 0
