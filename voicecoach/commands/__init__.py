"""One module per ``voicecoach`` subcommand.

Each module defines ``HELP`` (one line), ``configure(parser)`` and
``main(args) -> int``. Modules are found by :mod:`pkgutil`, so adding a
command is adding a file. Keep the module top level light (no vosk, numpy or
sounddevice imports): every module is imported to build ``--help``.

What several commands build before they coach (the config, the history, the
recognizer) is built here, the same way for each.
"""

from __future__ import annotations

import sys


def open_store(db: str | None, config: dict):
    """``(store, None)`` for a workout, or ``(None, reason)`` when the history cannot be
    opened: the workout then goes on without saving, and says so."""
    from voicecoach.history.store import Store, StoreError, resolve_path

    try:
        return Store(resolve_path(db, config)), None
    except StoreError as err:
        return None, f"history could not be opened, this workout will not be saved: {err}"


def load_config(path: str | None) -> dict:
    """``--config FILE``, else the user's config file if it exists, else the defaults."""
    from voicecoach import config, paths

    if path:
        return config.load(path)
    default = paths.config_file()
    return config.load(default) if default.exists() else config.defaults()


def load_enrollment(use: bool = True):
    """The person's stored :class:`~voicecoach.speech.enrollment.Enrollment`, or
    None when there is none or ``use`` is False (``--no-enrollment``).

    A damaged enrollment file is the user's to fix (:class:`UserError`)."""
    if not use:
        return None
    from voicecoach.enroll import file as enrollment_file
    from voicecoach.speech.calibration import take_matcher

    stored = enrollment_file.load()
    if stored is None:
        return None
    enrollment = stored.enrollment.with_takes(take_matcher({k: [t.pcm for t in v] for k, v in stored.takes.items()}))
    return enrollment if enrollment else None


def make_recognizer(config: dict, *, enrollment: bool = True):
    """``(recognizer, None)`` with the installed model, the configured grammar and
    (unless ``enrollment`` is False) the person's enrollment, or ``(None, reason)``
    when it cannot be built (the coach then runs cue-only).

    A missing model, a bad grammar file or a damaged enrollment is the user's to
    fix (:class:`UserError`).
    """
    from voicecoach.errors import UserError
    from voicecoach.model import load_model
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer

    personal = load_enrollment(enrollment)
    model = load_model()
    try:
        grammar = load_grammar(config["speech"]["grammar"] or None, model=model)
        return CommandRecognizer(model, grammar, provisional=True, enrollment=personal), None
    except UserError:
        raise
    except Exception as err:  # a recognizer bug must not cost the workout
        return None, f"speech recognition unavailable ({err})"


def stderr_notice(line: str) -> None:
    print(f"voicecoach: {line}", file=sys.stderr)
