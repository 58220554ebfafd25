"""Drive the pure coach session the way the runtime does, with plain calls.

``drive`` steps the output clock in small blocks, asks the session to plan a
little ahead (like the runtime's lookahead), and delivers each ``Heard`` once
the clock passes its ``emitted`` time. ``played`` turns the released cues and
the cancels into what a scheduler would actually have started.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from voicecoach.coach import program as P
from voicecoach.coach.session import Cancel, Session
from voicecoach.config import defaults, validate
from voicecoach.events import Cue, Event, Heard, Withdrawn

SR = 16000
KINDS = {
    "stop_point": "mark",
    "back_arched": "mark",
    "good_rep": "mark",
    "doming": "mark",
}


def program(**over) -> dict:
    cfg = defaults()["program"]
    cfg.update(warmup=False, sets=1, reps=4, rest_s=10.0)
    cfg.update(over)
    return cfg


def durations(text: str) -> float:
    """Speech lengths for tests: short counts fit a one-second beat, the rest scale with length."""
    return 0.3 if len(text) <= 6 else 0.8 if text.endswith("-one-thousand") else 0.2 + 0.06 * len(text)


def heard(intent: str, start: float, end: float | None = None, latency: float = 0.4) -> Heard:
    end = start + 0.6 if end is None else end
    return Heard(intent, KINDS.get(intent, "control"), intent.replace("_", " "), start, end, end + latency, 0.9)


def drive(
    session: Session,
    until_s: float,
    heard_events: list[Heard | Withdrawn] = (),
    *,
    step_s: float = 0.02,
    lookahead_s: float = 0.1,
    watch: Callable[[int], object] | None = None,
) -> list[Event]:
    """Run ``session`` to ``until_s`` seconds (or its end); returns every event in order.
    ``watch(now)`` is called at every step, after the session has planned (as the live view is)."""
    out: list[Event] = []
    sr = session.samplerate
    queue = sorted(heard_events, key=lambda h: h.emitted)
    step, ahead = round(step_s * sr), round(lookahead_s * sr)
    now = 0
    while now < until_s * sr and not session.finished:
        out += session.advance(now + ahead, now)
        if watch is not None:
            watch(now)
        now += step
        while queue and queue[0].emitted * sr <= now:
            event = queue.pop(0)
            out += session.withdraw(event) if isinstance(event, Withdrawn) else session.hear(event, now)
    return out


def played(events: list[Event]) -> list[Cue]:
    """The cues a scheduler would have started: released ones minus those cancelled before their time."""
    cues: list[Cue] = []
    for e in events:
        if isinstance(e, Cue):
            cues.append(e)
        elif isinstance(e, Cancel):
            cues = [c for c in cues if c.sample < e.sample]
    return sorted(cues, key=lambda c: c.sample)


def speech(events, text_part: str = "") -> list[Cue]:
    return [c for c in played(events) if c.kind == "speech" and text_part in c.text]


def of_type(events, cls) -> list:
    return [e for e in events if isinstance(e, cls)]


def lowering_starts(cues) -> list[float]:
    """Seconds at which each rep's counted lowering starts (its first tick)."""
    out, armed = [], False
    for c in cues:
        if c.kind == "speech" and c.text == P.lower_phrase("standard"):
            armed = True
        elif c.kind == "tick" and armed:
            out.append(c.t)
            armed = False
    return out


def write_config(path: Path, **program) -> dict:
    """Write a config file with these ``[program]`` keys; returns the validated config."""
    lines = ["[program]"] + [f"{k} = {json.dumps(v)}" for k, v in program.items()]
    path.write_text("\n".join(lines) + "\n")
    return validate({"program": program})


def of(events: list[dict], kind: str) -> list[dict]:
    """The events of one ``type`` from an events file read as dicts."""
    return [e for e in events if e["type"] == kind]
