"""Model management: finding, installing, refusing bad archives, and the CLI's errors.

Archives here are small fakes of the model's layout built in tmp_path: what is
tested is the unpacking and the all-or-nothing install, which does not need
70 MB of real model per test. The real model is installed by scripts/setup
(through the same `voicecoach model install`) and used by the recognition tests.
"""

from __future__ import annotations

import re

import io
import os
import stat
import tarfile
import wave
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicecoach import model
from voicecoach.errors import UserError

MODEL_FILES = {
    "am/final.mdl": b"mdl",
    "conf/model.conf": b"--beam=10\n",
    "conf/mfcc.conf": b"",
    "graph/HCLr.fst": b"fst",
    "graph/Gr.fst": b"fst",
}


def make_zip(path: Path, prefix: str = "vosk-model-small-en-us-0.15/", extra: dict | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in MODEL_FILES.items():
            zf.writestr(prefix + name, data)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return path


def make_tar(path: Path, members: list[tarfile.TarInfo] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in MODEL_FILES.items():
            info = tarfile.TarInfo("model/" + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in members or []:
            tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


def installed(dest: Path) -> bool:
    return model.is_model_dir(dest)


def leftovers(dest: Path) -> list[str]:
    """Anything besides the model itself left in its parent (staging dirs, .old)."""
    return sorted(p.name for p in dest.parent.iterdir() if p.name != dest.name) if dest.parent.exists() else []


@pytest.mark.parametrize("kind", ["zip", "aar", "tar.gz", "dir"])
def test_install_from_each_kind(tmp_path, kind):
    dest = tmp_path / "data" / "model"
    if kind == "zip":
        src = make_zip(tmp_path / "m.zip")
    elif kind == "aar":  # the Maven artifact keeps the model under assets/model-en-us/
        src = make_zip(tmp_path / "m.aar", prefix="assets/model-en-us/", extra={"classes.jar": b""})
    elif kind == "tar.gz":
        src = make_tar(tmp_path / "m.tar.gz")
    else:
        src = tmp_path / "unpacked"
        for name, data in MODEL_FILES.items():
            (src / "inner" / name).parent.mkdir(parents=True, exist_ok=True)
            (src / "inner" / name).write_bytes(data)
    assert model.install_path(src, dest) == dest
    assert installed(dest)
    assert (dest / "am/final.mdl").read_bytes() == b"mdl"
    assert leftovers(dest) == []


def test_reinstall_replaces_the_old_model(tmp_path):
    dest = tmp_path / "data" / "model"
    model.install_path(make_zip(tmp_path / "a.zip"), dest)
    (dest / "stale").write_text("old")
    model.install_path(make_zip(tmp_path / "b.zip"), dest)
    assert installed(dest) and not (dest / "stale").exists()
    assert leftovers(dest) == []


@pytest.mark.parametrize(
    "evil, why",
    [
        ("../escaped.txt", "escapes"),
        ("model/../../escaped.txt", "escapes"),
        ("/tmp/absolute.txt", "absolute"),
    ],
)
def test_zip_slip_is_refused_before_anything_is_written(tmp_path, evil, why):
    dest = tmp_path / "data" / "model"
    src = make_zip(tmp_path / "evil.zip", extra={evil: b"pwned"})
    with pytest.raises(UserError, match=why):
        model.install_path(src, dest)
    assert not dest.exists()
    assert leftovers(dest) == []
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "data" / "escaped.txt").exists()


def test_zip_symlink_member_is_refused(tmp_path):
    dest = tmp_path / "data" / "model"
    src = make_zip(tmp_path / "link.zip")
    with zipfile.ZipFile(src, "a") as zf:
        info = zipfile.ZipInfo("vosk-model-small-en-us-0.15/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(UserError, match="symbolic link"):
        model.install_path(src, dest)
    assert not dest.exists()


@pytest.mark.parametrize("linktype", [tarfile.SYMTYPE, tarfile.LNKTYPE])
def test_tar_links_are_refused(tmp_path, linktype):
    info = tarfile.TarInfo("model/evil")
    info.type = linktype
    info.linkname = "/etc/passwd"
    src = make_tar(tmp_path / "links.tar.gz", [info])
    dest = tmp_path / "data" / "model"
    with pytest.raises(UserError, match="link"):
        model.install_path(src, dest)
    assert not dest.exists() and leftovers(dest) == []


def test_tar_absolute_and_dotdot_are_refused(tmp_path):
    for name in ("/abs/file", "model/../../up"):
        info = tarfile.TarInfo(name)
        info.size = 1
        src = make_tar(tmp_path / "bad.tar.gz", [info])
        with pytest.raises(UserError, match="absolute|escapes"):
            model.install_path(src, tmp_path / "data" / "model")
        assert not (tmp_path / "data" / "model").exists()


def test_checksum_mismatch_installs_nothing(tmp_path):
    dest = tmp_path / "data" / "model"
    src = make_zip(tmp_path / "m.zip")
    with pytest.raises(UserError, match="checksum mismatch"):
        model.install_archive(src, dest, expect_sha256="0" * 64)
    assert not dest.exists() and leftovers(dest) == []


@pytest.mark.parametrize("content", [b"", b"not an archive at all", None])
def test_corrupt_archives_are_one_clear_error(tmp_path, content):
    dest = tmp_path / "data" / "model"
    if content is None:  # a real zip cut in half
        whole = make_zip(tmp_path / "whole.zip").read_bytes()
        content = whole[: len(whole) // 2]
    src = tmp_path / "broken.zip"
    src.write_bytes(content)
    with pytest.raises(UserError) as err:
        model.install_path(src, dest)
    assert "broken.zip" in str(err.value) and "\n" not in str(err.value)
    assert not dest.exists() and leftovers(dest) == []


def test_archive_without_a_model(tmp_path):
    src = tmp_path / "other.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(UserError, match="no Vosk model inside"):
        model.install_path(src, tmp_path / "data" / "model")


def test_unreadable_path(tmp_path):
    """An archive the user cannot read is one clear error, and nothing is installed.

    Root reads files whatever their mode, so as root (CI) the command runs
    without the capabilities that let it (setpriv drops them from the bounding
    set): a real permission error from the kernel either way."""
    import shutil
    import subprocess
    import sys

    src = make_zip(tmp_path / "m.zip")
    src.chmod(0)
    dest = tmp_path / "data" / "model"
    prefix = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test an unreadable file as root"
        prefix = [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
    env = {**os.environ, "VOICECOACH_DATA": str(tmp_path / "data")}
    proc = subprocess.run([*prefix, sys.executable, "-m", "voicecoach", "model", "install", str(src)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [f"voicecoach: {src}: not readable (permission denied)"]
    assert not dest.exists() and leftovers(dest) == []


def test_fetch_that_cannot_connect_leaves_nothing(tmp_path):
    dest = tmp_path / "data" / "model"
    # Port 9 on loopback: nothing listens, the connection is refused at once.
    unreachable = model.Source("https://127.0.0.1:9/model.zip", "0" * 64, 1, "nowhere")
    with pytest.raises(UserError, match="could not download.*nowhere"):
        model.fetch(dest, sources=(unreachable,))
    assert not dest.exists() and leftovers(dest) == []


def test_fetch_refuses_plain_http(tmp_path):
    with pytest.raises(UserError, match="non-HTTPS"):
        model.fetch(tmp_path / "m", sources=(model.Source("http://example.invalid/m.zip", "0" * 64, 1, "x"),))


@pytest.fixture
def https_server(tmp_path, monkeypatch):
    """A real HTTPS server on loopback serving ``files`` (name -> bytes), trusted through
    SSL_CERT_FILE. The real sources cannot be made to serve a tampered model, and the
    tests need no internet; everything from urllib on is the code a user runs."""
    import http.server
    import ssl
    import subprocess
    import threading

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = files.get(self.path.lstrip("/"))
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    yield f"https://127.0.0.1:{server.server_address[1]}/", files
    server.shutdown()
    server.server_close()


def test_fetch_refuses_a_download_whose_checksum_does_not_match(tmp_path, https_server):
    """A downloaded model is verified against its source's SHA-256: a tampered one is
    not installed, and the next source (whose file matches) is used instead."""
    base, files = https_server
    with zipfile.ZipFile(tmp_path / "tampered.zip", "w") as zf:
        for name, data in {**MODEL_FILES, "am/final.mdl": b"evil"}.items():
            zf.writestr("model/" + name, data)
    files["tampered.zip"] = (tmp_path / "tampered.zip").read_bytes()
    files["good.zip"] = make_zip(tmp_path / "good.zip").read_bytes()
    good_sha = model.sha256_of(tmp_path / "good.zip")
    bad = model.Source(base + "tampered.zip", good_sha, len(files["tampered.zip"]), "tampered mirror")
    good = model.Source(base + "good.zip", good_sha, len(files["good.zip"]), "good mirror")
    dest = tmp_path / "data" / "model"
    logged: list[str] = []
    with pytest.raises(UserError, match="tampered mirror: .*checksum mismatch") as err:
        model.fetch(dest, sources=(bad,))
    assert "\n" not in str(err.value)
    assert not dest.exists() and leftovers(dest) == []
    assert model.fetch(dest, sources=(bad, good), log=logged.append) == dest
    assert (dest / "am/final.mdl").read_bytes() == b"mdl"
    assert any("checksum mismatch" in line for line in logged)
    assert leftovers(dest) == []


def test_fetch_on_a_terminal_shows_a_bar_with_the_size_and_the_speed(tmp_path, https_server):
    """``model fetch``'s bar, drawn by rich as on a terminal, over a real HTTPS download."""
    import io

    from rich.console import Console

    from voicecoach.commands.model import DownloadBar

    base, files = https_server
    # Big enough (2 MB, stored: random bytes do not compress) for many reads, so a speed.
    padding = {"vosk-model-small-en-us-0.15/padding": os.urandom(2_000_000)}
    files["good.zip"] = make_zip(tmp_path / "good.zip", extra=padding).read_bytes()
    good = model.Source(base + "good.zip", model.sha256_of(tmp_path / "good.zip"), len(files["good.zip"]),
                        "good mirror")
    screen = io.StringIO()
    with DownloadBar(Console(file=screen, force_terminal=True, width=100)) as bar:
        model.fetch(tmp_path / "m", sources=(good,), progress=bar, log=bar.log)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert "downloading" in text and "good mirror" in text
    assert "2.0/2.0 MB" in text, text
    assert re.search(r"\d+(\.\d+)? [kMG]?B/s", text), text


def test_env_var_pointing_at_a_non_model_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICECOACH_MODEL", str(tmp_path))
    with pytest.raises(UserError, match="not a Vosk model"):
        model.find_model()


def test_commands_without_a_model_say_so_in_one_line(tmp_path, cli, monkeypatch):
    env = {k: v for k, v in os.environ.items() if k != "VOICECOACH_MODEL"}
    env["VOICECOACH_DATA"] = str(tmp_path / "empty")
    status = cli("model", "status", env=env)
    assert status.returncode != 0
    assert "voicecoach model fetch" in status.stdout
    wav = tmp_path / "x.wav"
    with wave.open(str(wav), "wb") as w:  # a valid second of silence: only the model is missing
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000), w.writeframes(b"\0\0" * 16000)
    for args in (["recognize", str(wav)], ["simulate", "--mic", str(wav), "--out", str(tmp_path / "o.wav"),
                                          "--events", str(tmp_path / "e.jsonl")]):
        proc = cli(*args, env=env)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "model" in lines[0], (args, proc.stderr)


def test_cli_install_and_status_show_the_installed_model(tmp_path, cli):
    env = {k: v for k, v in os.environ.items() if k != "VOICECOACH_MODEL"}
    env["VOICECOACH_DATA"] = str(tmp_path / "data")
    proc = cli("model", "install", str(make_zip(tmp_path / "m.zip")), env=env)
    assert proc.returncode == 0, proc.stderr
    status = cli("model", "status", env=env)
    assert status.returncode == 0
    assert f"using {tmp_path / 'data' / 'model'}" in status.stdout


def test_cli_install_errors_are_one_line(tmp_path, cli):
    for path in (tmp_path / "missing.zip", make_zip(tmp_path / "evil.zip", extra={"../x": b""})):
        proc = cli("model", "install", str(path))
        assert proc.returncode != 0
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


segment = st.sampled_from(["..", ".", "", "am", "conf", "x", "a b", "…", "C:", "\\"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.lists(segment, min_size=1, max_size=4).map("/".join), max_size=4),
       absolute=st.booleans(), fmt=st.sampled_from(["zip", "tar.gz"]))
def test_fuzzed_member_names_never_write_outside(tmp_path_factory, names, absolute, fmt):
    """Whatever the member names, the install either lands inside the target or refuses whole."""
    work = tmp_path_factory.mktemp("fuzz")
    names = [("/" + n) if absolute else n for n in names]
    if fmt == "zip":
        src = make_zip(work / "m.zip", extra={n: b"x" for n in names if n and not n.endswith("/")})
    else:
        infos = []
        for n in names:
            if n and not n.endswith("/"):
                info = tarfile.TarInfo(n)
                info.size = 1
                infos.append(info)
        src = make_tar(work / "m.tar.gz", infos)
    before = set(p for p in work.rglob("*"))
    dest = work / "data" / "model"
    try:
        model.install_path(src, dest)
    except UserError as err:
        assert "\n" not in str(err)
        assert not dest.exists()
    else:
        assert installed(dest)
    after = set(p for p in work.rglob("*"))
    outside = [p for p in after - before if not str(p).startswith(str(work / "data"))]
    assert outside == []
    assert leftovers(dest) == []


def test_decoding_options_are_read_from_a_view_and_leave_the_model_untouched(model_path):
    # Vosk reads its options from conf/model.conf only; load_model adds ours
    # through a temporary view. An option Kaldi does not know proves the
    # view's file is the one read; the installed file never changes.
    conf = model_path / "conf" / "model.conf"
    before = conf.read_bytes()
    assert model.load_model(model_path) is not None
    with pytest.raises(UserError, match="could not be loaded"):
        model.load_model(model_path, options=("--no-such-kaldi-option=1",))
    assert conf.read_bytes() == before
    assert model.load_model(model_path, options=()) is not None


def test_grammar_only_model_recognizes_with_a_grammar_and_says_so(model_path, tmp_path, monkeypatch, capfd):
    # The language model (graph/Gr.fst) is left out and only its word list
    # given: word ids are unchanged, a grammar recognizer works, nothing is
    # written to stderr, and the word list is cached for the next load.
    import json

    import vosk

    monkeypatch.setenv("VOICECOACH_CACHE", str(tmp_path / "cache"))
    full = model.load_model(model_path, grammar_only=False)
    slim = model.load_model(model_path)
    assert slim.grammar_only and not full.grammar_only
    for word in ("stop", "point", "arched", "doming", "zzzz"):
        assert slim.vosk_model_find_word(word) == full.vosk_model_find_word(word)
    assert list((tmp_path / "cache" / "model").glob("words-*.txt"))
    rec = vosk.KaldiRecognizer(slim, 16000, json.dumps(["stop point", "[unk]"]))
    rec.AcceptWaveform(bytes(3200))
    assert json.loads(rec.FinalResult())["text"] == ""
    assert capfd.readouterr().err == ""


def test_fst_output_symbols_refuses_what_is_not_an_fst(tmp_path):
    bad = tmp_path / "Gr.fst"
    bad.write_bytes(b"not an fst at all")
    with pytest.raises(ValueError):
        model.fst_output_symbols(bad)
