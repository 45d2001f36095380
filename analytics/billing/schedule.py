"""Tariff schedules as data (data/tariffs/*.yml): loading, validation, and look-up by date.

A schedule file holds the prices of one or more tariff categories from its `effective_from`
date. Each category maps every 15-minute slot of every month to a period (total / sharp / peak /
flat / valley), prices each period (per tier for tiered categories) and may carry a basic
charge. Validation names the file and the field of every problem: overlapping or missing hours,
prices missing for a period, tier bounds out of order, unknown keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.datafiles import read_yaml_mapping
from core.errors import DataError, InvalidInput

PERIODS = ("total", "sharp", "peak", "flat", "valley")
PERIOD_INDEX = {name: i for i, name in enumerate(PERIODS)}
SLOTS_PER_DAY = 96
MAX_TIERS = 3
CATEGORIES = (
    "residential",
    "residential_tou",
    "residential_shared_lv",
    "residential_shared_hv",
    "commercial_tou",
    "industrial_capacity",
    "industrial_demand",
    "industrial_actual_demand",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodSpec(_Strict):
    name: Literal["total", "sharp", "peak", "flat", "valley"]
    hours: list[str] = Field(min_length=1)
    months: list[int] | None = None
    overrides: Literal["total", "sharp", "peak", "flat", "valley"] | None = None

    @model_validator(mode="after")
    def _override_needs_months(self) -> PeriodSpec:
        if (self.months is None) != (self.overrides is None):
            raise ValueError("a period limited to some `months` must say which period it `overrides`, and vice versa")
        if self.months is not None and not all(1 <= m <= 12 for m in self.months):
            raise ValueError(f"months must be 1–12, got {self.months}")
        return self


class TierSpec(_Strict):
    bounds_kwh: list[float] = Field(min_length=1, max_length=MAX_TIERS - 1)
    prorate: bool = False

    @model_validator(mode="after")
    def _increasing(self) -> TierSpec:
        if any(b <= 0 for b in self.bounds_kwh) or any(
            b2 <= b1 for b1, b2 in zip(self.bounds_kwh, self.bounds_kwh[1:], strict=False)
        ):
            raise ValueError(f"tier bounds must be positive and increasing, got {self.bounds_kwh}")
        return self


class BasicSpec(_Strict):
    basis: Literal["capacity", "demand", "actual_demand"]
    price: float = Field(gt=0)
    floor_share_of_capacity: float = Field(default=0.0, ge=0, le=1)
    excess_threshold: float | None = Field(default=None, ge=1)
    excess_multiplier: float = Field(default=1.0, ge=1)


class CategorySpec(_Strict):
    label: str
    periods: list[PeriodSpec] = Field(min_length=1)
    prices: dict[str, float | list[float]]
    tiers: TierSpec | None = None
    basic: BasicSpec | None = None


class ScheduleFile(_Strict):
    id: str = Field(min_length=1)
    name: str
    effective_from: dt.date
    reference: bool = False
    currency: Literal["CNY"] = "CNY"
    funds_per_kwh: float = Field(default=0.0, ge=0)
    tou_periods: list[PeriodSpec] | None = None  # YAML anchor holder, not used directly
    categories: dict[str, CategorySpec] = Field(min_length=1)


@dataclass(frozen=True)
class CategoryTariff:
    """One category of one schedule, compiled for vectorised billing."""

    category: str
    label: str
    slot_period: npt.NDArray[np.int8]  # (12, 96): period index of each 15-minute slot per month
    prices: npt.NDArray[np.float64]  # (tiers, 5): price per tier and period (nan where unused)
    tier_bounds: tuple[float, ...]  # () when not tiered
    prorate: bool
    basic: BasicSpec | None
    funds_per_kwh: float
    used_periods: tuple[int, ...]

    @property
    def tiered(self) -> bool:
        return bool(self.tier_bounds)

    @property
    def tou(self) -> bool:
        return self.used_periods != (PERIOD_INDEX["total"],)


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    effective_from: dt.date
    reference: bool
    source: str
    categories: dict[str, CategoryTariff]


@dataclass
class TariffBook:
    """Every schedule and the power-factor tables; picks the schedule in force on a date."""

    schedules: list[Schedule]
    pf_tables: dict[float, npt.NDArray[np.float64]] = field(default_factory=dict)  # standard → (101,) percent

    def schedule_for(self, category: str, on: dt.date) -> Schedule:
        if category not in CATEGORIES:
            raise InvalidInput(f"unknown category {category!r}; use one of: {', '.join(CATEGORIES)}")
        candidates = [s for s in self.schedules if category in s.categories and s.effective_from <= on]
        if not candidates:
            first = min((s.effective_from for s in self.schedules if category in s.categories), default=None)
            hint = f"the earliest schedule for it starts {first}" if first else "no schedule has it"
            raise InvalidInput(f"no {category} schedule in force on {on} ({hint}); add a file under data/tariffs/")
        return max(candidates, key=lambda s: s.effective_from)

    def pf_table(self, standard: float) -> npt.NDArray[np.float64]:
        key = round(float(standard), 2)
        if key not in self.pf_tables:
            known = ", ".join(f"{k:.2f}" for k in sorted(self.pf_tables))
            raise InvalidInput(f"no power-factor table for standard {standard}; known standards: {known}")
        return self.pf_tables[key]


def _slots(span: str, where: str) -> list[int]:
    """'08:00-11:00' → slot indices 32..43; '22:00-08:00' wraps past midnight."""
    try:
        start_s, end_s = span.split("-")
        start, end = (_minute(start_s), _minute(end_s))
    except ValueError:
        raise DataError(f"{where}: {span!r} is not a time range like '08:00-11:00'") from None
    if start % 15 or end % 15:
        raise DataError(f"{where}: {span!r} must start and end on a quarter hour")
    a, b = start // 15, end // 15
    if a == b:
        raise DataError(f"{where}: {span!r} is empty")
    return list(range(a, b)) if a < b else list(range(a, SLOTS_PER_DAY)) + list(range(0, b))


def _minute(text: str) -> int:
    hours, minutes = text.strip().split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value <= 24 * 60 or int(minutes) >= 60:
        raise ValueError(text)
    return value


def _hhmm(slot: int) -> str:
    return f"{slot // 4:02d}:{slot % 4 * 15:02d}"


def _compile_periods(periods: list[PeriodSpec], where: str) -> npt.NDArray[np.int8]:
    day = np.full(SLOTS_PER_DAY, -1, dtype=np.int8)
    for i, spec in enumerate(p for p in periods if p.months is None):
        for span in spec.hours:
            for slot in _slots(span, f"{where}.periods[{i}].hours"):
                if day[slot] >= 0:
                    raise DataError(
                        f"{where}.periods: {spec.name} overlaps {PERIODS[day[slot]]} at {_hhmm(slot)}; "
                        "each hour of the day must belong to exactly one period"
                    )
                day[slot] = PERIOD_INDEX[spec.name]
    gaps = [_hhmm(int(s)) for s in np.flatnonzero(day < 0)]
    if gaps:
        shown = ", ".join(gaps[:6]) + (" …" if len(gaps) > 6 else "")
        raise DataError(f"{where}.periods: no period covers {shown}; the periods must cover all 24 hours")
    table = np.tile(day, (12, 1))
    for spec in (p for p in periods if p.months is not None):
        for span in spec.hours:
            slots = _slots(span, f"{where}.periods({spec.name}).hours")
            for month in spec.months or []:
                wrong = [s for s in slots if table[month - 1, s] != PERIOD_INDEX[spec.overrides or ""]]
                if wrong:
                    raise DataError(
                        f"{where}.periods: {spec.name} in month {month} at {_hhmm(wrong[0])} does not lie in "
                        f"{spec.overrides} (an override may only take hours from the period it names)"
                    )
                table[month - 1, slots] = PERIOD_INDEX[spec.name]
    return table


def _compile_category(name: str, spec: CategorySpec, funds: float, where: str) -> CategoryTariff:
    if name not in CATEGORIES:
        raise DataError(f"{where}: unknown category {name!r}; use one of: {', '.join(CATEGORIES)}")
    table = _compile_periods(spec.periods, where)
    used = tuple(sorted({int(p) for p in np.unique(table)}))
    tiers = len(spec.tiers.bounds_kwh) + 1 if spec.tiers else 1
    prices = np.full((tiers, len(PERIODS)), np.nan)
    for p in used:
        period = PERIODS[p]
        if period not in spec.prices:
            raise DataError(f"{where}.prices: no price for period {period!r}")
        value = spec.prices[period]
        values = value if isinstance(value, list) else [value]
        if len(values) != tiers:
            raise DataError(f"{where}.prices.{period}: expected {tiers} price(s) (one per tier), got {len(values)}")
        if any(v <= 0 for v in values):
            raise DataError(f"{where}.prices.{period}: prices must be positive, got {values}")
        prices[:, p] = values
    extra = set(spec.prices) - {PERIODS[p] for p in used}
    if extra:
        raise DataError(f"{where}.prices: {sorted(extra)} priced but no hour belongs to it")
    two_part = name.startswith("industrial_")
    if two_part != (spec.basic is not None):
        raise DataError(
            f"{where}: {'two-part categories need' if two_part else 'only two-part categories have'} a basic charge"
        )
    return CategoryTariff(
        category=name,
        label=spec.label,
        slot_period=table,
        prices=prices,
        tier_bounds=tuple(spec.tiers.bounds_kwh) if spec.tiers else (),
        prorate=bool(spec.tiers and spec.tiers.prorate),
        basic=spec.basic,
        funds_per_kwh=0.0 if name.startswith("residential") else funds,
        used_periods=used,
    )


def _pydantic_problem(path: Path, exc: ValidationError) -> DataError:
    problems = ["{}: {}".format(".".join(str(x) for x in e["loc"]), e["msg"]) for e in exc.errors()[:4]]
    return DataError(f"{path}: " + "; ".join(problems) + f" ({len(exc.errors())} problem(s) in all)")


def load_schedule(path: Path) -> Schedule:
    raw = read_yaml_mapping(path)
    try:
        parsed = ScheduleFile.model_validate(raw)
    except ValidationError as exc:
        raise _pydantic_problem(path, exc) from None
    categories = {
        name: _compile_category(name, spec, parsed.funds_per_kwh, f"{path.name}: categories.{name}")
        for name, spec in parsed.categories.items()
    }
    return Schedule(parsed.id, parsed.name, parsed.effective_from, parsed.reference, str(path), categories)


class _PfRange(_Strict):
    low: float = Field(ge=0, le=1)
    high: float = Field(ge=0, le=1)
    percent: float | None = None
    from_pf: float | None = None
    base: float = 0.0
    step: float | None = None


def load_pf_tables(path: Path) -> dict[float, npt.NDArray[np.float64]]:
    """Expand each standard's ranges into a table of 101 percents (power factor 0.00 … 1.00)."""
    raw = read_yaml_mapping(path)
    if not isinstance(raw.get("standards"), dict):
        raise DataError(f'{path}: expected a mapping `standards: {{"0.90": [ranges...]}}`')
    tables: dict[float, npt.NDArray[np.float64]] = {}
    for key, ranges in raw["standards"].items():
        where = f"{path.name}: standards.{key}"
        try:
            standard = round(float(key), 2)
            parsed = [_PfRange.model_validate(r) for r in ranges]
        except (TypeError, ValueError) as exc:
            raise DataError(f"{where}: {exc}") from None
        table = np.full(101, np.nan)
        for i, r in enumerate(parsed):
            lo, hi = round(r.low * 100), round(r.high * 100)
            if hi < lo:
                raise DataError(f"{where}[{i}]: low {r.low} is above high {r.high}")
            for cents in range(lo, hi + 1):
                if not np.isnan(table[cents]):
                    raise DataError(f"{where}[{i}]: power factor {cents / 100:.2f} is already covered")
                if r.percent is not None:
                    table[cents] = r.percent
                elif r.from_pf is not None and r.step is not None:
                    table[cents] = r.base + r.step * abs(cents - round(r.from_pf * 100))
                else:
                    raise DataError(f"{where}[{i}]: give either `percent` or `from_pf` with `step`")
        missing = [f"{c / 100:.2f}" for c in np.flatnonzero(np.isnan(table))]
        if missing:
            raise DataError(f"{where}: no adjustment for power factor {', '.join(missing[:5])}")
        tables[standard] = np.round(table, 4)
    return tables


def load_tariff_book(directory: Path) -> TariffBook:
    """Every `*.yml` schedule under `directory` plus its `power_factor.yml`."""
    if not directory.is_dir():
        raise DataError(f"tariff directory {directory} does not exist; set DATA_DIR or restore data/tariffs/")
    schedules = [load_schedule(p) for p in sorted(directory.glob("*.yml")) if p.name != "power_factor.yml"]
    if not schedules:
        raise DataError(f"{directory}: no schedule files (*.yml)")
    seen: dict[tuple[str, dt.date], str] = {}
    for s in schedules:
        for category in s.categories:
            key = (category, s.effective_from)
            if key in seen:
                raise DataError(f"{s.source}: {category} from {s.effective_from} is also defined in {seen[key]}")
            seen[key] = s.source
    pf_path = directory / "power_factor.yml"
    pf = load_pf_tables(pf_path) if pf_path.exists() else {}
    return TariffBook(sorted(schedules, key=lambda s: s.effective_from), pf)
