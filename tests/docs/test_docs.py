"""The README stays short and points into docs/; the benchmark tables are generated, never stale."""

from __future__ import annotations

import importlib.util
import re

from core.settings import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"


def test_readme_is_short_and_starts_with_the_two_commands() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    first_block = text.split("```")[1]
    assert "make run" in first_block and "make test" in first_block


def test_every_docs_page_is_linked_from_the_readme_and_every_link_resolves() -> None:
    text = README.read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((docs/[^)#]+)", text))
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked
    for page in [README, *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def test_benchmark_tables_match_the_results_files() -> None:
    spec = importlib.util.spec_from_file_location("bench_tables", REPO_ROOT / "scripts" / "bench_tables.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render(REPO_ROOT / "benchmarks" / "results")
    assert (DOCS / "benchmarks.md").read_text(encoding="utf-8") == expected, (
        "docs/benchmarks.md is stale: run `python scripts/bench_tables.py`"
    )
