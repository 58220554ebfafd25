"""Device lookup: by index, exact name, unique substring; one-line errors listing devices."""

from __future__ import annotations

import pytest

from voicecoach.audio import devices
from voicecoach.audio.devices import Device
from voicecoach.errors import UserError


def fake_devices():
    # The machine has only PulseAudio's two ALSA devices; to test a USB microphone
    # without output, a speaker without input, and no output at all, the device list
    # (PortAudio's answer) is replaced. The lookup logic under test is the real one.
    return [
        Device(0, "USB Audio Mic: Audio (hw:1,0)", "ALSA", 1, 0, 48000.0, True, False),
        Device(1, "bcm2835 Headphones: (hw:0,0)", "ALSA", 0, 2, 44100.0, False, True),
        Device(2, "pulse", "ALSA", 32, 32, 44100.0, False, False),
    ]


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", fake_devices)


def test_resolve(fake):
    assert devices.resolve(None, "output").index == 1
    assert devices.resolve("", "input").index == 0
    assert devices.resolve(2, "output").name == "pulse"
    assert devices.resolve("2", "input").name == "pulse"
    assert devices.resolve("usb", "input").index == 0
    assert devices.resolve("pulse", "input").index == 2


@pytest.mark.parametrize(
    "device, kind, words",
    [
        ("usb", "output", "no output device named 'usb'; available: 1 'bcm2835"),
        (0, "output", "device 0 'USB Audio Mic: Audio (hw:1,0)' has no output channels"),
        (7, "input", "no input device with index 7; available: 0 'USB"),
        ("e", "output", "ambiguous"),
    ],
)
def test_errors(fake, device, kind, words):
    with pytest.raises(UserError, match=words.replace("(", r"\(").replace(")", r"\)")) as err:
        devices.resolve(device, kind)
    assert "\n" not in str(err.value)


def test_no_output_device(monkeypatch):
    monkeypatch.setattr(devices, "list_devices", lambda: fake_devices()[:1])
    with pytest.raises(UserError, match="no output device found .*USB Audio Mic"):
        devices.resolve(None, "output")


def test_real_devices_are_listed(pulse):
    found = devices.list_devices()
    assert any(d.max_output_channels > 0 for d in found)
    assert sum(d.default_output for d in found) == 1
