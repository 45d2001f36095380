"""The demo generator's configuration (data/demo/generator.yml) and calibration (calibration.yml)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datafiles import read_yaml_mapping
from core.errors import DataError

KINDS = ("residential", "residential_tou", "shared", "commercial", "industrial")
# bump when the generator's output for the same files and seed changes: a demo database made by another
# version cannot be extended consistently (its fingerprint no longer matches)
GENERATOR_VERSION = 2


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
    fingerprint: str = ""  # the generator version and its two data files, hashed

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


def history_start(today: dt.date, months: int) -> dt.date:
    """The first day of the month `months` whole months before `today`'s month."""
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def load_demo_config(
    data_dir: Path,
    *,
    today: dt.date,
    customers: int | None = None,
    seed: int | None = None,
    start: dt.date | None = None,
) -> DemoConfig:
    """The demo as of `today`: readings from `start` (default: `history_months` whole months before today's
    month) up to yesterday, so that "上个月" and "昨天" always have data. `today` is always given: the
    command line passes the clock's date or `--today`, tests a fixed date."""
    folder = data_dir / "demo"
    raw = read_yaml_mapping(folder / "generator.yml", required=("history_months",))
    calibration = read_yaml_mapping(folder / "calibration.yml")
    mix = raw.get("mix") or {}
    missing = [k for k in KINDS if k not in mix]
    if missing:
        raise DataError(f"{folder / 'generator.yml'}: mix lacks {missing}; give a share for each of {KINDS}")
    if abs(sum(mix.values()) - 1) > 1e-6:
        raise DataError(f"{folder / 'generator.yml'}: mix shares add up to {sum(mix.values())}, not 1")
    months = raw["history_months"]
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 120:
        raise DataError(f"{folder / 'generator.yml'}: history_months must be a whole number of months from 1 to 120")
    first = start or history_start(today, months)
    end = today - dt.timedelta(days=1)
    if end < first:
        raise DataError(f"the demo history would start on {first} but end on {end}; give a later --today")
    return DemoConfig(
        seed=int(seed if seed is not None else raw.get("seed", 0)),
        customers=int(customers if customers is not None else raw.get("customers", 2000)),
        start=first,
        end=end,
        city=str(raw.get("city", "")),
        mix={k: float(mix[k]) for k in KINDS},
        raw=raw,
        calibration=calibration,
        data_dir=data_dir,
        fingerprint=fingerprint(folder),
    )


def fingerprint(folder: Path) -> str:
    digest = hashlib.sha256(f"generator v{GENERATOR_VERSION}".encode())
    for name in ("generator.yml", "calibration.yml"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()
