"""A clip: mono float32 sound at a sample rate, ready to be placed on the output clock."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Clip:
    """Mono sound to mix into the output.

    ``samples`` is float32, 1-D, nominally in [-1, 1], at ``samplerate``. The
    first sample is the start of the sound (speech clips are trimmed of leading
    silence), so a clip placed at sample N is *heard* from sample N.
    """

    samples: np.ndarray
    samplerate: int
    label: str
    """The text spoken, or the tone's name."""

    def __post_init__(self) -> None:
        samples = self.samples
        if not (
            isinstance(samples, np.ndarray)
            and samples.dtype == np.float32
            and samples.flags.c_contiguous
            and not samples.flags.writeable
        ):
            samples = np.array(samples, dtype=np.float32, copy=True, order="C")
        if samples.ndim != 1:
            raise ValueError(f"clip {self.label!r}: samples must be 1-D, got shape {samples.shape}")
        if self.samplerate <= 0:
            raise ValueError(f"clip {self.label!r}: samplerate must be positive")
        # The scheduler reads clips from the audio thread while other threads
        # hold them: freeze the buffer so nobody can change a clip in flight.
        samples.flags.writeable = False
        object.__setattr__(self, "samples", samples)

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.samplerate

    def __len__(self) -> int:
        return len(self.samples)
