"""PulseAudio null sinks of one's own, for the tests and the benchmarks.

These machines have no sound card: a null sink is the speaker, and its monitor
(``<name>.monitor``) the microphone that hears it. Every test and benchmark
plays to sinks of its own, not to a shared one: other runs on the machine
would mix into a shared monitor, and a stream joining a sink makes PulseAudio
rewind it, which shows in the monitor. libpulse clients (the ALSA ``pulse``
device PortAudio opens, paplay, parecord) follow ``$PULSE_SINK`` and
``$PULSE_SOURCE``.

Imports only the standard library: the benchmarks use it too.
"""

from __future__ import annotations

import subprocess
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def load(name: str, *, rate: int | None = None, mono: bool = False) -> str:
    """Load a null sink ``name`` (at ``rate``, one channel if ``mono``), described by its
    name so that device lists show it so; its module id, for :func:`unload`.
    RuntimeError with PulseAudio's reason if it cannot."""
    args = [f"sink_name={name}", f"sink_properties=device.description={name}"]
    args += [f"rate={rate}"] if rate else []
    args += ["channels=1"] if mono else []
    proc = subprocess.run(["pactl", "load-module", "module-null-sink", *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot load a null sink: {proc.stderr.strip()}")
    return proc.stdout.strip()


def unload(module: str) -> None:
    """Unload a module :func:`load` returned; one already gone is no error."""
    subprocess.run(["pactl", "unload-module", str(module)], capture_output=True)


@contextmanager
def null_sink(name: str, *, rate: int | None = None, mono: bool = False) -> Iterator[str]:
    """A null sink ``name`` for the ``with`` block (see :func:`load`); yields its name."""
    module = load(name, rate=rate, mono=mono)
    try:
        yield name
    finally:
        unload(module)


class MicAndSpeaker:
    """Two null sinks: the coach's speaker, and a room whose monitor is its microphone
    (so the person is heard and the coach is not). ``prefix`` starts both names."""

    def __init__(self, prefix: str = "vc"):
        tag = uuid.uuid4().hex[:8]
        self.mic, self.out = f"{prefix}_mic_{tag}", f"{prefix}_out_{tag}"
        self._modules = [load(self.mic)]
        try:
            self._modules.append(load(self.out))
        except RuntimeError:
            self.close()
            raise

    def env(self) -> dict[str, str]:
        """The environment that makes a libpulse client use these two."""
        return {"PULSE_SINK": self.out, "PULSE_SOURCE": f"{self.mic}.monitor"}

    def play(self, wav: Path, wait: bool = True) -> subprocess.Popen:
        """Play ``wav`` into the room (what the microphone hears); waits for it unless told not to."""
        proc = subprocess.Popen(["paplay", f"--device={self.mic}", str(wav)])
        if wait and proc.wait(timeout=60) != 0:
            raise RuntimeError(f"paplay {wav} failed with {proc.returncode}")
        return proc

    def close(self) -> None:
        for module in self._modules:
            unload(module)
