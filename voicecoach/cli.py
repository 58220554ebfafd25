"""The ``voicecoach`` command line: finds the subcommands and runs one.

Errors a user can cause arrive here as :class:`~voicecoach.errors.UserError`
and leave as one line on stderr and a non-zero exit status. A command module
that sets ``STOP_DEFERRED = True`` takes Ctrl-C and SIGTERM at its own safe
points (see :mod:`voicecoach.stopping`); any other is interrupted at once.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from voicecoach import __version__, commands, stopping
from voicecoach.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicecoach",
        description="An offline, hands-free voice coach for leg lifts.",
    )
    parser.add_argument("--version", action="version", version=f"voicecoach {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        name = info.name.replace("_", "-")
        cmd = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(cmd)
        cmd.set_defaults(handler=module.main, stop_deferred=getattr(module, "STOP_DEFERRED", False))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        with stopping.deferred() if args.stop_deferred else stopping.raising():
            return int(args.handler(args) or 0)
    except UserError as err:
        print(f"voicecoach: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("voicecoach: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


def entry() -> None:
    """The process's entry point (the ``voicecoach`` script, ``python -m voicecoach``).

    Stop signals are caught from here to the interpreter's exit, and a crash in
    native code (PortAudio, Vosk) prints the Python stack to stderr.
    """
    import faulthandler

    faulthandler.enable()
    stopping.install()
    try:
        code = main()
    finally:
        stopping.ignore_until_exit()
    raise SystemExit(code)
