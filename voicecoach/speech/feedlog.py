"""What the recognizer was given, kept so that it can be given again offline.

A live session's recognizer hears what no file holds: the microphone blocks
with their times, the far end beside each one, the coach's sentences as they
start, the phase. :class:`FeedRecorder` wraps a recognizer and writes every
call to a directory as it passes; :func:`replay` makes the same calls, in the
same order, on another recognizer, so ``voicecoach recognize --explain DIR``
says which rule let a word through (the recognizer is deterministic given its
calls).

A directory holds ``calls.jsonl`` (one JSON object per call), ``mic.i16``
(the blocks, int16) and ``far.f32`` (the far ends, float32), both raw and
little-endian; a feed's line gives how many samples of each it took.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

CALLS = "calls.jsonl"
MIC = "mic.i16"
FAR = "far.f32"


class FeedRecorder:
    """``recognizer`` with every ``feed``, ``coach_says``, ``listen_during``,
    ``reset`` and ``finish`` also written to ``directory`` (created if need be).

    ``note`` is called at each feed; what it returns (a dict: the IO's underrun
    count, say) is kept on that feed's line, for reading only. Other attributes
    are the recognizer's. Lines are flushed as written: a session that dies
    leaves what it fed so far.
    """

    def __init__(self, recognizer, directory: str | Path, note: Callable[[], dict] | None = None):
        self.recognizer = recognizer
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._calls = open(self.directory / CALLS, "w", encoding="utf-8", buffering=1)
        self._mic = open(self.directory / MIC, "wb")
        self._far = open(self.directory / FAR, "wb")
        self._note = note

    def __getattr__(self, name):
        return getattr(self.recognizer, name)

    def _write(self, call: dict) -> None:
        self._calls.write(json.dumps(call) + "\n")

    def feed(self, samples, start: float, reference=None):
        mic = np.asarray(samples)
        mic = mic.astype("<i2") if mic.dtype.kind == "i" else (np.clip(mic, -1, 1) * 32767).astype("<i2")
        far = None if reference is None else np.asarray(reference, dtype="<f4").reshape(-1)
        self._mic.write(mic.tobytes())
        if far is not None:
            self._far.write(far.tobytes())
        self._mic.flush()
        self._far.flush()
        call = {"call": "feed", "start": float(start), "n": len(mic), "far": None if far is None else len(far),
                "mono": time.monotonic()}
        if self._note is not None:
            call.update(self._note())
        self._write(call)
        return self.recognizer.feed(samples, start, reference)

    def coach_says(self, text: str, start: float, end: float) -> None:
        self._write({"call": "coach_says", "text": text, "start": float(start), "end": float(end)})
        self.recognizer.coach_says(text, start, end)

    def listen_during(self, phase) -> None:
        self._write({"call": "listen_during", "phase": phase})
        self.recognizer.listen_during(phase)

    def reset(self) -> None:
        self._write({"call": "reset"})
        self.recognizer.reset()

    def finish(self):
        self._write({"call": "finish"})
        return self.recognizer.finish()

    def close(self) -> None:
        for f in (self._calls, self._mic, self._far):
            f.close()


_CALLS = {"feed": {"n", "far", "start"}, "coach_says": {"text", "start", "end"}, "listen_during": {"phase"},
          "reset": set(), "finish": set()}
"""Each call a recording holds, and the keys its line must have."""


def is_recording(path: str | Path) -> bool:
    """True when ``path`` is a directory a :class:`FeedRecorder` wrote."""
    return (Path(path) / CALLS).is_file()


def calls(directory: str | Path) -> Iterator[dict]:
    """The recorded calls in order; a feed's carries its ``samples`` (int16) and
    ``reference`` (float32, or None). A last line cut short is left out; a line
    that is no call raises ValueError naming it."""
    directory = Path(directory)
    mic = np.fromfile(directory / MIC, dtype="<i2")
    far_path = directory / FAR
    far = np.fromfile(far_path, dtype="<f4") if far_path.exists() else np.zeros(0, "<f4")
    i = j = 0
    for k, line in enumerate((directory / CALLS).read_text(encoding="utf-8", errors="replace").splitlines()):
        try:
            call = json.loads(line)
        except json.JSONDecodeError:
            if k == 0:
                raise ValueError(f"{directory / CALLS}: line 1 is not a recorded call") from None
            break  # the line being written when the session ended
        if not isinstance(call, dict) or call.get("call") not in _CALLS or not _CALLS[call["call"]] <= call.keys():
            raise ValueError(f"{directory / CALLS}: line {k + 1} is not a recorded call")
        if call["call"] == "feed":
            n, m = call["n"], call["far"]
            if i + n > len(mic) or (m is not None and j + m > len(far)):
                break
            call["samples"] = mic[i:i + n].astype(np.int16)
            call["reference"] = None if m is None else far[j:j + m].astype(np.float32)
            i += n
            j += m or 0
        yield call


def replay(directory: str | Path, recognizer, on_heard: Callable[[dict, list], None] | None = None) -> list:
    """Make the recorded calls on ``recognizer``; returns everything its ``feed``
    and ``finish`` returned, in order. ``on_heard(call, heard)`` is called after
    each feed and finish (to print ``explain`` as it grows)."""
    out: list = []
    for call in calls(directory):
        kind = call["call"]
        heard: list = []
        if kind == "feed":
            heard = recognizer.feed(call["samples"], call["start"], call["reference"])
        elif kind == "coach_says":
            recognizer.coach_says(call["text"], call["start"], call["end"])
        elif kind == "listen_during":
            recognizer.listen_during(call["phase"])
        elif kind == "reset":
            recognizer.reset()
        elif kind == "finish":
            heard = recognizer.finish()
        out += heard
        if on_heard is not None and kind in ("feed", "finish"):
            on_heard(call, heard)
    return out
