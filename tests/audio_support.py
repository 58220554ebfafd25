"""A private PulseAudio null sink per test, so other programs on the machine cannot interfere.

Tests (and other helpers' test runs) that play to the shared ``coach`` sink at
the same time would mix into its monitor; a stream joining a sink also makes
PulseAudio rewind it, which shows in the monitor. So the live audio tests play
to a sink of their own: libpulse clients (the ALSA ``pulse`` device PortAudio
opens, paplay, parecord) follow ``$PULSE_SINK`` and ``$PULSE_SOURCE``.
"""

from __future__ import annotations

import itertools
import os
import subprocess

import pytest

_names = itertools.count()


@pytest.fixture
def private_sink(pulse, monkeypatch) -> str:
    """Name of a fresh null sink (its monitor is ``<name>.monitor``), default for this test."""
    name = f"voicecoach_test_{os.getpid()}_{next(_names)}"
    proc = subprocess.run(["pactl", "load-module", "module-null-sink", f"sink_name={name}",
                           "rate=48000", "channels=1"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.fail(f"cannot load a null sink: {proc.stderr.strip()}", pytrace=False)
    module = proc.stdout.strip()
    monkeypatch.setenv("PULSE_SINK", name)
    monkeypatch.setenv("PULSE_SOURCE", f"{name}.monitor")
    yield name
    subprocess.run(["pactl", "unload-module", module], capture_output=True)
