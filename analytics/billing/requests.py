"""The bill I/O contract (../shared/spec/billing-io.md): requests in, results out, errors per request.

`compute_requests` validates each request on its own (a bad one becomes `{"id", "error"}` and the
others are still computed), turns interval data into period energy, groups the valid requests by
category and schedule and prices each group with one vectorised engine call.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analytics.billing.engine import BillInputs, compute
from analytics.billing.schedule import CATEGORIES, PERIOD_INDEX, PERIODS, CategoryTariff, Schedule, TariffBook
from core.errors import InvalidInput

MAX_INTERVALS = 31 * 96 * 2  # a month of 15-minute data, with room for a 62-day period
TIERED = {"residential", "residential_tou"}
ENERGY_KEYS = {
    "residential": {"total"},
    "residential_shared_lv": {"total"},
    "residential_shared_hv": {"total"},
    "residential_tou": {"peak", "valley"},
    "commercial_tou": {"sharp", "peak", "flat", "valley"},
    "industrial_capacity": {"sharp", "peak", "flat", "valley"},
    "industrial_demand": {"sharp", "peak", "flat", "valley"},
    "industrial_actual_demand": {"sharp", "peak", "flat", "valley"},
}
NEEDS = {
    "industrial_capacity": ("capacity_kva",),
    "industrial_demand": ("capacity_kva", "contract_demand_kw", "max_demand_kw"),
    "industrial_actual_demand": ("max_demand_kw",),
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)


class Period(_Model):
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        if (self.end - self.start).days > 62:
            raise ValueError("a billing period is at most 62 days")
        return self


class Interval(_Model):
    start: dt.datetime
    kwh: float = Field(ge=0, allow_inf_nan=False)


class Registers(_Model):
    """Optional: register readings instead of energy (PowerDesk extension of the contract)."""

    start: float = Field(ge=0, allow_inf_nan=False)
    end: float = Field(ge=0, allow_inf_nan=False)
    multiplier: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    digits: int | None = Field(default=None, ge=3, le=10)  # register digits, for a rollover past 99…9


class BillRequest(_Model):
    id: str = Field(max_length=200)
    category: str
    period: Period
    year_to_date_kwh: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    energy_kwh: dict[str, float] | None = None
    intervals: list[Interval] | None = Field(default=None, max_length=MAX_INTERVALS)
    registers: Registers | None = None
    reactive_kvarh: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    pf_standard: float | None = Field(default=None, gt=0, le=1)
    capacity_kva: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    contract_demand_kw: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    max_demand_kw: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    opened_on: dt.date | None = None  # for schedules that pro-rate tier bounds

    @field_validator("id", mode="before")
    @classmethod
    def _id_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("energy_kwh")
    @classmethod
    def _energy(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is None:
            return None
        for key, kwh in value.items():
            if key not in PERIOD_INDEX:
                raise ValueError(f"unknown period {key!r}; use {', '.join(PERIODS)}")
            if not math.isfinite(kwh) or kwh < 0:
                raise ValueError(f"energy_kwh.{key} must be a finite number ≥ 0, got {kwh}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> BillRequest:
        if self.category not in CATEGORIES:
            raise ValueError(f"unknown category {self.category!r}; use one of: {', '.join(CATEGORIES)}")
        sources = [x is not None for x in (self.energy_kwh, self.intervals, self.registers)]
        if sum(sources) != 1:
            raise ValueError("give exactly one of energy_kwh, intervals or registers")
        if self.energy_kwh is not None:
            allowed = ENERGY_KEYS[self.category]
            wrong = set(self.energy_kwh) - allowed
            if wrong or not self.energy_kwh:
                raise ValueError(
                    f"{self.category} takes energy_kwh keys {sorted(allowed)}, got {sorted(self.energy_kwh)}"
                )
        if self.registers is not None and ENERGY_KEYS[self.category] != {"total"}:
            raise ValueError(f"registers give one total; {self.category} needs energy per period or intervals")
        if (self.reactive_kvarh is None) != (self.pf_standard is None):
            raise ValueError("reactive_kvarh and pf_standard go together (both or neither)")
        if self.category in TIERED and self.year_to_date_kwh is None:
            raise ValueError(f"{self.category} is tiered: year_to_date_kwh is required (0 for January)")
        derivable = {"max_demand_kw"} if self.intervals else set()
        missing = [f for f in NEEDS.get(self.category, ()) if getattr(self, f) is None and f not in derivable]
        if missing:
            raise ValueError(f"{self.category} needs {', '.join(missing)}")
        return self


@dataclass
class Prepared:
    index: int
    request: BillRequest
    schedule: Schedule
    tariff: CategoryTariff
    energy: np.ndarray
    max_demand_kw: float | None
    tier_fraction: float


def _registers_energy(r: Registers) -> float:
    delta = r.end - r.start
    if delta < 0:
        if r.digits is None:
            raise InvalidInput(
                f"the register went backwards ({r.start} → {r.end}); if the meter rolled over, give registers.digits"
            )
        delta += 10.0**r.digits
    return delta * r.multiplier


def _interval_energy(req: BillRequest, tariff: CategoryTariff) -> tuple[np.ndarray, float]:
    """Period energy from intervals (each assigned by its local start time) and the maximum demand."""
    intervals = req.intervals or []
    if not intervals:
        raise InvalidInput("intervals is empty")
    starts = np.array([np.datetime64(i.start.replace(tzinfo=None), "m") for i in intervals])
    kwh = np.array([i.kwh for i in intervals])
    order = np.argsort(starts, kind="stable")
    starts, kwh = starts[order], kwh[order]
    steps = np.diff(starts).astype(int)
    if (steps == 0).any():
        dup = starts[1:][steps == 0][0]
        raise InvalidInput(f"two intervals start at {dup}; send each interval once")
    minutes = int(steps.min()) if steps.size else (60 if intervals[0].start.minute == 0 else 15)
    if minutes not in (15, 30, 60):
        raise InvalidInput(f"intervals must be 15, 30 or 60 minutes apart, found {minutes}")
    first = np.datetime64(req.period.start, "m")
    last = np.datetime64(req.period.end + dt.timedelta(days=1), "m")
    outside = (starts < first) | (starts >= last)
    if outside.any():
        raise InvalidInput(f"interval {starts[outside][0]} lies outside the period {req.period.start}…{req.period.end}")
    day_minute = (starts - starts.astype("datetime64[D]")).astype(int)
    months = starts.astype("datetime64[M]").astype(int) % 12
    energy = np.zeros(len(PERIODS))
    per = minutes // 15
    for k in range(per):  # an interval longer than 15 minutes spreads evenly over its quarter hours
        slot = (day_minute // 15 + k) % 96
        np.add.at(energy, tariff.slot_period[months, slot], kwh / per)
    return energy, float(kwh.max() * 60.0 / minutes)


def _tier_fraction(req: BillRequest, tariff: CategoryTariff) -> float:
    if not (tariff.prorate and req.opened_on and req.opened_on.year == req.period.start.year):
        return 1.0
    return (12 - req.opened_on.month + 1) / 12.0


def prepare(index: int, req: BillRequest, book: TariffBook) -> Prepared:
    schedule = book.schedule_for(req.category, req.period.start)
    tariff = schedule.categories[req.category]
    max_demand = req.max_demand_kw
    energy = np.zeros(len(PERIODS))
    if req.intervals is not None:
        energy, derived = _interval_energy(req, tariff)
        max_demand = derived if max_demand is None else max_demand
    elif req.registers is not None:
        energy[PERIOD_INDEX["total"]] = _registers_energy(req.registers)
    else:
        for key, kwh in (req.energy_kwh or {}).items():
            energy[PERIOD_INDEX[key]] = kwh
        _check_registers(req, tariff, energy)
    if req.pf_standard is not None:
        book.pf_table(req.pf_standard)
    return Prepared(index, req, schedule, tariff, energy, max_demand, _tier_fraction(req, tariff))


def _check_registers(req: BillRequest, tariff: CategoryTariff, energy: np.ndarray) -> None:
    """The registers given match the schedule's periods in this period: energy only where it has hours, and every
    register it has hours for given (a missing one is not a zero)."""
    months = {req.period.start.month, req.period.end.month}
    present = {int(p) for m in months for p in np.unique(tariff.slot_period[m - 1])}
    for p in np.flatnonzero(energy > 0):
        if int(p) not in present:
            raise InvalidInput(f"energy_kwh.{PERIODS[p]}: the schedule has no {PERIODS[p]} hours in this period")
    given = set(req.energy_kwh or {})
    if given == {"total"}:
        return
    missing = [
        key for key in PERIODS if key in ENERGY_KEYS[req.category] and PERIOD_INDEX[key] in present and key not in given
    ]
    if missing:
        names = ", ".join(f"energy_kwh.{key}" for key in missing)
        raise InvalidInput(f"{req.category} needs {names} for this period (give 0 if the register read nothing)")


def _error(raw: dict[str, Any], message: str) -> dict[str, Any]:
    ident = raw.get("id")
    return {"id": ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None, "error": message}


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        where = ".".join(str(x) for x in e["loc"])
        parts.append(f"{where}: {e['msg']}" if where else e["msg"])
    return "; ".join(parts)


def compute_requests(raw_requests: list[Any], book: TariffBook) -> list[dict[str, Any]]:
    """Results in request order: `{"id", "lines", "total"}` or `{"id", "error"}`."""
    results: dict[int, dict[str, Any]] = {}
    groups: dict[tuple[str, str], list[Prepared]] = defaultdict(list)
    for i, raw in enumerate(raw_requests):
        if not isinstance(raw, dict):
            results[i] = {"id": None, "error": f"request {i} is not a JSON object"}
            continue
        if raw.get("category") not in CATEGORIES:
            results[i] = _error(raw, f"unknown category {raw.get('category')!r}; use one of: {', '.join(CATEGORIES)}")
            continue
        try:
            req = BillRequest.model_validate(raw)
            prepared = prepare(i, req, book)
        except ValidationError as exc:
            results[i] = _error(raw, _validation_message(exc))
            continue
        except InvalidInput as exc:
            results[i] = _error(raw, str(exc))
            continue
        groups[(prepared.schedule.id, req.category)].append(prepared)
    for items in groups.values():
        amounts = compute(items[0].tariff, _inputs(items), book.pf_tables)
        for row, p in enumerate(items):
            results[p.index] = {"id": p.request.id, "lines": amounts.lines(row), "total": float(amounts.total[row])}
    return [results[i] for i in range(len(raw_requests))]


def _inputs(items: list[Prepared]) -> BillInputs:
    def column(name: str) -> np.ndarray:
        return np.array([np.nan if (v := getattr(p.request, name)) is None else v for p in items], dtype=float)

    x = BillInputs.empty_like(np.array([p.energy for p in items]))
    x.year_to_date = np.nan_to_num(column("year_to_date_kwh"))
    x.reactive = column("reactive_kvarh")
    x.pf_standard = column("pf_standard")
    x.capacity_kva = column("capacity_kva")
    x.contract_demand_kw = column("contract_demand_kw")
    x.max_demand_kw = np.array([np.nan if p.max_demand_kw is None else p.max_demand_kw for p in items])
    x.tier_fraction = np.array([p.tier_fraction for p in items])
    return x
