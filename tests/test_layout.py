"""The source tree keeps its promises to a newcomer: imports of our own modules sit at the top
of each file, where they show the dependencies (and import-linter checks them); one inside a
function is allowed only with a comment saying why (start-up cost, an optional backend)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("trolyao", "webhook", "actions", "bot", "knowledge")


def _own(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in PACKAGES


def hidden_imports(path: Path, root: Path = ROOT) -> list[str]:
    """Imports of project modules inside a function with no comment on that line or the one
    above (the comment is the reason)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines), filename=str(path))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            if not any(_own(n) for n in names):
                continue
            here = lines[node.lineno - 1]
            above = lines[node.lineno - 2] if node.lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                found.append(f"{path.relative_to(root)}:{node.lineno}: {here.strip()}")
    return sorted(set(found))


def test_project_imports_inside_functions_say_why():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += hidden_imports(path)
    assert not offenders, ("import our modules at the top of the file, or add a comment saying "
                           "why this one waits:\n" + "\n".join(offenders))


def test_the_check_sees_an_unexplained_import_and_accepts_an_explained_one(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from trolyao.core import settings\n    return settings\n\n"
                     "def g():\n    # heavy: only the shell needs it\n    import knowledge.search\n"
                     "    import json\n", encoding="utf-8")
    assert hidden_imports(probe, tmp_path) == ["probe.py:2: from trolyao.core import settings"]
