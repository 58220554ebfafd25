"""The Vosk model: where it is looked for, and how it gets there.

Search order (first hit wins):

1. ``$VOICECOACH_MODEL`` (a model directory),
2. the user data dir, ``data_dir()/model`` (where ``fetch``/``install`` put it),
3. system dirs: ``/usr/local/share/voicecoach/model``, ``/usr/share/voicecoach/model``
   (for a Pi image built with the model baked in).

Installing always goes through :func:`install_archive` or :func:`install_directory`:
the model is unpacked into a temporary directory next to its destination,
checked, and renamed into place, so an interrupted install never leaves half
a model where the coach looks for one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from voicecoach import paths
from voicecoach.errors import UserError

MODEL_NAME = "vosk-model-small-en-us-0.15"

SYSTEM_DIRS = (Path("/usr/local/share/voicecoach/model"), Path("/usr/share/voicecoach/model"))

# Files every Vosk (Kaldi nnet3) model has; a directory without them is not a model.
REQUIRED_FILES = ("am/final.mdl", "conf/model.conf")
GRAPH_FILES = (("graph/HCLr.fst", "graph/Gr.fst"), ("graph/HCLG.fst",))

NO_MODEL = (
    "no Vosk model found; run `voicecoach model fetch` (needs internet) "
    "or `voicecoach model install FILE` (a .zip, .aar, .tar.gz or directory)"
)


@dataclass(frozen=True)
class Source:
    """One place to download the model from, with the SHA-256 we verified it against."""

    url: str
    sha256: str
    size: int
    description: str


SOURCES = (
    # The authors' own release (hash as published by Alpha Cephei and mirrored by rhasspy).
    Source(
        "https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        41_205_931,
        "alphacephei.com",
    ),
    # The same small US English model, packaged by its authors for Android on Maven
    # Central (assets/model-en-us/ inside the .aar). SHA-256 computed here from the
    # artifact whose Maven .sha1 (680d9416944a4d09b244c06e04f5dea180d46f97) matched.
    Source(
        "https://repo1.maven.org/maven2/com/alphacephei/vosk-model-en/0.3.45/vosk-model-en-0.3.45.aar",
        "8a5792fccaf873b4745dbd1b3fe19d8a77a15898e806674020eea820424771cd",
        41_185_783,
        "Maven Central (com.alphacephei:vosk-model-en:0.3.45)",
    ),
)


# --- finding ----------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    path: Path
    origin: str
    """Why it is looked at: ``"$VOICECOACH_MODEL"``, ``"user data dir"`` or ``"system dir"``."""


def candidates() -> list[Candidate]:
    found = []
    env = os.environ.get("VOICECOACH_MODEL")
    if env:
        found.append(Candidate(Path(env), "$VOICECOACH_MODEL"))
    found.append(Candidate(user_model_dir(), "user data dir"))
    found.extend(Candidate(p, "system dir") for p in SYSTEM_DIRS)
    return found


def user_model_dir() -> Path:
    return paths.data_dir() / "model"


def is_model_dir(path: Path) -> bool:
    return (
        path.is_dir()
        and all((path / f).is_file() for f in REQUIRED_FILES)
        and any(all((path / f).is_file() for f in group) for group in GRAPH_FILES)
    )


def find_model() -> Path | None:
    """The first candidate that holds a model, or ``None``.

    ``$VOICECOACH_MODEL`` pointing at something that is not a model is an
    error rather than a silent fall-through: the user asked for that one.
    """
    for cand in candidates():
        if is_model_dir(cand.path):
            return cand.path
        if cand.origin == "$VOICECOACH_MODEL":
            raise UserError(f"$VOICECOACH_MODEL={cand.path} is not a Vosk model directory (no am/final.mdl)")
    return None


def require_model() -> Path:
    path = find_model()
    if path is None:
        raise UserError(NO_MODEL)
    return path


DECODING_OPTIONS = ("--frames-per-chunk=8",)
"""Kaldi options added to the model's own ``conf/model.conf`` when it is loaded.

``frames-per-chunk`` (output frames; 3 input frames of 10 ms each) is how
much audio the acoustic network waits for before it scores it. The default,
20, holds words back by up to 0.6 s, and a command has to be acted on within
0.3 s of its end; at 8 the network scores every 0.24 s. Measured on the dev
voices: latency p95 352 -> 263 ms, for ~1.4x the decoding compute (the
decoder rests in quiet, which more than pays for it; see
scripts/bench_recognizer.py)."""


FEATURE_OPTIONS = ("--dither=0",)
"""Kaldi options added to the model's ``conf/mfcc.conf``.

Kaldi dithers the waveform with noise from the C library's global ``rand()``,
so the same audio decoded twice in one process came out differently (seen:
a sentence decoded as "doming" on one run and as nothing on the next; vosk-api
issues 868 and 895). The recognizer adds the same dither itself, from a seeded
generator (:func:`voicecoach.speech.recognizer.dither`): results
are repeatable, and digital silence, which the network was never trained on,
still never reaches it (measured without any dither: 82 % right on clean
clips with silent lead-ins, against 98 %)."""


def load_model(
    path: Path | None = None,
    *,
    options: tuple[str, ...] = DECODING_OPTIONS,
    feature_options: tuple[str, ...] = FEATURE_OPTIONS,
    grammar_only: bool = True,
):
    """Load the installed model (or the one at ``path``) as a ``vosk.Model``.

    The model is loaded through a temporary view of it (links to its parts),
    so that the installed files are never changed:

    - ``options`` are appended to a copy of ``conf/model.conf`` (Vosk reads
      its decoding options from that file alone), ``feature_options`` to a
      copy of ``conf/mfcc.conf``;
    - with ``grammar_only`` (all the coach needs: every recognizer it makes
      has a grammar), the model's general language model ``graph/Gr.fst`` is
      left out and only its word list is given: a grammar recognizer builds
      its own. That is 38 MB less memory for the small English model. The
      returned model has ``grammar_only = True``; a recognizer without a
      grammar needs ``grammar_only=False``.

    Raises :class:`UserError` if there is no model or it cannot be loaded.
    """
    import vosk

    path = Path(path) if path is not None else require_model()
    vosk.SetLogLevel(-1)
    try:
        with tempfile.TemporaryDirectory(prefix="voicecoach-model-") as view:
            view = Path(view)
            words = _word_table(path, view) if grammar_only else None
            extra = {"model.conf": options, "mfcc.conf": feature_options}
            extra = {name: opts for name, opts in extra.items() if opts and (path / "conf" / name).is_file()}
            target = _model_view(path, view, extra, words) if extra or words else path
            # Vosk reads every file while the Model is built; the view can go right after.
            with _stderr_without("Gr.fst"):
                model = vosk.Model(str(target))
            model.grammar_only = words is not None
            return model
    except OSError as err:
        raise UserError(f"the Vosk model at {path} could not be read ({err.strerror})") from None
    except Exception as err:  # vosk raises a bare Exception on a broken model
        raise UserError(f"the Vosk model at {path} could not be loaded ({err}); reinstall it") from None


def _model_view(model: Path, view: Path, options: dict[str, tuple[str, ...]], words: Path | None) -> Path:
    """Links to ``model``'s parts in ``view``, with ``options`` appended to the named files of conf/."""
    for entry in model.iterdir():
        if entry.name == "conf" and options:
            shutil.copytree(entry, view / "conf")
            for name, opts in options.items():
                conf = view / "conf" / name
                text = conf.read_text(encoding="utf-8", errors="replace")
                # Kaldi's config reader lets a later line override an earlier one.
                conf.write_text(text.rstrip("\n") + "\n" + "\n".join(opts) + "\n", encoding="utf-8")
        elif entry.name == "graph" and words is not None:
            (view / "graph").mkdir()
            for part in entry.iterdir():
                if part.name not in ("Gr.fst", "words.txt"):
                    (view / "graph" / part.name).symlink_to(part.resolve())
            (view / "graph" / "words.txt").symlink_to(words.resolve())
        else:
            (view / entry.name).symlink_to(entry.resolve())
    return view


def _word_table(model: Path, scratch: Path) -> Path | None:
    """The model's word list as ``words.txt`` (kept in the cache dir), or None
    when the model is not one whose Gr.fst can be left out."""
    graph = model / "graph"
    gr = graph / "Gr.fst"
    if not ((graph / "HCLr.fst").is_file() and gr.is_file()):
        return None  # an HCLG model: its words are in HCLG.fst, which it needs anyway
    if (graph / "words.txt").is_file():
        return graph / "words.txt"
    st = gr.stat()
    key = hashlib.sha256(f"{gr.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:16]
    cached = paths.cache_dir() / "model" / f"words-{key}.txt"
    if cached.is_file():
        return cached
    try:
        table = fst_output_symbols(gr)
    except (OSError, ValueError):
        return None  # not a format we can read: load the whole model
    text = "".join(f"{word} {key}\n" for word, key in table)
    try:
        paths.make_private_dirs(cached.parent)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
        # 0600 whatever the umask: a planted word list would change what is heard.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, cached)
        return cached
    except OSError:  # no cache to write to: the view holds it for this load
        (scratch / "words.txt").write_text(text, encoding="utf-8")
        return scratch / "words.txt"


def fst_output_symbols(fst: Path) -> list[tuple[str, int]]:
    """The output symbol table of an OpenFst binary file, read from its header.

    Raises ValueError when the file is not an OpenFst file with output symbols.
    """
    import struct

    def read(f, fmt):
        size = struct.calcsize(fmt)
        data = f.read(size)
        if len(data) != size:
            raise ValueError(f"{fst}: truncated FST header")
        return struct.unpack(fmt, data)

    def string(f):
        (n,) = read(f, "<i")
        if not 0 <= n < 1 << 20:
            raise ValueError(f"{fst}: not an FST header")
        return f.read(n).decode("utf-8", "replace")

    with open(fst, "rb") as f:
        if read(f, "<i")[0] != _FST_MAGIC:
            raise ValueError(f"{fst}: not an OpenFst file")
        string(f), string(f)  # FST type and arc type
        _version, flags = read(f, "<ii")
        read(f, "<Qqqq")  # properties, start state, number of states, of arcs
        tables = []
        for bit in (_HAS_ISYMBOLS, _HAS_OSYMBOLS):
            if not flags & bit:
                tables.append(None)
                continue
            if read(f, "<i")[0] != _SYMBOLS_MAGIC:
                raise ValueError(f"{fst}: bad symbol table")
            string(f)  # its name
            _available, size = read(f, "<qq")
            tables.append([(string(f), read(f, "<q")[0]) for _ in range(size)])
    if tables[1] is None:
        raise ValueError(f"{fst}: no output symbols")
    return tables[1]


_FST_MAGIC = 2125659606
_SYMBOLS_MAGIC = 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS = 1, 2


class _stderr_without:
    """Hide lines naming ``what`` from what C++ code writes to stderr meanwhile.

    OpenFst says "ERROR: Fst::Read: Can't open file ...Gr.fst" when the
    language model is left out on purpose, whatever Vosk's log level; other
    lines are passed on.
    """

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        import sys

        sys.stderr.flush()
        self._saved = os.dup(2)
        self._capture = tempfile.TemporaryFile()
        os.dup2(self._capture.fileno(), 2)
        return self

    def __exit__(self, *exc):
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._capture.seek(0)
        for line in self._capture.read().decode("utf-8", "replace").splitlines(keepends=True):
            if self.what not in line:
                os.write(2, line.encode())
        self._capture.close()
        return False


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


# --- installing ---------------------------------------------------------------


def install_directory(src: Path, dest: Path | None = None) -> Path:
    """Copy a model directory (or a directory holding exactly one) into place."""
    src = Path(src)
    if not src.is_dir():
        raise UserError(f"{src}: not a directory")
    root = locate_model_root(src)
    if root is None:
        raise UserError(f"{src}: no Vosk model inside (looked for am/final.mdl and conf/model.conf)")
    with _staging(dest) as stage:
        shutil.copytree(root, stage / "model", symlinks=False)
        return _commit(stage / "model", dest)


def install_archive(archive: Path, dest: Path | None = None, *, expect_sha256: str | None = None) -> Path:
    """Unpack a .zip/.aar/.tar.gz/.tgz/.tar holding a model and move it into place.

    Members that would land outside the target (absolute paths, ``..``),
    links and device files are refused before anything is written.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise UserError(f"{archive}: no such file")
    if expect_sha256 is not None:
        actual = sha256_of(archive)
        if actual != expect_sha256:
            raise UserError(f"{archive}: checksum mismatch (SHA-256 {actual}, expected {expect_sha256}); not installed")
    with _staging(dest) as stage:
        unpacked = stage / "unpacked"
        unpacked.mkdir()
        extract_safely(archive, unpacked)
        root = locate_model_root(unpacked)
        if root is None:
            raise UserError(f"{archive}: no Vosk model inside (looked for am/final.mdl and conf/model.conf)")
        return _commit(root, dest)


def install_path(path: Path, dest: Path | None = None) -> Path:
    """`voicecoach model install PATH`: a directory or an archive."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    if not os.access(path, os.R_OK):
        raise UserError(f"{path}: not readable (permission denied)")
    if path.is_dir():
        return install_directory(path, dest)
    return install_archive(path, dest)


def locate_model_root(tree: Path) -> Path | None:
    """The directory inside ``tree`` that is a model (the .aar keeps it in assets/model-en-us/)."""
    if is_model_dir(tree):
        return tree
    for mdl in sorted(tree.rglob("am/final.mdl")):
        root = mdl.parent.parent
        if is_model_dir(root):
            return root
    return None


class _staging:
    """A temporary directory beside the destination, removed on exit whatever happens."""

    def __init__(self, dest: Path | None):
        self.parent = (dest or user_model_dir()).parent

    def __enter__(self) -> Path:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix=".model-install-", dir=self.parent))
        except OSError as err:
            raise UserError(f"cannot write to {self.parent}: {err.strerror}") from None
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _commit(root: Path, dest: Path | None) -> Path:
    """Atomically replace ``dest`` by ``root`` (both on one file system)."""
    dest = dest or user_model_dir()
    if not is_model_dir(root):
        raise UserError(f"{root}: incomplete model; not installed")
    (root / ".voicecoach-installed").write_text(MODEL_NAME + "\n")
    old = None
    if dest.exists():
        old = dest.with_name(dest.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.rename(dest, old)
    os.rename(root, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# --- safe unpacking -------------------------------------------------------------


def _safe_member_path(name: str, archive: Path) -> PurePosixPath:
    member = PurePosixPath(name.replace("\\", "/"))
    if member.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise UserError(f"{archive}: refused: member {name!r} has an absolute path")
    if ".." in member.parts:
        raise UserError(f"{archive}: refused: member {name!r} escapes the target directory")
    return member


def extract_safely(archive: Path, target: Path) -> None:
    """Unpack ``archive`` into ``target``, refusing anything that could escape it."""
    name = archive.name.lower()
    try:
        if name.endswith((".zip", ".aar")) or zipfile.is_zipfile(archive):
            _extract_zip(archive, target)
        elif name.endswith((".tar.gz", ".tgz", ".tar", ".tar.xz", ".tar.bz2")) or tarfile.is_tarfile(archive):
            _extract_tar(archive, target)
        else:
            raise UserError(f"{archive}: unknown archive type; use a .zip, .aar, .tar.gz or a directory")
    except OSError as err:
        if isinstance(err, UserError):
            raise
        raise UserError(f"{archive}: cannot unpack: {err.strerror or err}") from None


def _extract_zip(archive: Path, target: Path) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise UserError(f"{archive}: not a valid zip/aar archive (corrupt or truncated)") from None
    with zf:
        members = zf.infolist()
        for info in members:  # check everything before writing anything
            _safe_member_path(info.filename, archive)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise UserError(f"{archive}: refused: member {info.filename!r} is a symbolic link")
        for info in members:
            out = target / _safe_member_path(info.filename, archive)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (zipfile.BadZipFile, EOFError, zlib.error) as err:
                raise UserError(f"{archive}: corrupt member {info.filename!r} ({err})") from None


def _extract_tar(archive: Path, target: Path) -> None:
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, EOFError) as err:
        raise UserError(f"{archive}: not a valid tar archive ({err})") from None
    with tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, EOFError) as err:
            raise UserError(f"{archive}: corrupt or truncated tar archive ({err})") from None
        for m in members:
            _safe_member_path(m.name, archive)
            if m.issym() or m.islnk():
                raise UserError(f"{archive}: refused: member {m.name!r} is a link")
            if not (m.isfile() or m.isdir()):
                raise UserError(f"{archive}: refused: member {m.name!r} is not a regular file")
        try:
            # The checks above already refuse what the 'data' filter would; it stays as a second guard.
            tf.extractall(target, members=members, filter="data")
        except (tarfile.TarError, EOFError) as err:
            raise UserError(f"{archive}: corrupt or truncated tar archive ({err})") from None


# --- downloading ------------------------------------------------------------------


def download(source: Source, dest_file: Path, progress: Callable[[int, int], None] | None = None) -> None:
    """HTTPS download of ``source`` into ``dest_file`` (verified by the caller)."""
    import urllib.request

    if not source.url.startswith("https://"):
        raise UserError(f"refusing a non-HTTPS model source: {source.url}")
    done = 0
    req = urllib.request.Request(source.url, headers={"User-Agent": "voicecoach"})
    with urllib.request.urlopen(req, timeout=30) as resp, open(dest_file, "wb") as out:
        total = int(resp.headers.get("Content-Length") or source.size)
        while chunk := resp.read(1 << 16):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)


def fetch(
    dest: Path | None = None,
    *,
    sources: tuple[Source, ...] = SOURCES,
    progress: Callable[[Source, int, int], None] | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> Path:
    """Download the model from the first source that works, verify it, install it."""
    dest = dest or user_model_dir()
    errors = []
    with _staging(dest) as stage:
        for source in sources:
            archive = stage / PurePosixPath(source.url).name
            log(f"downloading {MODEL_NAME} from {source.description}")
            try:
                download(source, archive, (lambda d, t, s=source: progress(s, d, t)) if progress else None)
            except OSError as err:  # URLError, timeouts, connection resets are OSErrors
                reason = getattr(err, "reason", None) or err.strerror or err
                errors.append(f"{source.description}: {reason}")
                log(f"  failed: {reason}")
                archive.unlink(missing_ok=True)
                continue
            try:
                return install_archive(archive, dest, expect_sha256=source.sha256)
            except UserError as err:
                errors.append(f"{source.description}: {err}")
                log(f"  {err}")
                archive.unlink(missing_ok=True)
    raise UserError("could not download the model (" + "; ".join(errors) + "); copy it over and use `voicecoach model install FILE`")
