"""`powerdesk forecast …`: check data, backtest, one day-ahead forecast, risk, intraday re-anchoring."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from core.errors import InvalidInput
from core.settings import get_settings

forecast_app = typer.Typer(help="Load forecasting: backtest, day-ahead risk, intraday updates.", no_args_is_help=True)
err = Console(stderr=True)

LoadOpt = Annotated[Path, typer.Option("--load", help="load CSV: wide daily (YMD,T0000…) or long (timestamp,load)")]
WeatherOpt = Annotated[Path | None, typer.Option("--weather", help="daily or timestamped weather CSV")]
SeriesOpt = Annotated[str | None, typer.Option("--series", help="series id when the load file holds several")]
EventsOpt = Annotated[Path | None, typer.Option("--events", help="events CSV: date,name[,effect e.g. -0.2]")]
CalendarOpt = Annotated[str, typer.Option("--calendar", help="cn: Chinese holidays and 调休; weekend: Sat/Sun only")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"{name} must be a date like 2014-01-01; got {value!r}") from exc


def _calendar(value: str) -> Any:
    if value not in ("cn", "weekend"):
        raise InvalidInput(f"--calendar must be cn or weekend; got {value!r}")
    return value


def _read(load: Path, weather: Path | None, series: str | None, events: Path | None) -> tuple[Any, Any, Any]:
    from analytics.forecast.readers import read_events, read_load, read_weather

    data = read_load(load, series)
    wx = read_weather(weather, data.days) if weather is not None else None
    return data, wx, (read_events(events) if events is not None else None)


def _issues(*groups: list[str]) -> None:
    for group in groups:
        for issue in group:
            err.print(f"[yellow]data:[/yellow] {issue}")


@forecast_app.command("check")
def check(load: LoadOpt, weather: WeatherOpt = None, series: SeriesOpt = None, as_json: JsonOpt = False) -> None:
    """Validate the files: detected layout, repairs made and the offending rows."""
    data, wx, _ = _read(load, weather, series, None)
    out = {
        "series": data.series_id,
        "days": len(data.days),
        "from": str(data.days[0].date()),
        "to": str(data.days[-1].date()),
        "step_minutes": data.step_minutes,
        "complete_days": int(data.complete().sum()),
        "issues": data.issues + (wx.issues if wx else []),
        "flagged_load": data.flagged.astype(str).to_dict("records")[:200],
        "flagged_weather": wx.flagged.astype(str).to_dict("records")[:200] if wx else [],
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    typer.echo(
        f"{out['series']}: {out['days']} days {out['from']} … {out['to']}, {out['step_minutes']}-minute intervals, {out['complete_days']} complete"
    )
    _issues(out["issues"])
    for row in out["flagged_load"] + out["flagged_weather"]:
        typer.echo("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


@forecast_app.command("backtest")
def backtest_cmd(
    load: LoadOpt,
    weather: WeatherOpt = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="first scored day (default: a year before --to)")
    ] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last scored day (default: the last load day)")] = None,
    models: Annotated[
        str | None,
        typer.Option(
            help="comma-separated subset of naive_d1,naive_d7,lgbm_reference,lgbm_once,lgbm (default: all) or mlp (torch)"
        ),
    ] = None,
    retrain_every: Annotated[int, typer.Option(min=1, max=365, help="days between refits of the rolling model")] = 7,
    series: SeriesOpt = None,
    events: EventsOpt = None,
    calendar: CalendarOpt = "cn",
    as_json: JsonOpt = False,
) -> None:
    """Rolling-origin day-ahead backtest: MAPE, sMAPE, RMSE, pinball and P10–P90 coverage per model."""
    from analytics.forecast.backtest import backtest

    data, wx, ev = _read(load, weather, series, events)
    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    with Progress(
        TextColumn("回测 backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=as_json,
    ) as bar:
        task = bar.add_task("days", total=None)
        result = backtest(
            data,
            wx,
            _date(date_from, "--from"),
            _date(date_to, "--to"),
            models=chosen,
            retrain_every=retrain_every,
            calendar=_calendar(calendar),
            events=ev,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        typer.echo(json.dumps(result.as_json(), ensure_ascii=False))
        return
    _issues(result.issues)
    table = Table(title=f"{data.series_id}: {result.days[0]} … {result.days[-1]}, {len(result.days)} days, day-ahead")
    for column in ("model", "MAPE %", "sMAPE %", "RMSE", "pinball", "P10–P90 coverage", "peak MAPE %"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, m in result.metrics.items():
        table.add_row(
            name + (" (best)" if name == result.best else ""),
            f"{m['mape']:.2f}",
            f"{m['smape']:.2f}",
            f"{m['rmse']:.1f}",
            f"{m['pinball']:.1f}",
            f"{m['coverage']:.3f}",
            f"{m['peak_mape']:.2f}",
        )
    Console(width=max(110, Console().width)).print(table)
    err.print(f"note: {result.note}. {result.fits} model fits in {result.seconds:.1f} s.")


def _engine(
    load: Path, weather: Path | None, series: str | None, events: Path | None, calendar: str, day: str | None
) -> Any:
    from analytics.forecast.engine import ForecastEngine

    data, wx, ev = _read(load, weather, series, events)
    engine = ForecastEngine(data, wx, calendar=_calendar(calendar), events=ev)
    with err.status("fitting the model on the history…"):
        engine.prepare(_date(day, "--day"))
    return engine, data, wx


@forecast_app.command("day")
def day_cmd(
    load: LoadOpt,
    weather: WeatherOpt = None,
    day: Annotated[
        str | None, typer.Option("--day", help="day to forecast (default: the day after the load ends)")
    ] = None,
    weather_delta: Annotated[float, typer.Option("--weather-delta", help="shift the day's temperatures, °C")] = 0.0,
    series: SeriesOpt = None,
    events: EventsOpt = None,
    calendar: CalendarOpt = "cn",
    as_json: JsonOpt = False,
) -> None:
    """One day-ahead forecast: P10 / P50 / P90 per interval."""
    engine, _, _ = _engine(load, weather, series, events, calendar, day)
    forecast = engine.forecast(weather_delta)
    _issues(forecast.issues)
    if as_json:
        typer.echo(json.dumps(forecast.as_json(), ensure_ascii=False))
        return
    for row in forecast.as_json()["intervals"]:
        typer.echo(f"{row['time']}  {row['p10']:>10}  {row['p50']:>10}  {row['p90']:>10}")


@forecast_app.command("risk")
def risk_cmd(
    load: LoadOpt,
    capacity: Annotated[float, typer.Option("--capacity", help="capacity in the load's unit")],
    weather: WeatherOpt = None,
    weather_delta: Annotated[
        float, typer.Option("--weather-delta", help="extreme-weather scenario: shift temperatures, °C (e.g. +5)")
    ] = 0.0,
    day: Annotated[
        str | None, typer.Option("--day", help="day to assess (default: the day after the load ends)")
    ] = None,
    series: SeriesOpt = None,
    events: EventsOpt = None,
    calendar: CalendarOpt = "cn",
    as_json: JsonOpt = False,
) -> None:
    """Probability that the day's peak exceeds --capacity, the risk level (blue/yellow/orange/red) and its drivers."""
    from analytics.forecast.risk import load_risk_config

    if weather is None:
        raise InvalidInput("--weather is required for a risk assessment (the day's temperature forecast drives it)")
    config = load_risk_config(get_settings().data_dir)
    engine, _, _ = _engine(load, weather, series, events, calendar, day)
    forecast, risk = engine.risk(capacity, config, weather_delta)
    out = {"date": str(forecast.day), "weather_delta": weather_delta, **risk.as_json(), "issues": forecast.issues}
    if weather_delta:
        _, plain = engine.risk(capacity, config, 0.0)
        out["baseline"] = {"probability": round(plain.probability, 4), "level": plain.level}
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    _issues(forecast.issues)
    typer.echo(f"{forecast.day}: P(peak > {capacity:g}) = {risk.probability:.1%} → {risk.level} {risk.level_zh}")
    typer.echo(f"peak P10 / P50 / P90: {risk.peak_p10:.0f} / {risk.peak_p50:.0f} / {risk.peak_p90:.0f}")
    if weather_delta:
        typer.echo(
            f"scenario {weather_delta:+g} °C; without it: {out['baseline']['probability']:.1%} {out['baseline']['level']}"
        )
    for driver in risk.drivers:
        effect = "" if driver.effect_pct is None else f" (peak {driver.effect_pct:+.1f}%)"
        typer.echo(f"  {driver.key:20s} {driver.zh}: {driver.value:+.1f} {driver.unit}{effect} {driver.detail}")
    for alert in risk.alerts:
        typer.echo(f"  alert: {alert}")


@forecast_app.command("intraday")
def intraday_cmd(
    load: LoadOpt,
    actuals: Annotated[Path, typer.Option("--actuals", help="today's measured intervals so far: CSV timestamp,load")],
    capacity: Annotated[float, typer.Option("--capacity", help="capacity in the load's unit")],
    weather: WeatherOpt = None,
    series: SeriesOpt = None,
    calendar: CalendarOpt = "cn",
    as_json: JsonOpt = False,
) -> None:
    """Re-anchor today's remaining forecast on the measured intervals and re-assess the risk (alert on a new level)."""
    from analytics.forecast.intraday import AlertBook
    from analytics.forecast.live import LiveDay
    from analytics.forecast.readers import read_actuals
    from analytics.forecast.risk import load_risk_config

    config = load_risk_config(get_settings().data_dir)
    engine, _, _ = _engine(load, weather, series, None, calendar, None)
    live = LiveDay.start(engine, capacity, config, AlertBook())
    stamps, values = read_actuals(actuals)
    update = live.post(stamps, values)
    out = live.snapshot() | {
        "alert": update.alert.as_json() if update.alert else None,
        "seconds": round(update.seconds, 4),
    }
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    risk = live.risk
    typer.echo(
        f"{live.day}: {update.accepted} intervals accepted, correction {update.correction:+.1%}, re-anchored in {update.seconds * 1000:.0f} ms"
    )
    typer.echo(f"P(peak > {capacity:g}) = {risk.probability:.1%} → {risk.level} {risk.level_zh}")
    if update.alert:
        typer.echo(f"ALERT: risk level {update.alert.previous} → {update.alert.level}")
