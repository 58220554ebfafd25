"""Dev corpus for the command recognizer, generated on the fly (nothing stored).

Positives: every required command phrase (and fillers before marks) spoken
by several voices of several engines at several speeds and pitches, clean and
mixed with pink noise, breathing-like bursts and room hum at 20, 10 and 5 dB
SNR. Negatives: the coach's own cue sentences, everyday sentences, noise alone.

``ENGINES`` groups the voices by the synthesizer that renders them (espeak-ng's
formant voices, MBROLA diphones through espeak-ng, festival's MBROLA voices,
festival's own diphone voices): a rule or threshold is chosen on some engines
and reported on the one left out (``scripts/bench_recognizer.py --sweep``).
Within espeak-ng, ``DEV_VOICES`` are what the older rules were looked at with
and ``HELDOUT_VOICES`` were never looked at while tuning.

    from scripts.corpus import positives, negatives
    for clip in positives(voices=DEV_VOICES, snrs=(None, 10)):
        clip.audio, clip.intent, clip.words_end ...
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.speech_support import (  # noqa: E402
    COACH_CUES,
    CONTAINS_A_PHRASE,
    EVERYDAY,
    MEANS_A_COMMAND,
    NOISES,
    SAMPLERATE,
    FESTIVAL_VOICES,
    FLITE_VOICES,
    MBROLA_VOICES,
    PICO_VOICES,
    RHVOICE_VOICES,
    at_level,
    build_track,
    engine_of,
    noise_gain,
    speak,
    speech_bounds,
)
from scripts.rooms import through  # noqa: E402

# Each required intent with the phrase the issue names; fillers are added
# to marks as a separate case.
REQUIRED = {
    "stop_point": ["stop point"],
    "back_arched": ["back arched"],
    "good_rep": ["good rep"],
    "doming": ["doming"],
    "pause": ["pause"],
    "resume": ["resume", "continue"],
    "next_set": ["next set"],
    "stop_workout": ["stop workout"],
    "how_many": ["how many"],
    "slower": ["slower"],
    "faster": ["faster"],
    "repeat": ["repeat"],
    "help": ["help", "what can I say"],
    "start_workout": ["start workout"],
}
DURING = {"plank": {"end_hold": ["stop", "done"]}}
"""Phrases listened for only in one phase of a session (the grammar's ``during``):
in the corpus only when that phase is measured, after all the others, so that the
clips of the other phrases are the same whichever phase is measured."""
FILLED = {
    "stop_point": ["okay stop point"],
    "back_arched": ["uh back arched", "my back arched"],
    "good_rep": ["okay good rep"],
    "doming": ["uh doming"],
}

CARRIED = {
    "stop_point": ["that was a stop point", "that was my stop point"],
    "good_rep": ["that was a good rep"],
}
"""Marks said inside a short sentence that is still the mark."""

DEV_VOICES = ("en-us", "en-us+m3", "en-gb-x-rp")
HELDOUT_VOICES = ("en", "en-us+f2", "en-us+f4", "en+m7", "en-029")
ENGINES = {
    "espeak": DEV_VOICES + HELDOUT_VOICES,
    "espeak-mbrola": MBROLA_VOICES,
    "festival-mbrola": tuple(v for v in FESTIVAL_VOICES if engine_of(v) == "festival-mbrola"),
    "festival": tuple(v for v in FESTIVAL_VOICES if engine_of(v) == "festival"),
    "flite": tuple(FLITE_VOICES),
    "rhvoice": RHVOICE_VOICES,
    "pico": PICO_VOICES,
}
"""The voices of each engine (``scripts/setup --bench`` installs all but espeak-ng's)."""
QUICK_VOICES = {
    "espeak": ("en-us", "en-us+f2", "en-gb-x-rp"),
    "espeak-mbrola": ("mbrola:us1", "mbrola:en1"),
    "festival-mbrola": ("festival:us1_mbrola", "festival:us3_mbrola"),
    "festival": ("festival:kal_diphone", "festival:don_diphone"),
    "flite": ("flite:slt", "flite:awb"),
    "rhvoice": ("rhvoice:clb", "rhvoice:evgeniy-eng"),
    "pico": ("pico:en-US", "pico:en-GB"),
}
"""Two or three per engine (the benchmarks' ``--quick`` set)."""
PROSODY = ((150, 50), (175, 35), (135, 70))
"""(speed words/min, pitch 0-99) variants."""
SNRS = (None, 20, 10, 5)
"""None is clean."""
DEFAULT_NOISES = ("pink", "breathing", "hum")
"""The noise types settings were chosen on (``babble`` too, for ``person_range_db`` only);
``music`` (tests/speech_support) never was."""


@dataclass
class Clip:
    id: str
    audio: np.ndarray  # float32 16 kHz
    intent: str | None  # None for a negative
    text: str
    words_start: float  # seconds in the clip
    words_end: float
    voice: str = ""
    noise: str = "clean"
    snr: float | None = None


def _place(speech: np.ndarray, *, lead: float, tail: float, noise: str, snr: float | None, seed: int) -> tuple[np.ndarray, float]:
    dur = lead + len(speech) / SAMPLERATE + tail
    track = build_track([(lead, speech)], dur)
    if noise != "clean" and snr is not None:
        n = NOISES[noise](dur + 0.05, seed=seed)[: len(track)]
        # SNR is measured against the speech alone, then the noise runs
        # under the whole clip (lead and tail included).
        gain = noise_gain(speech, n, snr)
        track = np.clip(track + gain * n, -1, 1).astype(np.float32)
    return track, lead


def _labelled(name: str, level: float, levels) -> str:
    """A clip's id: its name, and its level when there are several."""
    return name + (f"@{level:g}" if len(levels) > 1 else "")


def positive_specs(voices=DEV_VOICES, prosody=PROSODY, snrs=SNRS, noises=DEFAULT_NOISES, fillers=True,
                   seed=0, during: str | None = None, rooms=(None,), levels=(0.0,)):
    """Describe positive clips (cheap to pass between processes); build one with
    :func:`make_positive`. ``during``: a phase whose own phrases (:data:`DURING`) are added.
    ``rooms``: None (the voice reaches the microphone dry) or rooms of ``scripts/rooms.py``
    the person speaks in; with the default the clips are the same as without it.
    ``levels``: the microphone's gain in dB, added to the whole clip (0: as spoken,
    the loudest syllables about 13 dB under full scale)."""
    rng = np.random.default_rng(seed)
    cases = [(i, p) for i, ps in REQUIRED.items() for p in ps]
    if fillers:
        cases += [(i, p) for i, ps in FILLED.items() for p in ps]
        cases += [(i, p) for i, ps in CARRIED.items() for p in ps]
    cases += [(i, p) for i, ps in DURING.get(during, {}).items() for p in ps]
    conds = []
    for snr in snrs:
        if snr is None:
            conds.append(("clean", None))
        else:
            conds += [(n, snr) for n in noises]
    for k, ((intent, phrase), voice, (speed, pitch), (noise, snr), room) in enumerate(
        itertools.product(cases, voices, prosody, conds, rooms)
    ):
        lead = float(rng.uniform(0.6, 1.2))
        for level in levels:  # the same clip at each gain
            yield dict(
                id=_labelled(f"pos{k}", level, levels), intent=intent, text=phrase, voice=voice, speed=speed,
                pitch=pitch, noise=noise, snr=snr, lead=lead, seed=k, room=room, level_db=level,
            )


def make_positive(spec: dict) -> Clip:
    s = speak(spec["text"], voice=spec["voice"], speed=spec["speed"], pitch=spec["pitch"])
    if spec.get("room"):
        s = through(s, spec["room"], source="person")
    b0, b1 = speech_bounds(s)
    audio, lead = _place(s, lead=spec["lead"], tail=1.5, noise=spec["noise"], snr=spec["snr"], seed=spec["seed"])
    audio = at_level(audio, spec.get("level_db", 0.0))
    return Clip(spec["id"], audio, spec["intent"], spec["text"], lead + b0, lead + b1, spec["voice"], spec["noise"], spec["snr"])


def positives(**kw):
    """Yield positive :class:`Clip` s: each phrase x voice x prosody x condition."""
    for spec in positive_specs(**kw):
        yield make_positive(spec)


def negative_specs(voices=DEV_VOICES, prosody=PROSODY[:2], noise_clips=30, seed=1, rooms=(None,), levels=(0.0,)):
    """Describe negative clips: coach cues, everyday sentences and sentences holding a phrase, by each voice; and noise alone.

    Also (``kind="means"``, with the ``intent`` meant) sentences that ask for a
    command in more words: the command or nothing is right there. The spoken ones
    are said once in each of ``rooms``, and every clip is heard at each of
    ``levels`` (as :func:`positive_specs`)."""
    rng = np.random.default_rng(seed)
    k = 0
    for text, voice, (speed, pitch), room in itertools.product(COACH_CUES + EVERYDAY + CONTAINS_A_PHRASE, voices, prosody, rooms):
        cat = "cue" if text in COACH_CUES else "contains" if text in CONTAINS_A_PHRASE else "everyday"
        lead = float(rng.uniform(0.5, 1.0))
        for level in levels:
            yield dict(id=_labelled(f"neg{k}", level, levels), text=text, voice=voice, speed=speed, pitch=pitch,
                       kind=cat, lead=lead, room=room, level_db=level)
        k += 1
    # Not negatives: a command asked for in more words, where the command or nothing is right.
    for (text, intent), voice, (speed, pitch), room in itertools.product(MEANS_A_COMMAND, voices, prosody, rooms):
        lead = float(rng.uniform(0.5, 1.0))
        for level in levels:
            yield dict(id=_labelled(f"neg{k}", level, levels), text=text, intent=intent, voice=voice, speed=speed,
                       pitch=pitch, kind="means", lead=lead, room=room, level_db=level)
        k += 1
    for j in range(noise_clips):
        name = ("pink", "breathing", "hum")[j % 3]
        dur, loudness = float(rng.uniform(3.0, 8.0)), float(rng.uniform(0.05, 0.6))
        for level in levels:
            yield dict(id=_labelled(f"noise{j}", level, levels), text=f"<{name}>", kind=name, dur=dur, level=loudness,
                       seed=100 + j, level_db=level)


def make_negative(spec: dict) -> Clip:
    if spec["kind"] in NOISES:
        audio = (NOISES[spec["kind"]](spec["dur"], seed=spec["seed"]) * spec["level"]).astype(np.float32)
        audio = at_level(audio, spec.get("level_db", 0.0))
        return Clip(spec["id"], audio, None, spec["text"], 0.0, spec["dur"], "", spec["kind"], None)
    s = speak(spec["text"], voice=spec["voice"], speed=spec["speed"], pitch=spec["pitch"])
    if spec.get("room"):
        s = through(s, spec["room"], source="person")
    b0, b1 = speech_bounds(s)
    audio, lead = _place(s, lead=spec["lead"], tail=1.2, noise="clean", snr=None, seed=0)
    audio = at_level(audio, spec.get("level_db", 0.0))
    return Clip(spec["id"], audio, None, spec["text"], lead + b0, lead + b1, spec["voice"], spec["kind"], None)


def negatives(**kw):
    """Yield negative clips: coach cues and everyday sentences by each voice, and noise alone."""
    for spec in negative_specs(**kw):
        yield make_negative(spec)


def negative_stream(minutes: float, *, voices=DEV_VOICES + HELDOUT_VOICES, seed=2):
    """Yield ~``minutes`` of continuous negative audio in chunks of a few seconds.

    Sentences (cues, everyday speech) by all voices, breathing, pink noise and
    hum, joined without gaps so that the recognizer sees one long stream.
    """
    rng = np.random.default_rng(seed)
    texts = list(COACH_CUES + EVERYDAY + CONTAINS_A_PHRASE)
    total = int(minutes * 60 * SAMPLERATE)
    made = 0
    k = 0
    while made < total:
        kind = rng.choice(["speech", "speech", "breathing", "pink", "hum", "silence"])
        if kind == "speech":
            text = texts[rng.integers(len(texts))]
            voice = voices[rng.integers(len(voices))]
            speed, pitch = PROSODY[rng.integers(len(PROSODY))]
            chunk = speak(text, voice=voice, speed=speed, pitch=pitch) * float(rng.uniform(0.3, 1.0))
            chunk = np.concatenate([chunk, np.zeros(int(rng.uniform(0.2, 1.5) * SAMPLERATE), np.float32)])
        elif kind == "silence":
            chunk = np.zeros(int(rng.uniform(0.5, 3.0) * SAMPLERATE), np.float32)
        else:
            chunk = NOISES[kind](float(rng.uniform(2.0, 6.0)), seed=1000 + k) * float(rng.uniform(0.05, 0.5))
        # Light background noise throughout, as a real room has.
        chunk = chunk + NOISES["pink"](len(chunk) / SAMPLERATE + 0.01, seed=5000 + k)[: len(chunk)] * 0.003
        chunk = chunk[: total - made].astype(np.float32)
        made += len(chunk)
        k += 1
        yield chunk
