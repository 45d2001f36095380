"""Plan recommendations and energy-saving advice in plain Chinese (wording in data/messages/recommend.yml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from analytics.recommend.advice import Advice
from analytics.recommend.backtest import parse_plan
from analytics.recommend.plans import PlanComparison
from core.datafiles import read_yaml_mapping


def load_wording(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, required=("plans", "plan", "advice", "campaign"))


def money(value: float) -> str:
    return f"{value:,.2f}"


def plan_label(plan: str, wording: dict[str, Any]) -> str:
    category, kw = parse_plan(plan)
    template = wording["plans"].get(category, category)
    return str(template.format(kw=f"{kw:g}" if kw is not None else ""))


def plan_text(c: PlanComparison, wording: dict[str, Any], valley_share: dict[int, float] | None = None) -> str:
    """The comparison as the customer reads it: every option's annual cost, then the advice."""
    w = wording["plan"]
    if c.reason == "insufficient_data":
        return str(w["insufficient"])
    label = plan_label(c.recommended, wording)
    if c.reason == "no_alternative":
        return str(w["no_alternative"].format(label=plan_label(c.current, wording)))
    intro = w["intro"] if c.current.startswith("residential") else w["intro_sample"]  # C&I: the sample schedule
    lines = [intro.format(first=f"{c.months[0]:%Y年%-m月}", last=f"{c.months[-1]:%Y年%-m月}")]
    for o in c.options:
        mark = w["current_mark"] if o.plan == c.current else ""
        lines.append(w["option"].format(label=plan_label(o.plan, wording), cost=money(o.annual_cost), mark=mark))
    if c.reason == "switch":
        s = c.spread()
        lines.append(
            w["switch"].format(
                label=label,
                saving=money(c.saving),
                max=money(s["max"]),
                cheaper=s["months_cheaper"],
                months=len(c.months),
            )
        )
        if s["months_costlier"]:  # months that cost more on the new plan: said as such, not as a negative saving
            lines.append(w["switch_costlier"].format(costlier=s["months_costlier"], most=money(-s["min"])))
        if c.option(c.recommended).estimated and valley_share:
            pct = round(100 * sum(valley_share.values()) / len(valley_share))
            lines.append(w["switch_estimated"].format(valley_pct=pct))
        lines.append(w["how_to"])
    elif c.reason == "current_is_best":
        lines.append(w["keep_best"].format(label=plan_label(c.current, wording)))
    else:
        best = min(c.options, key=lambda o: o.annual_cost)
        saving = c.option(c.current).annual_cost - best.annual_cost
        lines.append(w["keep_small"].format(label=plan_label(best.plan, wording), saving=money(saving)))
    return "\n".join(lines)


def advice_text(advices: list[Advice], wording: dict[str, Any]) -> str:
    w = wording["advice"]
    if not advices:
        return str(w["none"])
    lines = [w["intro"]]
    for i, a in enumerate(advices, 1):
        values = {k: f"{v:g}" for k, v in a.detail.items()}
        values |= {"kwh": f"{a.kwh:,.0f}", "saving": money(a.saving)}
        if "summer_uplift" in a.detail:
            values["uplift_pct"] = f"{round(100 * a.detail['summer_uplift'])}"
        lines.append(f"{i}. " + w[a.kind].format(**values))
    lines.append(w["outro"])
    return "\n".join(lines)
