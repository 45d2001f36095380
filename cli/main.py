"""The `powerdesk` command line (Typer)."""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from cli.anomaly import anomaly_app
from cli.bill import bill_app, records_app
from cli.console import console_app
from cli.eval import eval_app
from cli.events import events_app
from cli.forecast import forecast_app
from cli.kb import kb_app
from cli.outage import outage_app
from cli.recommend import campaign_app, recommend_app, segments_app
from cli.report import demo_simulate, report_app
from cli.ticket import ticket_app
from cli.wechat import wechat_app
from core.clock import local_today
from core.errors import PowerDeskError
from core.settings import get_settings

app = typer.Typer(help="PowerDesk 电力营销智能客服", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demo_app = typer.Typer(help="The synthetic demo customer base.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(kb_app, name="kb")
app.add_typer(bill_app, name="bill")
app.add_typer(records_app, name="records")
app.add_typer(anomaly_app, name="anomaly")
for _sub, _name in ((segments_app, "segments"), (recommend_app, "recommend"), (campaign_app, "campaign")):
    app.add_typer(_sub, name=_name)
app.add_typer(console_app, name="console")
app.add_typer(wechat_app, name="wechat")
app.add_typer(forecast_app, name="forecast")
app.add_typer(report_app, name="report")
app.add_typer(events_app, name="events")
app.add_typer(eval_app, name="eval")
app.add_typer(outage_app, name="outage")
app.add_typer(ticket_app, name="ticket")
demo_app.command("simulate")(demo_simulate)
err = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply Alembic migrations to DATABASE_URL (SQLite under var/ by default)."""
    from core.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url, revision)
    err.print(f"database at revision {revision}: {_safe_url(settings.effective_database_url)}")


TodayOption = Annotated[
    dt.datetime | None,
    typer.Option(
        formats=["%Y-%m-%d"],
        help="the demo's today (YYYY-MM-DD): readings up to the day before, bills through the last complete "
        "month; default: today's date in China (Asia/Shanghai)",
    ),
]


@demo_app.command("seed")
def demo_seed(
    customers: Annotated[int | None, typer.Option(help="number of customers (default: generator.yml)")] = None,
    seed: Annotated[int | None, typer.Option(help="random seed (default: generator.yml)")] = None,
    reset: Annotated[bool, typer.Option(help="replace existing customers and conversations")] = False,
    if_empty: Annotated[
        bool, typer.Option(help="when customers exist, only extend a demo history that has fallen behind")
    ] = False,
    today: TodayOption = None,
) -> None:
    """Generate the synthetic demo customers and their readings up to yesterday, reproducibly from a seed."""
    from sqlalchemy import func, select

    from core.models import Customer
    from demo.config import load_demo_config
    from ops.demo_seed import seed_demo

    settings = get_settings()
    day = today.date() if today else local_today()
    sessions, engine = _migrated_sessions()
    try:
        if if_empty:
            with sessions() as session:
                if session.scalar(select(func.count()).select_from(Customer)):
                    _extend(sessions, day, starting=True)
                    return
        config = load_demo_config(settings.data_dir, today=day, customers=customers, seed=seed)
        with _progress() as (bar, task):
            bar.update(task, total=config.customers)
            summary = seed_demo(sessions, config, reset=reset, progress=lambda n: bar.advance(task, n))
    finally:
        engine.dispose()
    err.print(
        f"{summary.customers} synthetic customers, {config.start} … {config.end}: {summary.daily_rows} daily and "
        f"{summary.interval_rows} interval meter-days, {summary.bills} bills in {summary.seconds:.1f} s"
    )


@demo_app.command("extend")
def demo_extend(today: TodayOption = None) -> None:
    """Extend the demo history up to yesterday (readings, then bills of the months that became complete)."""
    sessions, engine = _migrated_sessions()
    try:
        _extend(sessions, today.date() if today else local_today())
    finally:
        engine.dispose()


def _migrated_sessions():
    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    return make_session_factory(engine), engine


@contextmanager
def _progress() -> Iterator[tuple[Progress, TaskID]]:
    with Progress(
        TextColumn("生成演示数据"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        yield bar, bar.add_task("demo", total=None)


def _extend(sessions, today: dt.date, starting: bool = False) -> None:
    """Bring a demo database's history up to yesterday; a database not made by the demo seed is left alone.

    `starting` (`powerdesk run`): a history that cannot be extended is a warning, and the product starts."""
    from ops.demo_extend import demo_state, extend_demo
    from ops.demo_outages import refresh_demo_grid

    with sessions() as session:
        state = demo_state(session)
        if state is None:
            err.print(
                "[yellow]customers present, but no record of a demo seed (a database seeded before the demo could be "
                "extended, an interrupted seed, or real customers): their readings are left as they are; "
                "`powerdesk demo seed --reset` regenerates demo data[/yellow]"
            )
            return
        customers, last_day = state.customers, state.last_day
    grid = refresh_demo_grid(sessions, get_settings().data_dir, today)
    if grid.placed or grid.outages:
        err.print(
            f"demo grid: {grid.placed} customers given a feeder and 台区, {grid.outages} outage events for {today}"
        )
    if last_day >= today - dt.timedelta(days=1):
        err.print(f"demo history is current (readings up to {last_day})")
        return
    try:
        with _progress() as (bar, task):
            bar.update(task, total=customers)
            summary = extend_demo(sessions, get_settings().data_dir, today, progress=lambda n: bar.advance(task, n))
    except PowerDeskError as exc:
        if not starting:
            raise
        err.print(f"[yellow]demo history ends {last_day} and was not extended: {exc}[/yellow]")
        return
    err.print(
        f"demo history extended by {summary.days} days to {summary.last_day}; {summary.bills} new bills "
        f"({summary.bill_faults} with injected faults for the audit)"
    )


@demo_app.command("accounts")
def demo_accounts(
    limit: Annotated[int, typer.Option(min=1)] = 20,
    category: Annotated[str | None, typer.Option(help="tariff or customer category")] = None,
    with_phone: Annotated[bool, typer.Option(help="also print the last 4 phone digits (for binding)")] = False,
) -> None:
    """List demo account numbers (one per line)."""
    from sqlalchemy import or_, select

    from core.db import make_engine, make_session_factory
    from core.models import Customer

    engine = make_engine(get_settings().effective_database_url)
    with make_session_factory(engine)() as session:
        query = select(Customer).order_by(Customer.id).limit(limit)
        if category:
            query = query.where(or_(Customer.tariff_category == category, Customer.customer_category == category))
        for customer in session.scalars(query):
            typer.echo(f"{customer.account_no}\t{(customer.phone or '')[-4:]}" if with_phone else customer.account_no)
    engine.dispose()


@app.command()
def run(
    retrain: Annotated[bool, typer.Option(help="train the Rasa model even if bot/ is unchanged")] = False,
    profile: Annotated[
        str,
        typer.Option(
            help="single: one Rasa server and one api worker; scaled: Rasa replicas sharing a SQL tracker store "
            "and a Redis lock store, several api workers (needs a PostgreSQL DATABASE_URL; docs/operations.md)"
        ),
    ] = "single",
) -> None:
    """Prepare what changed (database, demo data, Rasa model), then run Rasa, the action server and the api."""
    from ops.runner import ensure_model, run_all, with_profile

    settings = with_profile(get_settings(), profile)
    db_upgrade("head")
    demo_seed(customers=None, seed=None, reset=False, if_empty=True, today=None)
    from knowledge.service import ensure_index

    if ensure_index(settings):
        err.print("knowledge index (re)built")
    ensure_model(settings, force=retrain)
    raise typer.Exit(run_all(settings))


@app.command()
def serve(
    process: Annotated[str, typer.Argument(help="rasa | actions | api: the one process this command becomes")],
    replica: Annotated[int, typer.Option(help="for rasa: which replica (1 …), on RASA_PORT + replica - 1")] = 1,
    profile: Annotated[str, typer.Option(help="single | scaled, as for `powerdesk run`")] = "single",
) -> None:
    """Become one of the product's processes (what deploy/'s systemd units and container run), configured exactly
    as `powerdesk run` configures it. Needs RASA_TOKEN and ACTION_SERVER_TOKEN (shared by every process)."""
    import os

    from ops.rasa_env import ensure_tracker_database
    from ops.runner import process_specs, rasa_process_name, with_profile

    settings = with_profile(get_settings(), profile)
    if len(settings.rasa_token) < 16 or len(settings.action_server_token) < 16:
        raise PowerDeskError(
            "`powerdesk serve` needs RASA_TOKEN and ACTION_SERVER_TOKEN (16+ characters, the same for every "
            "process); make them with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    name = rasa_process_name(replica) if process == "rasa" else process
    specs = {s.name: s for s in process_specs(settings)}
    if name not in specs:
        raise PowerDeskError(f"no process {name!r} in this profile; use one of {', '.join(specs)}")
    spec = specs[name]
    if process == "rasa":
        ensure_tracker_database(settings)
    os.chdir(spec.cwd)
    os.execve(spec.cmd[0], spec.cmd, spec.env)


@app.command()
def train(force: Annotated[bool, typer.Option(help="train even if bot/ is unchanged")] = False) -> None:
    """Train the Rasa model when bot/ changed since the last training."""
    from ops.runner import ensure_model

    trained = ensure_model(get_settings(), force=force)
    err.print("model trained" if trained else "model is up to date")


@app.command()
def chat(
    text: Annotated[str, typer.Argument(help="what the customer says")],
    user: Annotated[str, typer.Option("--user", help="the customer's id")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="print the replies as JSON")] = False,
    url: Annotated[str | None, typer.Option(help="api base URL (default: settings)")] = None,
) -> None:
    """Send one message through the running api and print the replies."""
    settings = get_settings()
    user = user or f"cli-{uuid.uuid4().hex[:12]}"
    try:
        response = httpx.post(
            f"{url or settings.base_url}/api/v1/messages",
            json={"user_id": user, "text": text, "channel": "api"},
            headers={"X-API-Key": settings.api_key} if settings.api_key else None,
            timeout=settings.rasa_timeout_s + 5,
        )
    except httpx.HTTPError as exc:
        err.print(f"[red]cannot reach the api at {url or settings.base_url}: {exc}. Is `powerdesk run` running?")
        raise typer.Exit(1) from exc
    if response.status_code != 200:
        err.print(f"[red]api answered {response.status_code}: {response.text}")
        raise typer.Exit(1)
    replies = [{"text": r["text"], "buttons": r["buttons"], "custom": r["custom"]} for r in response.json()["replies"]]
    if as_json:
        typer.echo(json.dumps(replies, ensure_ascii=False))
        return
    for reply in replies:
        typer.echo(reply["text"])
        for button in reply["buttons"]:
            typer.echo(f"  [{button['title']}] {button['payload']}")


def _safe_url(url: str) -> str:
    return httpx.URL(url).copy_with(password=None).__str__() if "://" in url and "@" in url else url


def main() -> None:
    try:
        app()
    except PowerDeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
