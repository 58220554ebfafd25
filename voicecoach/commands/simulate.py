"""``voicecoach simulate``: a whole session with WAV files as microphone and speaker."""

from __future__ import annotations

import argparse
from datetime import datetime

HELP = "run a session with a WAV file as the microphone; write the speaker output and the events"
STOP_DEFERRED = True  # Ctrl-C and SIGTERM close the session at the runtime's next turn


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mic", metavar="IN.wav", required=True, help="what the microphone hears (any WAV)")
    parser.add_argument("--out", metavar="OUT.wav", required=True,
                        help="what the speaker plays, on the same timeline as IN (16-bit mono)")
    parser.add_argument("--events", metavar="EV.jsonl", required=True,
                        help="one JSON event per line (cues with their exact sample, commands, reps, sets, summary)")
    parser.add_argument("--config", metavar="FILE", help="config TOML (default: the user's config, if any)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")
    parser.add_argument("--echo-gain", metavar="G", type=float, default=0.0,
                        help="mix the coach's output back into the mic at this gain (0..1, default 0)")
    parser.add_argument("--echo-ms", metavar="D", type=float, default=0.0,
                        help="delay of that echo in milliseconds (default 0)")
    parser.add_argument("--echo-ir", metavar="IR.wav",
                        help="a room's impulse response (any WAV): the echo is the output convolved with it")
    parser.add_argument("--echo-drift-ppm", metavar="P", type=float, default=0.0,
                        help="the speaker's clock runs P parts per million faster than the mic's (negative: "
                             "slower): the echo slides against what the coach knows it played (default 0)")
    parser.add_argument("--no-enrollment", action="store_true",
                        help="ignore the voice enrollment (voicecoach enroll), to compare")
    parser.add_argument("--cue-only", action="store_true", help="do not listen for commands (no model needed)")
    parser.add_argument("--samplerate", metavar="HZ", type=int, default=0,
                        help="output rate (default: the config's, else espeak-ng's own rate, at which speech is not resampled)")
    parser.add_argument("--started-at", metavar="ISO-DATETIME",
                        help="when the session starts, e.g. 2024-03-01T18:30 (local time) or "
                             "2024-03-01T18:30+02:00: stored as its start and used by the progression "
                             "advice, to build a history of sessions days or weeks apart (default: now)")


def parse_started_at(text: str | None) -> datetime | None:
    """``--started-at`` as an aware datetime (a time without an offset is local), or None."""
    from voicecoach.errors import UserError

    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text).astimezone()
    except (ValueError, OverflowError, OSError):
        moment = None
    # The rules subtract weeks from it: a year at the edge of datetime's range would overflow there.
    if moment is None or not 1970 <= moment.year <= 2999:
        raise UserError(f"--started-at {text!r} is not a date and time from 1970 to 2999; use ISO 8601, "
                        "e.g. 2024-03-01T18:30 or 2024-03-01T18:30+02:00")
    return moment


def read_impulse_response(path: str):
    """``--echo-ir``: the WAV mixed to mono at 16 kHz, at most 4 s long."""
    from voicecoach.audio.wavio import VOSK_RATE, read_wav, resample
    from voicecoach.errors import UserError

    samples, rate = read_wav(path)
    ir = resample(samples, rate, VOSK_RATE)
    if not 0 < len(ir) <= 4 * VOSK_RATE or not ir.any():
        raise UserError(f"{path}: an impulse response must hold sound and last at most 4 seconds")
    return ir


def main(args: argparse.Namespace) -> int:
    from voicecoach import runtime
    from voicecoach.commands import load_config, make_recognizer, open_store, stderr_notice
    from voicecoach.audio.streams import SimulatedIO
    from voicecoach.audio.wavio import ESPEAK_RATE
    from voicecoach.errors import UserError

    if not 0.0 <= args.echo_gain <= 1.0:
        raise UserError(f"--echo-gain {args.echo_gain:g} is not allowed; use a number from 0 to 1")
    if not 0.0 <= args.echo_ms <= 2000.0:
        raise UserError(f"--echo-ms {args.echo_ms:g} is not allowed; use 0 to 2000 milliseconds")
    if not -1000.0 <= args.echo_drift_ppm <= 1000.0:
        raise UserError(f"--echo-drift-ppm {args.echo_drift_ppm:g} is not allowed; use -1000 to 1000")
    if (args.echo_ir or args.echo_drift_ppm) and args.echo_gain == 0:
        raise UserError("--echo-ir and --echo-drift-ppm shape the echo: give --echo-gain too")
    echo_ir = read_impulse_response(args.echo_ir) if args.echo_ir else None
    started_at = parse_started_at(args.started_at)
    cfg = load_config(args.config)
    rate = args.samplerate or cfg["audio"]["samplerate"] or ESPEAK_RATE
    if not 8000 <= rate <= 192000:
        raise UserError(f"--samplerate {rate} is not allowed; use 8000 to 192000")
    recognizer, why = (None, None) if args.cue_only else make_recognizer(cfg, enrollment=not args.no_enrollment)
    # The mic is read before the history is opened: a bad WAV leaves the database untouched.
    io = SimulatedIO(args.mic, args.out, samplerate=rate, echo_gain=args.echo_gain, echo_ms=args.echo_ms,
                     echo_ir=echo_ir, echo_drift_ppm=args.echo_drift_ppm)
    if io.mic_duration == 0:
        raise UserError(f"{args.mic}: the WAV file holds no audio (zero frames)")
    # Before anything is written: an unwritable --out must not cost the events file
    # or leave an empty session in the history.
    try:
        open(args.out, "ab").close()
    except OSError as err:
        raise UserError(f"{args.out}: cannot write: {err.strerror}") from None
    try:
        events = open(args.events, "w", encoding="utf-8")
    except OSError as err:
        raise UserError(f"{args.events}: cannot write events: {err.strerror}") from None
    store, store_error = open_store(args.db, cfg)
    interrupted = False
    try:
        with events:
            rt = runtime.Runtime(cfg, io, recognizer=recognizer, store=store, events=events,
                                 timing=runtime.SIMULATED, simulated=True,
                                 recognizer_error=why, store_error=store_error,
                                 started_at=started_at)
            try:
                result = rt.run()
            except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the runtime closed the session first
                result, interrupted = rt.result, True
    finally:
        if store is not None:
            store.close()
    s = result.summary
    if s is not None:
        print(f"{s.status}: {s.counted} of {s.attempted} counted in {s.sets} set(s)"
              + (f", floor {s.floor:.0%}" if s.floor is not None else ""), flush=True)
    for notice in result.notices:
        if notice.level != "info":
            stderr_notice(notice.text)
    if interrupted:
        stderr_notice("interrupted; the session so far is saved")
        return 130
    return 1 if rt.events_error else 0
