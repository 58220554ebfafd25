"""The inputs scripts/check-arm64 feeds to both platforms, and the comparison of what each heard and said.

    compare_arm64.py inputs DIR          clips and a session's mic track, spoken by espeak-ng here
    compare_arm64.py render EVENTS       each spoken cue's phrase rendered now, in order (JSON lines)
    compare_arm64.py compare X86 ARM64   recognize.jsonl and events.jsonl of each; exit 1 on a difference

Inputs, and the coach's cue clips, are rendered once, on x86, so a difference is
the platform's and not the renderer's (espeak-ng's render of a phrase depends on
what its process rendered before). Strings, booleans and integers (intents,
words, rep numbers, cue samples) must be equal; floats (times in seconds,
confidences) within TOLERANCE, because Vosk's float arithmetic may round
differently on another CPU. Each side's own renders (``render``) are compared
and printed, not required to be equal: a different espeak-ng build may speak
differently without anything being wrong.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

TOLERANCE = 0.05  # seconds (or confidence): a 10 ms Vosk frame is 0.01 s
PHRASES = ("stop point", "pause", "back arched", "how many", "resume", "slower")
# A short session: one set of three, no warm-up; marks spoken at fixed times.
SESSION = {"sets": 1, "reps": 3, "warmup": False, "rest_s": 10}
SESSION_MARKS = ((31.0, "how many"), (40.0, "stop point"), (45.3, "back arched"))
SESSION_S = 75.0


def make_inputs(out: Path) -> None:
    from speech_support import build_track, speak, write_wav

    out.mkdir(parents=True, exist_ok=True)
    for phrase in PHRASES:
        clip = build_track([(0.5, speak(phrase, voice="en-us", speed=150))], 3.0)
        write_wav(out / f"clip-{phrase.replace(' ', '_')}.wav", clip)
    track = build_track([(at, speak(text, voice="en-us", speed=150)) for at, text in SESSION_MARKS], SESSION_S)
    write_wav(out / "session-mic.wav", track)
    lines = ["[program]"] + [f"{k} = {json.dumps(v)}" for k, v in SESSION.items()]
    (out / "session.toml").write_text("\n".join(lines) + "\n")


def spoken_phrases(events: list[dict]) -> list[str]:
    """Each distinct speech cue's text, in the order first spoken."""
    return list(dict.fromkeys(e["text"] for e in events if e["type"] == "cue" and e["kind"] == "speech"))


def render(events: Path) -> None:
    """Print each phrase's clip as this platform renders it from a fresh process: samples and a hash."""
    from voicecoach.speech.tts import ClipCache

    with tempfile.TemporaryDirectory(prefix="voicecoach-render-") as tmp:
        cache = ClipCache(22050, cache_dir=Path(tmp))
        for text in spoken_phrases(read_jsonl(events)):
            pcm = cache.get(text).pcm
            digest = hashlib.sha256(pcm.tobytes()).hexdigest()[:16]
            print(json.dumps({"text": text, "samples": len(pcm), "rate": cache.get(text).samplerate,
                              "sha256": digest, "espeak": cache.version}))


def compare_renders(x86_dir: Path, arm_dir: Path) -> None:
    """Print how each side's own espeak-ng renders compare (information: not a difference)."""
    own = arm_dir / "own-renders.txt"
    if own.exists():
        n = len(own.read_text().split())
        print(f"cue clips: arm64 simulated with x86's renders; it rendered {n} phrase(s) itself"
              + (" (not in x86's cache: a phrase x86's run never asked for, or another espeak-ng version)"
                 if n else ""))
    if not (x86_dir / "renders.jsonl").exists() or not (arm_dir / "renders.jsonl").exists():
        return
    rx = {r["text"]: r for r in read_jsonl(x86_dir / "renders.jsonl")}
    ra = {r["text"]: r for r in read_jsonl(arm_dir / "renders.jsonl")}
    both = [t for t in rx if t in ra]
    same = sum(rx[t]["sha256"] == ra[t]["sha256"] for t in both)
    gap = max((abs(rx[t]["samples"] - ra[t]["samples"]) for t in both), default=0)
    versions = {r["espeak"] for r in rx.values()}, {r["espeak"] for r in ra.values()}
    print(f"each side's own espeak-ng ({'/'.join(sorted(versions[0]))} on x86, {'/'.join(sorted(versions[1]))} on "
          f"arm64), {len(both)} phrases rendered in the same order: {same} identical, largest length "
          f"difference {gap} samples")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def differences(what: str, x86: list[dict], arm: list[dict], worst: dict) -> list[str]:
    """Every field that differs beyond its tolerance; ``worst`` collects the largest float gap per field."""
    if len(x86) != len(arm):
        return [f"{what}: {len(x86)} on x86, {len(arm)} on arm64"]
    found = []
    for i, (a, b) in enumerate(zip(x86, arm)):
        if a.keys() != b.keys():
            found.append(f"{what}[{i}]: fields {sorted(a)} vs {sorted(b)}")
            continue
        for key, va in a.items():
            vb = b[key]
            if key == "file":
                va, vb = Path(va).name, Path(vb).name
            if isinstance(va, float) and isinstance(vb, (int, float)) and not isinstance(vb, bool):
                gap = abs(va - vb)
                worst[f"{what}.{key}"] = max(worst.get(f"{what}.{key}", 0.0), gap)
                if gap > TOLERANCE:
                    found.append(f"{what}[{i}].{key}: {va} on x86, {vb} on arm64")
            elif va != vb:
                found.append(f"{what}[{i}].{key}: {va!r} on x86, {vb!r} on arm64")
    return found


def compare(x86_dir: Path, arm_dir: Path) -> int:
    worst: dict[str, float] = {}
    found = []
    rec_x, rec_a = read_jsonl(x86_dir / "recognize.jsonl"), read_jsonl(arm_dir / "recognize.jsonl")
    found += differences("recognize", rec_x, rec_a, worst)
    ev_x, ev_a = read_jsonl(x86_dir / "events.jsonl"), read_jsonl(arm_dir / "events.jsonl")
    kinds = sorted({e["type"] for e in ev_x} | {e["type"] for e in ev_a})
    for kind in kinds:
        found += differences(kind, [e for e in ev_x if e["type"] == kind], [e for e in ev_a if e["type"] == kind],
                             worst)
    print(f"compared recognize --json: {len(rec_x)} commands from the clips: "
          + ", ".join(f"{Path(r['file']).name}={r['intent']}" for r in rec_x))
    for kind in kinds:
        print(f"compared simulate events '{kind}': {sum(e['type'] == kind for e in ev_x)} on x86, "
              f"{sum(e['type'] == kind for e in ev_a)} on arm64")
    print("  intents: " + " ".join(e["intent"] for e in ev_x if e["type"] == "command"))
    print("  reps counted: " + " ".join(str(e.get("counted")) for e in ev_x if e["type"] == "rep"))
    compare_renders(x86_dir, arm_dir)
    print(f"strings, booleans, integers (cue samples included) equal; floats within {TOLERANCE}; largest float gaps:")
    for key, gap in sorted(worst.items()):
        print(f"  {key}: {gap:.4f}")
    if found:
        print(f"{len(found)} differences:")
        for line in found[:40]:
            print("  " + line)
        return 1
    print("arm64 matches x86")
    return 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "inputs":
        make_inputs(Path(argv[1]))
        return 0
    if len(argv) == 2 and argv[0] == "render":
        render(Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]))
    print("\n".join(__doc__.strip().splitlines()[2:5]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
