"""`powerdesk anomaly eval | cv`: how well the label-free scores and the supervised model rank labelled customers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
import typer

from cli.anomaly import ConsumptionOpt, LabelsOpt, MetaOpt, _load, _meta
from core.errors import InvalidInput
from core.settings import get_settings


def _by_type(labels_path: Path, scores: pd.Series) -> dict[str, float]:
    from analytics.anomaly.metrics import auc

    frame = pd.read_csv(labels_path, dtype=str)
    if "type" not in frame or "kind" not in frame:
        return {}
    frame = frame.set_index("customer_id").reindex(scores.index)
    normal = (frame["kind"] == "normal").to_numpy()
    out = {}
    for typ in sorted(set(frame["type"].dropna()) - {""}):
        hit = (frame["type"] == typ).to_numpy() & ~normal
        if hit.any():
            sel = hit | normal
            out[typ] = round(auc(hit[sel].astype(int), scores.to_numpy()[sel]), 4)
    return out


def evaluate(
    consumption: ConsumptionOpt,
    labels: LabelsOpt,
    meta: MetaOpt = None,
    score: Annotated[
        str, typer.Option(help="risk (label-free theft risk, ranks inspections) | pattern (the alerts' score)")
    ] = "risk",
    seeds: Annotated[int, typer.Option(min=0, max=50, help="also: held-out folds over this many fold seeds")] = 0,
    folds: Annotated[int, typer.Option(min=2, max=20, help="folds for --seeds")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object (the default output is JSON too)")] = False,
) -> None:
    """AUC, MAP@100 (and @50) and precision@k of a label-free score; AUC by type when labels have `type`."""
    from analytics.anomaly.contract import read_labels
    from analytics.anomaly.evaluation import SCORES, label_free_seeds
    from analytics.anomaly.metrics import map_at_k, report
    from analytics.anomaly.scoring import score_consumption
    from analytics.anomaly.supervised import align

    if score not in SCORES:
        raise InvalidInput(f"--score must be one of {SCORES}, got {score!r}")
    settings = get_settings()
    cons = _load(consumption, settings)
    y = read_labels(labels)
    meta_ = _meta(meta, cons.customers)
    scored = score_consumption(cons, meta_, threads=settings.anomaly_threads)
    rows, truth, unmatched = align(cons, y)
    columns = {"risk": "risk", "pattern": "score"}
    values = {name: scored.table[columns[name]].to_numpy()[rows] for name in SCORES}
    scores = pd.Series(values[score], index=cons.customers[rows].astype(str))
    out: dict[str, Any] = report(truth, scores.to_numpy())
    out["map_at_50"] = round(map_at_k(truth, scores.to_numpy(), 50), 4)
    out["score"] = score
    out["unmatched_labels"] = unmatched
    for other in SCORES:
        if other != score:
            out[other] = {k: v for k, v in report(truth, values[other]).items() if k in ("auc", "map_at_100")}
    by_type = _by_type(labels, scores)
    if by_type:
        out["auc_by_type"] = by_type
    if seeds:
        held_out = label_free_seeds(cons, y, meta_, folds, seeds, settings.anomaly_threads)
        out["held_out"] = {"folds": folds, **held_out[score]}
    typer.echo(json.dumps(out, ensure_ascii=False))


def cv(
    consumption: ConsumptionOpt,
    labels: LabelsOpt,
    folds: Annotated[int, typer.Option(min=2, max=20)] = 5,
    meta: MetaOpt = None,
    seed: Annotated[int, typer.Option(help="fold shuffling and model seed (the first of --seeds)")] = 0,
    seeds: Annotated[int, typer.Option(min=1, max=50, help="repeat with this many fold seeds: mean and spread")] = 1,
    permute_labels: Annotated[
        int | None, typer.Option(help="shuffle the labels with this seed first (a leakage check: AUC ≈ 0.5)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='print {"auc": ..., "map_at_100": ..., ...}')] = False,
) -> None:
    """Stratified k-fold cross-validation of the supervised model, every fitted step inside the training folds."""
    from analytics.anomaly.contract import read_labels
    from analytics.anomaly.evaluation import over_seeds
    from analytics.anomaly.supervised import repeated_cv

    settings = get_settings()
    cons = _load(consumption, settings)
    y = read_labels(labels)
    if permute_labels is not None:
        y = pd.Series(np.random.default_rng(permute_labels).permutation(y.to_numpy()), index=y.index)
    results = repeated_cv(cons, y, _meta(meta, cons.customers), folds, seeds, settings.anomaly_threads, first_seed=seed)
    summary = over_seeds([{"auc": r.auc, "map_at_100": r.map_at_100, "map_at_50": r.map_at_50} for r in results])
    means = {"auc": summary["auc"]["mean"], "map_at_100": summary["map_at_100"]["mean"]}
    extra = {"map_at_50": summary["map_at_50"]["mean"], "seeds": seeds, "folds": folds}
    if seeds > 1:
        extra |= {"auc_sd": summary["auc"]["sd"], "map_at_100_sd": summary["map_at_100"]["sd"], "spread": summary}
    if as_json:
        typer.echo(json.dumps(means | extra))
        return
    typer.echo(json.dumps(results[0].as_dict() | means | extra, ensure_ascii=False))
