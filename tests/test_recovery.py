"""The device-loss policy (voicecoach.recovery): pure, driven by plain calls."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from voicecoach.recovery import Backoff, Recovery, recover


def test_backoff_grows_and_is_capped():
    b = Backoff(first_s=0.5, factor=2.0, max_s=4.0)
    assert [b.delay(i) for i in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@given(st.floats(0.01, 5), st.floats(1.0, 4.0), st.floats(5.0, 60.0), st.integers(0, 200))
def test_backoff_never_exceeds_max_and_never_shrinks(first, factor, cap, n):
    b = Backoff(first_s=first, factor=factor, max_s=cap)
    assert 0 < b.delay(n) <= cap
    assert b.delay(n + 1) >= b.delay(n)


def test_bad_backoff_is_refused():
    with pytest.raises(ValueError):
        Backoff(first_s=0)
    with pytest.raises(ValueError):
        Recovery(mic_fallback="shrug")


def test_mic_lost_pauses_says_so_and_resumes_when_back():
    rec = Recovery(Backoff(first_s=1, factor=2, max_s=8, give_up_s=60))
    step = rec.lost("input", 10.0, "device unavailable")
    assert step.action == "pause" and "microphone" in step.say
    assert rec.next_attempt == 11.0
    step = rec.retry_failed(11.0)
    assert step.action == "retry" and step.at == 13.0
    step = rec.retry_failed(13.0)
    assert step.at == 17.0
    step = rec.reopened("input", 17.0)
    assert step.action == "resume" and "back" in step.say
    assert not rec.recovering and rec.attempts == 0


def test_speaker_lost_is_silent_and_gives_up_by_ending():
    rec = Recovery(Backoff(first_s=1, factor=2, max_s=4, give_up_s=10))
    step = rec.lost("output", 0.0)
    assert step.action == "pause" and step.say is None
    t = 0.0
    while step.action in ("pause", "retry"):
        t = rec.next_attempt
        step = rec.retry_failed(t)
    assert step.action == "end" and t >= 10
    assert "saved" in step.detail


def test_mic_gives_up_into_cue_only_then_ignores_further_input_errors():
    rec = Recovery(Backoff(first_s=1, factor=1, max_s=1, give_up_s=3))
    step = rec.lost("input", 0.0)
    for t in (1.0, 2.0, 3.0):
        step = rec.retry_failed(t)
    assert step.action == "cue_only" and "cues only" in step.say
    assert rec.cue_only
    assert rec.lost("input", 5.0).action == "resume"


def test_mic_fallback_end():
    rec = Recovery(Backoff(first_s=1, factor=1, max_s=1, give_up_s=1), mic_fallback="end")
    rec.lost("input", 0.0)
    step = rec.retry_failed(1.0)
    assert step.action == "end" and "saved" in step.say


def test_both_lost_resume_only_when_both_back():
    rec = Recovery()
    rec.lost("output", 0.0)
    step = rec.lost("input", 0.1)
    assert step.say is None  # no speaker to say it with
    assert rec.reopened("output", 1.0).action == "retry"
    assert rec.reopened("input", 1.0).action == "resume"


def test_no_microphone_at_start_is_cue_only_and_said():
    step = Recovery().start_without_input(0.0, "no input devices")
    assert step.action == "cue_only" and "microphone" in step.say


def test_recover_loop_retries_with_backoff_until_the_device_opens():
    now = [0.0]
    slept, acted, opened = [], [], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    def reopen(dev):
        opened.append(dev)
        if len(opened) < 3:
            raise OSError("Device unavailable")

    final = recover(Recovery(Backoff(first_s=0.5, factor=2, max_s=8)), "input", "unplugged",
                    reopen=reopen, clock=lambda: now[0], sleep=sleep, act=acted.append)
    assert final.action == "resume"
    assert slept == [0.5, 1.0, 2.0]
    assert [s.action for s in acted] == ["pause", "retry", "retry", "resume"]
