"""The demo generator's configuration (data/demo/generator.yml) and calibration (calibration.yml)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datafiles import read_yaml_mapping
from core.errors import DataError

KINDS = ("residential", "residential_tou", "shared", "commercial", "industrial")


@dataclass(frozen=True)
class DemoConfig:
    seed: int
    customers: int
    start: dt.date
    end: dt.date
    city: str
    mix: dict[str, float]
    raw: dict[str, Any]
    calibration: dict[str, Any]
    data_dir: Path = Path("data")

    @property
    def bill_fault_share(self) -> float:
        return float((self.raw.get("faults") or {}).get("bills", 0.02))

    @property
    def record_fault_count(self) -> int:
        return int((self.raw.get("faults") or {}).get("records", 40))

    @property
    def days(self) -> list[dt.date]:
        n = (self.end - self.start).days + 1
        return [self.start + dt.timedelta(days=i) for i in range(n)]


def load_demo_config(data_dir: Path, customers: int | None = None, seed: int | None = None) -> DemoConfig:
    folder = data_dir / "demo"
    raw = read_yaml_mapping(folder / "generator.yml")
    calibration = read_yaml_mapping(folder / "calibration.yml")
    mix = raw.get("mix") or {}
    missing = [k for k in KINDS if k not in mix]
    if missing:
        raise DataError(f"{folder / 'generator.yml'}: mix lacks {missing}; give a share for each of {KINDS}")
    if abs(sum(mix.values()) - 1) > 1e-6:
        raise DataError(f"{folder / 'generator.yml'}: mix shares add up to {sum(mix.values())}, not 1")
    period = raw.get("period") or {}
    try:
        start, end = dt.date.fromisoformat(str(period["start"])), dt.date.fromisoformat(str(period["end"]))
    except (KeyError, ValueError) as exc:
        raise DataError(f"{folder / 'generator.yml'}: period needs start and end as YYYY-MM-DD ({exc})") from exc
    if end < start:
        raise DataError(f"{folder / 'generator.yml'}: period ends before it starts")
    return DemoConfig(
        seed=int(seed if seed is not None else raw.get("seed", 0)),
        customers=int(customers if customers is not None else raw.get("customers", 2000)),
        start=start,
        end=end,
        city=str(raw.get("city", "")),
        mix={k: float(mix[k]) for k in KINDS},
        raw=raw,
        calibration=calibration,
        data_dir=data_dir,
    )
