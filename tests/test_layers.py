"""Imports go down only: edges → services → pure packages → core (../shared/ARCHITECTURE.md, Layers).

Every import in every module of ours, function-level ones included, is checked against what its
package may import. Edges do not import each other, except the command line, which may start the
operations (the process runner, the demo seed). A new top-level package must be given its place here."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from core.settings import REPO_ROOT

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
NOT_PRODUCT = {"tests", "benchmarks"}  # they may import anything; `bot/` is checked on its own


def packages(root: Path) -> set[str]:
    return {p.parent.name for p in root.glob("*/__init__.py")} - NOT_PRODUCT


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(root: Path, rules: dict[str, set[str]]) -> list[str]:
    ours = packages(root)
    out = [f"{name}/ is a package with no place in the layers; add it to MAY_IMPORT" for name in ours - rules.keys()]
    for package in sorted(ours & rules.keys()):
        allowed = rules[package]
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for line, module in imports_of(path):
                top = module.split(".")[0]
                if top in ours and top != package and top not in allowed:
                    where = path.relative_to(root)
                    out.append(f"{where}:{line} imports {module} ({package} may import {sorted(allowed)})")
    return out


def test_every_import_goes_down() -> None:
    assert violations(REPO_ROOT, MAY_IMPORT) == []


# Rasa's environment has none of our dependencies: bot/ may import only modules of ours that need nothing but the
# standard library (bot/brokers masks events with core.identity, the one implementation of the masking).
RASA_MAY_IMPORT = {"core.identity"}


def test_the_rasa_project_imports_nothing_of_ours() -> None:
    ours = packages(REPO_ROOT)
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        assert not [m for _, m in imports_of(path) if m.split(".")[0] in ours and m not in RASA_MAY_IMPORT], path
    for module in RASA_MAY_IMPORT:
        source = REPO_ROOT / (module.replace(".", "/") + ".py")
        imported = {m.split(".")[0] for _, m in imports_of(source)}
        assert imported <= set(sys.stdlib_module_names) | {"__future__"}, (module, imported)


@pytest.mark.parametrize(
    "source",
    [
        "import services.bills\n",
        "from services import bills\n",
        "def f():\n    from services.bills import bill_range\n",
    ],
)
def test_the_check_catches_an_upward_import_in_any_form(tmp_path: Path, source: str) -> None:
    for name in ("core", "services"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "core" / "m.py").write_text(source, encoding="utf-8")
    rules = {"core": set(), "services": {"core"}}
    assert [v.split(" ")[0] for v in violations(tmp_path, rules)] == [f"core/m.py:{source.count(chr(10))}"]
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "__init__.py").write_text("", encoding="utf-8")
    assert "extra/ is a package with no place in the layers" in violations(tmp_path, rules)[0]
