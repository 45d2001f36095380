"""`powerdesk report ...`: the satisfaction report and the sentiment model behind it (issue 8)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from core.errors import InvalidInput
from core.settings import get_settings

report_app = typer.Typer(help="Satisfaction reports and the sentiment model.", no_args_is_help=True)
err = Console(stderr=True)


def _parse_day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise InvalidInput(f"{option} must be a date like 2026-11-01; got {value[:40]!r}") from exc


@report_app.command("satisfaction")
def satisfaction(
    date_from: Annotated[str, typer.Option("--from", help="first day (YYYY-MM-DD), inclusive")],
    date_to: Annotated[str, typer.Option("--to", help="last day (YYYY-MM-DD), inclusive")],
    out: Annotated[Path, typer.Option("--out", help="folder for report.html, report.pdf and the CSVs")],
    pdf: Annotated[bool, typer.Option(help="also print report.pdf with headless Chromium")] = True,
    gaps: Annotated[bool, typer.Option(help="cluster unanswered questions into knowledge gaps (e5)")] = True,
) -> None:
    """Write a self-contained HTML report, its PDF and CSVs of the metrics for the days given."""
    from services.reports import run_report

    start, end = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    if end < start:
        raise InvalidInput(f"--to ({end}) is before --from ({start}); swap them")
    if (end - start).days > 366 * 3:
        raise InvalidInput("a report covers at most three years; split the period")
    written = run_report(get_settings(), start, end, out, pdf=pdf, gaps=gaps, log=err.print)
    for path in written:
        typer.echo(str(path))


@report_app.command("train-sentiment")
def train_sentiment(
    public_limit: Annotated[int, typer.Option(min=0, help="public review rows used (0: none)")] = 2000,
) -> None:
    """Train the sentiment model (e5 + logistic regression) on data/sentiment and test it on the domain test set."""
    import numpy as np

    from analytics.satisfaction.sentiment import MODEL_FILE, evaluate, read_labelled, train
    from analytics.sentiment_lexicon import load_lexicon
    from knowledge.embedder import query_embedder
    from knowledge.service import embedder_path

    settings = get_settings()
    folder = settings.data_dir / "sentiment"
    public = read_labelled(folder / "public_sample.csv")
    domain = read_labelled(folder / "domain_train.csv")
    test = read_labelled(folder / "domain_test.csv")
    texts = public.texts[:public_limit] + domain.texts
    labels = np.concatenate([public.labels[:public_limit], domain.labels])
    path = embedder_path(settings)
    embedder = query_embedder(path)
    err.print(f"embedding {len(texts)} training and {len(test.texts)} test texts with {path.name}")
    vectors = embedder.embed_queries([t[:512] for t in texts])
    model = train(vectors, labels, path.name).with_embedder(embedder)
    scores = model.score_many(test.texts)
    lexicon = load_lexicon(settings.data_dir)
    lexicon_scores = np.asarray([lexicon.score(t) for t in test.texts])
    result = {
        "trained_on": {"public": min(public_limit, len(public.texts)), "domain": len(domain.texts)},
        "domain_test": len(test.texts),
        "model": evaluate(scores, test.labels).__dict__,
        "lexicon": evaluate(lexicon_scores, test.labels, threshold=-0.05).__dict__,
        "handoff_threshold": {
            "model": evaluate(scores, test.labels, threshold=settings.sentiment_handoff_below).__dict__,
            "lexicon": evaluate(lexicon_scores, test.labels, threshold=settings.sentiment_handoff_below).__dict__,
        },
    }
    model.save(folder / MODEL_FILE)
    (folder / "evaluation.json").write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    typer.echo(json.dumps(result, ensure_ascii=False))


def demo_simulate(
    conversations: Annotated[int, typer.Option(min=1, max=100_000, help="customers to play")] = 50,
    agents: Annotated[int, typer.Option(min=0, max=20, help="simulated agents (demo-agent-N)")] = 3,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, max=50)] = 4,
    url: Annotated[str | None, typer.Option(help="api base URL (default: settings)")] = None,
) -> None:
    """Play customers through the running api and bot, with agents and ratings (registered as `demo simulate`)."""
    import asyncio

    from core.db import make_engine, make_session_factory
    from ops.demo_simulate import ensure_demo_agents, load_script, simulate

    settings = get_settings()
    script = load_script(settings.data_dir)
    engine = make_engine(settings.effective_database_url)
    try:
        team = ensure_demo_agents(make_session_factory(engine), agents)
    finally:
        engine.dispose()
    stats = asyncio.run(
        simulate(
            url or settings.base_url,
            script,
            team,
            conversations,
            seed=seed,
            concurrency=concurrency,
            api_key=settings.api_key,
        )
    )
    err.print(
        f"{stats.conversations} conversations, {stats.messages} messages, {stats.handoffs_closed} cases handled by "
        f"agents, {stats.ratings} ratings; {len(stats.errors)} errors"
    )
    for problem in stats.errors[:5]:
        err.print(f"[red]{problem}")
    if stats.errors:
        raise typer.Exit(1)
