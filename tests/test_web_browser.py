"""``voicecoach web`` in a real browser: Debian's chromium, headless, against a test server on 127.0.0.1.

Flags, and why: ``--headless`` (no display in CI); ``--no-sandbox`` because CI
runs as root and chromium refuses to start its sandbox as root;
``--disable-gpu`` because the machines have none (it saves probing for one);
``--hide-scrollbars`` so the screenshot is the page's own width. scripts/setup
--test installs chromium.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from datetime import datetime
from pathlib import Path

import pytest

from voicecoach import config
from voicecoach.history import progression
from voicecoach.web import reader, server, token
from web_support import SESSIONS, fill

PHONE = "360,2000"  # a phone's CSS width; tall enough for every chart and the table's top
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


@pytest.fixture
def site():
    """The page over a few weeks of history, the token required; yields (url with token, url without, db)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed; run scripts/setup --test", pytrace=False)
    db = Path(os.environ["VOICECOACH_DB"])
    fill(db)
    secret = token.load_or_create()
    httpd = server.serve("127.0.0.1", 0, server.app(db, config.defaults()["program"], secret))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_port}/"
    yield f"{base}?token={secret}", base, db
    httpd.shutdown()
    httpd.server_close()


def chromium(tmp_path: Path, *args: str) -> str:
    proc = subprocess.run(["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def png_size_and_corner(path: Path) -> tuple[tuple[int, int], float]:
    """(width, height) and the top-left pixel's brightness (0 black .. 1 white)."""
    from matplotlib.image import imread

    pixels = imread(path)
    return (pixels.shape[1], pixels.shape[0]), float(pixels[2, 2, :3].mean())


def test_the_page_renders_in_chromium_at_phone_width(site, tmp_path: Path) -> None:
    url, bare, db = site
    dom = chromium(tmp_path, "--window-size=" + PHONE, "--dump-dom", url)
    greeting, _ = progression.plan_for_today(reader.load(db), config.defaults()["program"], datetime.now().astimezone())
    assert "Next session" in dom and greeting in dom
    assert dom.count("<svg") == 5 and dom.count("<figcaption>") == 5
    for caption in ("Floor", "Reps per session", "Reps per week", "Marks per session", "Plank hold"):
        assert f"<figcaption>{caption}" in dom
    # Floor, perfect, attempted, plank held and planned: one dot per session each.
    assert dom.count('<circle class="dot') == 5 * SESSIONS
    assert dom.count('<rect class="bar') == 2 * 3 + 3 * SESSIONS  # three weeks, two bars; three marks a session
    assert dom.count("/session/") == SESSIONS and "<script" not in dom

    light, dark = tmp_path / "light.png", tmp_path / "dark.png"
    chromium(tmp_path, "--window-size=" + PHONE, f"--screenshot={light}", url)
    chromium(tmp_path, "--window-size=" + PHONE, "--force-dark-mode", f"--screenshot={dark}", url)
    (width, _), light_corner = png_size_and_corner(light)
    _, dark_corner = png_size_and_corner(dark)
    assert width == 360 and light_corner > 0.9 and dark_corner < 0.15
    if os.environ.get("VOICECOACH_WEB_SCREENSHOT"):  # for a person to look at (docs/web.md)
        shutil.copy(light, os.environ["VOICECOACH_WEB_SCREENSHOT"])


def test_without_the_token_chromium_gets_403(site, tmp_path: Path) -> None:
    import urllib.error
    import urllib.request

    _, bare, _ = site
    dom = chromium(tmp_path, "--dump-dom", bare)
    assert "Forbidden" in dom and "Next session" not in dom
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bare, timeout=5)
    assert refused.value.code == 403
