"""Assemble the demo customer base: records plus 13 months of readings, reproducible from a seed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from analytics.calendar import day_types
from demo import identity
from demo.config import KINDS, DemoConfig
from demo.load import (
    DayContext,
    daily_series,
    regional_shape,
    spread_over_day,
    synthetic_temperature,
)


@dataclass
class DemoCustomer:
    account_no: str
    name: str
    id_number: str
    phone: str
    address: str
    area: str
    customer_category: str
    tariff_category: str
    capacity_kva: float | None
    contract_demand_kw: float | None
    pf_standard: float | None
    opened_on: dt.date
    meter_no: str
    multiplier: float
    resolution: str  # "15min" or "daily"
    register_start: float
    power_factor: float | None  # the customer's typical power factor (C&I)


@dataclass
class CustomerReadings:
    customer: DemoCustomer
    energy: npt.NDArray[np.float32]  # (days,) daily kWh or (days, 96) 15-minute kWh
    reactive: npt.NDArray[np.float32] | None  # (days,) kvarh, C&I only


@dataclass
class DemoBase:
    config: DemoConfig
    context: DayContext
    customers: list[DemoCustomer]

    def readings(self) -> Iterator[CustomerReadings]:  # pragma: no cover - replaced per instance
        raise NotImplementedError


def _counts(config: DemoConfig) -> dict[str, int]:
    counts = {k: int(round(config.customers * share)) for k, share in config.mix.items()}
    counts["residential"] += config.customers - sum(counts.values())
    return counts


def _address(rng: np.random.Generator, config: DemoConfig, area: str, business: bool) -> str:
    street = config.raw["areas"][area][int(rng.integers(len(config.raw["areas"][area])))]
    number = int(rng.integers(1, 999))
    if business:
        return f"{config.city}{area}{street}{number}号"
    return (
        f"{config.city}{area}{street}{number}号{int(rng.integers(1, 30))}幢"
        f"{int(rng.integers(1, 6))}单元{int(rng.integers(1, 33))}{int(rng.integers(1, 5)):02d}室"
    )


def _records(config: DemoConfig, rng: np.random.Generator) -> list[DemoCustomer]:
    raw = config.raw
    areas = list(raw["areas"])
    counts = _counts(config)
    accounts = identity.account_numbers(rng, config.customers)
    customers: list[DemoCustomer] = []
    seen: set[str] = set()
    for kind, count in counts.items():
        for _ in range(count):
            i = len(customers)
            area = areas[int(rng.integers(len(areas)))]
            business = kind in ("commercial", "industrial")
            capacity = contract = pf_std = pf = None
            multiplier, resolution = 1.0, ("15min" if kind != "residential" and kind != "shared" else "daily")
            category = {"residential_tou": "residential", "shared": "shared"}.get(kind, kind)
            tariff = {"residential": "residential", "residential_tou": "residential_tou"}.get(kind, "")
            if kind == "shared":
                tariff = "residential_shared_lv" if rng.random() < 0.8 else "residential_shared_hv"
            if business:
                sizes = raw["commercial_capacity_kva" if kind == "commercial" else "industrial_capacity_kva"]
                capacity = float(sizes[int(rng.integers(len(sizes)))])
                multiplier = float(max(1, int(capacity // 10) // 5 * 5)) if capacity >= 100 else 1.0
                pf = float(rng.uniform(0.83, 0.97))
                if kind == "commercial":
                    tariff = "commercial_tou"
                    pf_std = 0.85 if capacity >= 100 else None
                else:
                    u = rng.random()
                    share_d, share_a = raw["industrial_demand_share"], raw["industrial_actual_demand_share"]
                    tariff = (
                        "industrial_demand"
                        if u < share_d
                        else "industrial_actual_demand"
                        if u < share_d + share_a
                        else "industrial_capacity"
                    )
                    if tariff == "industrial_demand":
                        contract = float(round(capacity * rng.uniform(0.45, 0.8) / 10) * 10)
                    pf_std = 0.90 if capacity >= 160 else 0.85
            if business:
                prefix = raw["company_prefixes"][int(rng.integers(len(raw["company_prefixes"])))]
                kinds = raw["commercial_kinds" if kind == "commercial" else "industrial_kinds"]
                middle = identity.person_name(rng, raw["surnames"], raw["given_chars"])[1:]
                name = prefix + middle + kinds[int(rng.integers(len(kinds)))]
                id_number = identity.credit_code(rng)
            else:
                name = identity.person_name(rng, raw["surnames"], raw["given_chars"])
                id_number = identity.resident_id(rng)
            opened = config.start - dt.timedelta(days=int(rng.integers(30, 365 * 15)))
            phone, address = identity.mobile(rng), _address(rng, config, area, business)
            while phone in seen or address in seen or id_number in seen:  # one record per person and place
                phone, address = identity.mobile(rng), _address(rng, config, area, business)
                id_number = identity.credit_code(rng) if business else identity.resident_id(rng)
            seen.update((phone, address, id_number))
            customers.append(
                DemoCustomer(
                    account_no=accounts[i],
                    name=name,
                    id_number=id_number,
                    phone=phone,
                    address=address,
                    area=area,
                    customer_category=category,
                    tariff_category=tariff,
                    capacity_kva=capacity,
                    contract_demand_kw=contract,
                    pf_standard=pf_std,
                    opened_on=opened,
                    meter_no=f"ZJ{accounts[i]}01",
                    multiplier=multiplier,
                    resolution=resolution,
                    register_start=float(round(rng.uniform(500, 30000), 2)),
                    power_factor=pf,
                )
            )
    return customers


def build_demo(config: DemoConfig) -> DemoBase:
    """Records for every demo customer (cheap); readings are generated lazily by `iter_readings`.

    The records come from a random stream of their own, so the same seed and start give the same
    customers whatever the end of the period: the demo can be extended to a later day."""
    days = config.days
    weather = synthetic_temperature(config, np.random.default_rng([config.seed, 1]))
    context = DayContext(days, np.array(day_types(days), dtype=np.int8), weather)
    return DemoBase(config, context, _records(config, np.random.default_rng(config.seed)))


GENERATED_TOGETHER = 200  # customers per vectorised draw: part of the random streams, so fixed


def iter_readings(base: DemoBase) -> Iterator[CustomerReadings]:
    """Readings per customer, generated a group of customers at a time (memory stays bounded), reproducibly.

    Each group and kind has two random streams: one for the customers' parameters (level, growth,
    sensitivities, load shape), drawn before anything whose size depends on the number of days, and
    one for the day-by-day noise. A longer period (the demo extended to a later day) therefore keeps
    every customer's parameters: the new days continue the same customer, only the noise is new."""
    config, ctx = base.config, base.context
    templates = config.raw["hourly_templates"]
    regional = regional_shape(config, ctx)
    for start in range(0, len(base.customers), GENERATED_TOGETHER):
        chunk = base.customers[start : start + GENERATED_TOGETHER]
        for k, kind in enumerate(KINDS):
            members = [c for c in chunk if _kind(c) == kind]
            if members:
                params = np.random.default_rng([config.seed, start, k, 0])
                noise = np.random.default_rng([config.seed, start, k, 1])
                yield from _kind_readings(kind, members, config, ctx, regional, templates, params, noise)


def _kind(c: DemoCustomer) -> str:
    if c.customer_category == "residential":
        return "residential_tou" if c.tariff_category == "residential_tou" else "residential"
    return c.customer_category


def _kind_readings(
    kind: str,
    members: list[DemoCustomer],
    config: DemoConfig,
    ctx: DayContext,
    regional: npt.NDArray[np.float64],
    templates: dict,
    params: np.random.Generator,
    noise_rng: np.random.Generator,
) -> Iterator[CustomerReadings]:
    n, d = len(members), len(ctx.days)
    cal = config.calibration
    growth = params.normal(0.02, 0.04, n)
    if kind in ("residential", "residential_tou", "shared"):
        spec = config.raw["shared_kwh_per_day" if kind == "shared" else "residential_kwh_per_day"]
        base = params.lognormal(np.log(spec["median"]), spec["sigma"], n)
        sens = params.uniform(0.5, 4.0, n)
        rest = params.uniform(1.0, 1.15, n)
        holiday = np.where(params.random(n) < 0.25, 0.35, 1.12)  # a quarter travel over holidays
        noise = 0.18
    elif kind == "commercial":
        capacity = np.array([c.capacity_kva for c in members], dtype=float)
        base = capacity * params.uniform(0.12, 0.3, n) * 24
        sens = params.uniform(1.0, 3.0, n)
        rest = np.where(params.random(n) < 0.5, cal["restday_ratio"] * 0.5, 1.0 + 0 * capacity)
        holiday = np.full(n, cal["holiday_ratio"])
        noise = 0.08
    else:
        capacity = np.array([c.capacity_kva for c in members], dtype=float)
        base = capacity * params.uniform(0.25, 0.55, n) * 24
        sens = params.uniform(0.1, 0.6, n)
        rest = params.uniform(0.45, 0.95, n)
        holiday = np.full(n, cal["holiday_ratio"] * 0.7)
        noise = 0.06
    valley_boost = params.uniform(1.0, templates["residential_tou_valley_boost"], (n, 1))
    shifts = params.integers(0, 3, n)
    daily = daily_series(base, ctx, sens, rest, holiday, growth, noise, config, noise_rng)
    if kind in ("residential", "shared"):
        for c, row in zip(members, daily, strict=True):
            yield CustomerReadings(c, np.round(row, 2).astype(np.float32), None)
        return
    if kind == "residential_tou":
        shape = np.array(templates["residential"], dtype=float)
        valley = (np.arange(24) < 8) | (np.arange(24) >= 22)
        boost = np.where(valley, valley_boost, 1.0)
        shapes = np.broadcast_to(shape * boost, (d, n, 24)).transpose(1, 0, 2) * (0.5 + 0.5 * regional[None])
    elif kind == "commercial":
        shapes = np.broadcast_to(np.array(templates["commercial"]), (n, d, 24)) * (0.6 + 0.4 * regional[None])
    else:
        names = ["industrial_one_shift", "industrial_two_shift", "industrial_three_shift"]
        chosen = np.array([templates[names[int(i)]] for i in shifts])
        shapes = chosen[:, None, :] * (0.7 + 0.3 * regional[None])
    intervals = spread_over_day(daily, shapes, noise_rng)
    if kind in ("commercial", "industrial"):  # a customer's demand stays within its transformer capacity, day by day
        peak_kw = intervals.max(axis=2) * 4.0
        limit = 0.9 * np.array([c.capacity_kva or np.inf for c in members])
        intervals *= np.minimum(1.0, limit[:, None] / peak_kw).astype(np.float32)[:, :, None]
    for i, c in enumerate(members):
        reactive = None
        if c.power_factor is not None:
            pf = np.clip(c.power_factor + noise_rng.normal(0, 0.01, d), 0.6, 0.999)
            reactive = (intervals[i].sum(axis=1) * np.tan(np.arccos(pf))).astype(np.float32)
        yield CustomerReadings(c, intervals[i], reactive)
