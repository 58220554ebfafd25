"""`voicecoach say "TEXT"`: speak one phrase through the scheduler and the live output."""

from __future__ import annotations

import argparse
import time

HELP = "speak a phrase through the audio engine (checks the speaker and the voice)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("text", help="what to say")
    parser.add_argument("--device", default=None,
                        help="output device: index or (part of a) name; default: the system's")
    parser.add_argument("--rate", type=int, default=160, help="speaking rate, words per minute (80-300)")
    parser.add_argument("--voice", default="", help="espeak-ng voice (see: espeak-ng --voices)")
    parser.add_argument("--samplerate", type=int, default=0, help="output rate in Hz; 0: the device's")


def main(args: argparse.Namespace) -> int:
    from voicecoach.errors import UserError

    if not args.text.strip():
        raise UserError("nothing to say: give a non-empty TEXT")
    if not 80 <= args.rate <= 300:
        raise UserError(f"--rate {args.rate} is not allowed; use an integer from 80 to 300")
    from voicecoach.audio.scheduler import Scheduler
    from voicecoach.audio.streams import LiveIO
    from voicecoach.speech.tts import ClipCache

    device = args.device
    if isinstance(device, str) and device.strip().isdigit():
        device = int(device)
    io = LiveIO(output_device=device, samplerate=args.samplerate, use_input=False)
    clip = ClipCache(io.samplerate, voice=args.voice, rate=args.rate).get(args.text)
    sched = Scheduler(io.samplerate)
    io.start(sched)
    try:
        io.wait_flowing(timeout=5.0)
        # A short lead so the first syllable is never cut by a stream still settling.
        sched.submit(clip, sched.now + io.samplerate // 20, tag="say")
        end = time.monotonic() + clip.duration + 10.0
        while sched.busy and time.monotonic() < end:
            time.sleep(0.02)
        time.sleep(io.output_latency() + 0.05)  # let the last block leave the device
    finally:
        io.stop()
    if io.xruns["output_underflow"]:
        print(f"voicecoach: {io.xruns['output_underflow']} output underrun(s) while speaking",
              file=__import__("sys").stderr)
    return 0
