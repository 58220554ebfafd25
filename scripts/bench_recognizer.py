"""Benchmark the command recognizer on a generated dev corpus; prints markdown tables.

    python scripts/bench_recognizer.py                 # full run: 23 voices x 3 prosodies (over 3 h on 2 cores)
    python scripts/bench_recognizer.py --prosodies 1 --minutes 10   # every voice, one prosody
    python scripts/bench_recognizer.py --quick         # 11 voices, one prosody (~14 min on 2 cores)
    python scripts/bench_recognizer.py --minutes 10    # shorter continuous negative streams
    python scripts/bench_recognizer.py --streams-only --heldout-seed 200   # false accepts per hour on fresh seeds
    python scripts/bench_recognizer.py --quick --sweep min_confidence=0.5,0.6,0.7   # leave one engine out
    python scripts/bench_recognizer.py --quick --during plank   # as the plank hold listens ("stop", "done" too)
    python scripts/bench_recognizer.py --quick --rooms none,small,large --snrs clean,10   # the person across a room
    python scripts/bench_recognizer.py --quick --levels 0,-26 --snrs clean,10   # a quiet microphone too

Voices come from several engines (scripts/corpus.py ENGINES; ``scripts/setup
--bench`` installs MBROLA and festival); every accuracy figure is also given
per engine, beside plain Vosk decoding of the same clips (the phrases as its
grammar, plus [unk], no rejection). ``--sweep KEY=V1,V2,...`` runs the clips once
per value of a RecognizerSettings field and, for each engine, picks the value
best on the other engines and reports it on the one left out.

What it measures (targets from issue 4 in brackets):
- accuracy per intent, per SNR, per noise type and per voice (dev voices,
  looked at while choosing the rules, and held-out voices, never looked at)
  [>= 97% clean and 20 dB, >= 90% at 10 dB, >= 80% at 5 dB]; a clip counts
  as right only when exactly one command comes out and it is the right one;
- false accepts: share of negative clips (coach cues, everyday sentences, sentences that hold a phrase
  with another meaning, noise) giving any command [<= 1%], and commands per hour on a continuous
  stream of negative audio [<= 1/h], and on a second stream made the same way from seeds
  never looked at while choosing the rules (the first one's false accepts were traced and
  fixed, so it is dev data now); sentences that ask for a command in more words are
  reported apart (the command or nothing is right there);
- every sentence of the coach's program played through the room (echo gain
  0.5, 40 ms, reverb) with cancellation on, the recognizer told what each says
  as the runtime tells it [zero commands];
- marks spoken over the count with that echo [>= 90% recognised];
- latency from the end of the spoken words to ``emitted`` (audio time) of
  the first (provisional) result, p50/p95 [p95 <= 300 ms], and to the final
  one (what the coach acts on for a control), and the compute time per 50 ms block;
- real-time factor [<= 0.05] and peak memory (max RSS of a worker process).

Clips are streamed in 50 ms blocks, as the live microphone delivers them,
through a recognizer that emits provisional results, as the coach's is. A
command counts (right or false) when it is final; provisional ones taken back
are counted apart (the coach sounds a mark's earcon for them).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import multiprocessing as mp
import os
import resource
import sys
import time
from pathlib import Path
from typing import NamedTuple

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.bench_args import parse_settings, setting_value  # noqa: E402
from scripts.rooms import ROOMS  # noqa: E402
from scripts.corpus import (  # noqa: E402
    DEFAULT_NOISES,
    DEV_VOICES,
    ENGINES,
    HELDOUT_VOICES,
    PROSODY,
    QUICK_VOICES,
    make_negative,
    make_positive,
    negative_specs,
    negative_stream,
    positive_specs,
)
from voicecoach.audio.wavio import VOSK_RATE  # noqa: E402
from voicecoach.coach import program  # noqa: E402
from voicecoach.coach.session import MARKS  # noqa: E402
from voicecoach.config import validate  # noqa: E402
from voicecoach.events import Withdrawn  # noqa: E402
from voicecoach.speech import rules  # noqa: E402
from tests.speech_support import (  # noqa: E402
    build_track,
    coach_track,
    echo_of,
    engine_of,
    mic_floor,
    NOISES,
    pink_noise,
    speak,
    speech_bounds,
    to_int16,
)

SR = VOSK_RATE
BLOCK = 800  # 50 ms
DEV_STREAM_SEED = 10  # its false accepts were traced while choosing the rules
HELDOUT_STREAM_SEED = 100  # never traced: the honest figure for speech the rules were not fitted to
# (its false accepts' texts are printed by every run, though: --heldout-seed
# takes a stream nobody has seen at all)

WORKER: dict = {}


def init_worker(settings: dict | None = None) -> None:
    """Load the model and a recognizer in a worker. Settings that start with "_"
    are the bench's own (``_no_plain``: skip the plain-Vosk decode)."""
    import vosk

    settings = dict(settings or {})
    WORKER["with_plain"] = not settings.pop("_no_plain", False)
    vosk.SetLogLevel(-1)
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer, RecognizerSettings

    from voicecoach.model import load_model

    grammar_path = settings.pop("_grammar", None)
    phase = settings.pop("_during", None)
    model = load_model(grammar_only=not settings.get("verify"))
    grammar = load_grammar(grammar_path, model=model)
    WORKER["rec"] = CommandRecognizer(model, grammar, provisional=True, settings=RecognizerSettings(**settings))
    WORKER["rec"].listen_during(phase)  # kept through each clip's reset
    WORKER["model"], WORKER["grammar"] = model, grammar.listening(phase)


def _plain(audio: np.ndarray) -> list[str]:
    """The intents plain Vosk hears in ``audio``: the grammar's phrases as its
    grammar, plus [unk], streamed in 50 ms blocks; a result counts when its
    words, [unk] left out, are exactly a phrase (fillers allowed)."""
    import json

    import vosk

    grammar = WORKER["grammar"]
    if "plain" not in WORKER:
        WORKER["plain"] = json.dumps(list(grammar.phrases) + ["[unk]"])
    dec = vosk.KaldiRecognizer(WORKER["model"], SR, WORKER["plain"])
    pcm = to_int16(audio)
    texts = []
    for i in range(0, len(pcm), BLOCK):
        if dec.AcceptWaveform(pcm[i : i + BLOCK].tobytes()):
            texts.append(json.loads(dec.Result()).get("text", ""))
    texts.append(json.loads(dec.FinalResult()).get("text", ""))
    heard = []
    for text in texts:
        words = [w for w in text.split() if w != "[unk]"]
        found = grammar.match(words) if words else None
        if found:
            heard.append(found[1].name)
    return heard


class Got(NamedTuple):
    """A final command, with when it was first emitted (provisional or final) and when it was settled."""

    intent: str
    text: str
    start: float
    first: float
    settled: float


def _commands(events) -> tuple[list[Got], list[str]]:
    """The final commands among a recognizer's ``events``, and (intent, text) of the provisional ones taken back."""
    first: dict[tuple, float] = {}
    got, withdrawn = [], []
    for e in events:
        key = (e.intent, e.start, e.end)
        if isinstance(e, Withdrawn):
            first.pop(key, None)
            withdrawn.append((e.intent, e.text))
        elif not e.final:
            first[key] = e.emitted
        else:
            got.append(Got(e.intent, e.text, e.start, first.pop(key, e.emitted), e.emitted))
    return got, withdrawn


def _stream(audio: np.ndarray, reference: np.ndarray | None = None, t0: float = 0.0, coach_says=()):
    """Feed ``audio`` in 50 ms blocks, the recognizer told first what the coach says
    when (``(text, start, end)``, as the runtime tells it); returns (the final
    commands, (intent, text) of the provisional ones taken back, compute seconds,
    per-block compute times)."""
    rec = WORKER["rec"]
    rec.reset()
    for text, start, end in coach_says:
        rec.coach_says(text, t0 + start, t0 + end)
    pcm = to_int16(audio)
    out = []
    times = []
    t_all = time.perf_counter()
    for i in range(0, len(pcm), BLOCK):
        t = time.perf_counter()
        ref = None if reference is None else reference[i : i + BLOCK]
        out += rec.feed(pcm[i : i + BLOCK], t0 + i / SR, ref)
        times.append(time.perf_counter() - t)
    out += rec.finish()
    cpu = time.perf_counter() - t_all
    return (*_commands(out), cpu, times)


def _explained(job):
    """Run ``job()`` with the recognizer explaining; returns its result and the
    (verdict, other rules that agree) of every candidate."""
    rec = WORKER["rec"]
    rec.explain = []
    try:
        result = job()
        return result, [(e.verdict, e.also) for e in rec.explain]
    finally:
        rec.explain = None


def pos_job(spec: dict):
    clip = make_positive(spec)
    (heard, withdrawn, cpu, times), explained = _explained(lambda: _stream(clip.audio))
    return {
        "verdicts": [v for v, _ in explained],
        "explained": explained,
        **{k: spec[k] for k in ("intent", "text", "voice", "speed", "pitch", "noise", "snr", "room", "level_db")},
        "engine": engine_of(spec["voice"]),
        "plain": _plain(clip.audio) if WORKER.get("with_plain", True) else None,
        "words_end": clip.words_end,
        "heard": [(h.intent, h.first, h.settled) for h in heard],
        "withdrawn": withdrawn,
        "audio_s": len(clip.audio) / SR,
        "cpu": cpu,
        "block_p95": float(np.percentile(times, 95)) if times else 0.0,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def neg_job(spec: dict):
    clip = make_negative(spec)
    (heard, withdrawn, cpu, _), explained = _explained(lambda: _stream(clip.audio))
    return {
        "explained": explained,
        "text": spec["text"],
        "kind": spec["kind"],
        "intent": spec.get("intent"),
        "voice": spec.get("voice", ""),
        "room": spec.get("room"),
        "level_db": spec.get("level_db", 0.0),
        "engine": engine_of(spec["voice"]) if spec.get("voice") else "",
        "heard": [(h.intent, h.text) for h in heard],
        "withdrawn": withdrawn,
        "audio_s": len(clip.audio) / SR,
        "cpu": cpu,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def stream_job(args):
    minutes, seed, voices = args
    rec = WORKER["rec"]
    rec.reset()
    rec.explain = []
    heard = []
    n = 0
    t_all = time.perf_counter()
    rest = np.zeros(0, np.int16)
    for chunk in negative_stream(minutes, seed=seed, voices=voices):
        pcm = np.concatenate([rest, to_int16(chunk)])
        usable = len(pcm) // BLOCK * BLOCK
        for i in range(0, usable, BLOCK):
            heard += rec.feed(pcm[i : i + BLOCK], n / SR)
            n += BLOCK
        rest = pcm[usable:]
    heard += rec.finish()
    cpu = time.perf_counter() - t_all
    heard, withdrawn = _commands(heard)
    explained, rec.explain = [(e.verdict, e.also) for e in rec.explain], None
    return {
        "explained": explained,
        "audio_s": n / SR,
        "cpu": cpu,
        "heard": [(h.intent, h.text, h.start) for h in heard],
        "withdrawn": withdrawn,
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def echo_cue_job(voice: str):
    """Every sentence of the coach's program through the room, cancellation on: any command is a failure."""
    t, clips, told = 0.2, [], []
    for c in program.phrases(validate({})["program"]):
        clip = speak(c, voice=voice)
        clips.append((t, clip))
        told.append((c, t, t + len(clip) / SR))
        t += len(clip) / SR + 0.4
    played = build_track(clips, t + 1.0)
    mic = echo_of(played, gain=0.5, delay_ms=40) + pink_noise((len(played) + 0.5) / SR, seed=3)[: len(played)] * 0.003
    (heard, _, cpu, _), explained = _explained(lambda: _stream(np.clip(mic, -1, 1), reference=played, coach_says=told))
    return {"voice": voice, "heard": [(h.intent, h.text) for h in heard], "audio_s": len(played) / SR, "cpu": cpu,
            "explained": explained}


def _barge_job(args):
    text, intent, user_voice, offset, coach_voice, warmup, delay_ms = args
    played, starts = coach_track(warmup_s=warmup, voice=coach_voice)
    user = speak(text, voice=user_voice)
    at = starts[1] + offset
    mic = (echo_of(played, gain=0.5, delay_ms=delay_ms) + build_track([(at, user)], len(played) / SR)
           + mic_floor(len(played)))
    (heard, _, cpu, _), explained = _explained(lambda: _stream(np.clip(mic, -1, 1), reference=played))
    ok = [h.intent for h in heard] == [intent]
    return {
        "explained": explained,
        "intent": intent,
        "warmup": warmup,
        "delay_ms": delay_ms,
        "ok": ok,
        "latency": heard[0].first - (at + speech_bounds(user)[1]) if ok else None,
        "heard": [h.intent for h in heard],
        "audio_s": len(played) / SR,
        "cpu": cpu,
    }


def _print_rules(positives: list[dict], negatives: list[dict]) -> None:
    """What each rejection rule did: the candidates it was the verdict on, in
    command clips that were missed and in everything that holds no command
    (negative clips, streams, the coach's cues), and how many of those no
    other rule of its stage rejected (with the rule gone, these would pass that stage)."""
    def count(rows):
        first, alone = collections.Counter(), collections.Counter()
        for r in rows:
            for verdict, also in r.get("explained", ()):
                first[verdict] += 1
                alone[verdict] += not also
        return first, alone

    missed_first, missed_alone = count(r for r in positives if not heard_right(r))
    neg_first, neg_alone = count(negatives)
    print("\n## Rejection rules: candidates each was the verdict on (alone in its stage)")
    print("\n| rule | in missed command clips | in audio with no command |\n|---|---|---|")
    for rule in (*rules.AT_ONCE, *rules.ON_SETTLING):
        name = rule.__name__
        print(f"| {name} | {missed_first[name]} ({missed_alone[name]}) | {neg_first[name]} ({neg_alone[name]}) |")


def pct(a: int, n: int) -> str:
    return f"{100.0 * a / n:.1f}% ({a}/{n})" if n else "-"


def _print_streams(dev: list[dict], heldout: list[dict], heldout_seed: int) -> None:
    for title, runs in (
        (f"continuous negative stream, seeds {DEV_STREAM_SEED}-{DEV_STREAM_SEED + len(dev) - 1}", dev),
        (f"continuous negative stream, held-out seeds {heldout_seed}-{heldout_seed + len(heldout) - 1}", heldout),
    ):
        s_audio = sum(s["audio_s"] for s in runs)
        s_heard = [h for s in runs for h in s["heard"]]
        s_back = [w for s in runs for w in s["withdrawn"]]
        print(f"\n{title}: {s_audio / 60:.1f} min, {len(s_heard)} commands "
              f"= {len(s_heard) / (s_audio / 3600):.2f} per hour" + (f"  {s_heard[:8]}" if s_heard else ""))
        print(f"provisional commands taken back in it: {len(s_back)} = {len(s_back) / (s_audio / 3600):.2f} per hour "
              f"({sum(intent in MARKS for intent, _ in s_back)} of them marks, whose earcon sounds)" + (f"  {s_back[:8]}" if s_back else ""))


SNR_ORDER = ("clean", "20 dB", "10 dB", "5 dB")


def installed_engines() -> list[str]:
    """The engines whose synthesizers are on this machine."""
    import shutil

    have = {"espeak": shutil.which("espeak-ng") is not None,
            "espeak-mbrola": Path("/usr/share/mbrola/us1").exists() and shutil.which("espeak-ng") is not None,
            "festival-mbrola": shutil.which("text2wave") is not None and Path("/usr/share/mbrola/us1").exists(),
            "festival": shutil.which("text2wave") is not None,
            "flite": shutil.which("flite") is not None,
            "rhvoice": shutil.which("RHVoice-test") is not None,
            "pico": shutil.which("pico2wave") is not None}
    return [e for e in ENGINES if have[e]]


def snr_name(r) -> str:
    return "clean" if r["snr"] is None else f"{r['snr']} dB"


def _right(heard: list[str], intent: str) -> bool:
    """One command out, and the right one."""
    return heard == [intent]


def heard_right(r: dict) -> bool:
    """A positive clip's result is right (see :func:`_right`)."""
    return _right([h[0] for h in r["heard"]], r["intent"])


def engine_table(P: list[dict]) -> None:
    """Accuracy per engine and SNR, the recognizer beside plain Vosk decoding."""
    print("\n| engine | " + " | ".join(f"{s}: coach / plain" for s in SNR_ORDER) + " |\n|---|"
          + "---|" * len(SNR_ORDER))
    for e in sorted({r["engine"] for r in P}, key=list(ENGINES).index) + ["all"]:
        cells = []
        for snr in SNR_ORDER:
            rows = [r for r in P if snr_name(r) == snr and e in ("all", r["engine"])]
            coach = sum(heard_right(r) for r in rows)
            plain = sum(_right(r["plain"], r["intent"]) for r in rows if r["plain"] is not None)
            cells.append(f"{100 * coach / len(rows):.1f} / {100 * plain / len(rows):.1f} %" if rows else "-")
        print(f"| {e} | " + " | ".join(cells) + " |")


def sweep(spec: str, settings: dict, voices, prosody, jobs: int, engines: list[str], snrs, rooms=(None,),
          noises=DEFAULT_NOISES, levels=(0.0,)) -> int:
    """Leave one engine out: for each engine, the value best on the others, reported on it.

    A value's score on a set of clips is its accuracy over all SNRs less ten
    times its false-accept share of negative clips, so one false accept weighs
    as much as ten missed commands.
    """
    key, _, values = spec.partition("=")
    values = [setting_value(v) for v in values.split(",")]
    pos = list(positive_specs(voices=voices, prosody=prosody, snrs=snrs, during=settings.get("_during"), rooms=rooms,
                              noises=noises, levels=levels))
    neg = [n for n in negative_specs(voices=voices, prosody=prosody[:1], rooms=rooms, levels=levels)
           if n["kind"] not in ("means",)]
    print(f"sweep {key} over {values}: {len(pos)} positive, {len(neg)} negative clips; engines {', '.join(engines)}",
          flush=True)
    runs = {}
    for v in values:
        with mp.Pool(jobs, init_worker, ({**settings, key: v, "_no_plain": True},)) as pool:
            runs[v] = (pool.map(pos_job, pos, chunksize=8), pool.map(neg_job, neg, chunksize=8))

    def score(v, keep) -> tuple[float, float, float]:
        P = [r for r in runs[v][0] if keep(r["engine"])]
        N = [r for r in runs[v][1] if keep(r["engine"])]
        acc = sum(heard_right(r) for r in P) / max(1, len(P))
        fa = sum(bool(r["heard"]) for r in N) / max(1, len(N))
        return acc - 10 * fa, acc, fa

    print(f"\n| value of {key} | " + " | ".join(engines) + " | all |\n|---|" + "---|" * (len(engines) + 1))
    for v in values:
        cells = [score(v, lambda e, x=x: e == x) for x in engines] + [score(v, lambda e: True)]
        print(f"| {v} | " + " | ".join(f"{100 * a:.1f} % / FA {100 * f:.1f} %" for _, a, f in cells) + " |")
    print("\n| engine left out | value chosen on the others | its accuracy / FA there (the worst of tied values) "
          "| best value for it alone |\n|---|---|---|---|")
    for held in engines:
        chosen = best(values, lambda v: score(v, lambda e: e != held and e in engines)[0])
        own = best(values, lambda v: score(v, lambda e: e == held)[0])
        _, acc, fa = min((score(v, lambda e: e == held) for v in chosen), key=lambda s: s[0])
        print(f"| {held} | {_tied(chosen)} | {100 * acc:.1f} % / {100 * fa:.1f} % | {_tied(own)} |")
    return 0


def best(values: list, score) -> list:
    """Every value with the highest ``score(value)``: several when they tie, so
    that a tie is reported as one rather than settled by the order of the list."""
    scored = [(score(v), v) for v in values]
    top = max(s for s, _ in scored)
    return [v for s, v in scored if s == top]


def _tied(values: list) -> str:
    return str(values[0]) if len(values) == 1 else ", ".join(map(str, values)) + " (tied)"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small subset for a fast look")
    ap.add_argument("--prosodies", type=int, choices=range(1, len(PROSODY) + 1), default=None,
                    help=f"how many of the {len(PROSODY)} speed/pitch variants each voice speaks (default: all; --quick: 1)")
    ap.add_argument("--minutes", type=float, default=60.0, help="length of each continuous negative stream (dev and held out)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--heldout-seed", type=int, default=HELDOUT_STREAM_SEED,
                    help=f"first seed of the held-out stream (default {HELDOUT_STREAM_SEED}); one per job from it")
    ap.add_argument("--streams-only", action="store_true", help="only the two continuous negative streams")
    ap.add_argument("--verify", action="store_true", help="turn on the open-vocabulary second pass")
    ap.add_argument("--save", metavar="FILE", help="also pickle the raw per-clip results to FILE")
    ap.add_argument("--echo-delays", default="40", metavar="MS,...",
                    help="echo path delays (ms) the marks over the count are tried at; the first is the main table's")
    ap.add_argument("--grammar", metavar="FILE", help="a grammar file to measure instead of grammars/en.toml")
    ap.add_argument("--during", metavar="PHASE",
                    help="listen as in that phase of a session (plank: with \"stop\" and \"done\")")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a RecognizerSettings field (e.g. min_confidence=0.5)")
    ap.add_argument("--engines", default=",".join(installed_engines()),
                    help=f"comma-separated, of {', '.join(ENGINES)} (default: those installed)")
    ap.add_argument("--snrs", default="clean,20,10,5",
                    help="noise levels of the positive clips, comma-separated (default clean,20,10,5)")
    ap.add_argument("--noises", default=",".join(DEFAULT_NOISES),
                    help=f"noise types of the noisy positive clips, of {', '.join(NOISES)} (default "
                         f"{','.join(DEFAULT_NOISES)}; babble chose person_range_db alone, music chose nothing)")
    ap.add_argument("--rooms", default="none",
                    help="where the person speaks, comma-separated: none (dry), or rooms of scripts/rooms.py "
                         f"({', '.join(ROOMS)}); every positive clip once per room (default none)")
    ap.add_argument("--levels", default="0", metavar="DB,...",
                    help="the microphone's gain in dB, comma-separated: every clip (positive and negative) once "
                         "at each (default 0: as spoken, the loudest syllables about 13 dB under full scale)")
    ap.add_argument("--sweep", metavar="KEY=V1,V2,...",
                    help="leave one engine out: clips only, once per value of a RecognizerSettings field")
    args = ap.parse_args()
    settings = {"verify": True} if args.verify else {}
    settings.update(parse_settings(args.set))
    if args.grammar:
        settings["_grammar"] = args.grammar
    if args.during:
        settings["_during"] = args.during
    if settings:
        print(f"settings: {settings}")
    engines = [e for e in args.engines.split(",") if e]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(unknown)}; known: {', '.join(ENGINES)}")

    voices = tuple(v for e in engines for v in ENGINES[e])
    prosody = PROSODY[:args.prosodies] if args.prosodies else PROSODY
    if args.quick:
        voices = tuple(v for e in engines for v in QUICK_VOICES[e])
        prosody = PROSODY[:args.prosodies or 1]
        args.minutes = min(args.minutes, 5.0)
    snrs = tuple(None if x == "clean" else int(x) for x in args.snrs.split(","))
    rooms = tuple(None if x == "none" else x for x in args.rooms.split(","))
    if any(r is not None and r not in ROOMS for r in rooms):
        ap.error(f"unknown room in {args.rooms!r}; known: none, {', '.join(ROOMS)}")
    levels = tuple(float(x) for x in args.levels.split(","))
    noises = tuple(args.noises.split(","))
    if any(n not in NOISES for n in noises):
        ap.error(f"unknown noise in {args.noises!r}; known: {', '.join(NOISES)}")
    if args.sweep:
        return sweep(args.sweep, settings, voices, prosody, args.jobs, engines, snrs, rooms, noises, levels)
    pos = list(positive_specs(voices=voices, prosody=prosody, snrs=snrs, during=args.during, rooms=rooms,
                              noises=noises, levels=levels))
    neg = list(negative_specs(voices=voices, prosody=prosody[:2], rooms=rooms, levels=levels))
    coach_voices = ("en-gb-x-rp", "en-us", "en-us+f4")
    barge = list(
        itertools.product(
            [("stop point", "stop_point"), ("back arched", "back_arched"), ("good rep", "good_rep"), ("doming", "doming")],
            ("en-us", "en-us+f2", "en+m7") if not args.quick else ("en-us",),
            (0.0, 0.3, 0.6, 0.9, 1.2),
            coach_voices[:2] if not args.quick else coach_voices[:1],
            (20.0, 3.0),
        )
    )
    delays = [float(x) for x in args.echo_delays.split(",")]
    barge = [(t, i, uv, off, cv, w, d) for (t, i), uv, off, cv, w in barge for d in delays]
    half = args.minutes / max(1, args.jobs)
    if args.streams_only:
        pos, neg, coach_voices, barge = [], [], (), []
        print(f"corpus: two {args.minutes:g}-min streams (dev, held out); voices: {', '.join(v for e in engines for v in ENGINES[e])}", flush=True)
    else:
        print(f"corpus: {len(pos)} positive clips, {len(neg)} negative clips, two {args.minutes:g}-min streams (dev, held out), "
              f"{len(coach_voices)} coach voices with echo, {len(barge)} barge-in runs; voices: {', '.join(voices)}", flush=True)

    t0 = time.time()
    with mp.Pool(args.jobs, init_worker, (settings,)) as pool:
        # The streams speak with every voice of the engines chosen, --quick or not.
        all_voices = tuple(v for e in engines for v in ENGINES[e])
        streams = [(half, seed + j, all_voices) for seed in (DEV_STREAM_SEED, args.heldout_seed) for j in range(args.jobs)]
        stream_async = pool.map_async(stream_job, streams)
        P = pool.map(pos_job, pos, chunksize=16)
        N = pool.map(neg_job, neg, chunksize=16)
        E = pool.map(echo_cue_job, coach_voices)
        B = pool.map(_barge_job, barge, chunksize=4)
        S = stream_async.get()
    S, SH = S[: args.jobs], S[args.jobs :]
    wall = time.time() - t0
    if args.streams_only:
        _print_streams(S, SH, args.heldout_seed)
        _print_rules([], S + SH)
        print(f"\n{sum(s['audio_s'] for s in S + SH) / 3600:.2f} h of audio in {wall / 60:.1f} min wall")
        return 0
    if args.save:
        import pickle

        with open(args.save, "wb") as f:
            pickle.dump({"P": P, "N": N, "E": E, "B": B, "S": S, "SH": SH, "wall": wall}, f)

    # --- accuracy -------------------------------------------------------------
    def table(title, key, rows, order=None):
        groups = collections.defaultdict(lambda: [0, 0])
        for r in rows:
            g = groups[key(r)]
            g[0] += heard_right(r)
            g[1] += 1
        print(f"\n| {title} | accuracy |\n|---|---|")
        for k in order or sorted(groups, key=str):
            if k in groups:
                print(f"| {k} | {pct(*groups[k])} |")

    print("\n## Accuracy (one command out, the right one)")
    table("SNR", snr_name, P, SNR_ORDER)
    table("SNR, held-out espeak voices only", snr_name, [r for r in P if r["voice"] in HELDOUT_VOICES], SNR_ORDER)
    if rooms == (None,) and len(levels) == 1:
        engine_table(P)
    for room in rooms if rooms != (None,) else ():
        print(f"\nthe person {'in the ' + room + ' room' if room else 'dry (no room)'}:")
        engine_table([r for r in P if r["room"] == room])
    for level in levels if len(levels) > 1 else ():
        print(f"\nthe microphone's gain {level:+g} dB:")
        engine_table([r for r in P if r["level_db"] == level])
    table("noise type x SNR", lambda r: f"{r['noise']} {'' if r['snr'] is None else str(r['snr']) + ' dB'}".strip(), P)
    table("intent", lambda r: r["intent"], P)
    table("phrase said", lambda r: r["text"], P)
    table("voice", lambda r: r["voice"] + (" (held out)" if r["voice"] in HELDOUT_VOICES else
                                           " (dev)" if r["voice"] in DEV_VOICES else ""), P)
    table("speed/pitch", lambda r: f"{r['speed']} wpm, pitch {r['pitch']}", P)
    why = collections.Counter(
        "the decoder heard no words" if not r["verdicts"] else
        next((v for v in r["verdicts"] if v != "command"), "command, but not one right one")
        for r in P if not heard_right(r))
    print("\n| why a command was missed (first verdict not 'command') | clips |\n|---|---|")
    for reason, n in why.most_common():
        print(f"| {reason} | {n} |")
    wrong = collections.Counter((r["text"], tuple(h[0] for h in r["heard"])) for r in P if not heard_right(r) and r["heard"])
    print(f"\nwrong command (not just missed): {sum(wrong.values())} of {len(P)} clips; most common: "
          + ", ".join(f"{t!r}->{'/'.join(h)} x{n}" for (t, h), n in wrong.most_common(5)))

    # --- false accepts -----------------------------------------------------------
    print("\n## False accepts")
    fa = collections.defaultdict(lambda: [0, 0])
    means = [r for r in N if r["kind"] == "means"]
    N = [r for r in N if r["kind"] != "means"]
    for r in N:
        cat = r["kind"] if r["kind"] in ("cue", "everyday", "contains") else "noise"
        fa[cat][0] += bool(r["heard"])
        fa[cat][1] += 1
        fa["all"][0] += bool(r["heard"])
        fa["all"][1] += 1
    print("\n| negative clips | with any command |\n|---|---|")
    for k in ("cue", "everyday", "contains", "noise", "all"):
        print(f"| {k} | {pct(*fa[k])} |")
    for e in engines:
        rows = [r for r in N if r["engine"] == e]
        print(f"| {e} (speech) | {pct(sum(bool(r['heard']) for r in rows), len(rows))} |")
    for level in levels if len(levels) > 1 else ():
        rows = [r for r in N if r["level_db"] == level]
        print(f"| all at a gain of {level:+g} dB | {pct(sum(bool(r['heard']) for r in rows), len(rows))} |")
    for room in rooms if rooms != (None,) else ():
        rows = [r for r in N if r["engine"] and r["room"] == room]
        print(f"| speech {'in the ' + room + ' room' if room else 'dry'} | "
              f"{pct(sum(bool(r['heard']) for r in rows), len(rows))} |")
    for r in N:
        if r["heard"]:
            print(f"  FA: {r['text']!r} ({r['voice']}{', ' + r['room'] + ' room' if r['room'] else ''}) -> {r['heard']}")
    taken_back = sum(bool(r["withdrawn"]) for r in N)
    print(f"negative clips with a provisional command taken back (a mark's earcon sounds): {pct(taken_back, len(N))}")
    if means:
        took = sum(1 for r in means if r["heard"] and all(h[0] == r["intent"] for h in r["heard"]))
        other = sum(1 for r in means if any(h[0] != r["intent"] for h in r["heard"]))
        print(f"\nsentences asking for a command in more words (\"my back arched a lot in that one\"; the command or "
              f"nothing is right): {len(means)} clips, {took} taken as that command, {len(means) - took - other} "
              f"as nothing, {other} as another command (an error)")
    _print_streams(S, SH, args.heldout_seed)

    _print_rules(P, N + E + S + SH)

    # --- echo ------------------------------------------------------------------------
    print("\n## Echo (gain 0.5, 40 ms, reverb RT60 0.25 s), cancellation on")
    e_heard = [h for e in E for h in e["heard"]]
    print(f"\ncoach's own cues through the room: {len(e_heard)} commands from "
          f"{sum(e['audio_s'] for e in E) / 60:.1f} min of cues by {len(E)} coach voices" + (f" {e_heard}" if e_heard else ""))
    own = sum(v == "coach_said_it" and not also for e in E for v, also in e["explained"])
    print(f"of them rejected by coach_said_it alone (the phrase inside the coach's own sentence): {own}")
    by_delay = sorted({b["delay_ms"] for b in B})
    if len(by_delay) > 1:
        print("\n| marks spoken over the count, echo delayed by | recognised |\n|---|---|")
        for d in by_delay:
            rows = [b for b in B if b["delay_ms"] == d]
            print(f"| {d:g} ms | {pct(sum(b['ok'] for b in rows), len(rows))} |")
    first_delay = float(args.echo_delays.split(",")[0])
    B = [b for b in B if b["delay_ms"] == first_delay]
    print(f"\n| marks spoken over the count (echo {first_delay:g} ms) | recognised |\n|---|---|")
    for w in sorted({b["warmup"] for b in B}, reverse=True):
        rows = [b for b in B if b["warmup"] == w]
        print(f"| after {w:g} s of coach speech | {pct(sum(b['ok'] for b in rows), len(rows))} |")
        for intent in sorted({b["intent"] for b in rows}):
            sub = [b for b in rows if b["intent"] == intent]
            print(f"| &nbsp;&nbsp;{intent} | {pct(sum(b['ok'] for b in sub), len(sub))} |")
    bad = [b for b in B if b["heard"] and not b["ok"]]
    print(f"\nwrong command during barge-in: {len(bad)}")
    b_lat = np.array([b["latency"] for b in B if b["ok"]])
    if len(b_lat):
        print(f"end of words -> emitted over the count: p50 {1000 * np.median(b_lat):.0f} ms, "
              f"p95 {1000 * np.percentile(b_lat, 95):.0f} ms")

    # --- latency, speed, memory ------------------------------------------------------------
    lat = np.array([r["heard"][0][1] - r["words_end"] for r in P if heard_right(r)])
    settled = np.array([r["heard"][0][2] - r["words_end"] for r in P if heard_right(r)])
    block = np.array([r["block_p95"] for r in P])
    s_audio = sum(s["audio_s"] for s in S)
    cpu = sum(r["cpu"] for r in P + N) + sum(s["cpu"] for s in S) + sum(e["cpu"] for e in E) + sum(b["cpu"] for b in B)
    audio = sum(r["audio_s"] for r in P + N) + s_audio + sum(e["audio_s"] for e in E) + sum(b["audio_s"] for b in B)
    rss = max([r["rss"] for r in P + N] + [s["rss"] for s in S])
    # One stream alone, as live: a minute of talk, breathing and commands, with and without the coach's echo.
    init_worker(settings)
    played, starts = coach_track(warmup_s=50.0)
    dur = len(played) / SR
    user = build_track([(5.0 + 7.0 * i, speak(t)) for i, t in enumerate(["stop point", "what time is it", "next set", "my legs are shaking", "pause"])], dur)
    from tests.speech_support import breathing_noise

    mic = np.clip(user + breathing_noise(dur, seed=9) * 0.02, -1, 1)
    *_, cpu_alone, _ = _stream(mic)
    *_, cpu_echo, blocks_echo = _stream(np.clip(mic + echo_of(played, gain=0.5, delay_ms=40), -1, 1), reference=played)
    print("\n## Latency, speed, memory")
    print(f"\n| measure | value |\n|---|---|")
    print(f"| end of words -> emitted, p50 | {1000 * np.percentile(lat, 50):.0f} ms |")
    print(f"| end of words -> emitted, p95 | {1000 * np.percentile(lat, 95):.0f} ms |")
    print(f"| end of words -> emitted, max | {1000 * lat.max():.0f} ms |")
    print(f"| end of words -> final (settled), p50 / p95 | {1000 * np.percentile(settled, 50):.0f} / "
          f"{1000 * np.percentile(settled, 95):.0f} ms |")
    print(f"| compute per 50 ms block, p95 (median over clips) | {1000 * np.median(block):.1f} ms |")
    print(f"| real-time factor, one stream alone, no echo ({dur:.0f} s) | {cpu_alone / dur:.4f} |")
    print(f"| real-time factor, one stream alone, echo cancellation on | {cpu_echo / dur:.4f} |")
    print(f"| compute per 50 ms block with echo cancellation, p95 | {1000 * np.percentile(blocks_echo, 95):.1f} ms |")
    print(f"| real-time factor, whole benchmark ({args.jobs} workers sharing {os.cpu_count()} cores) | {cpu / audio:.4f} |")
    print(f"| peak memory (max RSS of a worker, model included) | {rss / 1024:.0f} MB |")
    print(f"| audio processed | {audio / 3600:.2f} h in {wall / 60:.1f} min wall |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
