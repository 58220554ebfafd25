"""docs/testing.md names only tests and benchmarks that exist, so its table cannot rot.

The table maps each README promise to ``file::test`` names under tests/ (a
bare ``::test`` is in the last file named, a bare ``test_file`` is the whole
file) and to benchmarks under scripts/.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTING = ROOT / "docs" / "testing.md"


def references(text: str) -> list[tuple[str, str | None]]:
    """(test file, test or None for the whole file) for each name in the promise table, in order."""
    refs: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        if not line.startswith("| ") or line.startswith("| promise"):
            continue
        current = None
        for token in re.findall(r"`([^`]+)`", line):
            if m := re.fullmatch(r"(test_\w+)(?:::(test_\w+))?", token):
                current = m.group(1)
                refs.append((current, m.group(2)))
            elif m := re.fullmatch(r"::(test_\w+)", token):
                assert current is not None, f"{token} with no file before it in: {line[:80]}"
                refs.append((current, m.group(1)))
    return refs


def scripts_named(text: str) -> list[str]:
    return re.findall(r"`((?:scripts/)?(?:bench_\w+\.py|check_\w+|test|setup))`", text)


def missing(refs: list[tuple[str, str | None]]) -> list[str]:
    """The references with no such file under tests/ or no such test in it."""
    gone = []
    for file, test in refs:
        path = ROOT / "tests" / f"{file}.py"
        if not path.is_file():
            gone.append(f"tests/{file}.py")
        elif test and not re.search(rf"^(async )?def {test}\(", path.read_text(), re.M):
            gone.append(f"{file}::{test}")
    return gone


def test_every_test_the_promise_table_names_exists() -> None:
    refs = references(TESTING.read_text())
    assert len(refs) > 150  # the table was read (a format change would leave nothing checked)
    assert not missing(refs), f"docs/testing.md names tests that do not exist: {missing(refs)}"


def test_every_script_the_promise_table_names_exists() -> None:
    names = scripts_named(TESTING.read_text())
    assert len(names) > 5
    missing = [n for n in names if not (ROOT / "scripts" / n.removeprefix("scripts/")).is_file()]
    assert not missing, f"docs/testing.md names scripts that do not exist: {missing}"


def test_the_check_sees_a_missing_test_or_file() -> None:
    refs = references("| p | `test_store::test_round_trip`, `::test_no_such_test`, `test_report`, `test_gone` |")
    assert refs == [("test_store", "test_round_trip"), ("test_store", "test_no_such_test"),
                    ("test_report", None), ("test_gone", None)]
    assert missing(refs) == ["test_store::test_no_such_test", "tests/test_gone.py"]
