"""Check, without booting, that an arm64 root has what voicecoach.service needs.

    check_image.py ROOT

The files, the voicecoach user in group audio, ownership of its data and cache,
the unit (checked by this host's systemd-analyze verify --root, since systemd
does not run in a chroot). Prints one line per check; exit 1 if any fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

UNIT = "etc/systemd/system/voicecoach.service"


def passwd_entry(root: Path, name: str) -> list[str] | None:
    for line in (root / "etc/passwd").read_text().splitlines():
        if line.split(":")[0] == name:
            return line.split(":")
    return None


def group_members(root: Path, group: str) -> list[str]:
    for line in (root / "etc/group").read_text().splitlines():
        parts = line.split(":")
        if parts[0] == group:
            return parts[3].split(",") if parts[3] else []
    return []


def checks(root: Path):
    user = passwd_entry(root, "voicecoach")
    yield "user voicecoach exists", user is not None
    yield "user voicecoach is in group audio", "voicecoach" in group_members(root, "audio")
    uid = int(user[2]) if user else -1
    for rel in ("opt/voicecoach/venv/bin/voicecoach", "opt/voicecoach/venv/bin/python"):
        p = root / rel
        yield f"/{rel} is executable", p.exists() and p.stat().st_mode & 0o111 != 0
    yield "/etc/voicecoach/config.toml exists", (root / "etc/voicecoach/config.toml").is_file()
    for rel in ("var/lib/voicecoach", "var/cache/voicecoach"):
        p = root / rel
        yield f"/{rel} is owned by voicecoach", p.is_dir() and p.stat().st_uid == uid
    models = list((root / "var/lib/voicecoach").rglob("*.conf")) if (root / "var/lib/voicecoach").is_dir() else []
    yield "the model is under /var/lib/voicecoach", bool(models)
    yield f"/{UNIT} installed", (root / UNIT).is_file()
    wants = root / "etc/systemd/system/multi-user.target.wants/voicecoach.service"
    yield "the unit is enabled (multi-user.target wants it: it starts at boot)", wants.is_symlink()
    tool = shutil.which("systemd-analyze")
    if tool is None:
        print("check_image: systemd-analyze is not on this host: the unit is not verified")
        return
    # verify resolves the unit's dependencies (sysinit.target ...) inside --root: lend it
    # this host's unit library where the root lacks units (alsa-utils brings a few).
    lib = root / "usr/lib/systemd/system"
    lent = [u for u in Path("/usr/lib/systemd/system").iterdir() if not (lib / u.name).exists()
            and not (lib / u.name).is_symlink()]
    lib.mkdir(parents=True, exist_ok=True)
    for unit in lent:
        if unit.is_dir() and not unit.is_symlink():
            shutil.copytree(unit, lib / unit.name, symlinks=True)
        else:
            shutil.copy2(unit, lib / unit.name, follow_symlinks=False)
    try:
        proc = subprocess.run([tool, "verify", f"--root={root}", "/" + UNIT], capture_output=True, text=True)
    finally:
        for unit in lent:
            target = lib / unit.name
            shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    for line in proc.stderr.strip().splitlines():
        print(f"    systemd-analyze: {line}")
    yield "systemd-analyze verify accepts the unit (no warnings)", proc.returncode == 0 and not proc.stderr.strip()


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print("check_image: usage: check_image.py ROOT (a directory)", file=sys.stderr)
        return 2
    failed = 0
    for what, ok in checks(Path(argv[0])):
        print(f"  {'ok  ' if ok else 'FAIL'} {what}")
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
