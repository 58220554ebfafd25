"""Fixtures: a private PulseAudio null sink per test (why: tests/null_sinks.py), or two."""

from __future__ import annotations

import itertools
import os

import pytest

from null_sinks import load, unload

_names = itertools.count()


def _sink(rate: int) -> tuple[str, str]:
    """(name, module id) of a fresh mono null sink at ``rate``; fails the test if it cannot be loaded."""
    name = f"voicecoach_test_{os.getpid()}_{next(_names)}"
    try:
        return name, load(name, rate=rate, mono=True)
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
def private_sink(pulse, monkeypatch) -> str:
    """Name of a fresh null sink (its monitor is ``<name>.monitor``), default for this test."""
    name, module = _sink(48000)
    monkeypatch.setenv("PULSE_SINK", name)
    monkeypatch.setenv("PULSE_SOURCE", f"{name}.monitor")
    yield name
    unload(module)


@pytest.fixture
def two_sinks(pulse, monkeypatch):
    """``two_sinks(speaker_rate, room_rate) -> (speaker, room)``: two fresh null sinks at
    those rates; the speaker is the default sink, the room's monitor the default
    source (the microphone). tests/room_support.py carries one into the other."""
    modules = []

    def make(speaker_rate: int, room_rate: int) -> tuple[str, str]:
        (speaker, a), (room, b) = _sink(speaker_rate), _sink(room_rate)
        modules.extend((a, b))
        monkeypatch.setenv("PULSE_SINK", speaker)
        monkeypatch.setenv("PULSE_SOURCE", f"{room}.monitor")
        return speaker, room

    yield make
    for module in modules:
        unload(module)
