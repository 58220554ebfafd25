"""Choose enrollment's take matcher limits leaving one engine out (issue 22); prints markdown tables.

    python scripts/sweep_takes.py                 # bench_recognizer's --quick voices of the installed engines
    python scripts/sweep_takes.py --voices en-us,flite:slt --jobs 1

The take matcher (:mod:`voicecoach.speech.templates`) names an intent when an
utterance is within ``LIMIT_FACTOR`` times the person's take spread of that
intent's takes and at most ``MARGIN`` of the next intent's distance. This
script measures the matcher on its own, without the decoder: each voice's
takes are bench_enroll's (:data:`TAKE_PROSODY`, clean), its positives the
corpus's phrases with fillers and carriers at the corpus's prosodies, clean
and with pink and breathing noise at 10 and 5 dB, its negatives (the coach's
cues, everyday sentences, sentences holding a phrase) and :data:`NEAR_WORDS`
clean and with the same noises at 10 dB. Each clip is cut as the recognizer
holds an utterance (0.5 s around the words) and heard through the
recognizer's noise suppression.

For each engine in turn, the (factor, margin) of the grid that finds the most
positives with no false accept on the other engines (near words aside) is
chosen and reported on the engine left out, with the near words it takes;
then every engine at the module's own constants. ``--dump FILE`` keeps every
clip's distances (a pickle) to compare matchers offline.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scripts import bench_recognizer as br  # noqa: E402
from scripts.bench_enroll import ENROLLED, TAKE_PROSODY  # noqa: E402
from scripts.corpus import PROSODY, QUICK_VOICES, REQUIRED, _place, make_positive, positive_specs, negative_specs  # noqa: E402
from tests.speech_support import engine_of, speak, speech_bounds, to_int16  # noqa: E402

AROUND_S = 0.5
NEAR_WORDS = {
    "stop_point": ("top point", "shop point"), "back_arched": ("back ache", "black art"),
    "good_rep": ("good step", "could wrap"), "doming": ("down", "done", "dumb", "coming"),
    "pause": ("paws", "pose", "cause"), "resume": ("presume", "reuse"), "next_set": ("next step", "text set"),
    "stop_workout": ("shop work out", "top workout"), "how_many": ("how much", "hominy"),
    "slower": ("lower", "sower"), "faster": ("after", "pastor"), "repeat": ("report", "reheat"),
    "help": ("held", "health", "yelp"), "start_workout": ("smart workout", "start working"),
}
"""Words said alone that sound like a phrase, counted apart from the other negatives: a take
matcher cannot tell "paws" from "pause", and the decoder takes many of them too (docs/recognizer.md)."""
_NEAR = {text for words in NEAR_WORDS.values() for text in words}
NEGATIVE_NOISES = (("clean", None), ("pink", 10), ("breathing", 10))


def _heard(matcher, audio: np.ndarray, words_start: float, words_end: float) -> dict[str, float]:
    """{intent: distance} of the utterance around the words, heard as the recognizer hears it."""
    from voicecoach.speech.calibration import suppressed
    from voicecoach.speech.templates import speech_stretch

    pcm = to_int16(audio[max(0, int((words_start - AROUND_S) * 16000)): int((words_end + AROUND_S) * 16000)])
    clean = suppressed(pcm)
    return matcher.distances(clean, *speech_stretch(clean))


def voice_job(voice: str) -> tuple[str, float, list, list]:
    """(voice, spread, positives [(intent, condition, {intent: d})], negatives [(text, condition, {intent: d})])."""
    from voicecoach.speech.calibration import take_matcher

    matcher = take_matcher({it: [to_int16(speak(REQUIRED[it][0], voice=voice, speed=s, pitch=p))
                                 for s, p in TAKE_PROSODY] for it in ENROLLED})
    pos = []
    for spec in positive_specs(voices=(voice,), snrs=(None, 10, 5), noises=("pink", "breathing"), fillers=True):
        if spec["intent"] in ENROLLED:
            clip = make_positive(spec)
            cond = spec["noise"] + (f" {spec['snr']}" if spec["snr"] else "")
            pos.append((spec["intent"], cond, _heard(matcher, clip.audio, clip.words_start, clip.words_end)))
    neg = []
    speed, pitch = PROSODY[0]
    near = [dict(text=text, speed=speed, pitch=pitch, lead=0.75) for words in NEAR_WORDS.values() for text in words]
    for spec in [*negative_specs(voices=(voice,), prosody=PROSODY[:1], noise_clips=0), *near]:
        if spec.get("kind") == "means":
            continue
        s = speak(spec["text"], voice=voice, speed=spec["speed"], pitch=spec["pitch"])
        b0, b1 = speech_bounds(s)
        for noise, snr in NEGATIVE_NOISES:
            audio, lead = _place(s, lead=spec["lead"], tail=1.2, noise=noise, snr=snr, seed=7)
            neg.append((spec["text"], noise + (f" {snr}" if snr else ""),
                        _heard(matcher, audio, lead + b0, lead + b1)))
    return voice, matcher.spread, pos, neg


def named(dist: dict[str, float], spread: float, factor: float, margin: float) -> str | None:
    ranked = sorted(dist.items(), key=lambda kv: kv[1])
    if not ranked:
        return None
    runner_up = ranked[1][1] if len(ranked) > 1 else float("inf")
    return ranked[0][0] if ranked[0][1] <= factor * spread and ranked[0][1] <= margin * runner_up else None


def score(results, factor: float, margin: float):
    """(share of positives named right, false accepts, negatives, list of the false
    accepts, near words taken, near words said), the near words apart."""
    hits = n = 0
    fas = []
    n_neg = near_taken = n_near = 0
    for voice, spread, pos, neg in results:
        for intent, _, dist in pos:
            hits += named(dist, spread, factor, margin) == intent
            n += 1
        for text, cond, dist in neg:
            found = named(dist, spread, factor, margin)
            if text in _NEAR:
                n_near += 1
                near_taken += found is not None
                continue
            n_neg += 1
            if found:
                fas.append((voice, text, cond, found))
    return hits / max(n, 1), len(fas), n_neg, fas, near_taken, n_near


def main() -> int:
    from voicecoach.speech.templates import LIMIT_FACTOR, MARGIN

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--engines", default=",".join(br.installed_engines()))
    ap.add_argument("--voices", help="comma-separated voices (default: the --quick set of the engines)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--factors", default="1.5,1.8,2.0,2.2,2.5,2.8,3.0")
    ap.add_argument("--margins", default="0.6,0.7,0.8,0.9,1.0")
    ap.add_argument("--dump", help="also write every clip's distances to this pickle file")
    args = ap.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    voices = args.voices.split(",") if args.voices else [v for e in engines for v in QUICK_VOICES[e]]
    with mp.Pool(args.jobs) as pool:
        results = pool.map(voice_job, voices, chunksize=1)
    if args.dump:
        import pickle

        Path(args.dump).write_bytes(pickle.dumps(results))
    grid = [(float(f), float(m)) for f in args.factors.split(",") for m in args.margins.split(",")]
    by_engine = sorted({engine_of(v) for v in voices})
    print("## Leave one engine out: chosen on the others (most hits, no false accept), reported on it\n")
    print("| engine left out | factor | margin | hits on the others | hits on it | false accepts on it | near words taken |")
    print("|---|---|---|---|---|---|---|")
    for held in by_engine:
        train = [r for r in results if engine_of(r[0]) != held]
        test = [r for r in results if engine_of(r[0]) == held]
        if not train:
            continue
        ok = [(score(train, f, m)[0], f, m) for f, m in grid if score(train, f, m)[1] == 0]
        if not ok:
            print(f"| {held} | - | - | no setting without false accepts | | |")
            continue
        hits, f, m = max(ok, key=lambda x: (x[0], -x[1], -x[2]))
        h, fa, nn, _, near, n_near = score(test, f, m)
        print(f"| {held} | {f:g} | {m:g} | {100 * hits:.1f} % | {100 * h:.1f} % | {fa} of {nn} | {near} of {n_near} |")
    print(f"\n## At the module's constants (factor {LIMIT_FACTOR:g}, margin {MARGIN:g}), the matcher alone\n")
    conds = sorted({c for r in results for _, c, _ in r[2]}, key=lambda c: (c != "clean", c))
    print("| voice | spread | " + " | ".join(conds) + " | false accepts | near words taken |\n|---|---|"
          + "---|" * (len(conds) + 2))
    for r in results:
        cells = []
        for c in conds:
            rows = [(i, d) for i, cc, d in r[2] if cc == c]
            cells.append(f"{100 * np.mean([named(d, r[1], LIMIT_FACTOR, MARGIN) == i for i, d in rows]):.0f} %")
        _, fa, nn, _, near, n_near = score([r], LIMIT_FACTOR, MARGIN)
        print(f"| {r[0]} | {r[1]:.2f} | " + " | ".join(cells) + f" | {fa} of {nn} | {near} of {n_near} |")
    _, fa, nn, fas, _, _ = score(results, LIMIT_FACTOR, MARGIN)
    print(f"\nfalse accepts at the constants: {fa} of {nn}" + "".join(f"\n  {v}: {t!r} ({c}) -> {i}" for v, t, c, i in fas))
    return 0


if __name__ == "__main__":
    sys.exit(main())
