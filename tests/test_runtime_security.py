"""Security properties of the RUNNING coach (issue 8), read from the kernel.

tests/test_security.py checks the source (no shell, no listen() call); here the
real processes are watched while they work: ``voicecoach simulate`` with the
real model, and ``voicecoach serve`` listening on the PulseAudio null sink with
a systemd notify socket. Every socket the process holds (/proc/PID/fd) is
looked up in the kernel's tables (/proc/net/tcp, tcp6, udp, udp6, raw, raw6,
unix): none may be listening or bound for the network. And the files a session
writes have safe modes, even under a permissive umask.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

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


def watch(proc: subprocess.Popen, until: float) -> tuple[int, set[int], list[str]]:
    """Sample the process's sockets until it exits or ``until`` (monotonic):
    (samples taken while it was alive, every socket inode seen, every listening one)."""
    samples, seen, bad = 0, set(), []
    while proc.poll() is None and time.monotonic() < until:
        inodes = socket_inodes(proc.pid)
        if proc.poll() is not None:
            break
        samples += 1
        seen |= inodes
        bad += listening(inodes)
        time.sleep(0.02)
    return samples, seen, bad


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


def _silent(path: Path, seconds: float) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return path


def _env(tmp_path: Path, **extra) -> dict:
    env = dict(os.environ)
    env.update(VOICECOACH_DATA=str(tmp_path / "data"), VOICECOACH_CACHE=str(tmp_path / "cache"),
               VOICECOACH_DB=str(tmp_path / "data" / "history.db"), VOICECOACH_CONFIG=str(tmp_path / "none.toml"))
    env.update(extra)
    return env


@pytest.mark.model
def test_simulate_never_listens_and_writes_private_files(tmp_path, model_path):
    """A whole session with the real recognizer, under umask 000 (the most
    permissive a service could be started with): no listening socket at any
    sample, the history 0600 in a 0700 dir, the clip cache not writable by others."""
    config = tmp_path / "short.toml"
    config.write_text(SHORT)
    mic = _silent(tmp_path / "mic.wav", 30.0)
    ev, out = tmp_path / "ev.jsonl", tmp_path / "out.wav"
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "simulate", "--mic", str(mic), "--out", str(out), "--events", str(ev),
         "--config", str(config)],
        cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.umask(0))
    samples, seen, bad = watch(proc, time.monotonic() + 120)
    out_text, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert samples >= 10  # it was watched while it worked
    assert bad == [], bad
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
    mic = _silent(tmp_path / "mic.wav", 20.0)
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


def test_serve_never_listens(pulse, tmp_path, model_path):
    """`voicecoach serve` as the Pi service runs it: waiting for the wake phrase on
    the null sink's monitor, reporting to a systemd notify socket. Its sockets
    (PulseAudio's client connection, the notify datagram socket) only connect out."""
    notify = tmp_path / "notify.sock"
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(notify))
    manager.settimeout(60)
    proc = subprocess.Popen(
        [sys.executable, "-m", "voicecoach", "serve", "--idle-exit", "30", "--db", str(tmp_path / "h.db")],
        cwd=ROOT, env=_env(tmp_path, NOTIFY_SOCKET=str(notify)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Watch from READY=1 (the model is loaded and the microphone open) for 3 s.
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(manager.recv(4096).decode())
        samples, seen, bad = watch(proc, time.monotonic() + 3.0)
        assert proc.poll() is None, proc.communicate()
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
        manager.close()
    assert samples >= 10 and seen  # it held sockets (PulseAudio, notify) and they were checked
    assert bad == [], bad
    assert proc.returncode == 0 and "Traceback" not in err, err
