"""How long enrolling the four marks live takes the person (issue 22: under two minutes).

    python scripts/bench_enroll_time.py [--runs 3] [--reaction 0.5] [--voice en-us+f2] [--quiet-take]

Runs ``voicecoach enroll`` with no intent (the four marks, what a person runs)
through a private null sink, the room, with a fresh data dir and clip cache
each run (a first enrollment: the prompts are rendered as it goes). Each time
the coach prints "listening:", the simulated person says the phrase asked for
``--reaction`` seconds later: espeak-ng in ``--voice``, take k at
bench_enroll's k-th rate and pitch (tests/enroll_support.py drives it, as
tests/test_enroll_live.py). ``--quiet-take``: the first take is far too
quiet, so the coach refuses it and asks again (the cost of a retry).

Printed per run: start-up (process start to the first prompt), the person's
time (the first prompt to the last take stored), time per take, prompts
spoken, what follows the last take (loading the model, choosing, storing) and
the wall time; then where a take's time goes, from when each line was
printed: the prompt ("Say X." until listening: synthesis, the speaker opened,
the speech, SETTLE_S), listening (the reaction, the take, the quiet that ends
it) and the "Got it." between phrases.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from scripts.bench_enroll import TAKE_PROSODY  # noqa: E402
from tests.enroll_support import enroll_live, room_env  # noqa: E402
from tests.null_sinks import null_sink  # noqa: E402
from tests.speech_support import speak, write_wav  # noqa: E402

PHRASES = ("stop point", "back arched", "good rep", "doming")
"""What the coach asks for: the first phrase of each mark (a take of another phrase is rendered when asked)."""
QUIET_GAIN = 0.012
"""The too-quiet take's gain, as tests/test_enroll_live.py's."""


def _phrase_and_take(line: str) -> tuple[str, int]:
    # listening: say "back arched" (take 1 of 3)
    phrase = line.split('"')[1]
    return phrase, int(line.rsplit("(take ", 1)[1].split(" ")[0])


def one_run(args, work: Path) -> dict:
    """One enrollment; its figures (seconds) from the times its lines were printed."""
    data = work / "data"
    env = dict(os.environ, VOICECOACH_DATA=str(data), VOICECOACH_DB=str(data / "history.db"),
               VOICECOACH_CONFIG=str(work / "config.toml"), VOICECOACH_CACHE=str(work / "cache"))
    rendered: dict[Path, float] = {}

    def render(phrase: str, k: int, quiet: bool) -> Path:
        wav = work / f"{phrase.replace(' ', '_')}_{k}{'_quiet' if quiet else ''}.wav"
        if wav not in rendered:
            speed, pitch = TAKE_PROSODY[(k - 1) % len(TAKE_PROSODY)]
            x = speak(phrase, voice=args.voice, speed=speed, pitch=pitch)
            write_wav(wav, x * (QUIET_GAIN if quiet else 1.0))
            rendered[wav] = len(x) / 16000
        return wav

    takes: list[float] = []

    def answer(n: int, line: str) -> Path:
        phrase, k = _phrase_and_take(line)
        wav = render(phrase, k, args.quiet_take and n == 0)
        takes.append(rendered[wav])
        return wav

    # rendered before the clock starts: a person does not wait for these
    for phrase in PHRASES:
        for k in range(1, 4):
            render(phrase, k, False)
    sink = f"vc_enrolltime_{os.getpid()}"
    with null_sink(sink):
        run = enroll_live([], answer, dict(env, **room_env(sink)), reaction_s=args.reaction, timeout_s=600)
    if run.returncode != 0:
        raise SystemExit(f"voicecoach enroll failed ({run.returncode}): {run.stderr.strip()[-500:]}")
    return figures(run, takes)


def figures(run, takes: list[float]) -> dict:
    """The person's time and its parts, from the stamped lines of ``run``."""
    lines, t = run.lines, run.times
    say = [i for i, line in enumerate(lines) if line.startswith('coach: "Say ')]
    ok = [i for i, line in enumerate(lines) if line.startswith("take ") and line.endswith(": ok")]
    coach = [i for i, line in enumerate(lines) if line.startswith("coach: ")]
    stored = next(i for i, line in enumerate(lines) if line.startswith("stored in "))
    prompt, listen, per_take, retry, between = [], [], [], [], []
    for j, s in enumerate(say):
        heard = next(i for i in range(s, len(lines)) if lines[i].startswith("listening:"))
        result = next(i for i in range(heard, len(lines)) if lines[i].startswith("take "))
        prompt.append(t[heard] - t[s])
        listen.append(t[result] - t[heard])
        if lines[result].endswith(": ok"):
            per_take.append(t[result] - t[s])
            following = [i for i in coach if i > result]
            if following and lines[following[0]] == 'coach: "Got it."' and j + 1 < len(say):
                between.append(t[say[j + 1]] - t[result])
        else:
            retry.append(t[say[j + 1]] - t[s])
    return {"startup": t[coach[0]], "person": t[ok[-1]] - t[coach[0]], "takes": len(ok),
            "prompts": len(coach), "asks": len(say), "per_take": per_take, "retry": retry,
            "after": t[stored] - t[ok[-1]], "wall": run.wall_s, "prompt": prompt, "listen": listen,
            "between": between, "take_speech": takes}


def _spread(xs: list[float]) -> str:
    return f"{statistics.mean(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})" if xs else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1, help="enrollments, one after another")
    ap.add_argument("--reaction", type=float, default=0.5,
                    help="seconds from the coach's 'listening:' line to the person's take (default 0.5)")
    ap.add_argument("--voice", default="en-us+f2", help="espeak-ng voice of the takes (default en-us+f2)")
    ap.add_argument("--quiet-take", action="store_true", help="the first take far too quiet: one retry")
    args = ap.parse_args()

    from voicecoach.model import find_model

    if not os.environ.get("VOICECOACH_MODEL"):
        model = find_model()  # before the runs move VOICECOACH_DATA away from it
        if model is None:
            raise SystemExit("no Vosk model installed; run scripts/setup")
        os.environ["VOICECOACH_MODEL"] = str(model)
    subprocess.run([str(ROOT / "scripts" / "pulse-null-sink")], check=True, capture_output=True)

    print(f"voicecoach enroll (four marks), voice {args.voice}, reaction {args.reaction:.2f} s"
          + (", first take too quiet" if args.quiet_take else ""))
    print("\n| run | start-up | person's time | takes | prompts (Say / all) | per take mean (min-max) "
          "| retry | after the last take | wall |\n|---|---|---|---|---|---|---|---|---|")
    runs = []
    for r in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="vc-enrolltime-") as work:
            f = one_run(args, Path(work))
        runs.append(f)
        print(f"| {r + 1} | {f['startup']:.1f} s | **{f['person']:.1f} s** | {f['takes']} | {f['asks']} / {f['prompts']} "
              f"| {_spread(f['per_take'])} s | {_spread(f['retry'])} | {f['after']:.1f} s | {f['wall']:.1f} s |",
              flush=True)
    every = {k: [x for f in runs for x in f[k]] for k in ("prompt", "listen", "between", "take_speech", "per_take")}
    print("\nWhere a take's time goes (seconds, mean (min-max) over every run):\n")
    print("| part | seconds |\n|---|---|")
    print(f"| prompt: 'Say X.' printed to 'listening:' | {_spread(every['prompt'])} |")
    print(f"| listening: 'listening:' to the take's result | {_spread(every['listen'])} |")
    print(f"| - of which the reaction | {args.reaction:.2f} |")
    print(f"| - of which the take's speech | {_spread(every['take_speech'])} |")
    print(f"| between phrases: 'Got it.' and the next prompt | {_spread(every['between'])} |")
    print(f"\nperson's time: median {statistics.median(f['person'] for f in runs):.1f} s over {len(runs)} run(s)")


if __name__ == "__main__":
    main()
