"""Distractor words: what the decoder may hear instead of a command.

A closed Vosk grammar can only answer with its own phrases, so any sound
comes back as a command at confidence ~1 (vosk-api issues 741, 874, 1339).
Giving the decoder other words to choose, together with ``[unk]``, lets
everyday speech, the coach's own cues and breathing land somewhere harmless.

The lists are deliberately generic (frequent English words, the coach's cue
vocabulary, numbers), not picked from any test audio. Words that sound close
to a command word ("pose" for "pause", "rap" for "rep", "tell" for "help")
are left out, so that a clearly spoken command is not pulled away from its
phrase. The recognizer uses the coach and number sets by default: with the
frequent-words set too, false accepts fell little while commands in noise
were lost to "after", "tell", "got" and the like (measured on the dev corpus).
"""

from __future__ import annotations

# Frequent English function and content words (spoken-English frequency lists).
COMMON = """
a about after all also am an and any are as at be because been before being but by can could
day did do does doing don't down each even every few find first for from get give go going gone
got had has have he her here him his i i'm if in into is it it's its just know last let like
little look make man me more most much must need never new no not of off on only or other our
out over people put really said same see she should show so some still such take tell than
thank thanks that the their them then there these they thing think this those through time to
too two under us very want was way we well were what when where which while who why will with
would yeah yes you your
water phone music towel break shaking hard harder hurts hurt today messages weather dinner
ready hear check forgot stretch please sorry great nice fine tired minute second
""".split()

# What the coach says (see DESIGN.md "the source program"): its echo and a
# person repeating a cue must both fall on these words, not on a command.
COACH = """
lie flat arms sides hands under hips press lower floor hundred dollar bill pull away lift
slowly towards vertical legs straight hamstrings allow lowering seconds counted thousand
just arches arch pops over exhale inhale breathe breathing breath shielding short sharp
nose abs tight bouncing momentum holding head crane keep doming coning belly button
mistakes variations dead bug bent knee single leg hanging raises sets perfect once
weight dumbbell between feet session cat cows tension knees crush hand degrees ninety
forty five finish planks mat bed barefoot quads hips tilt forward rest relax ready
well done nice easy hold lower slow rep reps set
""".split()

NUMBERS = """
one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
twenty thirty
""".split()

# Near-homophones of command words: not offered as alternatives.
_TOO_CLOSE = {"pose", "paws", "pours", "rap", "wrap", "sat", "sit", "helps", "poured", "holding", "bill", "tell", "after"}


SETS = {"common": COMMON, "coach": COACH, "numbers": NUMBERS}


def distractors(exclude: set[str] | frozenset[str] = frozenset(), sets=("common", "coach", "numbers")) -> tuple[str, ...]:
    """Distractor words of the named ``sets``, sorted, minus ``exclude`` and near-homophones of commands."""
    words: set[str] = set()
    for name in sets:
        words.update(SETS[name])
    return tuple(sorted(w for w in words if w not in exclude and w not in _TOO_CLOSE))
