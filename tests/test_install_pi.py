"""scripts/install-pi.sh: dry run, a real install into a scratch root, idempotence, uninstall.

The install runs for real (virtualenv, the package, the real model copied in,
config, unit, the enable symlink through ``systemctl --root``) under a scratch
root. What needs the host (apt, useradd, starting the service) is skipped by
the script under ``--root``, and the dry run shows it instead.

The venv uses ``--system-site-packages`` so that pip finds every dependency
already installed here and needs no network (pip's "already satisfied").
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from voicecoach import config

ROOT = Path(__file__).resolve().parent.parent
UNIT = "etc/systemd/system/voicecoach.service"
CONFIG = "etc/voicecoach/config.toml"


def _checkout(dest: Path) -> Path:
    """A frozen copy of the source: others edit the working tree while tests run."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md", "voicecoach", "grammars", "docs", "scripts"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def _install(checkout: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICECOACH_")}
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", str(checkout / "scripts" / "install-pi.sh"), *args],
        capture_output=True, text=True, env=env, timeout=300,
    )


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every path under root with its type, mode, mtime and content hash."""
    snap = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else None
        link = os.readlink(p) if p.is_symlink() else None
        snap[str(p.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest, link)
    return snap


@pytest.fixture(scope="module")
def installed(tmp_path_factory, model_path):
    checkout = _checkout(tmp_path_factory.mktemp("checkout"))
    root = tmp_path_factory.mktemp("root")
    proc = _install(checkout, "--root", str(root), "--system-site-packages", "--python", sys.executable,
                    "--model", str(model_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return checkout, root, proc


def test_install_creates_unit_config_venv_and_model(installed):
    checkout, root, proc = installed
    unit = (root / UNIT).read_text()
    assert "ExecStart=/opt/voicecoach/venv/bin/voicecoach serve --config /etc/voicecoach/config.toml" in unit
    for line in ("Type=notify", "WatchdogSec=", "Restart=always", "User=voicecoach",
                 "SupplementaryGroups=audio", "StandardOutput=journal"):
        assert line in unit
    assert not re.search(r"@[A-Z_]+@", unit), "a template placeholder was left unfilled"
    # the config is valid TOML and holds exactly the defaults
    data = tomllib.loads((root / CONFIG).read_text())
    assert config.validate(data, CONFIG) == config.defaults()
    # enabled for boot, pointing at the final (not the scratch) path
    wants = root / "etc/systemd/system/multi-user.target.wants/voicecoach.service"
    assert os.readlink(wants) == "/" + UNIT
    # the installed app runs from its own copy and finds the installed model
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICECOACH_")}
    env["VOICECOACH_DATA"] = str(root / "var/lib/voicecoach")
    out = subprocess.run([str(root / "opt/voicecoach/venv/bin/voicecoach"), "model", "status"],
                         capture_output=True, text=True, env=env, cwd=root)
    assert out.returncode == 0, out.stdout + out.stderr
    assert str(root / "var/lib/voicecoach/model") in out.stdout
    where = subprocess.run([str(root / "opt/voicecoach/venv/bin/python"), "-c",
                            "import voicecoach; print(voicecoach.__file__)"],
                           capture_output=True, text=True, env=env, cwd=root)
    assert where.stdout.startswith(str(root / "opt/voicecoach/src/voicecoach")), where.stdout + where.stderr
    assert "skipped apt packages under --root" in proc.stdout


def test_second_run_changes_nothing(installed):
    checkout, root, _ = installed
    before = _snapshot(root)
    proc = _install(checkout, "--root", str(root), "--system-site-packages", "--python", sys.executable)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _snapshot(root) == before
    assert "ok: unit" in proc.stdout and "ok: config" in proc.stdout and "ok: model installed" in proc.stdout


def test_an_edited_config_is_kept(installed, tmp_path):
    checkout, root, _ = installed
    cfg = root / CONFIG
    original = cfg.read_text()
    try:
        cfg.write_text("[program]\nreps = 12\n")
        proc = _install(checkout, "--root", str(root), "--system-site-packages", "--no-model")
        assert proc.returncode == 0, proc.stderr
        assert cfg.read_text() == "[program]\nreps = 12\n"
    finally:
        cfg.write_text(original)


def test_systemd_analyze_verify_accepts_the_unit(installed):
    _, root, _ = installed
    tool = shutil.which("systemd-analyze")
    assert tool, "systemd-analyze is needed (Debian's systemd; scripts/setup --test installs it)"
    # verify resolves the unit's dependencies (sysinit.target ...) inside --root:
    # give the scratch root the system's unit library (a copy: symlinks would loop).
    lib = root / "usr/lib/systemd/system"
    if not lib.exists():
        shutil.copytree("/usr/lib/systemd/system", lib, symlinks=True)
    proc = subprocess.run([tool, "verify", f"--root={root}", "/" + UNIT], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # no warnings either (unknown keys are warnings)


def test_web_adds_a_second_unit_that_verifies_and_uninstalls(installed, tmp_path):
    checkout, installed_root, _ = installed
    root = tmp_path / "root"  # a copy: the fixture's root stays without the page
    shutil.copytree(installed_root, root, symlinks=True)
    proc = _install(checkout, "--root", str(root), "--system-site-packages", "--no-model", "--web")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    web_unit = root / "etc/systemd/system/voicecoach-web.service"
    text = web_unit.read_text()
    assert "ExecStart=/opt/voicecoach/venv/bin/voicecoach web\n" in text and "User=voicecoach" in text
    assert (root / "etc/systemd/system/multi-user.target.wants/voicecoach-web.service").is_symlink()
    lib = root / "usr/lib/systemd/system"
    if not lib.exists():
        shutil.copytree("/usr/lib/systemd/system", lib, symlinks=True)
    verify = subprocess.run(["systemd-analyze", "verify", f"--root={root}", "/etc/systemd/system/voicecoach-web.service"],
                            capture_output=True, text=True)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    proc = _install(checkout, "--root", str(root), "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert not web_unit.exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/voicecoach-web.service").is_symlink()


def _path_without(tmp_path: Path, name: str) -> str:
    """A PATH with every command of this one but ``name`` (as in an image being built without systemd)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for d in os.environ["PATH"].split(os.pathsep):
        if not os.path.isdir(d):
            continue
        for entry in os.scandir(d):
            target = bin_dir / entry.name
            if entry.name != name and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(bin_dir)


def test_without_systemctl_the_units_are_enabled_by_their_wants_links(installed, tmp_path):
    checkout, installed_root, _ = installed
    root = tmp_path / "root"
    shutil.copytree(installed_root, root, symlinks=True)
    wants = root / "etc/systemd/system/multi-user.target.wants"
    (wants / "voicecoach.service").unlink()
    path = _path_without(tmp_path, "systemctl")
    proc = _install(checkout, "--root", str(root), "--system-site-packages", "--python", sys.executable,
                    "--no-model", "--web", path=path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for unit in ("voicecoach.service", "voicecoach-web.service"):
        # The link is read inside the booted image, so it names the unit's path there.
        assert os.readlink(wants / unit) == f"/etc/systemd/system/{unit}"
        assert f"enabled {unit} (starts at boot)" in proc.stdout
    proc = _install(checkout, "--root", str(root), "--uninstall", path=path)
    assert proc.returncode == 0, proc.stderr
    assert not any(p.is_symlink() for p in wants.glob("voicecoach*"))


def test_dry_run_prints_everything_and_writes_nothing(tmp_path, model_path):
    checkout = _checkout(tmp_path / "checkout")
    root = tmp_path / "root"
    proc = _install(checkout, "--dry-run", "--root", str(root), "--model", str(model_path))
    assert proc.returncode == 0, proc.stderr
    assert not root.exists()
    out = proc.stdout
    assert "would run: " in out and "-m venv" in out
    assert f"would write {root}/{UNIT}:" in out
    assert "| ExecStart=/opt/voicecoach/venv/bin/voicecoach serve" in out
    assert f"would write {root}/{CONFIG}:" in out and "| reps = 10" in out
    assert f"would run: voicecoach model install {model_path}" in out


def test_dry_run_on_the_host_shows_the_system_steps(tmp_path):
    # Not as a scratch root: shows apt/user steps, still changes nothing.
    checkout = _checkout(tmp_path / "checkout")
    proc = _install(checkout, "--dry-run", "--no-model")
    assert proc.returncode == 0, proc.stderr
    assert "useradd --system --user-group --groups audio" in proc.stdout or "ok: user voicecoach" in proc.stdout
    assert "/opt/voicecoach" in proc.stdout
    assert not Path("/opt/voicecoach").exists() or "ok: virtualenv" in proc.stdout


def test_uninstall_keeps_data_then_purge_removes_it(installed, tmp_path):
    checkout, installed_root, _ = installed
    root = tmp_path / "root"  # a copy of the installed root: uninstalling it leaves the fixture's alone
    shutil.copytree(installed_root, root, symlinks=True)
    (root / "var/lib/voicecoach/history.db").write_bytes(b"kept")
    proc = _install(checkout, "--root", str(root), "--uninstall")
    assert proc.returncode == 0, proc.stderr
    assert not (root / UNIT).exists() and not (root / "opt/voicecoach").exists()
    assert not (root / "etc/systemd/system/multi-user.target.wants/voicecoach.service").is_symlink()
    assert (root / CONFIG).exists() and (root / "var/lib/voicecoach/history.db").exists()
    proc = _install(checkout, "--root", str(root), "--uninstall", "--purge")
    assert proc.returncode == 0, proc.stderr
    assert not (root / "etc/voicecoach").exists() and not (root / "var/lib/voicecoach").exists()


def test_bad_arguments_are_one_line_errors(tmp_path):
    checkout = _checkout(tmp_path / "checkout")
    proc = _install(checkout, "--root", str(tmp_path / "r"), "--model", str(tmp_path / "nope.zip"))
    assert proc.returncode != 0 and proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
    proc = _install(checkout, "--frobnicate")
    assert proc.returncode != 0 and "unknown option --frobnicate" in proc.stderr
