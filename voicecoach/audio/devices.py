"""Sound devices: list them (afresh, after a replug), and find one by name or index with errors a user can act on."""

from __future__ import annotations

from dataclasses import dataclass

from voicecoach.errors import UserError


@dataclass(frozen=True)
class Device:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    default_input: bool
    default_output: bool


def _sd():
    try:
        import sounddevice as sd
    except OSError as err:  # libportaudio missing
        raise UserError(
            f"PortAudio is not available ({err}); install the Debian package libportaudio2"
        ) from None
    return sd


def list_devices() -> list[Device]:
    """Every device PortAudio sees, with the defaults marked."""
    sd = _sd()
    hostapis = sd.query_hostapis()
    try:
        din, dout = sd.default.device
    except Exception:
        din = dout = -1
    if din is None or din < 0:
        din = next((h["default_input_device"] for h in hostapis if h["default_input_device"] >= 0), -1)
    if dout is None or dout < 0:
        dout = next((h["default_output_device"] for h in hostapis if h["default_output_device"] >= 0), -1)
    out = []
    for i, d in enumerate(sd.query_devices()):
        out.append(Device(
            index=i,
            name=d["name"],
            hostapi=hostapis[d["hostapi"]]["name"],
            max_input_channels=int(d["max_input_channels"]),
            max_output_channels=int(d["max_output_channels"]),
            default_samplerate=float(d["default_samplerate"]),
            default_input=i == din,
            default_output=i == dout,
        ))
    return out


def describe(devices: list[Device], kind: str | None = None) -> str:
    """One-line list of devices (of ``kind`` "input"/"output", or all) for error messages."""
    parts = []
    for d in devices:
        if kind == "input" and d.max_input_channels < 1:
            continue
        if kind == "output" and d.max_output_channels < 1:
            continue
        parts.append(f"{d.index} {d.name!r}")
    return ", ".join(parts) if parts else "none"


def resolve(device: str | int | None, kind: str) -> Device:
    """The device to use for ``kind`` ("input" or "output").

    ``device`` is an index, an exact name, a unique case-insensitive substring
    of a name, or ``None``/``""`` for the default. Raises :class:`UserError`
    naming the available devices when there is no such device, when the name is
    ambiguous, or when it has no channels of that kind.
    """
    if kind not in ("input", "output"):
        raise ValueError(kind)
    devices = list_devices()
    channels = (lambda d: d.max_input_channels) if kind == "input" else (lambda d: d.max_output_channels)
    usable = [d for d in devices if channels(d) > 0]
    if not usable:
        raise UserError(f"no {kind} device found (PortAudio sees: {describe(devices)})")
    if device is None or device == "":
        chosen = [d for d in usable if (d.default_input if kind == "input" else d.default_output)]
        if not chosen:
            raise UserError(f"no default {kind} device; choose one of: {describe(usable)}")
        return chosen[0]
    if isinstance(device, int) or (isinstance(device, str) and device.strip().isdigit()):
        index = int(device)
        match = [d for d in devices if d.index == index]
        if not match:
            raise UserError(f"no {kind} device with index {index}; available: {describe(usable)}")
        if channels(match[0]) < 1:
            raise UserError(f"device {index} {match[0].name!r} has no {kind} channels; available: "
                            f"{describe(usable)}")
        return match[0]
    exact = [d for d in usable if d.name == device]
    if exact:
        return exact[0]
    sub = [d for d in usable if device.lower() in d.name.lower()]
    if len(sub) == 1:
        return sub[0]
    if len(sub) > 1:
        raise UserError(f"{kind} device name {device!r} is ambiguous: {describe(sub)}; use an index")
    raise UserError(f"no {kind} device named {device!r}; available: {describe(usable)}")


def input_rate(device: Device, preferred: int) -> int:
    """The rate to record ``device`` at: ``preferred`` when it takes it, else its
    own default (resampled by the caller); UserError if it takes neither."""
    try:
        check_rate(device, "input", preferred)
        return preferred
    except UserError:
        rate = int(round(device.default_samplerate))
        check_rate(device, "input", rate)
        return rate


def check_rate(device: Device, kind: str, samplerate: int, channels: int = 1) -> None:
    """UserError if the device refuses ``samplerate`` (with the device's default rate named)."""
    sd = _sd()
    check = sd.check_input_settings if kind == "input" else sd.check_output_settings
    try:
        check(device=device.index, samplerate=samplerate, channels=channels, dtype="float32")
    except Exception as err:
        raise UserError(
            f"{kind} device {device.index} {device.name!r} refuses {samplerate} Hz ({err}); "
            f"its default is {device.default_samplerate:g} Hz; devices: {describe(list_devices(), kind)}"
        ) from None


def refresh_devices() -> None:
    """Make PortAudio enumerate devices again (a replugged USB device gets found).

    Only valid while no stream is open; sounddevice exposes no public call for it.
    """
    try:
        import sounddevice as sd

        sd._terminate()
        sd._initialize()
    except Exception:  # an old or patched sounddevice: keep the old device list
        pass
