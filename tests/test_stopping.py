"""The stop-signal modes (voicecoach.stopping), with real signals sent to this process."""

from __future__ import annotations

import os
import signal

import pytest

from voicecoach import stopping


def _sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    signal.sigtimedwait([], 0)  # returns at once; gives Python a point to run the handler


def test_raising_mode_raises_at_once_and_puts_back_the_handler_it_found():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt):
        with stopping.raising():
            _sigterm()
            pytest.fail("the signal did not interrupt")
    assert signal.getsignal(signal.SIGTERM) is before


def test_deferred_mode_only_notes_the_signal():
    with stopping.deferred():
        assert not stopping.requested()
        _sigterm()
        assert stopping.requested()


def test_a_request_noted_while_deferred_raises_when_the_raising_block_resumes():
    reached = []
    with pytest.raises(KeyboardInterrupt):
        with stopping.raising():
            with stopping.deferred():
                _sigterm()
                reached.append("the deferred block ran to its end")
            reached.append("past the deferred block")
    assert reached == ["the deferred block ran to its end"]


def test_a_new_outermost_mode_forgets_an_old_request():
    with stopping.deferred():
        _sigterm()
    with stopping.raising():
        assert not stopping.requested()
