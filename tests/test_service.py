"""sd_notify over a real unix datagram socket, and the watchdog's liveness rule."""

from __future__ import annotations

import os
import socket
import tomllib

from voicecoach import config
from voicecoach.service.systemd import Notifier, Watchdog, config_template


def _listener(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(2.0)
    return sock, path


def test_no_notify_socket_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    n = Notifier()
    assert not n.enabled and n.watchdog_interval is None
    assert n.ready("x") is False and n.watchdog() is False
    dog = Watchdog(n).start()
    assert dog._thread is None  # nothing to ping
    dog.stop()


def test_ready_status_watchdog_reach_the_socket(tmp_path, monkeypatch):
    sock, path = _listener(tmp_path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    n = Notifier()
    assert n.ready("listening\nfor start")
    assert sock.recv(4096) == b"READY=1\nSTATUS=listening for start"
    assert n.watchdog()
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert n.stopping()
    assert sock.recv(4096) == b"STOPPING=1"
    n.close()
    sock.close()


def test_abstract_socket_address():
    name = f"voicecoach-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2.0)
    assert Notifier("@" + name).status("hi")
    assert sock.recv(100) == b"STATUS=hi"
    sock.close()


def test_a_vanished_manager_does_not_raise(tmp_path):
    assert Notifier(str(tmp_path / "gone.sock")).ready() is False


def test_watchdog_interval_is_half_and_only_for_our_pid():
    env = {"NOTIFY_SOCKET": "/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert Notifier(environ=env).watchdog_interval == 15.0
    env["WATCHDOG_PID"] = str(os.getpid() + 1)
    assert Notifier(environ=env).watchdog_interval is None


def test_watchdog_pings_only_while_the_loop_is_alive(tmp_path):
    sock, path = _listener(tmp_path)
    now = [0.0]
    n = Notifier(path, environ={"WATCHDOG_USEC": "2000000"})
    dog = Watchdog(n, clock=lambda: now[0])
    assert dog.check()  # just started: alive
    now[0] = 5.0  # the loop hung for 5 s (> 1 s interval)
    assert not dog.check()
    dog.alive()
    assert dog.check()
    counter = [0]
    dog2 = Watchdog(n, clock=lambda: now[0], progress=lambda: counter[0])
    now[0] = 10.0
    counter[0] += 1  # a stream counter moved: alive
    assert dog2.check()
    now[0] = 20.0  # counter stuck
    assert not dog2.check()
    assert [sock.recv(100) for _ in range(3)] == [b"WATCHDOG=1"] * 3
    sock.close()


def test_config_template_is_valid_and_holds_every_default(tmp_path):
    text = config_template()
    data = tomllib.loads(text)
    assert config.validate(data, "template") == config.defaults()
    for table, keys in config.SCHEMA.items():
        assert set(data[table]) == set(keys)


def test_a_full_socket_queue_does_not_block(tmp_path):
    sock, path = _listener(tmp_path)  # never read: its queue fills up
    n = Notifier(path)
    results = [n.watchdog() for _ in range(500)]
    assert results[0] and not results[-1]  # delivered while there was room, then dropped
    sock.close()
