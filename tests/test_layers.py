"""Imports go down only: edges → services → pure packages → core (../shared/ARCHITECTURE.md, Layers).

Every import in every module of ours, function-level ones included, is checked against what its
package may import. Edges do not import each other, except the command line, which may start the
operations (the process runner, the demo seed)."""

from __future__ import annotations

import ast
from pathlib import Path

from core.settings import REPO_ROOT

PURE = {"analytics", "knowledge", "demo"}
MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "analytics": {"core"},
    "knowledge": {"core"},
    "demo": {"core", "analytics"},
    "services": {"core", "analytics", "knowledge"},
    "api": {"core", "services", "analytics", "knowledge"},
    "actions": {"core", "services", "analytics", "knowledge"},
    "ops": {"core", "services", "analytics", "knowledge", "demo"},
    "cli": {"core", "services", "analytics", "knowledge", "demo", "ops"},
}
OURS = set(MAY_IMPORT)


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations() -> list[str]:
    out = []
    for package, allowed in MAY_IMPORT.items():
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, module in imports_of(path):
                top = module.split(".")[0]
                if top in OURS and top != package and top not in allowed:
                    out.append(
                        f"{path.relative_to(REPO_ROOT)}:{line} imports {module} ({package} may import {sorted(allowed)})"
                    )
    return out


def test_every_import_goes_down() -> None:
    assert violations() == []


def test_the_rasa_project_imports_nothing_of_ours() -> None:
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        assert not [m for _, m in imports_of(path) if m.split(".")[0] in OURS], path


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from services.bills import bill_range\n", encoding="utf-8")
    assert imports_of(module) == [(2, "services.bills")]
