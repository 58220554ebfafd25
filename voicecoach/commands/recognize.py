"""``voicecoach recognize FILE.wav...``: the spoken commands in recorded audio.

Each file is streamed through the same recognizer the coach uses, in
live-sized blocks (50 ms), so what it prints is what the coach would have
heard, with the audio time at which each command would have been emitted.

A directory written by ``voicecoach run --record-feed DIR`` is given to the
recognizer again exactly as the live session gave it (the blocks with their
times and far end, the coach's sentences, the phases), with ``run``'s
settings: ``--explain DIR`` says why the coach took a word for a command.
"""

from __future__ import annotations

import json
import sys

HELP = "print the spoken commands heard in WAV files (one line, or one JSON object, per command)"

BLOCK_S = 0.05


def configure(parser) -> None:
    from voicecoach.speech.grammar import PHASES  # light: no model, no Vosk

    parser.add_argument("files", nargs="+", metavar="FILE.wav", help="recordings (any rate, mono or stereo), or directories of `run --record-feed`")
    parser.add_argument("--json", action="store_true", help="one JSON object per command")
    parser.add_argument("--grammar", metavar="FILE", help="grammar TOML (default: grammars/en.toml)")
    parser.add_argument("--during", choices=PHASES, metavar="PHASE",
                        help="listen as the coach does in that phase of a session (plank: \"stop\" and \"done\" too)")
    parser.add_argument("--no-enrollment", action="store_true",
                        help="ignore the voice enrollment (voicecoach enroll), to compare")
    parser.add_argument("--explain", action="store_true",
                        help="print every phrase candidate the decoder produced, its words with their "
                             "confidences, and the rule that took it (or \"command\")")


def main(args) -> int:
    from voicecoach.audio.wavio import read_wav, to_16k_int16
    from voicecoach.errors import UserError
    from voicecoach.model import load_model
    from voicecoach.speech.grammar import load_grammar
    from voicecoach.speech.recognizer import CommandRecognizer

    import numpy as np

    from voicecoach.commands import load_enrollment
    from voicecoach.speech.feedlog import is_recording, replay

    enrollment = load_enrollment(not args.no_enrollment)
    model = load_model()
    grammar = load_grammar(args.grammar, model=model)
    rec = CommandRecognizer(model, grammar, enrollment=enrollment)
    rec.listen_during(args.during)
    live = None  # built for the first recorded feed: run's recognizer is provisional

    def show(name: str, heard: list) -> None:
        # --explain prints every verdict reached so far (the commands among them) instead.
        if args.explain:
            _print_explained(name, rec, args.json)
        else:
            for h in heard:
                _print(name, h, args.json)

    from voicecoach.audio.wavio import VOSK_RATE

    failed = 0
    step = int(BLOCK_S * VOSK_RATE)
    for name in args.files:
        if is_recording(name):
            if live is None:
                live = CommandRecognizer(model, grammar, enrollment=enrollment, provisional=True)
            live.reset()
            live.explain = [] if args.explain else None
            try:
                replay(name, live, lambda call, heard: _show_replayed(name, live, heard, args))
            except (ValueError, OSError) as err:
                print(f"voicecoach: {name}: cannot replay the recorded feed: {err}", file=sys.stderr)
                failed += 1
            sys.stdout.flush()
            continue
        try:
            blocks = _blocks_16k(name, read_wav, to_16k_int16)
            rec.reset()
            if args.explain:
                rec.explain = []
            n = 0
            pending = None
            for pcm in blocks:
                if pending is not None and len(pending):
                    pcm = np.concatenate([pending, pcm])
                usable = len(pcm) // step * step
                for i in range(0, usable, step):
                    show(name, rec.feed(pcm[i : i + step], n / VOSK_RATE))
                    n += step
                pending = pcm[usable:]
            if pending is not None and len(pending):
                show(name, rec.feed(pending, n / VOSK_RATE))
            show(name, rec.finish())
        except UserError as err:
            print(f"voicecoach: {err}", file=sys.stderr)
            failed += 1
        sys.stdout.flush()
    return 1 if failed else 0


def _blocks_16k(name, read_wav, to_16k_int16):
    """Yield the file as 16 kHz mono int16 arrays of about a second.

    Plain 16-bit PCM files are streamed (a 2-hour recording does not have to
    fit in memory); anything else goes through :func:`read_wav` whole.
    """
    import wave

    import numpy as np

    from voicecoach.audio.wavio import VOSK_RATE

    from voicecoach.errors import UserError

    try:
        w = wave.open(str(name), "rb")
    except Exception:
        w = None
    if w is None or w.getsampwidth() != 2 or w.getnchannels() < 1:
        if w is not None:
            w.close()
        samples, rate = read_wav(name)  # raises UserError naming the file
        yield to_16k_int16(samples, rate)
        return
    import soxr

    with w:
        rate, ch = w.getframerate(), w.getnchannels()
        from voicecoach.audio.wavio import MAX_RATE, MIN_RATE

        if not MIN_RATE <= rate <= MAX_RATE:
            # A header claiming 1 Hz would stream 16000x its size into the decoder.
            raise UserError(f"{name}: not a usable WAV file (sample rate {rate} Hz is outside "
                            f"{MIN_RATE} to {MAX_RATE} Hz)")
        stream = soxr.ResampleStream(rate, VOSK_RATE, 1, dtype="float32") if rate != VOSK_RATE else None
        while True:
            try:
                raw = w.readframes(rate)
            except Exception as err:
                raise UserError(f"{name}: not a usable WAV file ({err})") from None
            last = len(raw) < rate * ch * 2
            x = np.frombuffer(raw[: len(raw) // (2 * ch) * 2 * ch], dtype="<i2").astype(np.float32) / 32768.0
            if ch > 1:
                x = x.reshape(-1, ch).mean(axis=1)
            if stream is not None:
                x = stream.resample_chunk(x, last=last)
            if len(x):
                yield (np.clip(x, -1.0, 1.0) * 32767.0).astype(np.int16)
            if last:
                return


def _show_replayed(name: str, rec, heard: list, args) -> None:
    """What a replayed live feed gave: the verdicts (``--explain``), else the final commands."""
    if args.explain:
        _print_explained(name, rec, args.json)
    else:
        for h in heard:
            if getattr(h, "final", True) and hasattr(h, "confidence"):
                _print(name, h, args.json)


def _print_explained(name: str, rec, as_json: bool) -> None:
    """Print the verdicts the recognizer has reached so far, and forget them."""
    for e in rec.explain:
        if as_json:
            print(json.dumps({"file": name, "start": e.start, "end": e.end, "words": e.words, "verdict": e.verdict,
                              "also": list(e.also)}))
        else:
            also = f" (also {', '.join(e.also)})" if e.also else ""
            print(f"{name}: {e.start:8.2f}-{e.end:.2f}s  {e.words:<40} -> {e.verdict}{also}")
    rec.explain.clear()


def _print(name: str, heard, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "file": name,
                    "intent": heard.intent,
                    "text": heard.text,
                    "start": heard.start,
                    "end": heard.end,
                    "emitted": heard.emitted,
                    "confidence": heard.confidence,
                }
            )
        )
    else:
        print(
            f"{name}: {heard.start:8.2f}-{heard.end:.2f}s  {heard.intent:<14} \"{heard.text}\""
            f"  (conf {heard.confidence:.2f}, emitted {heard.emitted:.2f}s)"
        )
