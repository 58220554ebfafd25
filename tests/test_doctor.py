"""`voicecoach doctor`: real model, real espeak-ng, real devices through PulseAudio null sinks."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

from null_sinks import MicAndSpeaker, null_sink
from voicecoach.service.doctor import Check, check_disk, check_loopback, check_service

NAMES = ["config", "model", "grammar", "espeak", "output", "input", "loopback", "disk", "service"]


@pytest.fixture
def loop_sink(pulse, monkeypatch):
    """A private sink whose monitor is the microphone: the speaker is heard (a loopback)."""
    with null_sink(f"vc_doc_{uuid.uuid4().hex[:8]}") as name:
        monkeypatch.setenv("PULSE_SINK", name)
        monkeypatch.setenv("PULSE_SOURCE", f"{name}.monitor")
        yield name


def _doctor(cli, *args, env_extra=None):
    env = {**os.environ, **(env_extra or {})}
    return cli("doctor", *args, env=env)


def test_doctor_all_ok_here(cli, loop_sink, model_path):
    proc = _doctor(cli)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [line.split()[1] for line in lines[:-1]] == NAMES, proc.stdout
    status = {line.split()[1]: line.split()[0] for line in lines[:-1]}
    assert all(status[n] == "ok" for n in NAMES if n != "service"), proc.stdout
    assert status["service"] in ("ok", "skip")
    assert "speaker heard at" in proc.stdout and lines[-1].startswith("ready to coach")


def test_doctor_fails_with_a_fix_when_the_model_is_missing(cli, tmp_path):
    empty = tmp_path / "no-model"
    empty.mkdir()
    proc = _doctor(cli, "--no-audio", "--json", env_extra={"VOICECOACH_MODEL": str(empty)})
    assert proc.returncode == 1
    checks = {c["check"]: c for c in map(json.loads, proc.stdout.splitlines())}
    assert checks["model"]["status"] == "fail" and checks["model"]["fix"]
    assert checks["grammar"]["status"] == "skip"  # not failed twice for one cause
    assert checks["espeak"]["status"] == "ok"
    assert [c for c in checks] == NAMES


def test_doctor_names_a_bad_config_key(cli, tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[program]\nreps = 99\n")
    proc = _doctor(cli, "--no-audio", "--config", str(cfg))
    assert proc.returncode == 1
    line = next(line for line in proc.stdout.splitlines() if line.split()[1] == "config")
    assert line.startswith("FAIL") and "program.reps" in line and "fix:" in line
    assert "1 check(s) failed: config" in proc.stderr


def test_doctor_reports_a_device_that_does_not_exist(cli, tmp_path, pulse):
    cfg = tmp_path / "dev.toml"
    cfg.write_text('[audio]\noutput_device = "no such speaker"\n')
    proc = _doctor(cli, "--config", str(cfg))
    assert proc.returncode == 1
    out = {line.split()[1]: line for line in proc.stdout.splitlines() if len(line.split()) > 1}
    assert out["output"].startswith("FAIL") and "no such speaker" in out["output"] and "fix:" in out["output"]
    assert out["input"].startswith("skip") and out["loopback"].startswith("skip")


def test_loopback_warns_when_the_microphone_cannot_hear_the_speaker(pulse, monkeypatch):
    from voicecoach import config

    room = MicAndSpeaker()
    try:
        monkeypatch.setenv("PULSE_SINK", room.out)
        monkeypatch.setenv("PULSE_SOURCE", f"{room.mic}.monitor")  # a room where the mic hears nothing
        check = check_loopback(config.defaults())
    finally:
        room.close()
    assert check.status in ("warn", "fail") and check.fix, check


def test_disk_check(tmp_path):
    ok = check_disk(tmp_path / "sub" / "history.db")
    assert ok.status == "ok" and "GB free" in ok.detail
    full = check_disk(tmp_path / "history.db", need=1 << 62)
    assert full.status == "fail" and "free at least" in full.fix
    (tmp_path / "afile").write_text("x")
    under_a_file = check_disk(tmp_path / "afile" / "history.db")
    assert under_a_file.status == "fail" and "not a directory" in under_a_file.detail


def test_disk_check_read_only_directory(tmp_path):
    """A history directory the coach cannot write to fails the disk check with a fix.

    Root writes whatever the mode, so as root (CI) the directory is a real tmpfs
    remounted read-only (as in test_store); otherwise a mode-0500 directory."""
    ro = tmp_path / "ro"
    ro.mkdir()
    mounted = False
    if os.geteuid() == 0:
        # Big enough for the free-space check: only the write access fails.
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128m", "tmpfs", str(ro)],
                                 capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("root without mount(8): neither a read-only tmpfs nor chmod can make a directory read-only")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    else:
        ro.chmod(0o500)
    try:
        check = check_disk(ro / "history.db")
        assert check.status == "fail" and "not writable" in check.detail and check.fix, check
        assert check_disk(tmp_path / "history.db").status == "ok"  # its writable parent passes
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(ro)], capture_output=True)
        else:
            ro.chmod(0o700)


def test_service_check_without_systemd_is_a_skip_not_a_failure():
    check = check_service()
    if Path("/run/systemd/system").is_dir():
        assert check.status in ("ok", "warn", "fail", "skip")
    else:
        assert check.status == "skip" and "systemd is not running" in check.detail


def test_check_line_format():
    line = Check("model", "fail", "no Vosk model installed", "voicecoach model fetch").line()
    assert line == "FAIL  model     no Vosk model installed; fix: voicecoach model fetch"
