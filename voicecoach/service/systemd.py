"""Running under systemd: readiness, status and a watchdog that means something.

systemd's ``Type=notify`` services tell the service manager they are ready,
and with ``WatchdogSec=`` they must say "still alive" regularly or be
restarted. The protocol is one datagram per message on the unix socket named
by ``$NOTIFY_SOCKET`` (``sd_notify(3)``); it is small enough to speak with the
standard library, so there is no dependency. Outside systemd the variable is
unset and every call here does nothing, so ``voicecoach serve`` runs the same
from a terminal.

Usage::

    notifier = Notifier()              # reads $NOTIFY_SOCKET, $WATCHDOG_USEC
    dog = Watchdog(notifier)           # pings only while the loop calls alive()
    dog.start()
    notifier.ready("waiting for 'start workout'")
    while running:
        block = mic.read()
        dog.alive()                    # the audio loop made progress
    notifier.stopping()
    dog.stop()

A watchdog thread that pinged unconditionally would keep a hung audio loop
alive forever; :class:`Watchdog` pings only if :meth:`Watchdog.alive` was
called recently, so a stuck loop stops the pings and systemd restarts us.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable


class Notifier:
    """Speaks ``sd_notify`` to systemd; a no-op when ``$NOTIFY_SOCKET`` is unset.

    ``socket_path`` overrides the environment (tests). A path starting with
    ``@`` is a Linux abstract socket, as systemd may hand out. Sending never
    raises and never blocks: a service manager that went away or stopped
    reading must not take the coach down.
    """

    def __init__(self, socket_path: str | None = None, *, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        self.socket_path = socket_path if socket_path is not None else env.get("NOTIFY_SOCKET") or None
        self.watchdog_interval = _watchdog_interval(env)
        """Seconds between watchdog pings (half of ``WatchdogSec``), or ``None`` without a watchdog."""
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """True when running under a service manager that listens."""
        return bool(self.socket_path)

    def send(self, *fields: str) -> bool:
        """Send ``KEY=VALUE`` fields in one datagram; True if it was delivered."""
        if not self.socket_path or not fields:
            return False
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]
        message = "\n".join(fields).encode("utf-8")
        with self._lock:
            try:
                if self._sock is None:
                    self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                    # A manager that stopped reading must not stall the audio loop:
                    # a full queue drops the message instead of blocking.
                    self._sock.setblocking(False)
                self._sock.sendto(message, address)
                return True
            except OSError:
                return False

    def ready(self, status: str | None = None) -> bool:
        """``READY=1``: startup finished (model loaded, streams open)."""
        return self.send("READY=1", *((f"STATUS={_one_line(status)}",) if status else ()))

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status voicecoach``."""
        return self.send(f"STATUS={_one_line(text)}")

    def watchdog(self) -> bool:
        """``WATCHDOG=1``: still alive."""
        return self.send("WATCHDOG=1")

    def reloading(self) -> bool:
        return self.send("RELOADING=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *((f"STATUS={_one_line(status)}",) if status else ()))

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _watchdog_interval(env) -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds, if the watchdog is meant for this process."""
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1e6 / 2 if value > 0 else None


class Watchdog:
    """Pings systemd's watchdog from a thread, but only while the loop is alive.

    ``alive()`` is cheap (one float store) and safe from any thread, including
    an audio callback. The thread pings every ``notifier.watchdog_interval``
    seconds if ``alive()`` was called within the last ``stale_after`` seconds
    (default: that interval). ``progress``, if given, is polled instead of or
    as well as ``alive()``: any change in its value counts as a sign of life
    (for example an output stream's sample counter).

    Without a watchdog (no ``$WATCHDOG_USEC``) ``start()`` starts nothing.
    """

    def __init__(
        self,
        notifier: Notifier,
        *,
        stale_after: float | None = None,
        progress: Callable[[], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.notifier = notifier
        self.interval = notifier.watchdog_interval
        self.stale_after = stale_after if stale_after is not None else (self.interval or 0.0)
        self.progress = progress
        self.clock = clock
        self._last_alive = clock()
        self._last_progress: object = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.pings = 0
        """How many pings were sent (for tests and ``doctor``)."""

    def alive(self) -> None:
        self._last_alive = self.clock()

    def check(self) -> bool:
        """One watchdog decision: ping if alive recently; True if it pinged."""
        if self.progress is not None:
            try:
                value = self.progress()
            except Exception:  # a source that broke is not a sign of life
                value = self._last_progress
            if value != self._last_progress:
                self._last_progress = value
                self.alive()
        if self.clock() - self._last_alive <= self.stale_after:
            if self.notifier.watchdog():
                self.pings += 1
                return True
        return False

    def start(self) -> "Watchdog":
        if self.interval and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="voicecoach-watchdog", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.check()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def __enter__(self) -> "Watchdog":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# --- the config file the Pi install writes ---------------------------------------


def config_template() -> str:
    """A TOML config with every key at its default, each with what is allowed.

    ``scripts/install-pi.sh`` writes this to ``/etc/voicecoach/config.toml``
    when there is none; it is valid as written (``voicecoach.config.load``
    accepts it) and documents every key for someone editing it over ssh.
    """
    from voicecoach import config

    lines = [
        "# voicecoach configuration. Every key is shown at its default; edit and",
        "# the service picks the change up before the next session starts.",
        "# Check it with: voicecoach doctor",
    ]
    for table, keys in config.SCHEMA.items():
        lines.append("")
        lines.append(f"[{table}]")
        for name, key in keys.items():
            lines.append(f"# {key.allowed}")
            lines.append(f"{name} = {_toml_value(key.default)}")
    return "\n".join(lines) + "\n"


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'

