"""`voicecoach devices`: the sound devices PortAudio sees, with the defaults marked."""

from __future__ import annotations

import argparse

HELP = "list sound devices (index, name, input/output channels, default rate)"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per device")


def main(args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from voicecoach.audio.devices import list_devices

    devices = list_devices()
    if args.json:
        for d in devices:
            print(json.dumps(dataclasses.asdict(d)))
        return 0
    if not devices:
        print("no sound devices found")
        return 1
    width = max(len(d.name) for d in devices)
    print(f"     #  {'name':<{width}}  {'api':<6} {'in':>3} {'out':>3}  {'rate':>7}")
    for d in devices:
        mark = ("<" if d.default_input else " ") + (">" if d.default_output else " ")
        print(f"  {mark} {d.index:2d}  {d.name:<{width}}  {d.hostapi:<6} {d.max_input_channels:3d} "
              f"{d.max_output_channels:3d}  {d.default_samplerate:7.0f}")
    print("  < default input, > default output")
    return 0
