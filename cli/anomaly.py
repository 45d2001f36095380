"""`powerdesk anomaly …`: theft and meter-fault scores, evaluation, cross-validation, ingest, alerts."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from core.errors import InvalidInput
from core.settings import Settings, get_settings

anomaly_app = typer.Typer(
    help="Consumption anomalies: theft and meter-fault scores, regional alerts.", no_args_is_help=True
)
err = Console(stderr=True)
ConsumptionOpt = Annotated[
    Path, typer.Option("--consumption", help="CSV customer_id,date,kwh | customer_id,timestamp,kwh | wide (id + dates)")
]
LabelsOpt = Annotated[Path, typer.Option("--labels", help="CSV customer_id,label (1 = theft)")]
MetaOpt = Annotated[Path | None, typer.Option("--meta", help="CSV customer_id,area,category (peer groups)")]


def _load(path: Path, settings: Settings) -> Any:
    from analytics.anomaly.contract import read_consumption

    cons = read_consumption(path, max_bytes=settings.anomaly_max_file_mb * 1_000_000)
    if len(cons.problems):
        summary = cons.problems.groupby("problem")["rows"].agg(["size", "sum"])
        for problem, row in summary.iterrows():
            err.print(f"[yellow]{problem}[/yellow]: {int(row['sum'])} rows, {int(row['size'])} customers")
    err.print(f"{cons.n} customers × {len(cons.days)} days ({cons.days[0].date()} … {cons.days[-1].date()})")
    return cons


def _meta(path: Path | None, customers: Any) -> Any:
    from analytics.anomaly.scoring import Meta

    if path is None:
        return None
    try:
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig").set_index("customer_id")
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInput(f"{path}: expected a CSV with columns customer_id,area,category ({exc})") from exc
    return Meta.from_frame(customers, frame)


def _sessions(settings: Settings) -> Any:
    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade

    upgrade(settings.effective_database_url)
    return make_session_factory(make_engine(settings.effective_database_url))


RANKS = ("score", "risk", "theft_probability")


def _print_records(records: list[dict[str, Any]], as_json: bool, top: int, rank: str = "score") -> None:
    if rank not in RANKS:
        raise InvalidInput(f"--rank must be one of {RANKS}, got {rank!r}")
    records = sorted(records, key=lambda r: -r.get(rank, r["score"]))
    if top:
        records = records[:top]
    if as_json:
        typer.echo(json.dumps(records, ensure_ascii=False))
        return
    table = Table("customer", "score", "kind", "reasons", "risk", "theft", "theft reasons")
    for r in records:
        prob = r.get("theft_probability")
        table.add_row(
            r["customer_id"],
            f"{r['score']:.3f}",
            r["kind"],
            "；".join(x["text"] for x in r["reasons"]),
            f"{r.get('risk', float('nan')):.3f}",
            "" if prob is None else f"{prob:.3f}",
            "；".join(x["text"] for x in r.get("theft_reasons", [])),
        )
    Console().print(table)


@anomaly_app.command("score")
def score(
    consumption: Annotated[Path | None, typer.Option("--consumption", help="a CSV; without it: the database")] = None,
    meta: MetaOpt = None,
    labels: Annotated[Path | None, typer.Option("--labels", help="train the supervised model on these")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help='print [{"customer_id", "score", "kind", "reasons"}]')
    ] = False,
    top: Annotated[int, typer.Option(min=0, help="only the N highest scores (0 = all)")] = 0,
    problems: Annotated[Path | None, typer.Option(help="write the per-customer input problems to this CSV")] = None,
    rank: Annotated[str, typer.Option(help="order by: score (patterns) | risk | theft_probability")] = "score",
    model: Annotated[
        bool, typer.Option("--model/--no-model", help="add theft_probability from the trained (or shipped) model")
    ] = True,
) -> None:
    """Pattern score, kind, reasons, label-free risk and theft probability per customer (CSV or database)."""
    from analytics.anomaly.detector import load_texts
    from analytics.anomaly.scoring import score_consumption

    settings = get_settings()
    if consumption is None:
        if labels is not None:
            raise InvalidInput("--labels needs --consumption (the database path scores without labels)")
        from services.anomalies import score_database

        result = score_database(_sessions(settings), settings, with_model=model)
        err.print(
            f"{len(result.records)} customers scored; alerts: {result.alerts_new} new, {result.alerts_seen} seen again"
        )
        _print_records(result.records, as_json, top, rank)
        return
    cons = _load(consumption, settings)
    if problems is not None:
        cons.problems.to_csv(problems, index=False)
    scored = score_consumption(
        cons, _meta(meta, cons.customers), load_texts(settings.data_dir), threads=settings.anomaly_threads
    )
    records = scored.as_records()
    if labels is not None:
        from analytics.anomaly.contract import read_labels
        from analytics.anomaly.supervised import fit_predict

        prob = fit_predict(cons, read_labels(labels), _meta(meta, cons.customers), threads=settings.anomaly_threads)
        for rec in records:  # the supervised probability ranks; kind and reasons stay the detector's
            rec["unsupervised_score"] = rec["score"]
            rec["score"] = round(float(prob[rec["customer_id"]]), 4)
    elif model:
        from services.theft_training import add_theft_probabilities

        note = add_theft_probabilities(settings, cons, _meta(meta, cons.customers), records)
        if note is not None:
            err.print(f"theft model: {note['path']} ({note.get('source', '')})")
    _print_records(records, as_json, top, rank)


@anomaly_app.command("inject")
def inject_cmd(
    region: Annotated[Path, typer.Option(help="15-minute regional load, e.g. ../shared/data/load/area1_load.csv")],
    out: Annotated[Path, typer.Option(help="folder for consumption.csv, labels.csv, meta.csv")],
    customers: Annotated[int, typer.Option(min=10, max=200_000)] = 2000,
    days: Annotated[int, typer.Option(min=60, max=1000)] = 365,
    seed: int = 0,
    timestamps: Annotated[bool, typer.Option(help="write 15-minute rows (customer_id,timestamp,kwh)")] = False,
) -> None:
    """Development data: customers derived from real load, with injected attacks and meter faults (labelled)."""
    from demo.anomaly_attacks import inject
    from demo.anomaly_customers import load_region, make_customers, to_long

    rng = np.random.default_rng(seed)
    region_days, values = load_region(region)
    dev = make_customers(region_days, values, customers, rng, days=days)
    iv, truth = inject(dev.intervals, rng)
    out.mkdir(parents=True, exist_ok=True)
    if timestamps:
        stamps = (dev.days[:, None] + pd.to_timedelta(np.arange(96) * 15, unit="min")[None, :]).reshape(-1)
        frame = pd.DataFrame(
            {
                "customer_id": np.repeat(dev.ids, len(stamps)),
                "timestamp": np.tile(stamps.strftime("%Y-%m-%d %H:%M"), len(dev.ids)),
                "kwh": np.round(iv.reshape(-1), 4),
            }
        )
        frame[frame["kwh"].notna()].to_csv(out / "consumption.csv", index=False)
    else:
        with np.errstate(all="ignore"):
            daily = np.where((~np.isnan(iv)).sum(2) >= 48, np.nansum(iv, axis=2), np.nan)
        to_long(dev.ids, dev.days, daily.astype(np.float32)).to_csv(out / "consumption.csv", index=False)
    pd.DataFrame(
        {"customer_id": dev.ids, "label": truth.label, "kind": truth.kind, "type": truth.type, "start": truth.start}
    ).to_csv(out / "labels.csv", index=False)
    pd.DataFrame({"customer_id": dev.ids, "area": dev.areas, "category": dev.categories}).to_csv(
        out / "meta.csv", index=False
    )
    err.print(
        f"{customers} customers, {int(truth.label.sum())} thieves, {int((truth.kind == 'meter_fault').sum())} meter faults → {out}"
    )


def _parse_ingest(path: str) -> list[tuple[str, dt.date, float]]:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8-sig")
    rows: list[tuple[str, dt.date, float]] = []
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if lines and lines[0].lower().replace(" ", "").startswith("customer_id,"):
        lines = lines[1:]
    for number, line in enumerate(lines, start=1):
        cells = [c.strip() for c in line.split(",")]
        try:
            rows.append((cells[0], dt.date.fromisoformat(cells[1]), float(cells[2])))
        except (IndexError, ValueError):
            err.print(f"[yellow]line {number}: expected customer_id,date,kwh (YYYY-MM-DD), got {line[:80]!r}; skipped")
    return rows


@anomaly_app.command("ingest")
def ingest_cmd(
    file: Annotated[str, typer.Argument(help="CSV customer_id,date,kwh (customer_id = 户号), or - for stdin")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """New daily readings: update the customers' scores incrementally (and their alerts)."""
    from services.anomalies import ingest

    settings = get_settings()
    result = ingest(_sessions(settings), settings, _parse_ingest(file))
    for problem in result.problems:
        err.print(f"[yellow]{problem}")
    _print_records(result.records, as_json, 0)


@anomaly_app.command("regional")
def regional_cmd(
    weather: Annotated[Path | None, typer.Option(help="CSV date,temperature (daily mean °C)")] = None,
    recent: Annotated[int, typer.Option(min=1, max=60, help="days examined")] = 14,
    z: Annotated[float, typer.Option(min=1.0, help="robust standard deviations")] = 3.5,
) -> None:
    """Raise regional alerts: areas whose consumption departs from season, calendar (and weather)."""
    from services.anomalies import regional_alerts

    temperature = None
    if weather is not None:
        frame = pd.read_csv(weather)
        if not {"date", "temperature"} <= set(frame.columns):
            raise InvalidInput(f"{weather}: expected columns date,temperature")
        temperature = pd.Series(
            pd.to_numeric(frame["temperature"], errors="coerce").to_numpy(),
            index=pd.to_datetime(frame["date"], errors="coerce"),
        ).dropna()
    settings = get_settings()
    views = regional_alerts(_sessions(settings), settings, temperature, recent=recent, z=z)
    err.print(f"{len(views)} regional alerts raised or seen again")


@anomaly_app.command("alerts")
def alerts_cmd(
    status: Annotated[str, typer.Option(help="open | acknowledged | all")] = "open",
    customer: Annotated[str | None, typer.Option(help="one customer's alerts (户号)")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List anomaly alerts (customer and regional), highest score first."""
    from sqlalchemy import select

    from core.errors import NotFound
    from core.models import Customer
    from services.anomaly_alerts import alerts_for_customer, list_alerts

    with _sessions(get_settings())() as session:
        if customer is not None:
            row = session.scalars(select(Customer).where(Customer.account_no == customer)).first()
            if row is None:
                raise NotFound(f"no customer with account number {customer}")
            views = alerts_for_customer(session, row.id)
        else:
            views = list_alerts(session, None if status == "all" else status, limit=limit)
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in views], ensure_ascii=False))
        return
    table = Table("id", "scope", "who", "kind", "score", "status", "seen", "summary")
    for v in views:
        table.add_row(
            str(v.id),
            v.scope,
            v.account_no or v.area or "",
            v.kind,
            f"{v.score:.2f}",
            v.status,
            str(v.occurrences),
            v.summary,
        )
    Console().print(table)


@anomaly_app.command("ack")
def ack_cmd(
    alert_id: Annotated[int, typer.Argument(help="the alert's id (see `powerdesk anomaly alerts`)")],
    by: Annotated[str, typer.Option(help="who acknowledges")] = "cli",
) -> None:
    """Acknowledge an alert."""
    from core.db import transaction
    from services.anomaly_alerts import acknowledge

    with transaction(_sessions(get_settings())) as session:
        view = acknowledge(session, alert_id, by)
    typer.echo(json.dumps(view.as_dict(), ensure_ascii=False))


def _register() -> None:
    from cli.anomaly_eval import cv, evaluate
    from cli.anomaly_model import findings_cmd, inspect_cmd, train_cmd

    anomaly_app.command("eval")(evaluate)
    anomaly_app.command("cv")(cv)
    anomaly_app.command("inspect")(inspect_cmd)
    anomaly_app.command("findings")(findings_cmd)
    anomaly_app.command("train")(train_cmd)


_register()
