"""`voicecoach model status|fetch|install PATH`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "show, download or install the Vosk speech model"


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    sub.add_parser("status", help="where the model is looked for, which one is used, its size")
    fetch = sub.add_parser("fetch", help=f"download and install the small US English model")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    install = sub.add_parser("install", help="install from a local .zip, .aar, .tar.gz or directory")
    install.add_argument("path", type=Path, help="the archive or directory to install from")


def main(args: argparse.Namespace) -> int:
    return {"status": status, "fetch": fetch, "install": install}[args.action](args)


def status(args: argparse.Namespace) -> int:
    from voicecoach import model

    used = model.find_model()
    print("model search order:")
    for cand in model.candidates():
        mark = "*" if used is not None and cand.path == used else " "
        state = "model" if model.is_model_dir(cand.path) else ("exists, not a model" if cand.path.exists() else "absent")
        print(f" {mark} {cand.path}  ({cand.origin}: {state})")
    if used is None:
        print(f"no model installed: {model.NO_MODEL.split('; ', 1)[1]}")
        return 1
    print(f"using {used} ({model.dir_size(used) / 1e6:.1f} MB)")
    return 0


def fetch(args: argparse.Namespace) -> int:
    from voicecoach import model

    if args.quiet or not sys.stderr.isatty():
        dest = model.fetch(log=lambda msg: print(msg, file=sys.stderr))
    else:
        with DownloadBar() as bar:
            dest = model.fetch(progress=bar, log=bar.log)
    print(f"installed {model.MODEL_NAME} at {dest}")
    return 0


def install(args: argparse.Namespace) -> int:
    from voicecoach import model

    dest = model.install_path(args.path)
    print(f"installed the model from {args.path} at {dest}")
    return 0


class DownloadBar:
    """A progress bar per source tried, on stderr: done and total size, speed, time left.

    Called as ``model.fetch``'s ``progress(source, done, total)``; its ``log`` prints
    above the bars (a source that failed, the next one tried).
    """

    def __init__(self, console=None):
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=console or Console(stderr=True))
        self._tasks: dict = {}

    def __enter__(self) -> "DownloadBar":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def __call__(self, source, done: int, total: int) -> None:
        task = self._tasks.get(source.url)
        if task is None:
            task = self._tasks[source.url] = self.progress.add_task(source.description, total=total)
        self.progress.update(task, completed=done, total=total)

    def log(self, line: str) -> None:
        self.progress.console.print(line, highlight=False, markup=False)
