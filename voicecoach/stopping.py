"""Ctrl-C and SIGTERM: the one owner of the process's stop signals.

A stop signal (SIGINT from Ctrl-C, SIGTERM from ``kill``, ``systemctl stop`` or a
CI timeout) is always caught by the same handler, and what it does depends on the
mode the code around it has asked for:

- :func:`raising`: raise KeyboardInterrupt at once (a command with nothing to save);
- :func:`deferred`: only note the request; :func:`requested` tells, and the code
  acts on it at a safe point (the runtime closes the session and writes its
  summary first).

A request noted in a deferred block is acted on when a raising block resumes, so
none is lost. :func:`install` keeps the handler for the rest of the process in the
deferred mode, and :func:`ignore_until_exit` ends it, so there is no moment up to
the process's exit when a signal kills it by its default action or cuts a report
half printed.

Handlers can only be set on the main thread; elsewhere the modes change nothing
and signals keep Python's defaults.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)

_RAISE, _DEFER = "raise", "defer"
_mode = _DEFER
_requested = False


def _on_signal(signum, frame) -> None:
    global _requested
    _requested = True
    if _mode == _RAISE:
        raise KeyboardInterrupt


def requested() -> bool:
    """Whether a stop signal arrived since the outermost mode began."""
    return _requested


def install() -> None:
    """Catch stop signals for the rest of the process, deferring them outside any mode.

    For the process's entry point; an in-process caller uses the modes alone,
    which put back the handlers they found.
    """
    if _on_main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _on_signal)


def ignore_until_exit() -> None:
    """The command is done: ignore stop signals from now on.

    Python's finalization puts back the default action of every signal that has
    a Python handler (and that action kills), but leaves ignored ones ignored.
    """
    if _on_main_thread():
        for sig in SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


@contextlib.contextmanager
def raising() -> Iterator[None]:
    """Within the block a stop signal raises KeyboardInterrupt, at once on entry
    if one is already pending."""
    with _mode_set(_RAISE):
        if _requested:
            raise KeyboardInterrupt
        yield


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Within the block a stop signal is only noted (see :func:`requested`); when
    the block ends inside a raising one, a noted request raises there."""
    with _mode_set(_DEFER):
        yield
    if _requested and _mode == _RAISE:
        raise KeyboardInterrupt


@contextlib.contextmanager
def _mode_set(mode: str) -> Iterator[None]:
    global _mode, _requested
    if not _on_main_thread():
        yield
        return
    ours = all(signal.getsignal(sig) is _on_signal for sig in SIGNALS)
    outermost = not ours
    previous_handlers = {} if ours else {sig: signal.signal(sig, _on_signal) for sig in SIGNALS}
    if outermost:
        _requested = False
    previous_mode, _mode = _mode, mode
    try:
        yield
    finally:
        _mode = previous_mode
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def _on_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()
