"""``voicecoach enroll``: teach the coach how this person says its phrases.

Live: ``voicecoach enroll [INTENT]`` has the coach ask for three takes of each
phrase (the four marks when no intent is named) through the speaker and the
microphone (:mod:`voicecoach.enroll.live`). From files: ``voicecoach enroll
back_arched a.wav b.wav c.wav`` stores the takes
(each checked: not too quiet, clipped or cut) and chooses again, from all the
takes stored, which personal spellings and confidence floors the recognizer
uses (:mod:`voicecoach.speech.calibration`). ``--list`` shows them; ``--reset``
forgets one intent's takes, or all. ``run``, ``serve``, ``simulate`` and
``recognize`` use the stored enrollment unless given ``--no-enrollment``.
"""

from __future__ import annotations

import argparse

HELP = "teach the coach your voice: store takes of a phrase and choose how to hear it (--list, --reset)"
MIN_TAKES, MAX_TAKES = 2, 10
KEEP_AROUND_S = 0.3
"""Quiet kept before and after the speech of a take."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("intent", nargs="?", metavar="INTENT",
                        help="what the takes say: an intent name (back_arched) or one of its phrases "
                             "(\"back arched\"); with no files the coach asks for three takes of it through "
                             "the speaker and microphone (no INTENT: the four marks)")
    parser.add_argument("files", nargs="*", metavar="FILE.wav",
                        help=f"{MIN_TAKES} to {MAX_TAKES} recordings of the phrase, each on its own with quiet around "
                             "it (three recommended); they replace that intent's earlier takes")
    parser.add_argument("--list", action="store_true", help="show what is enrolled and what it changes")
    parser.add_argument("--reset", action="store_true",
                        help="forget the enrollment: all of it, or only INTENT's takes when one is named")
    parser.add_argument("--config", metavar="FILE", help="config TOML, for its grammar (default: the user's config)")


def main(args: argparse.Namespace) -> int:
    from voicecoach.enroll import file as enrollment_file
    from voicecoach.errors import UserError

    if args.list and args.reset:
        raise UserError("give --list or --reset, not both")
    if args.list:
        if args.intent or args.files:
            raise UserError("--list takes no intent or files")
        return _list(enrollment_file)
    if args.reset:
        if args.files:
            raise UserError("--reset takes no files")
        return _reset(enrollment_file, args)
    if not args.files:
        return _enroll_live(enrollment_file, args)
    if not MIN_TAKES <= len(args.files) <= MAX_TAKES:
        raise UserError(f"give {MIN_TAKES} to {MAX_TAKES} recordings of the phrase after the intent "
                        f"({len(args.files)} given; three recommended)")
    return _enroll_files(enrollment_file, args)


def _grammar(args, model):
    from voicecoach.commands import load_config
    from voicecoach.speech.grammar import load_grammar

    cfg = load_config(args.config)
    return load_grammar(cfg["speech"]["grammar"] or None, model=model)


def resolve_intent(grammar, name: str) -> str:
    """The intent ``name`` (an intent's name or one of its phrases) means; UserError if none."""
    from voicecoach.errors import UserError

    names = [it.name for it in grammar.intents]
    if name in names:
        return name
    intent = grammar.intent_of(name)
    if intent is not None:
        return intent.name
    raise UserError(f"unknown intent {name!r}; one of: {', '.join(names)}")


def read_take(path: str):
    """The take in WAV file ``path`` as int16 16 kHz, trimmed to its speech and a
    little quiet; UserError (one line naming the file) when it cannot be a take."""
    import numpy as np

    from voicecoach.audio.wavio import VOSK_RATE, read_wav, resample
    from voicecoach.errors import UserError
    from voicecoach.speech.takes import speech_span, take_problem

    samples, rate = read_wav(path)
    x = np.clip(resample(samples, rate, VOSK_RATE), -1.0, 1.0).astype(np.float32)
    problem = take_problem(x)
    if problem:
        raise UserError(f"{path}: not a usable take: {problem}")
    start, end = speech_span(x)
    a, b = max(0, int((start - KEEP_AROUND_S) * VOSK_RATE)), min(len(x), int((end + KEEP_AROUND_S) * VOSK_RATE))
    return (x[a:b] * 32767.0).astype(np.int16)


def choose(model, grammar, takes: dict, *, log=None):
    """The enrollment chosen from ``takes`` ({intent: [Take]}) with this grammar."""
    from voicecoach.coach import program
    from voicecoach.config import validate
    from voicecoach.speech.calibration import calibrate

    # Every sentence the program can say, for any variation: a spelling inside one is the coach's.
    texts = set()
    for variation in ("dead_bug", "bent_knee", "single_leg", "straight_leg", "hanging"):
        texts.update(program.phrases(validate({"program": {"variation": variation}})["program"]))
    enrollment, lines = calibrate(model, grammar, {k: [t.pcm for t in v] for k, v in takes.items()},
                                  coach_texts=sorted(texts), free_model=model)
    if log is not None:
        for line in lines:
            log(line)
    return enrollment


def _enroll_files(enrollment_file, args) -> int:
    from voicecoach.model import load_model

    # The intent, every file and the stored enrollment are checked before the
    # model loads: a mistake costs no wait. Words are checked once it has.
    intent = resolve_intent(_grammar(args, None), args.intent)
    pcms = [(f, read_take(f)) for f in args.files]
    stored = enrollment_file.load() or enrollment_file.Enrolled()
    model = load_model(grammar_only=False)  # the free decode gives more candidate spellings
    grammar = _grammar(args, model)
    stored.takes[intent] = [enrollment_file.Take(pcm, source=str(f)) for f, pcm in pcms]
    stored.enrollment = choose(model, grammar, stored.takes)
    path = enrollment_file.save(stored)
    print(f"{intent}: {len(pcms)} takes stored in {path}")
    print(describe(intent, stored))
    return 0


def _enroll_live(enrollment_file, args) -> int:
    from voicecoach.commands import load_config
    from voicecoach.enroll.live import record_phrases
    from voicecoach.model import load_model

    cfg = load_config(args.config)
    grammar = _grammar(args, None)
    intents = [resolve_intent(grammar, args.intent)] if args.intent else list(LIVE_DEFAULT)
    stored = enrollment_file.load() or enrollment_file.Enrolled()  # a damaged file stops us before the mic
    print(f"enrolling {', '.join(intents)}: say each phrase when asked, on its own, as you would in a workout",
          flush=True)
    takes = record_phrases(cfg["audio"], cfg["speech"], {i: grammar.intent(i).phrases[0] for i in intents},
                           out=lambda line: print(line, flush=True))
    model = load_model(grammar_only=False)
    grammar = _grammar(args, model)
    for intent, pcms in takes.items():
        stored.takes[intent] = [enrollment_file.Take(pcm, source="microphone") for pcm in pcms]
    stored.enrollment = choose(model, grammar, stored.takes)
    path = enrollment_file.save(stored)
    print(f"stored in {path}")
    for intent in intents:
        print(describe(intent, stored))
    return 0


LIVE_DEFAULT = ("stop_point", "back_arched", "good_rep", "doming")
"""What ``voicecoach enroll`` alone asks for: the marks, said mid-rep and the hardest to say again."""


def describe(intent: str, stored) -> str:
    """One line: what the enrollment changes for ``intent``."""
    e = stored.enrollment
    parts = []
    if e.spellings.get(intent):
        parts.append("also heard as " + ", ".join(f'"{s}"' for s in e.spellings[intent]))
    if intent in e.floors:
        parts.append(f"confidence floor {e.floors[intent]:.2f}")
    n = len(stored.takes.get(intent, ()))
    from voicecoach.speech.templates import MIN_TAKES

    if n >= MIN_TAKES:
        parts.append("the takes are matched when the decoder hears no phrase")
    return f"{intent:<14} {n} takes  " + ("; ".join(parts) if parts else "heard as it is: nothing changed")


def _list(enrollment_file) -> int:
    stored = enrollment_file.load()
    if stored is None or not stored.takes:
        print("no enrollment (add one with 'voicecoach enroll INTENT FILE.wav...')")
        return 0
    print(f"enrollment: {enrollment_file.default_path()}")
    for intent in sorted(stored.takes):
        print(describe(intent, stored))
    return 0


def _reset(enrollment_file, args) -> int:
    from voicecoach.errors import UserError

    if not args.intent:
        print("enrollment removed" if enrollment_file.remove() else "no enrollment to remove")
        return 0
    stored = enrollment_file.load()
    try:
        name = resolve_intent(_grammar(args, None), args.intent)
    except UserError:
        name = args.intent  # an intent the grammar no longer has may still have takes
    if stored is None or name not in stored.takes:
        known = ", ".join(sorted(stored.takes)) if stored else ""
        raise UserError(f"no takes of {args.intent!r} are enrolled" + (f" (enrolled: {known})" if known else ""))
    # What the other intents' choices were checked against shrinks: never in their disfavour.
    del stored.takes[name]
    stored.enrollment = stored.enrollment.with_intent(name)
    if stored.takes:
        enrollment_file.save(stored)
    else:
        enrollment_file.remove()
    print(f"{name}: takes forgotten")
    return 0
