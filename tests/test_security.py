"""Security properties that a reading of the code can check (issue 8).

- no shell is ever built: no ``shell=True``, ``os.system`` or ``os.popen``
  anywhere in the package (subprocesses take argument lists);
- nothing in the package opens a listening socket, except ``voicecoach web``:
  a deliberate, opt-in listener (127.0.0.1 unless asked, a token off this machine;
  tests/test_web.py);
- the model download is HTTPS only with a pinned SHA-256 (tested in test_model.py).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "voicecoach"


def python_files():
    return sorted(PACKAGE.rglob("*.py"))


def calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node


def dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return dotted(node.value) + "." + node.attr
    if isinstance(node, ast.Name):
        return node.id
    return "?"


def test_no_shell_is_built_from_anything():
    offenders = []
    for path in python_files():
        tree = ast.parse(path.read_text(), str(path))
        for call in calls(tree):
            name = dotted(call.func)
            if name in ("os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"):
                offenders.append(f"{path.name}:{call.lineno} {name}")
            for kw in call.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    offenders.append(f"{path.name}:{call.lineno} shell=")
    assert offenders == []
    assert len(python_files()) > 5  # the scan really read the package


DELIBERATE_LISTENERS = {"commands/web.py"}
"""The one command whose job is to listen; the coach itself (run, serve) never does."""


def test_nothing_listens_on_the_network():
    offenders = []
    found = set()
    for path in python_files():
        tree = ast.parse(path.read_text(), str(path))
        for call in calls(tree):
            name = dotted(call.func)
            if name.endswith((".listen", ".serve_forever", ".handle_request")) or name in ("socketserver.TCPServer", "http.server.HTTPServer"):
                where = path.relative_to(PACKAGE).as_posix()
                if where in DELIBERATE_LISTENERS:
                    found.add(where)
                else:
                    offenders.append(f"{path.name}:{call.lineno} {name}")
    assert offenders == []
    assert found == DELIBERATE_LISTENERS  # the exception still names a real listener
