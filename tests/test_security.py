"""Security properties that a reading of the code can check (issue 8).

- no shell is ever built: no ``shell=True``, ``os.system`` or ``os.popen``
  anywhere in the package (subprocesses take argument lists);
- nothing in the package opens a listening socket;
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


def test_nothing_listens_on_the_network():
    offenders = []
    for path in python_files():
        tree = ast.parse(path.read_text(), str(path))
        for call in calls(tree):
            name = dotted(call.func)
            if name.endswith((".listen", ".serve_forever")) or name in ("socketserver.TCPServer", "http.server.HTTPServer"):
                offenders.append(f"{path.name}:{call.lineno} {name}")
    assert offenders == []
