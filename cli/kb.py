"""`powerdesk kb …`: build, search and evaluate the knowledge base."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.errors import InvalidInput
from core.settings import get_settings

kb_app = typer.Typer(help="The knowledge base (FAISS + BM25 over data/knowledge).", no_args_is_help=True)
err = Console(stderr=True)


@kb_app.command("build")
def kb_build() -> None:
    """Validate the documents, build the embedder if needed, index, and calibrate the answer threshold."""
    from knowledge import service

    retriever, metrics = service.build(get_settings())
    manifest = retriever.built.manifest
    err.print(
        f"indexed {manifest['entries']} entries ({manifest['units']} texts, {manifest['index_type']}) "
        f"in {manifest['build_seconds']} s; fusion {retriever.fusion.as_dict()}"
    )
    if metrics is not None:
        err.print(f"on data/eval/kb_dev*.yml (used for calibration): {metrics.as_dict()}")


@kb_app.command("embedder")
def kb_embedder() -> None:
    """Build (or reuse) the offline e5 embedder under var/models (make setup runs this)."""
    from knowledge import service

    err.print(f"embedder ready: {service.embedder_path(get_settings())}")


@kb_app.command("search")
def kb_search(
    query: Annotated[str | None, typer.Argument(help="the question")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    k: Annotated[int, typer.Option("--k", min=1, max=50, help="how many hits")] = 5,
    batch: Annotated[Path | None, typer.Option(help="a file with one query per line ('-' for stdin)")] = None,
) -> None:
    """Search the index: {"answerable": bool, "hits": [{"id", "topic", "title", "score"}]}."""
    from knowledge import service

    if (query is None) == (batch is None):
        raise InvalidInput("give either a QUERY or --batch FILE")
    retriever = service.open_retriever(get_settings())
    if batch is not None:
        lines = sys.stdin if str(batch) == "-" else batch.open(encoding="utf-8")
        for line in lines:
            text = line.rstrip("\n")
            try:
                out = retriever.search(text, k).as_json()
            except InvalidInput as exc:
                out = {"answerable": False, "hits": [], "error": str(exc)}
            typer.echo(json.dumps(out, ensure_ascii=False))
        return
    result = retriever.search(query or "", k)
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    err.print("可回答" if result.answerable else "不回答（低于阈值）", f"threshold {retriever.fusion.threshold}")
    for hit in result.hits:
        typer.echo(f"{hit.score:.3f}  {hit.entry.id:24s} {hit.entry.topic:28s} {hit.entry.title}")


@kb_app.command("eval")
def kb_eval(
    file: Annotated[Path, typer.Argument(help="YAML/JSON list of {text, topic}; topic 'none' = out of scope")],
) -> None:
    """Top-1 / top-3 topic accuracy, MRR, out-of-scope rejected, in-scope answered."""
    from knowledge import service
    from knowledge.documents import load_topics
    from knowledge.evaluation import evaluate, load_items

    settings = get_settings()
    items = load_items(file, load_topics(settings.data_dir))
    retriever = service.open_retriever(settings)
    typer.echo(json.dumps(evaluate(retriever, items).as_dict(), ensure_ascii=False))
