"""Shoebox rooms for the benchmarks: the coach's speaker, the microphone and the
person exercising on the floor, and the impulse responses between them.

Built with pyroomacoustics (``scripts/setup --bench``), which the test suite
does not need. Every response is scaled to unit energy, so a level set for the
dry signal means the same energy at the microphone in every room.

    from scripts.rooms import ROOMS, impulse_response
    ir = impulse_response("large", source="person")
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tests.speech_support import convolve

SAMPLERATE = 16000


@dataclass(frozen=True)
class Room:
    """A shoebox room; positions in metres, (x, y, height)."""

    dims: tuple[float, float, float]
    rt60_s: float
    speaker: tuple[float, float, float]
    microphone: tuple[float, float, float]
    person: tuple[float, float, float]
    """The person's mouth, lying on a mat (0.25 m up)."""


ROOMS = {
    # A bedroom, the person 1.5 m from the microphone; a living room, 3 m.
    "small": Room((3.5, 3.0, 2.5), 0.3, (1.0, 1.0, 1.2), (2.0, 1.2, 0.4), (2.0, 2.7, 0.25)),
    "large": Room((8.0, 6.0, 3.0), 0.6, (1.5, 1.5, 1.2), (4.3, 2.4, 0.4), (4.3, 5.4, 0.25)),
}


@lru_cache(maxsize=None)
def _response(name: str, source: str) -> np.ndarray:
    import pyroomacoustics as pra

    room = ROOMS[name]
    absorption, max_order = pra.inverse_sabine(room.rt60_s, room.dims)
    shoebox = pra.ShoeBox(room.dims, fs=SAMPLERATE, materials=pra.Material(absorption), max_order=max_order)
    shoebox.add_source(getattr(room, source))
    shoebox.add_microphone(room.microphone)
    shoebox.compute_rir()
    ir = np.asarray(shoebox.rir[0][0], dtype=np.float64)
    return (ir / np.sqrt(np.sum(ir**2))).astype(np.float32)


def impulse_response(name: str, *, source: str = "speaker") -> np.ndarray:
    """The response from ``source`` ("speaker" or "person") to the microphone
    of room ``name`` at 16 kHz, unit energy. The same array on every call."""
    if source not in ("speaker", "person"):
        raise ValueError(f"source must be 'speaker' or 'person', not {source!r}")
    return _response(name, source)


def through(x: np.ndarray, name: str, *, source: str = "person") -> np.ndarray:
    """``x`` (16 kHz) as the microphone hears it from ``source`` in room ``name``:
    convolved with the room's response, with its tail (the output is longer)."""
    return convolve(x, impulse_response(name, source=source)).astype(np.float32)
