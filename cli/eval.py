"""`powerdesk eval …`: the product measured as customers meet it, through the running api (`powerdesk run`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.clock import local_today
from core.settings import get_settings

if TYPE_CHECKING:
    from ops.eval_runner import Api

eval_app = typer.Typer(help="End-to-end evaluation through the running api, as fresh customers.", no_args_is_help=True)
err = Console(stderr=True)
UrlOption = Annotated[str | None, typer.Option("--url", help="the api's base url (default: this machine's api port)")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON (with every miss or failed turn)")]


def _concurrency(what: str) -> object:
    return typer.Option(min=1, max=32, help=f"{what} at once")


def _api(url: str | None) -> Api:
    from ops.eval_runner import Api

    settings = get_settings()
    return Api(url or f"http://127.0.0.1:{settings.api_port}", settings.api_key or "")


@eval_app.command("faq")
def eval_faq(
    file: Annotated[Path, typer.Argument(help="YAML list of {text, topic}; topic 'none' = out of scope")],
    url: UrlOption = None,
    as_json: JsonOption = False,
    concurrency: Annotated[int, _concurrency("customers asking")] = 4,
) -> None:
    """Every question asked as a fresh customer: right topic / wrong topic / sent to the account check / refused /
    handed off / asked to choose — beside `powerdesk kb eval`'s retrieval-only numbers."""
    from knowledge.documents import load_topics
    from knowledge.evaluation import load_items
    from ops.eval_runner import run_faq

    settings = get_settings()
    items = [{"text": i.text, "topic": i.topic} for i in load_items(file, load_topics(settings.data_dir))]
    api = _api(url)
    report = asyncio.run(run_faq(api, items, concurrency)).as_json()
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    table = Table(
        "questions", "n", "right", "wrong topic", "account check", "refused", "handed off", "to choose", "other"
    )
    for label in ("in_scope", "out_of_scope"):
        row = report[label]
        keys = ("right", "wrong_topic", "account_check", "refused", "handed_off", "asked_to_choose", "other")
        table.add_row(label, str(row["n"]), *(str(row[k]) for k in keys))
    Console().print(table)
    err.print(
        f"in scope answered with the right topic {report['in_scope_right_topic']}, "
        f"out of scope declined {report['out_of_scope_declined']}"
    )


@eval_app.command("conversations")
def eval_conversations(
    file: Annotated[Path, typer.Argument(help="YAML dialogues (see services/dialogue_eval.py)")],
    url: UrlOption = None,
    as_json: JsonOption = False,
    pattern: Annotated[str | None, typer.Option(help="only the dialogues of this pattern")] = None,
    concurrency: Annotated[int, _concurrency("dialogues")] = 4,
) -> None:
    """Multi-turn scripts as fresh customers (demo customers bound where the script says), each reply checked:
    knowledge topic, the form question pending, handoff, ticket, refusal, texts, and values from the database."""
    from core.db import make_engine, make_session_factory
    from ops.eval_runner import dialogues_json, run_dialogues
    from services.dialogue_eval import load_dialogues

    dialogues = [d for d in load_dialogues(file) if pattern is None or d.pattern == pattern]
    api = _api(url)
    sessions = make_session_factory(make_engine(get_settings().effective_database_url))
    results = asyncio.run(run_dialogues(api, sessions, dialogues, local_today(), concurrency))
    report = dialogues_json(results)
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
    else:
        for failed in report["failures"]:
            err.print(f"[red]✗[/red] {failed['name']} ({failed['pattern']})")
            for turn in failed["turns"]:
                mark = "[red]✗[/red]" if turn["failures"] else "[green]✓[/green]"
                err.print(f"   {mark} {turn['said']}  → {'; '.join(turn['failures']) or 'ok'}")
                if turn["failures"]:
                    err.print(f"      {' | '.join(turn['replies'])[:300]}")
        err.print(
            f"{report['passed']}/{report['dialogues']} dialogues passed, "
            f"{report['turns_passed']}/{report['turns']} turns; by pattern {report['by_pattern']}"
        )
    raise typer.Exit(0 if report["passed"] == report["dialogues"] else 1)


@eval_app.command("tasks")
def eval_tasks(
    file: Annotated[Path, typer.Argument(help="a Rasa NLU YAML file; its task intents' examples are sent")],
    url: UrlOption = None,
    as_json: JsonOption = False,
    concurrency: Annotated[int, _concurrency("customers")] = 4,
) -> None:
    """Requests to act (bills, usage, binding, repair, complaint, a person…) from fresh customers: did each start
    its task — the account check, the repair form, the forecast, a person?"""
    from ops.eval_runner import run_tasks
    from services.dialogue_eval import TASK_STARTS, load_nlu_examples

    examples = [(i, t) for i, t in load_nlu_examples(file) if i in TASK_STARTS]
    api = _api(url)
    report = asyncio.run(run_tasks(api, examples, concurrency))
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    for miss in report["misses"]:
        err.print(f"{miss['outcome']} {miss['intent']}: {miss['text']} → {' | '.join(miss['replies'])[:200]}")
    err.print(
        f"task requests started: {report['started']}/{report['n']} = {report['started_share']}; "
        f"with a general answer and the task's button: {report['started_or_offered_share']}"
    )
