"""Bills and their changes in plain Chinese, from the bill's own lines (wording in data/messages/bills.yml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datafiles import read_yaml_mapping
from core.errors import DataError


@dataclass
class BillView:
    """What the wording needs of a stored bill."""

    period_start: dt.date
    period_end: dt.date
    category: str
    schedule_id: str
    year_to_date_kwh: float
    lines: list[dict[str, Any]]
    total: float
    pf_standard: float | None = None

    def energy_kwh(self) -> float:
        return sum(float(x["kwh"]) for x in self.lines if x["item"] == "energy")

    def by(self, key: str) -> dict[Any, float]:
        out: dict[Any, float] = {}
        for x in self.lines:
            if x["item"] == "energy":
                out[x.get(key)] = out.get(x.get(key), 0.0) + float(x["kwh"])
        return out

    def amount_of(self, item: str) -> float:
        return round(sum(float(x["amount"]) for x in self.lines if x["item"] == item), 2)


def load_wording(path: Path) -> dict[str, Any]:
    data = read_yaml_mapping(path)
    for key in ("periods", "residential_periods", "line", "header", "total", "explain"):
        if key not in data:
            raise DataError(f"{path}: missing `{key}`")
    return data


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _kwh(value: float) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def bill_text(bill: BillView, month_label: str, w: dict[str, Any]) -> str:
    """The bill line by line, as the customer sees it in the chat."""
    periods = w["residential_periods"] if bill.category.startswith("residential") else w["periods"]
    rows = [w["header"].format(month_label=month_label, start=bill.period_start, end=bill.period_end)]
    for x in bill.lines:
        if x["item"] == "energy":
            tier = w["line"]["tier"].format(tier=x["tier"]) if "tier" in x else ""
            text = w["line"]["energy"].format(
                tier_label=tier,
                period_label=periods.get(x.get("period", "total"), ""),
                kwh=_kwh(x["kwh"]),
                price=x["price"],
                amount=_money(x["amount"]),
            )
        elif x["item"] == "basic":
            text = w["line"]["basic"][x["basis"]].format(
                quantity=_kwh(x["quantity"]), price=x["price"], amount=_money(x["amount"])
            )
        elif x["item"] == "pf_adjustment":
            key = "pf_surcharge" if x["percent"] > 0 else "pf_discount" if x["percent"] < 0 else "pf_neutral"
            text = w["line"][key].format(
                power_factor=f"{x['power_factor']:.2f}", percent=abs(x["percent"]), amount=_money(x["amount"])
            )
        else:
            text = w["line"]["funds"].format(kwh=_kwh(x["kwh"]), price=x["price"], amount=_money(x["amount"]))
        rows.append(f"· {text}")
    rows.append(w["total"].format(total=_money(bill.total)))
    return "\n".join(rows)


def _compare(current: BillView, other: BillView, other_label: str, w: dict[str, Any]) -> list[str]:
    e = w["explain"]
    reasons = []
    now_kwh, then_kwh = current.energy_kwh(), other.energy_kwh()
    if then_kwh > 0 and abs(now_kwh - then_kwh) / then_kwh >= 0.05:
        key = "energy_up" if now_kwh > then_kwh else "energy_down"
        reasons.append(
            e[key].format(
                kwh=_kwh(now_kwh),
                other=other_label,
                delta=_kwh(abs(now_kwh - then_kwh)),
                pct=round(abs(now_kwh - then_kwh) / then_kwh * 100),
            )
        )
    peak_now, peak_then = current.by("period").get("peak", 0.0), other.by("period").get("peak", 0.0)
    if now_kwh > 0 and then_kwh > 0 and ("peak" in current.by("period")):
        share_now, share_then = peak_now / now_kwh * 100, peak_then / then_kwh * 100
        if abs(share_now - share_then) >= 3:
            key = "peak_share_up" if share_now > share_then else "peak_share_down"
            reasons.append(
                e[key].format(share=round(share_now), other=other_label, delta=round(abs(share_now - share_then)))
            )
    if current.schedule_id != other.schedule_id:
        reasons.append(e["price_change"])
    basic_now, basic_then = current.amount_of("basic"), other.amount_of("basic")
    if abs(basic_now - basic_then) >= 1:
        reasons.append(
            e["basic_change"].format(
                amount=_money(basic_now),
                other=other_label,
                direction=e["up"] if basic_now > basic_then else e["down"],
                delta=_money(abs(basic_now - basic_then)),
            )
        )
    return reasons


def _own_reasons(
    current: BillView, previous: BillView | None, w: dict[str, Any], bounds: tuple[float, ...]
) -> list[str]:
    """What the bill itself shows: a tier crossing this month, a power-factor surcharge."""
    e = w["explain"]
    reasons = []
    tiers = current.by("tier")
    before = (
        previous.by("tier") if previous is not None and previous.period_start.year == current.period_start.year else {}
    )
    for tier in sorted(t for t in tiers if isinstance(t, int) and t > 1):
        if tier not in before:
            price = max(float(x["price"]) for x in current.lines if x["item"] == "energy" and x.get("tier") == tier)
            bound = bounds[tier - 2] if len(bounds) >= tier - 1 else 0
            reasons.append(e["tier_crossing"].format(bound=_kwh(bound), kwh=_kwh(tiers[tier]), tier=tier, price=price))
    periods = current.by("period")
    peak, valley = periods.get("peak", 0.0), periods.get("valley", 0.0)
    if peak > 0 and valley > 0:  # a time-of-use bill: how the month split between the two prices
        share = round(peak / sum(periods.values()) * 100)
        reasons.append(e["tou_split"].format(peak=_kwh(peak), share=share, valley=_kwh(valley)))
    for x in current.lines:
        if x["item"] == "pf_adjustment" and x["percent"] > 0:
            reasons.append(
                e["pf_surcharge"].format(
                    power_factor=f"{x['power_factor']:.2f}",
                    standard=f"{current.pf_standard or 0:.2f}",
                    percent=x["percent"],
                    amount=_money(x["amount"]),
                )
            )
    return reasons


def explain_text(
    current: BillView,
    previous: BillView | None,
    last_year: BillView | None,
    month_label: str,
    w: dict[str, Any],
    tier_bounds: tuple[float, ...] = (),
    previous_label: str | None = None,
) -> str:
    """The month's bill against last month (or the month `previous_label` names, when the customer chose one to
    compare with) and the same month last year, with the reasons in numbers."""
    e = w["explain"]
    parts = [e["intro"].format(month_label=month_label, total=_money(current.total))]
    vs_previous, other_previous = e["vs_previous"], e["other_previous"]
    if previous_label:
        vs_previous = e["vs_month"].replace("{other_label}", previous_label)
        other_previous = previous_label
    for other, key, missing in ((previous, vs_previous, "no_previous"), (last_year, e["vs_last_year"], "no_last_year")):
        if other is None:
            parts.append(
                e[missing]
                if not previous_label or missing != "no_previous"
                else e["no_month"].format(other_label=previous_label)
            )
            continue
        delta = current.total - other.total
        if abs(delta) < 0.005:
            change = e["same"]
        else:
            change = e["change"].format(direction=e["up"] if delta > 0 else e["down"], delta=_money(abs(delta)))
        parts.append(key.format(other_total=_money(other.total), change=change))
    reasons = _own_reasons(current, previous, w, tier_bounds)
    for other, label in ((previous, other_previous), (last_year, e["other_last_year"])):
        if other is not None:
            reasons += [r for r in _compare(current, other, label, w) if r not in reasons]
    if not reasons and previous is not None:
        reasons.append(e["nothing_notable"].format(other=e["other_previous"]))
    text = "".join(parts)
    if reasons:
        text += "\n" + e["reasons_intro"] + "\n" + "\n".join(f"{i}. {r}；" for i, r in enumerate(reasons, 1))
    return text
