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
    # Not the user data dir (conftest's VOICECOACH_DATA is tmp_path/data): the model
    # goes where it is asked to, two directories that do not exist yet, and nowhere else.
    dest = tmp_path / "elsewhere" / "models" / "model"
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
    assert not model.user_model_dir().exists()


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
    with pytest.raises(UserError, match=r"links\.tar\.gz: refused: member 'model/evil' is a link"):
        model.install_path(src, dest)
    assert not dest.exists() and leftovers(dest) == []


def test_tar_absolute_and_dotdot_are_refused(tmp_path):
    for name in ("/abs/file", "model/../../up"):
        info = tarfile.TarInfo(name)
        info.size = 1
        src = make_tar(tmp_path / "bad.tar.gz", [info])
        with pytest.raises(UserError, match=f"^{re.escape(str(src))}: refused: member '{name}' (has an absolute|escapes)"):
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
    class Files(dict):
        """name -> bytes served; ``agents``: the User-Agent of each request."""
        agents: list[str] = []

    files = Files()
    agents = files.agents

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            agents.append(self.headers.get("User-Agent"))
            name = self.path.lstrip("/")
            body = files.get(name)
            self.send_response(200 if body is not None else 404)
            if name.startswith("unsized/"):  # no length: the body ends when the connection does
                self.close_connection = True
            else:
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
    # Without the language model, only a recognizer with a grammar can be made.
    with pytest.raises(Exception, match="Failed to create a recognizer"):
        vosk.KaldiRecognizer(slim, 16000)
    assert json.loads(vosk.KaldiRecognizer(full, 16000).FinalResult())["text"] == ""


def test_fst_output_symbols_refuses_what_is_not_an_fst(tmp_path):
    bad = tmp_path / "Gr.fst"
    bad.write_bytes(b"not an fst at all")
    with pytest.raises(ValueError):
        model.fst_output_symbols(bad)


# --- what mutation testing found unguarded (scripts/bench_mutation.py, docs/testing.md) ------------


def fake_model(where: Path, files: dict[str, bytes] = MODEL_FILES) -> Path:
    for name, data in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_bytes(data)
    return where


def test_model_search_order(tmp_path, monkeypatch, capsys):
    """$VOICECOACH_MODEL, then the user data dir, then the system dirs, first model wins;
    `model status` lists them in that order, marks the one used and gives its size."""
    import argparse

    from voicecoach.commands.model import status

    system = [tmp_path / "usr-local", tmp_path / "usr"]
    monkeypatch.setattr(model, "SYSTEM_DIRS", tuple(system))
    monkeypatch.delenv("VOICECOACH_MODEL", raising=False)
    user = model.user_model_dir()
    assert user == tmp_path / "data" / "model"
    assert [(c.path, c.origin) for c in model.candidates()] == [
        (user, "user data dir"), (system[0], "system dir"), (system[1], "system dir")]
    assert model.find_model() is None
    with pytest.raises(UserError, match="no Vosk model found; run `voicecoach model fetch`"):
        model.require_model()
    assert status(argparse.Namespace()) == 1

    fake_model(system[1])
    system[0].mkdir()  # there, but not a model
    assert model.find_model() == model.require_model() == system[1]
    fake_model(user)
    assert model.find_model() == user
    env = fake_model(tmp_path / "mine", {**MODEL_FILES, "am/final.mdl": b"m" * 2_000_000})
    monkeypatch.setenv("VOICECOACH_MODEL", str(env))
    assert [(c.path, c.origin) for c in model.candidates()] == [
        (env, "$VOICECOACH_MODEL"), (user, "user data dir"), (system[0], "system dir"), (system[1], "system dir")]
    assert model.find_model() == env
    capsys.readouterr()
    assert status(argparse.Namespace()) == 0
    assert capsys.readouterr().out.splitlines() == [
        "model search order:",
        f" * {env}  ($VOICECOACH_MODEL: model)",
        f"   {user}  (user data dir: model)",
        f"   {system[0]}  (system dir: exists, not a model)",
        f"   {system[1]}  (system dir: model)",
        f"using {env} (2.0 MB)",
    ]


def test_a_model_dir_needs_the_acoustic_model_its_config_and_a_graph(tmp_path):
    assert model.is_model_dir(fake_model(tmp_path / "small"))
    assert model.is_model_dir(fake_model(tmp_path / "big", {"am/final.mdl": b"m", "conf/model.conf": b"",
                                                          "graph/HCLG.fst": b"f"}))
    for left_out in ("am/final.mdl", "conf/model.conf", "graph/Gr.fst"):
        files = {k: v for k, v in MODEL_FILES.items() if k != left_out}
        assert not model.is_model_dir(fake_model(tmp_path / left_out.replace("/", "-"), files)), left_out


def test_dir_size_counts_files_once_and_not_what_links_point_at(tmp_path):
    root = fake_model(tmp_path / "m", {"a": b"x" * 1000, "sub/b": b"y" * 24})
    (root / "link").symlink_to(root / "a")
    assert model.dir_size(root) == 1024


def test_install_messages_name_what_is_wrong(tmp_path):
    """Each refusal is one line that names the file (checked, with the reason, for each cause)."""
    dest = tmp_path / "data" / "model"
    (tmp_path / "afile").write_text("x")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (lambda: model.install_path(tmp_path / "nope.zip", dest), f"{tmp_path / 'nope.zip'}: no such file or directory"),
        (lambda: model.install_archive(tmp_path / "nope.zip", dest), f"{tmp_path / 'nope.zip'}: no such file"),
        (lambda: model.install_directory(tmp_path / "afile", dest), f"{tmp_path / 'afile'}: not a directory"),
        (lambda: model.install_directory(empty, dest), f"{empty}: no Vosk model inside \\(looked for am/final.mdl"),
        (lambda: model.install_path(make_zip(tmp_path / "m.zip"), tmp_path / "afile" / "model"),
         f"cannot write to {tmp_path / 'afile'}: File exists"),
    ]
    for call, message in cases:
        with pytest.raises(UserError, match="^" + message) as err:
            call()
        assert "\n" not in str(err.value)
    assert not dest.exists()


@pytest.mark.parametrize("name, message", [
    ("broken.zip", "not a valid zip/aar archive"), ("broken.aar", "not a valid zip/aar archive"),
    ("BROKEN.ZIP", "not a valid zip/aar archive"),
    ("broken.tar.gz", "not a valid tar archive"), ("broken.tgz", "not a valid tar archive"),
    ("broken.tar", "not a valid tar archive"), ("broken.tar.xz", "not a valid tar archive"),
    ("broken.tar.bz2", "not a valid tar archive"), ("broken.bin", "unknown archive type"),
])
def test_the_name_says_which_archive_a_damaged_one_was_meant_to_be(tmp_path, name, message):
    src = tmp_path / name
    src.write_bytes(b"not an archive at all")
    with pytest.raises(UserError, match=f"^{re.escape(str(src))}: {message}"):
        model.install_path(src, tmp_path / "data" / "model")


def test_an_archive_is_known_by_its_content_whatever_its_name(tmp_path):
    for src in (make_zip(tmp_path / "model.bin"), make_tar(tmp_path / "model.data")):
        dest = tmp_path / ("into-" + src.name) / "model"
        assert model.install_path(src, dest) == dest and installed(dest)


def test_damaged_tar_members_and_special_files_are_refused(tmp_path):
    dest = tmp_path / "data" / "model"
    whole = make_tar(tmp_path / "whole.tar.gz").read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) - 30])  # the gzip stream ends early
    with pytest.raises(UserError, match=f"^{re.escape(str(cut))}: corrupt or truncated tar archive"):
        model.install_path(cut, dest)
    plain = tmp_path / "cut.tar"  # whole headers, the last member's data cut short
    with tarfile.open(plain, "w") as tf:
        for name, data in {**MODEL_FILES, "graph/last.bin": b"f" * 5000}.items():
            info = tarfile.TarInfo("model/" + name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    raw = plain.read_bytes()
    plain.write_bytes(raw[: raw.index(b"f" * 5000) + 100])
    with pytest.raises(UserError, match=f"^{re.escape(str(plain))}: corrupt or truncated tar archive"):
        model.install_path(plain, dest)
    fifo = tarfile.TarInfo("model/pipe")
    fifo.type = tarfile.FIFOTYPE
    src = make_tar(tmp_path / "fifo.tar.gz", [fifo])
    with pytest.raises(UserError, match=f"^{re.escape(str(src))}: refused: member 'model/pipe' is not a regular file"):
        model.install_path(src, dest)
    assert not dest.exists() and leftovers(dest) == []


def test_a_tar_member_is_unpacked_without_its_owner_or_set_id_and_write_bits(tmp_path):
    """tarfile's 'data' filter: as root, a plain extract would chown to the archive's owner
    and keep a setuid, world-writable file as it came."""
    odd = tarfile.TarInfo("model/graph/odd.bin")
    odd.size, odd.mode, odd.uid, odd.gid = 3, 0o6777, 4321, 4321
    dest = model.install_path(make_tar(tmp_path / "odd.tar.gz", [odd]), tmp_path / "data" / "model")
    st_ = (dest / "graph" / "odd.bin").stat()
    assert stat.S_IMODE(st_.st_mode) & 0o7022 == 0, oct(st_.st_mode)
    assert (st_.st_uid, st_.st_gid) == (os.getuid(), os.getgid())


def test_a_zip_member_whose_data_is_damaged_is_named(tmp_path):
    src = tmp_path / "crc.zip"
    with zipfile.ZipFile(src, "w") as zf:  # stored: the member's bytes are in the file as they are
        for name, data in MODEL_FILES.items():
            zf.writestr("m/" + name, data * 20 if name == "am/final.mdl" else data)
    raw = src.read_bytes()
    at = raw.index(b"mdl" * 20)
    src.write_bytes(raw[:at] + b"MDL" + raw[at + 3:])
    dest = tmp_path / "data" / "model"
    with pytest.raises(UserError, match=f"^{re.escape(str(src))}: corrupt member 'm/am/final.mdl'"):
        model.install_path(src, dest)
    assert not dest.exists() and leftovers(dest) == []


def test_a_member_the_file_system_cannot_hold_is_one_line(tmp_path):
    src = make_zip(tmp_path / "long.zip", extra={"m/" + "x" * 300: b"x"})
    with pytest.raises(UserError) as err:
        model.install_path(src, tmp_path / "data" / "model")
    assert str(err.value) == f"{src}: cannot unpack: File name too long"


def test_zip_directory_entries_in_any_order_are_unpacked(tmp_path):
    """Real zips list directories as members, nested ones before their parents or after
    files inside them."""
    src = tmp_path / "dirs.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("m/am/", b"")
        for name, data in MODEL_FILES.items():
            zf.writestr("m/" + name, data)
        zf.writestr("m/", b"")
        zf.writestr("m/conf/", b"")
        zf.writestr("m/extra/empty/", b"")
    dest = tmp_path / "data" / "model"
    assert model.install_path(src, dest) == dest and installed(dest)
    assert (dest / "extra" / "empty").is_dir()


@pytest.mark.parametrize("evil, why", [("..\\escaped.txt", "escapes"), ("model\\..\\..\\escaped.txt", "escapes"),
                                       ("\\abs.txt", "absolute"), ("C:\\evil.txt", "absolute"),
                                       ("C:/evil.txt", "absolute"), ("C:", "absolute")])
def test_windows_paths_in_a_zip_are_refused(tmp_path, evil, why):
    src = make_zip(tmp_path / "win.zip", extra={evil: b"pwned"})
    with pytest.raises(UserError, match=f"^{re.escape(str(src))}: refused: member .* {why}"):
        model.install_path(src, tmp_path / "data" / "model")
    assert not (tmp_path / "data" / "model").exists()


def test_a_model_directory_is_copied_without_its_links(tmp_path):
    """A link inside the source becomes a file of its own: the model never points outside itself."""
    outside = tmp_path / "outside.conf"
    outside.write_text("--beam=13\n")
    src = fake_model(tmp_path / "src", {k: v for k, v in MODEL_FILES.items() if k != "conf/model.conf"})
    (src / "conf" / "model.conf").symlink_to(outside)
    dest = tmp_path / "elsewhere" / "model"
    assert model.install_path(src, dest) == dest
    assert not (dest / "conf" / "model.conf").is_symlink()
    assert (dest / "conf" / "model.conf").read_text() == "--beam=13\n"
    assert not model.user_model_dir().exists()


def test_a_model_old_left_by_an_interrupted_install_is_cleared(tmp_path):
    dest = tmp_path / "data" / "model"
    model.install_path(make_zip(tmp_path / "a.zip"), dest)
    (dest.parent / "model.old" / "am").mkdir(parents=True)  # killed between the two renames last time
    (dest.parent / "model.old" / "am" / "final.mdl").write_bytes(b"older")
    model.install_path(make_zip(tmp_path / "b.zip"), dest)
    assert installed(dest) and leftovers(dest) == []


def test_fetch_goes_on_to_the_next_source_and_installs_where_asked(tmp_path, https_server):
    """A source that cannot be reached is logged with the reason and the next one is
    tried; the model is staged beside its destination (so the last step is a rename)
    and installed there, not in the user data dir. The request names only the program."""
    base, files = https_server
    files["good.zip"] = make_zip(tmp_path / "good.zip").read_bytes()
    good = model.Source(base + "good.zip", model.sha256_of(tmp_path / "good.zip"), 1, "good mirror")
    unreachable = model.Source("https://127.0.0.1:9/model.zip", "0" * 64, 1, "nowhere")
    dest = tmp_path / "elsewhere" / "model"
    logged, staged, seen = [], [], []

    def progress(source, done, total):
        seen.append((source.description, done, total))
        staged.extend(p.name for p in dest.parent.iterdir())

    assert model.fetch(dest, sources=(unreachable, good), progress=progress, log=logged.append) == dest
    assert installed(dest) and leftovers(dest) == [] and not model.user_model_dir().exists()
    assert logged[:2] == [f"downloading {model.MODEL_NAME} from nowhere", "  failed: [Errno 111] Connection refused"]
    assert logged[2:] == [f"downloading {model.MODEL_NAME} from good mirror"]
    assert staged and all(name.startswith(".model-install-") for name in staged), staged
    # The server's length, not the source's guess; the last call has it all.
    assert seen[-1] == ("good mirror", len(files["good.zip"]), len(files["good.zip"]))
    assert files.agents == ["voicecoach"]


def test_fetch_without_a_length_counts_against_the_expected_size(tmp_path, https_server):
    base, files = https_server
    files["unsized/good.zip"] = make_zip(tmp_path / "good.zip").read_bytes()
    size = len(files["unsized/good.zip"])
    good = model.Source(base + "unsized/good.zip", model.sha256_of(tmp_path / "good.zip"), 123_456, "good mirror")
    seen = []
    model.fetch(tmp_path / "m", sources=(good,), progress=lambda _s, done, total: seen.append((done, total)))
    assert seen[-1] == (size, 123_456)


def test_fetch_failing_everywhere_says_each_reason_and_what_to_do(tmp_path):
    sources = (model.Source("https://127.0.0.1:9/a.zip", "0" * 64, 1, "first"),
               model.Source("https://127.0.0.1:9/b.zip", "0" * 64, 1, "second"))
    with pytest.raises(UserError) as err:
        model.fetch(tmp_path / "m", sources=sources)
    assert str(err.value) == ("could not download the model (first: [Errno 111] Connection refused; "
                              "second: [Errno 111] Connection refused); copy it over and use "
                              "`voicecoach model install FILE`")


def test_fetch_without_a_destination_installs_in_the_user_data_dir(tmp_path, https_server):
    base, files = https_server
    files["good.zip"] = make_zip(tmp_path / "good.zip").read_bytes()
    good = model.Source(base + "good.zip", model.sha256_of(tmp_path / "good.zip"), 1, "good mirror")
    assert model.fetch(sources=(good,)) == model.user_model_dir() == tmp_path / "data" / "model"
    assert installed(model.user_model_dir())


def write_fst(path: Path, isymbols: list[tuple[bytes, int]] | None, osymbols: list[tuple[bytes, int]] | None,
              lengths: dict[int, int] | None = None) -> Path:
    """An OpenFst header as OpenFst writes one (fst/fst.h FstHeader, fst/symbol-table.cc):
    little-endian int32 magic, strings as int32 length + bytes, int32 version and flags
    (1: input symbols follow, 2: output symbols), uint64 properties, int64 start, states,
    arcs; each table: int32 magic, name, int64 available key and size, (string, int64 key)."""
    import struct

    def string(b: bytes) -> bytes:
        return struct.pack("<i", len(b)) + b

    out = struct.pack("<i", 2125659606) + string(b"vector") + string(b"standard")
    out += struct.pack("<ii", 2, (1 if isymbols is not None else 0) | (2 if osymbols is not None else 0))
    out += struct.pack("<Qqqq", 3, 0, 1, 0)
    for table in (isymbols, osymbols):
        if table is not None:
            out += struct.pack("<i", 2125658996) + string(b"words") + struct.pack("<qq", len(table), len(table))
            out += b"".join(string(word) + struct.pack("<q", key) for word, key in table)
    path.write_bytes(out)
    return path


def test_fst_output_symbols_reads_the_output_table(tmp_path):
    words = [(b"<eps>", 0), (b"", 1), (b"stop", 2), (b"caf\xe9", 3)]  # an empty name; a byte that is not UTF-8
    assert model.fst_output_symbols(write_fst(tmp_path / "o.fst", None, words)) == [
        ("<eps>", 0), ("", 1), ("stop", 2), ("caf\ufffd", 3)]
    both = write_fst(tmp_path / "io.fst", [(b"phone", 0)], [(b"word", 0)])
    assert model.fst_output_symbols(both) == [("word", 0)]
    only_in = write_fst(tmp_path / "i.fst", [(b"phone", 0)], None)
    with pytest.raises(ValueError, match=f"^{re.escape(str(only_in))}: no output symbols$"):
        model.fst_output_symbols(only_in)


@pytest.mark.parametrize("damage, message", [
    (lambda b: b"\0\0\0\0" + b[4:], "not an OpenFst file"),
    (lambda b: b[:30], "truncated FST header"),
    # the first string's length: a megabyte of type name is no FST
    (lambda b: b[:4] + (1 << 20).to_bytes(4, "little") + b[8:], "not an FST header"),
    (lambda b: b[:4] + (-1).to_bytes(4, "little", signed=True) + b[8:], "not an FST header"),
    (lambda b: b.replace((2125658996).to_bytes(4, "little"), b"\0\0\0\0"), "bad symbol table"),
])
def test_fst_output_symbols_names_what_is_wrong(tmp_path, damage, message):
    good = write_fst(tmp_path / "g.fst", None, [(b"stop", 1)]).read_bytes()
    bad = tmp_path / "bad.fst"
    bad.write_bytes(damage(good))
    with pytest.raises(ValueError, match=f"^{re.escape(str(bad))}: {message}$"):
        model.fst_output_symbols(bad)


def test_stderr_without_hides_only_the_lines_naming_it(capfd):
    """What C++ code writes to fd 2 meanwhile: lines naming the word are dropped, the rest
    pass on whole and in order (bytes that are not UTF-8 too), and fd 2 is stderr again
    after, whatever happened inside."""
    with model._stderr_without("Gr.fst"):
        os.write(2, b"first\nERROR: cannot open Gr.fst\ncaf\xe9\nlast")
    os.write(2, b"|after")
    with pytest.raises(KeyError):
        with model._stderr_without("Gr.fst"):
            raise KeyError("inside")
    os.write(2, b"|raised")
    assert capfd.readouterr().err == "first\ncaf\ufffd\nlast|after|raised"


def test_the_model_view_links_the_parts_adds_the_options_and_leaves_out_the_language_model(tmp_path):
    """The view load_model hands Vosk: every part a link to the installed one, the named
    conf files copies with the options appended as lines of their own, and with a word
    list, graph/ without Gr.fst (the general language model) and with that list."""
    src = fake_model(tmp_path / "model", {**MODEL_FILES, "graph/words.txt": b"old 0\n",
                                          "graph/disambig_tid.int": b"1\n",
                                          "conf/model.conf": b"\n--beam=10 # caf\xe9 MAX \n\n",
                                          "conf/mfcc.conf": b"--use-energy=false # MAX\n"})
    words = tmp_path / "words.txt"
    words.write_text("stop 1\n")
    view = tmp_path / "view"
    view.mkdir()
    options = {"model.conf": ("--frames-per-chunk=8", "--beam=11"), "mfcc.conf": ("--dither=0",)}
    assert model._model_view(src, view, options, words) == view
    assert (view / "am").is_symlink() and (view / "am").resolve() == (src / "am").resolve()
    assert not (view / "conf").is_symlink()
    # Only the last newlines go: the text is kept as it was, up to its last character.
    assert (view / "conf" / "model.conf").read_text() == "\n--beam=10 # caf\ufffd MAX \n--frames-per-chunk=8\n--beam=11\n"
    assert (view / "conf" / "mfcc.conf").read_text() == "--use-energy=false # MAX\n--dither=0\n"
    assert sorted(p.name for p in (view / "graph").iterdir()) == ["HCLr.fst", "disambig_tid.int", "words.txt"]
    assert (view / "graph" / "words.txt").resolve() == words.resolve()
    assert (view / "graph" / "HCLr.fst").resolve() == (src / "graph" / "HCLr.fst").resolve()
    assert src.joinpath("conf/model.conf").read_bytes() == b"\n--beam=10 # caf\xe9 MAX \n\n"  # untouched

    whole = tmp_path / "whole"
    whole.mkdir()
    model._model_view(src, whole, {}, None)  # no options, the whole graph: links only
    assert all((whole / p).is_symlink() for p in ("am", "conf", "graph"))


def test_the_word_list_is_read_once_from_the_language_model_and_cached_privately(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICECOACH_CACHE", str(tmp_path / "cache"))
    one = fake_model(tmp_path / "one")
    write_fst(one / "graph" / "Gr.fst", None, [(b"<eps>", 0), (b"stop", 1), (b"point", 2)])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cached = model._word_table(one, scratch)
    assert cached.parent == tmp_path / "cache" / "model" and cached.read_text() == "<eps> 0\nstop 1\npoint 2\n"
    assert stat.S_IMODE(cached.stat().st_mode) == 0o600
    assert model._word_table(one, scratch) == cached  # the second load reads the cache
    two = fake_model(tmp_path / "two")  # another model: another list
    write_fst(two / "graph" / "Gr.fst", None, [(b"<eps>", 0), (b"doming", 1)])
    other = model._word_table(two, scratch)
    assert other != cached and other.read_text() == "<eps> 0\ndoming 1\n"
    assert list(scratch.iterdir()) == []

    (two / "graph" / "words.txt").write_text("doming 1\n")  # a model that ships its list: that one
    assert model._word_table(two, scratch) == two / "graph" / "words.txt"
    hclg = fake_model(tmp_path / "hclg", {"am/final.mdl": b"m", "conf/model.conf": b"", "graph/HCLG.fst": b"f"})
    write_fst(hclg / "graph" / "Gr.fst", None, [(b"<eps>", 0)])
    assert model._word_table(hclg, scratch) is None  # HCLG holds its words and is needed whole
    unreadable = fake_model(tmp_path / "odd")  # a Gr.fst this reader does not know: the whole model is loaded
    assert model._word_table(unreadable, scratch) is None


def test_without_a_cache_the_word_list_lives_in_the_view(tmp_path, monkeypatch, model_path):
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("VOICECOACH_CACHE", str(tmp_path / "afile" / "cache"))  # cannot be made
    one = fake_model(tmp_path / "one")
    write_fst(one / "graph" / "Gr.fst", None, [(b"<eps>", 0), (b"stop", 1)])
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    assert model._word_table(one, scratch) == scratch / "words.txt"
    assert (scratch / "words.txt").read_text() == "<eps> 0\nstop 1\n"
    assert model.load_model(model_path).grammar_only  # and the real model still loads


def test_load_model_finds_the_model_or_loads_the_one_given(tmp_path, monkeypatch):
    """Without a path, the model the search finds (conftest's $VOICECOACH_MODEL); with
    one, that one, even when it is broken; none anywhere is the one-line 'no model'."""
    assert model.load_model().grammar_only
    broken = fake_model(tmp_path / "broken")
    with pytest.raises(UserError, match=f"^the Vosk model at {re.escape(str(broken))} could not be loaded"):
        model.load_model(broken)
    monkeypatch.delenv("VOICECOACH_MODEL")
    monkeypatch.setattr(model, "SYSTEM_DIRS", ())
    with pytest.raises(UserError, match="^no Vosk model found"):
        model.load_model()


def test_feature_options_and_a_full_model_load_go_through_the_view_too(model_path):
    # As test_decoding_options_...: an option Kaldi does not know proves the file is read.
    with pytest.raises(UserError, match="could not be loaded"):
        model.load_model(model_path, feature_options=("--no-such-mfcc-option=1",))
    with pytest.raises(UserError, match="could not be loaded"):
        model.load_model(model_path, grammar_only=False, options=("--no-such-kaldi-option=1",))
    assert not model.load_model(model_path, grammar_only=False, options=(), feature_options=()).grammar_only
