"""`powerdesk segments|recommend|campaign ...`: segments, tariff plans and advice, pre-peak campaigns."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from core.errors import InvalidInput
from core.settings import get_settings

segments_app = typer.Typer(help="Customer segments from load profiles.", no_args_is_help=True)
recommend_app = typer.Typer(help="Tariff plans and energy-saving advice per customer.", no_args_is_help=True)
campaign_app = typer.Typer(help="Pre-peak campaigns: create, send, evaluate.", no_args_is_help=True)
err = Console(stderr=True)


def _services():
    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade
    from services.recommend import load_kit

    settings = get_settings()
    upgrade(settings.effective_database_url)
    engine = make_engine(settings.effective_database_url)
    return engine, make_session_factory(engine), load_kit(settings)


def _echo(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False))


@segments_app.command("build")
def segments_build(
    seed: Annotated[int, typer.Option(help="k-means seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the segments as JSON")] = False,
) -> None:
    """Features from every customer's load profile and record, clustered into named segments (stored, with charts)."""
    from core.models import Customer
    from services.recommend_jobs import build_segments

    engine, sessions, kit = _services()
    with sessions() as session:
        total = session.query(Customer).count()
    with Progress(TextColumn("客户分群"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("segments", total=total)
        summary = build_segments(sessions, kit, seed=seed, progress=lambda n: bar.advance(task, n))
    engine.dispose()
    if as_json:
        _echo(
            {
                "run_id": summary.run_id,
                "customers": summary.customers,
                "left_out": summary.left_out,
                "segments": summary.segments,
            }
        )
        return
    for s in summary.segments:
        typer.echo(f"{s['code']}\t{s['name']}\t{s['size']}\t{s['chart']}")
    err.print(
        f"run {summary.run_id}: {summary.customers} customers in {len(summary.segments)} segments "
        f"({summary.left_out} left out: incomplete data)"
    )


@recommend_app.command("plan")
def recommend_plan(
    account: Annotated[str, typer.Argument(help="户号 (10 digits)")],
    as_json: Annotated[
        bool, typer.Option("--json", help='{"current", "options": [{"plan", "annual_cost"}], "recommended", "saving"}')
    ] = False,
) -> None:
    """The customer's last 12 months re-billed under every plan it may choose, and the recommendation."""
    from analytics.recommend.wording import plan_text
    from services.recommend import customer_view, estimates, find_customer, plan_comparison

    engine, sessions, kit = _services()
    customer = find_customer(sessions, account)
    est = estimates(sessions, kit)
    comparison = plan_comparison(kit, customer_view(sessions, kit, customer, est))
    engine.dispose()
    if as_json:
        _echo(comparison.to_json())
        return
    typer.echo(plan_text(comparison, kit.wording, est.valley_share))


@recommend_app.command("advice")
def recommend_advice(
    account: Annotated[str, typer.Argument(help="户号 (10 digits)")],
    as_json: Annotated[bool, typer.Option("--json", help="[{kind, kwh, saving, detail}]")] = False,
) -> None:
    """Energy-saving advice from the customer's own data, each with its engine-priced saving."""
    from analytics.recommend.wording import advice_text
    from services.recommend import customer_advice, customer_view, estimates, find_customer, plan_comparison

    engine, sessions, kit = _services()
    customer = find_customer(sessions, account)
    view = customer_view(sessions, kit, customer, estimates(sessions, kit))
    advices = customer_advice(kit, view, plan_comparison(kit, view).current)
    engine.dispose()
    if as_json:
        _echo([{"kind": a.kind, "kwh": a.kwh, "saving": a.saving, "detail": a.detail} for a in advices])
        return
    typer.echo(advice_text(advices, kit.wording))


@recommend_app.command("backtest")
def recommend_backtest(
    train: Annotated[int, typer.Option(min=1, help="months to recommend on")] = 9,
    test: Annotated[int, typer.Option(min=1, help="following months to bill both ways")] = 3,
    until: Annotated[str | None, typer.Option(help="last test month YYYY-MM (default: the data's last)")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Recommend on the first TRAIN of the last TRAIN+TEST months, bill the next TEST months both ways."""
    from services.recommend_jobs import backtest_all

    end = _day(f"{until}-01") if until else None
    engine, sessions, kit = _services()
    result = backtest_all(sessions, kit, train, test, end)
    engine.dispose()
    data = result.to_json()
    if as_json:
        _echo(data)
        return
    typer.echo(
        f"train {data['train'][0]}…{data['train'][1]}, test {data['test'][0]}…{data['test'][1]}: "
        f"{result.recommended} recommendations, bill raised in {result.raised} ({100 * result.raised_share:.1f}%); "
        f"on measured data {result.measured_raised}/{result.measured} ({100 * result.measured_raised_share:.1f}%)"
    )


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--day {text!r} must be a date like 2026-08-12") from None


@campaign_app.command("create")
def campaign_create(
    day: Annotated[str, typer.Option(help="the high-risk day (from the load forecast), YYYY-MM-DD")],
    risk_level: Annotated[str, typer.Option(help="the forecast's risk level: medium / high / very_high")] = "high",
    window: Annotated[str, typer.Option(help="the risk window of the day")] = "19:00-21:00",
    size: Annotated[int, typer.Option(min=4, help="customers to select (treatment + control)")] = 400,
    control_share: Annotated[float, typer.Option(help="share kept as a random control group")] = 0.5,
    min_share: Annotated[float, typer.Option(help="least share of the day's energy in the window")] = 0.08,
    seed: Annotated[int, typer.Option(help="seed of the random assignment")] = 0,
    name: Annotated[str, typer.Option(help="campaign name")] = "",
) -> None:
    """Select customers with peak-shift potential before a high-risk day and split them into treatment and control."""
    from analytics.recommend.campaign import Window
    from services.recommend_jobs import create_campaign

    engine, sessions, kit = _services()
    campaign_id, counts = create_campaign(
        sessions,
        kit,
        _day(day),
        risk_level,
        Window.parse(window),
        size,
        control_share,
        seed,
        min_share=min_share,
        name=name,
    )
    engine.dispose()
    _echo({"campaign_id": campaign_id, **counts})


@campaign_app.command("send")
def campaign_send(campaign_id: Annotated[int, typer.Argument()]) -> None:
    """Message the treatment group through the channels (widget notices; WeChat when its sender is registered)."""
    from services.notices import WidgetNoticeSender
    from services.recommend import estimates
    from services.recommend_jobs import send_campaign

    engine, sessions, kit = _services()
    counts = send_campaign(sessions, kit, campaign_id, [WidgetNoticeSender()], estimates(sessions, kit))
    engine.dispose()
    _echo({"campaign_id": campaign_id, **counts})


@campaign_app.command("evaluate")
def campaign_evaluate(
    campaign_id: Annotated[int, typer.Argument()],
    confidence: Annotated[float, typer.Option(min=0.5, max=0.999)] = 0.95,
) -> None:
    """Difference in differences of the day's window energy (treatment vs control), with a confidence interval."""
    from services.recommend_jobs import evaluate_campaign

    engine, sessions, _kit = _services()
    effect = evaluate_campaign(sessions, campaign_id, confidence)
    engine.dispose()
    _echo({"campaign_id": campaign_id, **effect.to_json()})
