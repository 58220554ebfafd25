"""What the coach says: the leg-lift program of DESIGN.md as data.

Phrases live here, not in the state machine, so that the whole vocabulary can
be listed (:func:`phrases`) and rendered to clips before a session starts.
Every phrase with a number is enumerated for the numbers a session can reach.
"""

from __future__ import annotations

from dataclasses import dataclass

NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()


TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number(n: int) -> str:
    """``n`` in words ("forty-two", "one hundred and five"): every number the coach says
    is a word, in the cue texts and the events file alike. Digits from ten thousand on."""
    if n < 0:
        return "minus " + number(-n)
    if n < len(NUMBER_WORDS):
        return NUMBER_WORDS[n]
    if n < 100:
        return TENS[n // 10] + ("-" + NUMBER_WORDS[n % 10] if n % 10 else "")
    if n < 1000:
        rest = n % 100
        return f"{NUMBER_WORDS[n // 100]} hundred" + (f" and {number(rest)}" if rest else "")
    if n < 10000:
        rest = n % 1000
        return f"{NUMBER_WORDS[n // 1000]} thousand" + (
            "" if not rest else f" and {number(rest)}" if rest < 100 else f" {number(rest)}")
    return str(n)


def percent(share: float) -> str:
    """0.7 -> "seventy percent"."""
    return f"{number(round(share * 100))} percent"


@dataclass(frozen=True)
class Variation:
    name: str
    """Config name, e.g. ``"dead_bug"``."""
    spoken: str
    """How the coach names it: "the dead bug"."""
    lifts: tuple[str, ...]
    """What to lift, cycled rep by rep (alternating sides for dead bug and single-leg)."""
    setup: tuple[str, ...]
    """Position cues before the first set."""


_LIE_DOWN = (
    "Lie flat on your back, arms at your sides.",
    "Press your lower back into the floor, like a hundred-dollar bill under your back "
    "that someone is trying to pull away.",
)

VARIATION_TABLE: dict[str, Variation] = {
    "dead_bug": Variation(
        "dead_bug",
        "the dead bug",
        ("right leg and left arm", "left leg and right arm"),
        _LIE_DOWN + ("Arms up to the ceiling, knees bent over your hips.",),
    ),
    "bent_knee": Variation(
        "bent_knee", "bent-knee leg lifts", ("knees bent",), _LIE_DOWN + ("Bend your knees.",)
    ),
    "single_leg": Variation(
        "single_leg", "single-leg lifts", ("right leg", "left leg"), _LIE_DOWN + ("Legs long.",)
    ),
    "straight_leg": Variation(
        "straight_leg",
        "straight-leg lifts",
        ("legs straight",),
        _LIE_DOWN + ("Legs as straight as your hamstrings allow.",),
    ),
    "hanging": Variation(
        "hanging",
        "hanging leg raises",
        ("raise your legs",),
        ("Hang from the bar, shoulders engaged.", "Tilt your pelvis back; no swinging."),
    ),
}
VARIATIONS = tuple(VARIATION_TABLE)
"""The variations' config names, easiest first (what ``[program] variation`` allows)."""


def easier(variation: str) -> str | None:
    """The next easier variation, ``None`` for the easiest."""
    i = VARIATIONS.index(variation)
    return VARIATIONS[i - 1] if i > 0 else None


# --- breathing ----------------------------------------------------------------


def lift_phrase(variation: str, breathing: str, rep_index: int) -> str:
    """The cue at the start of a lift; ``rep_index`` counts from 0 and picks the side."""
    lifts = VARIATION_TABLE[variation].lifts
    what = lifts[rep_index % len(lifts)]
    if breathing == "shielding":
        return f"Sharp nose breaths, lift, {what}."
    return f"Exhale, lift, {what}."


def lower_phrase(breathing: str) -> str:
    if breathing == "shielding":
        return "Sharp nose breaths, abs tight, lower."
    return "Inhale, lower."


WARMUP_LIFTS = ("Exhale, lift only to forty-five degrees.", "Exhale, now all the way up, to ninety degrees.")


# --- counting -----------------------------------------------------------------


def count_long(k: int) -> str:
    """The count said on beat ``k`` (1-based): "two-one-thousand"."""
    return f"{number(k)}-one-thousand"


def count_short(k: int) -> str:
    """The fallback when the long count does not fit its beat."""
    return number(k)


def beats(descent_s: float) -> int:
    """How many counts a lowering of ``descent_s`` seconds gets (one a second)."""
    return max(1, round(descent_s))


FLOOR_STOP = "And stop: that's your floor."
FLOOR_TEST = (
    "Floor test: lower as deep as you can keep your lower back pressed down, "
    "and say stop point where it starts to lift."
)
"""Said before a session's first lowering, which counts the full descent so the floor can move deeper."""
TICK = "tick"

# --- the first session's lesson -------------------------------------------------

TEACHING = (
    "Before we start, four things.",
    "Use a mat or a thick towel, never a bed.",
    "Barefoot or light shoes.",
    "If your lower back hurts or your hips tilt forward, stretch your hip flexors and quads first.",
    "And if your belly domes, stop, pull your belly button in and up, and say doming.",
)
"""The source article's advice, said once before the first session's warm-up
(``voicecoach run --intro`` says it again)."""

# --- warm-up ------------------------------------------------------------------

WARMUP_INTRO = ("Let's warm up. On your hands and knees for five cat-cows.",)
CAT = "round your back up, like a cat."
COW = "And let the belly drop."
CAT_COWS = 5
TENSION_CHECK = (
    "Tension check: lie on your back, knees bent, and slide a hand under your lower back.",
    "Crush the hand into the floor. Feel your abs tighten.",
    "Good. Take the hand out. That is the tension to keep.",
)
WARMUP_FIRST_REP = "First rep only to forty-five degrees, then one to ninety."
WARMUP_DONE = "Warm-up done."

# --- sets, rest, summaries ----------------------------------------------------


def intro(variation: str, sets: int, reps: int) -> str:
    v = VARIATION_TABLE[variation]
    return f"Today: {v.spoken}, {number(sets)} {'set' if sets == 1 else 'sets'} of {number(reps)}."


HELP_HINT = "Say help at any time to hear the commands."
SET_START = "Set {n} of {m}."


def set_start(n: int, m: int) -> str:
    return SET_START.format(n=number(n), m=number(m))


def set_summary(counted: int, attempted: int) -> str:
    return f"{number(counted)} of {number(attempted)} counted."


ARCHED_HALF = "Your back arched on half the reps or more."


def arched_advice(variation: str) -> str:
    e = easier(variation)
    if e is None:
        return "Put your hands under your hips, and stop each lowering before the back lifts."
    return f"Try {VARIATION_TABLE[e].spoken} instead, or put your hands under your hips."


def rest(seconds: float) -> str:
    return f"Rest for {number(int(round(seconds)))} seconds."


REST_RESUMED = "Rest."
TEN_SECONDS = "Ten seconds."


def countdown(k: int) -> str:
    return number(k).capitalize() + "."


def session_done(counted: int, total: int) -> str:
    return f"Workout done: {number(counted)} of {number(total)} counted."


def session_stopped(counted: int) -> str:
    return f"Stopped. {number(counted)} counted today."


FINISH = ("Finish with a plank if you can.", "Rest a day or two before the next session.")
FINISH_AFTER_PLANK = ("Rest a day or two before the next session.",)

# --- the plank finish (``[program] plank_s``) ----------------------------------

PLANK_SETUP = ("Now a plank: forearms on the mat, elbows under your shoulders, body in one line. "
               "Say stop to end it early.")


def plank_go(seconds: float) -> str:
    return f"Hold for {number(round(seconds))} seconds. Go."


HALFWAY = "Halfway."
PLANK_DONE = "And down. Plank done."


def plank_held(seconds: float) -> str:
    """Said when a plank is ended early ("stop" or "done", stop workout, next set or pause)."""
    held = int(seconds)
    return f"Plank over: you held {number(held)} second{'s' if held != 1 else ''}."

# --- marks and controls -------------------------------------------------------

NOT_COUNTED = "That one doesn't count."
DOMING = "Belly button in and up."
NO_REP = "Say that during a rep."
NO_LOWERING = "Say stop point while you lower."
PAUSED = "Paused. Say resume when you're ready."
RESUMING = "Resuming."
STOPPING = "Stopping. Say resume to carry on."
FROM_THE_TOP = "From the top of the rep."
SLOWER = "Slower: a four-count lowering."
FASTER = "Faster: a three-count lowering."
SLOWEST = "That's already the slowest."
FASTEST = "That's already the fastest."
NEXT_SET = "Moving on."
SKIP_WARMUP = "Skipping the warm-up."
NOTHING_TO_REPEAT = "Nothing to repeat yet."
CUE_ONLY = "I can't hear commands right now; I'll keep counting."
NOT_SAVED = "History could not be saved; I'll keep coaching."
HELP = (
    "During a rep, say back arched, doming, good rep, or stop point. "
    "Any time, say pause, resume, next set, how many, slower, faster, repeat, or stop workout."
)


def how_many_set(n: int) -> str:
    return f"{number(n)} this set."


def how_many_total(n: int) -> str:
    return f"{number(n)} in total."


FORM_REMINDERS = (
    "Keep your head on the floor.",
    "Don't hold your breath.",
    "No bouncing: slow and controlled.",
)
REMINDER_EVERY = 4
"""A form reminder after every this-many reps: occasional, not every rep."""


def phrases(program: dict) -> list[str]:
    """Every text a session with this ``[program]`` config can speak.

    The runtime renders them before the session starts so that no cue waits
    for text-to-speech. Only a greeting passed in from the history is extra.
    """
    variation, sets, reps = program["variation"], program["sets"], program["reps"]
    out: list[str] = []
    out += [intro(variation, sets, reps), HELP_HINT]
    out += list(VARIATION_TABLE[variation].setup)
    out += list(TEACHING)
    out += list(WARMUP_INTRO) + [CAT, COW] + list(TENSION_CHECK) + [WARMUP_FIRST_REP, WARMUP_DONE]
    out += [f"{number(i).capitalize()}: {CAT}" for i in range(1, CAT_COWS + 1)]
    out += list(WARMUP_LIFTS)
    for breathing in ("standard", "shielding"):
        out += [lift_phrase(variation, breathing, i) for i in range(len(VARIATION_TABLE[variation].lifts))]
        out.append(lower_phrase(breathing))
    for k in range(1, 5):
        out += [count_long(k), count_short(k)]
    out += [FLOOR_STOP, FLOOR_TEST]
    out += [set_start(n, sets) for n in range(1, sets + 1)]
    out += [ARCHED_HALF, arched_advice(variation)]
    out += [rest(program["rest_s"]), REST_RESUMED, TEN_SECONDS] + [countdown(k) for k in (3, 2, 1)]
    out += list(FINISH) + list(FINISH_AFTER_PLANK)
    if program.get("plank_s"):
        out += [PLANK_SETUP, plank_go(program["plank_s"]), HALFWAY, PLANK_DONE]
    out += [NOT_COUNTED, DOMING, NO_REP, NO_LOWERING, PAUSED, RESUMING, STOPPING, FROM_THE_TOP, SLOWER, FASTER]
    out += [SLOWEST, FASTEST, NEXT_SET, SKIP_WARMUP, NOTHING_TO_REPEAT, HELP, CUE_ONLY, NOT_SAVED]
    out += list(FORM_REMINDERS)
    return list(dict.fromkeys(out))


def numbered_phrases(program: dict) -> list[str]:
    """The phrases with counts in them (summaries, "how many"), most likely first.

    Too many to render before a long session starts on a slow machine; the
    runtime renders them in the background while the session runs. A set cut
    short by "next set" has a summary not listed here: it is rendered when needed.
    """
    sets, reps = program["sets"], program["reps"]
    total = sets * reps
    out = [set_summary(c, reps) for c in range(reps, -1, -1)]
    out += [how_many_set(n) for n in range(reps + 1)] + [how_many_total(n) for n in range(total + 1)]
    out += [session_done(c, total) for c in range(total, -1, -1)]
    out += [session_stopped(c) for c in range(total + 1)]
    if program.get("plank_s"):
        out += [plank_held(k) for k in range(int(program["plank_s"]) + 1)]
    return list(dict.fromkeys(out))
