"""``voicecoach run``: a live workout with the microphone and the speaker."""

from __future__ import annotations

import argparse
import os

HELP = "coach a live workout (microphone and speaker)"
STOP_DEFERRED = True  # Ctrl-C and SIGTERM close the session at the runtime's next turn


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="config TOML (default: the user's config, if any)")
    parser.add_argument("--db", metavar="FILE", help="history database (default: $VOICECOACH_DB or the data dir)")
    parser.add_argument("--output-device", metavar="DEV", help="speaker: name or index (default: [audio] output_device)")
    parser.add_argument("--input-device", metavar="DEV", help="microphone: name or index (default: [audio] input_device)")
    parser.add_argument("--events", metavar="EV.jsonl", help="also write every event as a JSON line to this file")
    parser.add_argument("--no-enrollment", action="store_true",
                        help="ignore the voice enrollment (voicecoach enroll), to compare")
    parser.add_argument("--cue-only", action="store_true", help="do not listen for commands (no model needed)")
    parser.add_argument("--intro", action="store_true",
                        help="say the first session's advice (mat, shoes, stretches, doming) again before the sets")
    parser.add_argument("--quiet", action="store_true",
                        help="no live view: print only problems and the final summary")
    parser.add_argument("--record-feed", metavar="DIR", default=os.environ.get("VOICECOACH_RECORD_FEED") or None,
                        help="also write what the recognizer is given (mic blocks, far end, times, the coach's "
                             "sentences) to DIR, for `voicecoach recognize --explain DIR` "
                             "(default: $VOICECOACH_RECORD_FEED; about 0.3 MB a second)")


def _device(value: str | None, configured):
    if value is None:
        return configured if configured != "" else None
    return int(value) if value.isdigit() else value


def main(args: argparse.Namespace) -> int:
    import sys

    from voicecoach import runtime, view
    from voicecoach.commands import load_config, make_recognizer, open_store, stderr_notice
    from voicecoach.speech.voice import Voice
    from voicecoach.errors import UserError
    from voicecoach.audio.resilient import DeviceGone, ResilientIO
    from voicecoach.events import Notice, SessionSummary

    cfg = load_config(args.config)
    audio = cfg["audio"]
    if args.cue_only:
        recognizer, why = None, None
    else:
        recognizer, why = make_recognizer(cfg, enrollment=not args.no_enrollment)
    audio = dict(audio, output_device=_device(args.output_device, audio["output_device"]),
                 input_device=_device(args.input_device, audio["input_device"]))
    # A USB microphone or speaker that vanishes mid-session pauses the workout,
    # is retried with back-off, and resumes (or ends) with every rep kept.
    io = ResilientIO(audio, log=stderr_notice, use_input=not args.cue_only)
    voice = Voice(io.samplerate, cfg["speech"])
    io.say = voice.speech.get
    if io.cue_only:
        recognizer = None  # no microphone: ResilientIO has said so
    recorder = None
    if recognizer is not None and args.record_feed:
        from voicecoach.speech.feedlog import FeedRecorder

        try:
            recognizer = recorder = FeedRecorder(recognizer, args.record_feed, note=lambda: {
                "xruns": dict(io.xruns), "underrun_frames": int(getattr(io.io, "underrun_frames", 0))})
        except OSError as err:
            raise UserError(f"{args.record_feed}: cannot record the recognizer's feed: {err.strerror}") from None
    store, store_error = open_store(args.db, cfg)
    events = None
    if args.events:
        try:
            events = open(args.events, "w", encoding="utf-8", buffering=1)
        except OSError as err:
            raise UserError(f"{args.events}: cannot write events: {err.strerror}") from None

    # The live view (a panel on a terminal, plain lines in a pipe or the journal)
    # observes the loop's events; --quiet leaves problems and the summary only.
    shown = view.make_view(args.quiet)

    def show(event) -> None:
        if isinstance(event, Notice) and event.level != "info":
            stderr_notice(event.text)
        elif isinstance(event, SessionSummary) and shown is None:
            print(f"{event.status}: {event.counted} of {event.attempted} counted", flush=True)

    try:
        rt = runtime.Runtime(cfg, io, recognizer=recognizer, store=store, events=events,
                             timing=runtime.LIVE, simulated=False, on_event=show, voice=voice,
                             recognizer_error=why, store_error=store_error, view=shown,
                             intro=args.intro)
        if shown is not None:
            shown.start()
        rt.run()
    except DeviceGone as err:
        print(f"voicecoach: {err}; the session so far is saved", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("voicecoach: stopped; the session so far is saved", file=sys.stderr)
        return 130
    finally:
        if shown is not None:
            shown.stop()
        io.stop()
        if any(io.xruns.values()):  # a late audio callback: the likeliest cause of a glitch heard
            stderr_notice(f"audio under/overruns: {io.xruns}")
        if store is not None:
            store.close()
        if recorder is not None:
            recorder.close()
        if events is not None:
            events.close()
    return 0
