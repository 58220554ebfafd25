"""Benchmark voice enrollment (issue 22): each voice with and without its own enrollment; prints markdown tables.

    python scripts/bench_enroll.py                  # the --quick voices of bench_recognizer (9 of 4 engines)
    python scripts/bench_enroll.py --snrs clean,10  # fewer noise levels
    python scripts/bench_enroll.py --loto           # also leave one take out
    python scripts/bench_enroll.py --room large     # enrolled and tested across a room

For each voice, the takes are the phrase of each intent rendered three ways
(:data:`TAKE_PROSODY`: rates and pitches none of the test clips has) and
clean, as a person enrolls in a quiet room; the enrollment is chosen from them
alone (:mod:`voicecoach.speech.calibration`, with the open-vocabulary decode as
``voicecoach enroll`` does). The test clips are bench_recognizer's positives
for that voice (``scripts/corpus.py``, its prosody and noise), decoded by the
same recognizer without enrollment, with its spellings and floors only, and
with the takes matched too (:mod:`voicecoach.speech.templates`, what
``voicecoach enroll`` gives). So takes and tests are always different
renderings of the voice.

False accepts with enrollment on: each voice's enrollment on that voice's own
negative clips (coach cues, everyday sentences, sentences holding a phrase)
and on the noise clips; on a stretch of the continuous negative stream (all
voices of the engines) per enrolled voice; and on the coach's cues through
the room with echo. ``--loto``: each take in turn is left out of the takes,
the enrollment chosen from the other two, and the take left out is tested.
``--room NAME``: the person enrolls where they exercise, so the takes, the
test clips and the voice's negative clips all reach the microphone through
that room of ``scripts/rooms.py`` (pyroomacoustics, ``scripts/setup --bench``).
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scripts import bench_recognizer as br  # noqa: E402
from scripts.corpus import ENGINES, PROSODY, QUICK_VOICES, REQUIRED, negative_specs, positive_specs  # noqa: E402
from scripts.rooms import ROOMS, through  # noqa: E402
from tests.speech_support import engine_of, speak, to_int16  # noqa: E402

TAKE_PROSODY = ((140, 45), (165, 55), (155, 62))
"""(words/min, pitch) of the three takes; the test clips use scripts/corpus.PROSODY."""
assert not set(TAKE_PROSODY) & set(PROSODY)
ENROLLED = [i for i in REQUIRED if i != "end_hold"]
"""The intents enrolled: the marks and the controls of a session (the plank's are left out)."""
STREAM_SEED = 300
_E: dict = {}


def _takes(voice: str, room: str | None = None) -> dict[str, list[np.ndarray]]:
    """Each enrolled intent's three takes by ``voice`` (int16), through ``room`` when one is given."""
    def take(text, speed, pitch):
        clip = speak(text, voice=voice, speed=speed, pitch=pitch)
        return to_int16(clip if room is None else through(clip, room, source="person"))

    return {it: [take(REQUIRED[it][0], s, p) for s, p in TAKE_PROSODY] for it in ENROLLED}


def _coach_texts() -> list[str]:
    from voicecoach.coach import program
    from voicecoach.config import validate

    texts = set()
    for v in ("dead_bug", "bent_knee", "single_leg", "straight_leg", "hanging"):
        texts.update(program.phrases(validate({"program": {"variation": v}})["program"]))
    return sorted(texts)


def _calibrate_job(args):
    """(voice, left out take index or None, noisy-take SNRs, room or None) -> the enrollment's JSON, its log, seconds."""
    voice, left_out, noisy_db, room = args
    from voicecoach.model import load_model
    from voicecoach.speech.calibration import calibrate
    from voicecoach.speech.grammar import load_grammar

    if "full" not in _E:
        _E["full"] = load_model(grammar_only=False)
        _E["grammar"] = load_grammar(model=_E["full"])
    takes = _voice_takes(voice, left_out, room)
    t = time.perf_counter()
    enrollment, log = calibrate(_E["full"], _E["grammar"], takes, coach_texts=_coach_texts(), free_model=_E["full"],
                                noisy_db=noisy_db)
    return voice, left_out, enrollment.to_json(), log, time.perf_counter() - t


def _use(enrollment_json: dict | None, takes_of: tuple[str, int | None, str | None] | None = None) -> None:
    """Make bench_recognizer's worker recognizer the one with this enrollment (None: without);
    ``takes_of`` (voice, take left out or None, room or None): also match that voice's takes, as
    ``voicecoach enroll`` stores them (without: spellings and floors only)."""
    from voicecoach.speech.calibration import take_matcher
    from voicecoach.speech.enrollment import Enrollment
    from voicecoach.speech.recognizer import CommandRecognizer

    key = repr((enrollment_json, takes_of))
    recs = br.WORKER.setdefault("recs", {})
    if key not in recs:
        base = br.WORKER.setdefault("base", br.WORKER["rec"])
        e = Enrollment.from_json(enrollment_json) if enrollment_json else None
        if e is not None and takes_of is not None:
            e = e.with_takes(take_matcher(_voice_takes(*takes_of), base.settings))
        recs[key] = base if e is None else CommandRecognizer(base.model, base.full_grammar, provisional=True,
                                                             settings=base.settings, enrollment=e)
    br.WORKER["rec"] = recs[key]


def _voice_takes(voice: str, left_out: int | None, room: str | None = None) -> dict[str, list[np.ndarray]]:
    takes = _takes(voice, room)
    return takes if left_out is None else {k: [t for i, t in enumerate(v) if i != left_out] for k, v in takes.items()}


MODES = ("without", "spellings", "with")
"""No enrollment; its spellings and floors only; and the takes matched too (what ``enroll`` gives)."""


def _pos_job(args):
    spec, enrollment = args
    out = {}
    for mode in MODES:
        _use(None if mode == "without" else enrollment, (spec["voice"], None, spec["room"]) if mode == "with" else None)
        out[mode] = br.pos_job(spec)
    return out


def _neg_job(args):
    spec, e, voice, room = args
    _use(e, (voice, None, room) if e is not None else None)
    return br.neg_job(spec)


def _stream_job(args):
    minutes, seed, voices, e, voice, room = args
    _use(e, (voice, None, room))
    return br.stream_job((minutes, seed, voices))


def _echo_job(args):
    coach_voice, e, voice, room = args
    _use(e, (voice, None, room))
    return br.echo_cue_job(coach_voice)


def _loto_job(args):
    voice, left_out, e, room = args
    from voicecoach.speech.calibration import listen

    left = {it: takes[left_out] for it, takes in _takes(voice, room).items()}
    res = []
    for mode in MODES:
        _use(None if mode == "without" else e, (voice, left_out, room) if mode == "with" else None)
        rec = br.WORKER["rec"]
        for it in ENROLLED:
            o = listen(rec, left[it])
            res.append((mode, it, o.heard == [it]))
    return voice, res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--engines", default=",".join(br.installed_engines()))
    ap.add_argument("--voices", help="comma-separated voices (default: bench_recognizer's --quick set of the engines)")
    ap.add_argument("--snrs", default="clean,20,10,5")
    ap.add_argument("--stream-minutes", type=float, default=2.0, help="negative stream per enrolled voice")
    ap.add_argument("--loto", action="store_true", help="also leave one take out")
    ap.add_argument("--negative-prosodies", type=int, default=2, choices=(1, 2),
                    help="how many of the corpus's prosodies the negative sentences are said at (default 2)")
    ap.add_argument("--echo-voices", type=int, default=None, metavar="N",
                    help="the coach's cues with echo under the first N voices' enrollments only (default: every voice)")
    ap.add_argument("--noisy-takes", default="", metavar="DB,...",
                    help="calibration also judges each take with pink noise at these SNRs (default: none)")
    ap.add_argument("--room", choices=sorted(ROOMS), default=None,
                    help="takes, test clips and the voice's negatives through this room of scripts/rooms.py "
                         "(default: none, dry)")
    args = ap.parse_args()
    room = args.room
    engines = [e for e in args.engines.split(",") if e]
    voices = tuple(args.voices.split(",")) if args.voices else tuple(v for e in engines for v in QUICK_VOICES[e])
    snrs = tuple(None if x == "clean" else int(x) for x in args.snrs.split(","))
    all_voices = tuple(v for e in engines for v in ENGINES[e])
    t0 = time.time()
    settings = {"_no_plain": True}
    with mp.Pool(args.jobs, br.init_worker, (settings,)) as pool:
        noisy = tuple(float(x) for x in args.noisy_takes.split(",") if x)
        jobs = ([(v, None, noisy, room) for v in voices]
                + ([(v, k, noisy, room) for v in voices for k in range(3)] if args.loto else []))
        cal = pool.map(_calibrate_job, jobs, chunksize=1)
        enrolled = {v: e for v, k, e, _, _ in cal if k is None}
        print(f"enrollment chosen from {len(TAKE_PROSODY)} takes x {len(ENROLLED)} intents per voice"
              + (f", all through the {room} room" if room else "")
              + (f" (and each with pink noise at {args.noisy_takes} dB)" if noisy else "") + " "
              f"in {time.time() - t0:.0f} s wall", flush=True)
        print("\n| voice | what the enrollment changes | seconds to choose |\n|---|---|---|")
        for v, k, e, log, secs in cal:
            if k is None:
                what = [f"{i}: " + ", ".join(f'"{s}"' for s in ss) for i, ss in e["spellings"].items()]
                what += [f"{i}: floor {f:.2f}" for i, f in e["floors"].items()]
                print(f"| {v} | {'; '.join(what) or 'nothing'} | {secs:.0f} |")
        pos = [s for v in voices for s in positive_specs(voices=(v,), prosody=PROSODY[:1], snrs=snrs, rooms=(room,))
               if s["intent"] in ENROLLED]
        P = pool.map(_pos_job, [(s, enrolled[s["voice"]]) for s in pos], chunksize=8)
        negs = [n for v in voices for n in negative_specs(voices=(v,), prosody=PROSODY[:args.negative_prosodies],
                                                          noise_clips=0, rooms=(room,))
                if n["kind"] != "means"]
        noise = [n for n in negative_specs(voices=voices[:1], noise_clips=30) if n["kind"] in ("pink", "breathing", "hum")]
        N_with = pool.map(_neg_job, [(n, enrolled[n["voice"]], n["voice"], room) for n in negs]
                          + [(n, enrolled[v], v, room) for n in noise for v in voices], chunksize=8)
        N_without = pool.map(_neg_job, [(n, None, None, None) for n in negs + noise], chunksize=8)
        S = pool.map(_stream_job, [(args.stream_minutes, STREAM_SEED + i, all_voices, enrolled[v], v, room)
                                   for i, v in enumerate(voices)])
        E = pool.map(_echo_job, [("en-us", enrolled[v], v, room) for v in voices[:args.echo_voices]])
        L = pool.map(_loto_job, [(v, k, e, room) for v, k, e, _, _ in cal if k is not None]) if args.loto else []
    wall = time.time() - t0

    def acc(rows, mode):
        return sum(br.heard_right(r[mode]) for r in rows), len(rows)

    snr_names = [s for s in br.SNR_ORDER if any(br.snr_name(r["without"]) == s for r in P)]
    print("\n## Accuracy without / spellings and floors only / with enrollment, takes matched too "
          "(one command out, the right one)")
    print("\n| engine | voice | " + " | ".join(snr_names) + " |\n|---|---|" + "---|" * len(snr_names))
    for e in engines:
        for v in [v for v in voices if engine_of(v) == e] + [f"all {e}"]:
            cells = []
            for s in snr_names:
                rows = [r for r in P if br.snr_name(r["without"]) == s
                        and (r["without"]["voice"] == v or (v == f"all {e}" and r["without"]["engine"] == e))]
                n = len(rows)
                cells.append(" / ".join(f"{100 * acc(rows, m)[0] / n:.1f}" for m in MODES) if n else "-")
            print(f"| {e} | {v} | " + " | ".join(cells) + " |")
    cells = []
    for s in snr_names:
        rows = [r for r in P if br.snr_name(r["without"]) == s]
        cells.append(" / ".join(f"{100 * acc(rows, m)[0] / len(rows):.1f}" for m in MODES))
    print("| all | all | " + " | ".join(cells) + " |")

    print("\n| intent | without | spellings | with |\n|---|---|---|---|")
    for it in sorted({r["without"]["intent"] for r in P}):
        rows = [r for r in P if r["without"]["intent"] == it]
        print(f"| {it} | " + " | ".join(br.pct(*acc(rows, m)) for m in MODES) + " |")
    for a_mode, b_mode in (("without", "with"), ("spellings", "with")):
        changed = collections.Counter()
        for r in P:
            a, b = br.heard_right(r[a_mode]), br.heard_right(r[b_mode])
            if a != b:
                changed[(r["without"]["voice"], r["without"]["text"], br.snr_name(r["without"]),
                         "gained" if b else "lost")] += 1
        print(f"\nclips that changed, {a_mode} -> {b_mode}: "
              + (", ".join(f"{v} {t!r} {c} {g} x{n}" for (v, t, c, g), n in sorted(changed.items())) or "none"))

    print("\n## False accepts with enrollment on")
    def fa(rows):
        return sum(bool(r["heard"]) for r in rows), len(rows)
    speech_with = [r for r in N_with if r["kind"] not in ("pink", "breathing", "hum")]
    noise_with = [r for r in N_with if r["kind"] in ("pink", "breathing", "hum")]
    speech_without = [r for r in N_without if r["kind"] not in ("pink", "breathing", "hum")]
    print("\n| negative clips | without | with |\n|---|---|---|")
    print(f"| own voice's speech (cues, everyday, holding a phrase) | {br.pct(*fa(speech_without))} | {br.pct(*fa(speech_with))} |")
    noise_without = [r for r in N_without if r["kind"] in ("pink", "breathing", "hum")]
    print(f"| noise clips (with: once per enrollment) | {br.pct(*fa(noise_without))} | {br.pct(*fa(noise_with))} |")
    for r in speech_with + noise_with:
        if r["heard"]:
            print(f"  FA with: {r['text']!r} ({r['voice']}) -> {r['heard']}")
    s_audio = sum(s["audio_s"] for s in S)
    s_heard = [h for s in S for h in s["heard"]]
    print(f"\nnegative stream, each voice's enrollment on {args.stream_minutes:g} min (seeds {STREAM_SEED}-"
          f"{STREAM_SEED + len(voices) - 1}, all {len(all_voices)} voices speaking): {s_audio / 60:.1f} min, "
          f"{len(s_heard)} commands = {len(s_heard) / (s_audio / 3600):.2f} per hour" + (f" {s_heard}" if s_heard else ""))
    e_heard = [h for e in E for h in e["heard"]]
    print(f"coach's cues through the room with echo, each enrollment on: {len(e_heard)} commands from "
          f"{sum(e['audio_s'] for e in E) / 60:.1f} min" + (f" {e_heard}" if e_heard else ""))

    if L:
        print("\n## Leave one take out (enrollment from two takes, the third tested, clean)")
        print("\n| voice | without | spellings | with |\n|---|---|---|---|")
        by = collections.defaultdict(lambda: {m: [0, 0] for m in MODES})
        for v, res in L:
            for mode, _, ok in res:
                by[v][mode][0] += ok
                by[v][mode][1] += 1
        for v in voices:
            print(f"| {v} | " + " | ".join(br.pct(*by[v][m]) for m in MODES) + " |")
        tot = {m: [sum(by[v][m][i] for v in voices) for i in (0, 1)] for m in MODES}
        print("| all | " + " | ".join(br.pct(*tot[m]) for m in MODES) + " |")

    cpu = {m: sum(r[m]["cpu"] for r in P) for m in MODES}
    audio = sum(r["without"]["audio_s"] for r in P)
    print("\nreal-time factor of the positive clips: " + ", ".join(f"{cpu[m] / audio:.4f} {m}" for m in MODES)
          + f" ({args.jobs} workers sharing {os.cpu_count()} cores)")
    print(f"{len(P)} positive clips x {len(MODES)}, {len(N_with) + len(N_without)} negative runs, {s_audio / 60:.0f} min of stream "
          f"in {wall / 60:.1f} min wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
