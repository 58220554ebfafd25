"""Security properties of the RUNNING coach (issue 8), read from the kernel.

tests/test_security.py checks the source (no shell, no listen() call); here the
real processes are watched while they work: ``voicecoach simulate`` with the
real model, and ``voicecoach serve`` listening on the PulseAudio null sink with
a systemd notify socket. Every socket the process holds (/proc/PID/fd) is
looked up in the kernel's tables (/proc/net/tcp, tcp6, udp, udp6, raw, raw6,
unix): none may be listening or bound for the network. And the files a session
writes have safe modes, even under a permissive umask.

"Nothing leaves the device": ``run``, ``serve`` and ``simulate`` run under
strace, which records every connect(), send and bind with an address made by
the process or its children, however short-lived: none may reach anything but
the sound server (the model fetch is the one command allowed out).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signal_support import silent_wav

ROOT = Path(__file__).resolve().parent.parent
SHORT = "[program]\nwarmup = false\nsets = 1\nreps = 2\nrest_s = 10.0\n"

_UNIX_ACCEPTCON = 0x10000  # __SO_ACCEPTCON in /proc/net/unix Flags: a listening socket
_TCP_LISTEN = "0A"


def socket_inodes(pid: int) -> set[int]:
    out = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return out
    for fd in names:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", target)
        if m:
            out.add(int(m.group(1)))
    return out


def listening(inodes: set[int]) -> list[str]:
    """Which of ``inodes`` accept connections or datagrams from anywhere."""
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6", "raw", "raw6"):
        try:
            lines = Path(f"/proc/net/{table}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            f = line.split()
            inode, state = int(f[9]), f[3]
            # TCP: only LISTEN accepts; UDP and raw sockets receive once they exist.
            if inode in inodes and (not table.startswith("tcp") or state == _TCP_LISTEN):
                found.append(f"{table} {f[1]} state {state}")
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        f = line.split()
        if int(f[6]) in inodes and int(f[3], 16) & _UNIX_ACCEPTCON:
            found.append(f"unix {f[7] if len(f) > 7 else '(unnamed)'} listening")
    return found


def watch(proc: subprocess.Popen, until: float, pid: int | None = None) -> tuple[int, set[int], list[str]]:
    """Sample the sockets of ``pid`` (default: the process's) until it exits or ``until``
    (monotonic): (samples taken while it was alive, every socket inode seen, every listening one)."""
    samples, seen, bad = 0, set(), []
    while proc.poll() is None and time.monotonic() < until:
        inodes = socket_inodes(pid or proc.pid)
        if proc.poll() is not None:
            break
        samples += 1
        seen |= inodes
        bad += listening(inodes)
        time.sleep(0.02)
    return samples, seen, bad


# --- outgoing connections, from every system call ------------------------------------------

_ADDRESSED = re.compile(r"^\d+\s+(connect|sendto|sendmsg|sendmmsg|bind)\(\d+, .*?sa_family=(AF_\w+)(.*)$")
_LOOPBACK_PROBE = re.compile(r'inet_pton\(AF_INET6, "::1"|inet_addr\("127\.0\.0\.1"\)')


def traced(argv: list[str], log: Path, **popen) -> tuple[subprocess.Popen, int]:
    """Start ``argv`` under strace, logging every network system call with an address
    (of it and its children) to ``log``; returns (the strace process, the command's pid).
    strace exits with the command's status."""
    strace = shutil.which("strace")
    assert strace, "strace is needed for the outgoing-connection guard (scripts/setup --test installs it)"
    proc = subprocess.Popen([strace, "-f", "--seccomp-bpf", "-qq", "-s", "256", "-e", "trace=%network",
                             "-o", str(log), "--", *argv], **popen)
    # strace forks short-lived children of its own at start (probing what the kernel
    # supports): the command's process is the child whose command line is argv.
    wanted = "\0".join(argv)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        except FileNotFoundError:
            children = []
        for child in children:
            try:
                if Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace").rstrip("\0") == wanted:
                    return proc, int(child)
            except (FileNotFoundError, ProcessLookupError):
                pass  # gone, or going as we read (ESRCH): one of strace's own
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.005)
    raise AssertionError("the traced command did not start")


def sound_server() -> list[str]:
    """The unix sockets of the sound servers: the running PulseAudio server's
    (``pactl info``), and JACK's, which PortAudio looks for (none runs here)."""
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True).stdout
    servers = [line.split(":", 1)[1].strip().removeprefix("unix:") for line in info.splitlines()
               if line.startswith("Server String:")]
    assert servers and servers[0].startswith("/"), info
    return servers + ["/dev/shm/jack_"]


def outgoing(log: Path, allowed: list[str]) -> list[str]:
    """Every addressed system call in the strace ``log`` that reaches anything but a unix
    socket whose path starts with one of ``allowed``. The one other exception: a bind to
    loopback port 0 with nothing sent (urllib3, imported by vosk, probes for IPv6 that way)."""
    bad = []
    for line in log.read_text().splitlines():
        m = _ADDRESSED.match(line)
        if not m:
            continue
        call, family, rest = m.groups()
        if family == "AF_UNIX":
            path = re.search(r'sun_path=(@?)"([^"]*)"', rest)
            where = (path.group(1) + path.group(2)) if path else ""
            if call != "bind" and where and any(where.startswith(a) for a in allowed):
                continue
        elif family == "AF_NETLINK":
            continue  # the kernel itself (routing, device lists), not the network
        elif call == "bind" and _LOOPBACK_PROBE.search(rest) and "htons(0)" in rest:
            continue
        bad.append(f"{call} {family} {rest.split('}', 1)[0].lstrip(', ')}")
    return bad


def test_the_guard_sees_outgoing_connections(tmp_path):
    """The guard must be able to fail: a child that connects over TCP (even to loopback,
    refused), sends a UDP datagram and reaches an abstract unix socket is caught on each;
    its connection to an allowed unix socket is not."""
    allowed = tmp_path / "server.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(allowed))
    server.listen()
    code = ("import socket, sys\n"
            "t = socket.socket()\n"
            "try: t.connect(('127.0.0.1', 9))\n"
            "except OSError: pass\n"
            "socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'reps', ('192.0.2.1', 9))\n"
            "a = socket.socket(socket.AF_UNIX)\n"
            "try: a.connect('\\0voicecoach-nowhere')\n"
            "except OSError: pass\n"
            "socket.socket(socket.AF_UNIX).connect(sys.argv[1])\n")
    log = tmp_path / "net.log"
    try:
        proc, _ = traced([sys.executable, "-c", code, str(allowed)], log)
        assert proc.wait(timeout=30) == 0
    finally:
        server.close()
    bad = outgoing(log, [str(allowed)])
    assert [b.split(" ")[:2] for b in bad] == [["connect", "AF_INET"], ["sendto", "AF_INET"], ["connect", "AF_UNIX"]], bad
    assert "192.0.2.1" in bad[1] and "@\"voicecoach-nowhere" in bad[2]


def test_the_watcher_sees_a_listening_socket():
    """The check itself must be able to fail: a child that listens on TCP, UDP and
    a unix socket is caught on each."""
    code = ("import socket, sys, time\n"
            "t = socket.socket(); t.bind(('127.0.0.1', 0)); t.listen()\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('127.0.0.1', 0))\n"
            "x = socket.socket(socket.AF_UNIX); x.bind('\\0voicecoach-test-%d' % t.getsockname()[1]); x.listen()\n"
            "print('up', flush=True); time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == "up\n"
        bad = listening(socket_inodes(proc.pid))
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert sorted(b.split()[0] for b in bad) == ["tcp", "udp", "unix"], bad


def _env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(VOICECOACH_DATA=str(tmp_path / "data"), VOICECOACH_CACHE=str(tmp_path / "cache"),
               VOICECOACH_DB=str(tmp_path / "data" / "history.db"), VOICECOACH_CONFIG=str(tmp_path / "none.toml"))
    env.update(extra)
    return env


@pytest.mark.model
def test_simulate_never_listens_never_connects_out_and_writes_private_files(tmp_path, model_path, pulse):
    """A whole session with the real recognizer, under umask 000 (the most
    permissive a service could be started with): no listening socket at any
    sample, no connection but to the sound server, the history 0600 in a 0700
    dir, the clip cache not writable by others."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    mic = silent_wav(tmp_path / "mic.wav", 30.0)
    ev, out = tmp_path / "ev.jsonl", tmp_path / "out.wav"
    log = tmp_path / "net.log"
    proc, pid = traced(
        [sys.executable, "-m", "voicecoach", "simulate", "--mic", str(mic), "--out", str(out), "--events", str(ev),
         "--config", str(config)],
        log, cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.umask(0))
    samples, seen, bad = watch(proc, time.monotonic() + 120, pid)
    out_text, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert samples >= 10  # it was watched while it worked
    assert bad == [], bad
    assert outgoing(log, sound_server()) == []
    # The app's own files: private whatever the umask.
    data, cache = tmp_path / "data", tmp_path / "cache"
    assert stat.S_IMODE((data / "history.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    clips = list(cache.rglob("*.wav"))
    assert clips
    for path in [cache, *cache.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & (stat.S_IWGRP | stat.S_IWOTH), (path, oct(mode))
    for path in data.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & (stat.S_IRWXG | stat.S_IRWXO), (path, oct(mode))


def test_files_the_user_names_follow_a_normal_umask(tmp_path):
    """Under the usual umask 022 nothing a session writes is writable by others."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    mic = silent_wav(tmp_path / "mic.wav", 20.0)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "simulate", "--cue-only", "--mic", str(mic), "--out",
         str(tmp_path / "out.wav"), "--events", str(tmp_path / "ev.jsonl"), "--config", str(config)],
        cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, proc.stderr
    written = [p for p in tmp_path.rglob("*") if p.name not in ("mic.wav", "short.toml")]
    assert len(written) >= 5
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & stat.S_IWOTH, (path, oct(mode))


def test_serve_never_listens_nor_connects_out(pulse, tmp_path, model_path):
    """`voicecoach serve` as the Pi service runs it: waiting for the wake phrase on
    the null sink's monitor, reporting to a systemd notify socket. Its sockets
    (PulseAudio's client connection, the notify datagram socket) only connect out,
    and only to those two."""
    notify = tmp_path / "notify.sock"
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(notify))
    manager.settimeout(60)
    log = tmp_path / "net.log"
    proc, pid = traced(
        [sys.executable, "-m", "voicecoach", "serve", "--idle-exit", "30", "--db", str(tmp_path / "h.db")],
        log, cwd=ROOT, env=_env(tmp_path, NOTIFY_SOCKET=str(notify)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Watch from READY=1 (the model is loaded and the microphone open) for 3 s.
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(manager.recv(4096).decode())
        samples, seen, bad = watch(proc, time.monotonic() + 3.0, pid)
        assert proc.poll() is None, proc.communicate()
    finally:
        if proc.poll() is None:  # gone already: the assertion above says why
            os.kill(pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        manager.close()
    assert samples >= 10 and seen  # it held sockets (PulseAudio, notify) and they were checked
    assert bad == [], bad
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert outgoing(log, sound_server() + [str(notify)]) == []


@pytest.mark.model
def test_run_never_listens_nor_connects_out(pulse, tmp_path, model_path):
    """`voicecoach run` coaching live on the null sink, its monitor as the microphone:
    from start-up until it has spoken and listened for 2 s, then SIGTERM, no socket
    listens and none reaches anything but the sound server."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    ev, log = tmp_path / "ev.jsonl", tmp_path / "net.log"
    proc, pid = traced(
        [sys.executable, "-m", "voicecoach", "run", "--config", str(config), "--events", str(ev)],
        log, cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples, seen, bad = 0, set(), []
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline and not (ev.exists() and '"cue"' in ev.read_text()):
            n, s, b = watch(proc, time.monotonic() + 0.2, pid)
            samples, seen, bad = samples + n, seen | s, bad + b
        assert proc.poll() is None and '"cue"' in ev.read_text(), proc.communicate()
        n, s, b = watch(proc, time.monotonic() + 2.0, pid)
        samples, seen, bad = samples + n, seen | s, bad + b
    finally:
        if proc.poll() is None:  # gone already: the assertion above says why
            os.kill(pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert samples >= 10 and seen  # it held sockets (PulseAudio) and they were checked
    assert bad == [], bad
    assert proc.returncode == 130 and "Traceback" not in err, err  # stopped, the session saved
    assert outgoing(log, sound_server()) == []
