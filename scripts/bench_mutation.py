#!/usr/bin/env python3
"""Mutation benchmark: how many small deliberate breakages of the coach's core the tests catch.

For each module below, mutmut (https://pypi.org/project/mutmut/, 3.x) makes
every small change it knows (an operator flipped, a constant moved, a call's
argument dropped, ...) in a scratch copy of this tree, runs the tests that
guard the module against each one, and keeps whether a test failed (killed)
or all passed (survived). Printed: a table of the mutation score per module
(killed and timed out over all mutants, skipped ones left out) and every
surviving mutant as a diff, to kill with a test or explain as equivalent.

It is slow (minutes to hours per module, by the tests each mutant runs) and
is a measurement, not a test: not in the test suite, not in CI.

    scripts/setup --bench          # or: .venv/bin/pip install -e '.[mutation]'
    .venv/bin/python scripts/bench_mutation.py                      # the default modules
    .venv/bin/python scripts/bench_mutation.py --module model.py    # one (repeatable)
    .venv/bin/python scripts/bench_mutation.py --max-children 2 --keep /tmp/mut

The work tree is never changed: the copy lives in a temporary directory
(``--keep DIR`` to keep it, and its ``mutants/``, for ``mutmut show NAME``).

A run can be stopped (Ctrl-C, or a kill of its process group) and resumed:
given the same ``--keep DIR`` again, a module whose copy is already there is
not copied afresh, and mutmut tests only the mutants that have no verdict yet.
A mutant that hangs a test is stopped after mutmut's CPU-time limit,
``(tests' time + 1 s) x timeout multiplier x 2``; mutmut's multiplier of 15
lets one such mutant of coach/session.py cost over 3 minutes, so
``--timeout-multiplier 2`` is what makes the whole module fit in an hour here.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MODULES: dict[str, list[str]] = {
    # module (under voicecoach/) -> the test files that guard it
    "coach/session.py": ["tests/test_session.py"],
    "model.py": ["tests/test_model.py"],
    "history/store.py": ["tests/test_store.py", "tests/test_history_cli.py"],
    # The recognizer's rejection rules, against their unit tests and their cases (real clips).
    "speech/rules.py": ["tests/test_rules.py", "tests/test_rule_cases.py"],
    # Not by default: every mutant runs real decoding for minutes.
    "speech/recognizer.py": ["tests/test_recognizer.py"],
}
DEFAULT = ["coach/session.py", "model.py", "history/store.py", "speech/rules.py"]

DETECTED = ("killed", "timeout", "caught by type check", "segfault")
NOT_COUNTED = ("skipped", "not checked", "check was interrupted by user")


def scratch_copy(dest: Path) -> None:
    """The work tree's files (tracked, and new ones git does not ignore), as they are now."""
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, names.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)


def configure(tree: Path, module: str, tests: list[str], timeout_multiplier: float | None = None) -> None:
    """Point mutmut at one module and its tests (a [tool.mutmut] table in the copy's pyproject)."""
    table = "\n".join([
        "",
        "[tool.mutmut]",
        'source_paths = ["voicecoach/"]',
        f'only_mutate = ["voicecoach/{module}"]',
        # conftest starts PulseAudio with scripts/pulse-null-sink; the grammar is read from grammars/.
        'also_copy = ["scripts/", "grammars/"]',
        'pytest_add_cli_args = ["-p", "no:cacheprovider"]',
        "pytest_add_cli_args_test_selection = [" + ", ".join(f'"{t}"' for t in tests) + "]",
        *([f"timeout_multiplier = {timeout_multiplier}"] if timeout_multiplier else []),
        "",
    ])
    pyproject = tree / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + table)


def mutmut(tree: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess:
    # mutmut puts its mutants/ first on sys.path (before the editable install of the work tree).
    cmd = [sys.executable, "-m", "mutmut", *args]
    if log is None:
        return subprocess.run(cmd, cwd=tree, capture_output=True, text=True)
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=tree, stdout=out, stderr=subprocess.STDOUT, text=True)


def run_module(module: str, tests: list[str], work: Path, max_children: int,
               timeout_multiplier: float | None = None) -> dict:
    tree = work / module.replace("/", "_").removesuffix(".py")
    if (tree / "mutants").is_dir():
        # Resumed: the copy and its verdicts stand; mutmut tests what has none yet.
        print(f"  resuming in {tree} (the copy made when it started)", flush=True)
        if timeout_multiplier:
            pyproject = tree / "pyproject.toml"
            text = re.sub(r"(?m)^timeout_multiplier = .*\n", "", pyproject.read_text())
            pyproject.write_text(text.rstrip("\n") + f"\ntimeout_multiplier = {timeout_multiplier}\n")
    else:
        tree.mkdir(parents=True, exist_ok=True)
        scratch_copy(tree)
        configure(tree, module, tests, timeout_multiplier)
    started = time.monotonic()
    log = tree / "mutmut-run.log"
    if log.exists():
        log.rename(tree / f"mutmut-run.{int(time.time())}.log")
    run = mutmut(tree, "run", "--max-children", str(max_children), log=log)
    elapsed = time.monotonic() - started
    results = mutmut(tree, "results", "--all", "true")
    statuses: dict[str, str] = {}
    for line in results.stdout.splitlines():
        m = re.match(r"\s+(\S+): (.+)$", line)
        if m:
            statuses[m.group(1)] = m.group(2).strip()
    if run.returncode != 0 or not statuses:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        print(f"{module}: mutmut run failed (exit {run.returncode}); last lines of {log}:\n{tail}", file=sys.stderr)
    survivors = sorted(name for name, status in statuses.items() if status not in DETECTED + NOT_COUNTED)
    return {"module": module, "tests": tests, "statuses": statuses, "survivors": survivors,
            "diffs": diffs_of(tree, survivors), "seconds": elapsed}


def diffs_of(tree: Path, names: list[str]) -> dict[str, str]:
    """What each mutant changed (as `mutmut show NAME` prints it, in one process for all)."""
    code = ("import json, sys\n"
            "from mutmut.__main__ import find_mutant, get_diff_for_mutant\n"
            "print(json.dumps({n: get_diff_for_mutant(n, path=find_mutant(n).path) for n in sys.argv[1:]}))\n")
    proc = subprocess.run([sys.executable, "-c", code, *names], cwd=tree, capture_output=True, text=True)
    try:
        return {name: diff.strip() for name, diff in json.loads(proc.stdout.splitlines()[-1]).items()}
    except (IndexError, ValueError):
        return {}


def score(statuses: dict[str, str]) -> tuple[int, int, float | None]:
    counted = [s for s in statuses.values() if s not in NOT_COUNTED]
    detected = sum(s in DETECTED for s in counted)
    return detected, len(counted), (detected / len(counted) if counted else None)


def report(results: list[dict]) -> None:
    print()
    print(f"{'module':<24} {'mutants':>7} {'killed':>7} {'survived':>8} {'no tests':>8} {'other':>6} {'score':>7} {'time':>8}")
    for r in results:
        c = Counter(r["statuses"].values())
        detected, counted, share = score(r["statuses"])
        other = counted - detected - c["survived"] - c["no tests"]
        pct = f"{100 * share:.1f}%" if share is not None else "-"
        print(f"{r['module']:<24} {counted:>7} {detected:>7} {c['survived']:>8} {c['no tests']:>8} {other:>6} "
              f"{pct:>7} {r['seconds'] / 60:>6.1f} m")
    for r in results:
        if not r["survivors"]:
            continue
        print(f"\n## {r['module']}: {len(r['survivors'])} not killed (tests: {' '.join(r['tests'])})")
        for name in r["survivors"]:
            print(f"\n# {name}: {r['statuses'][name]}")
            print(r["diffs"].get(name) or f"(no diff; mutmut show {name})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", action="append", choices=sorted(MODULES),
                        help="a module under voicecoach/ (repeatable; default: " + ", ".join(DEFAULT) + ")")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2,
                        help="mutants tested at once (default: the CPU count)")
    parser.add_argument("--keep", metavar="DIR",
                        help="build the scratch copies in DIR and keep them; a copy already there is resumed")
    parser.add_argument("--timeout-multiplier", type=float, metavar="X",
                        help="mutmut's timeout_multiplier (default: mutmut's, 15): a hanging mutant is stopped "
                             "after (tests' seconds + 1) x X x 2 of CPU time")
    args = parser.parse_args()
    try:
        import mutmut  # noqa: F401
    except ImportError:
        print("bench_mutation: mutmut is not installed; .venv/bin/pip install -e '.[mutation]'", file=sys.stderr)
        return 2
    modules = args.module or DEFAULT
    if args.keep:
        work = Path(args.keep)
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="voicecoach-mutation-"))
    results = []
    try:
        for module in modules:
            print(f"mutating voicecoach/{module} against {' '.join(MODULES[module])} ...", flush=True)
            results.append(run_module(module, MODULES[module], work, args.max_children, args.timeout_multiplier))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
