"""Where the demo customers hang on the grid (a 10 kV feeder, a transformer area 台区) and the demo's outage
events, both from data/demo/outages.yml. Deterministic: a customer's feeder follows from their address's street
and a hash of their account number, so seeding twice, or filling in an older demo database, gives the same."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.datafiles import read_yaml_mapping
from core.errors import DataError


@dataclass(frozen=True)
class DemoOutage:
    kind: str  # planned / fault
    start: dt.datetime  # local
    end: dt.datetime
    scope: str  # feeder / transformer_area / area
    customer: int  # the n-th customer (by id, from 1) whose feeder / 台区 / area it covers
    reason: str


@dataclass(frozen=True)
class Grid:
    feeders_per_street: int
    areas_per_feeder: int
    feeder_name: str
    area_name: str
    raw: dict[str, Any]

    def position(self, account_no: str, address: str, area: str, streets: list[str]) -> tuple[str, str]:
        """(feeder, transformer area) of a customer: their street's feeders, picked by their account number."""
        after_area = address.split(area, 1)[1] if area and area in address else address
        street = next((s for s in streets if after_area.startswith(s)), None)
        h = int(hashlib.sha256(account_no.encode()).hexdigest()[:12], 16)
        if street is None:  # an address the generator did not write (a records-audit fault): any street of the area
            street = streets[h % len(streets)] if streets else area
        n = h % self.feeders_per_street + 1
        m = (h // self.feeders_per_street) % self.areas_per_feeder + 1
        return self.feeder_name.format(street=street, n=n), self.area_name.format(street=street, n=n, m=m)

    def outages(self, now: dt.datetime) -> list[DemoOutage]:
        """The demo's events around `now` (local): planned ones in the coming days, one fault in progress."""
        today = now.date()
        out = []
        for p in self.raw.get("planned") or []:
            day = today + dt.timedelta(days=int(p["in_days"]))
            start = dt.datetime.combine(day, dt.time.fromisoformat(str(p["start"])))
            end = dt.datetime.combine(day, dt.time.fromisoformat(str(p["end"])))
            out.append(DemoOutage("planned", start, end, str(p["scope"]), int(p["customer"]), str(p["reason"])))
        f = self.raw.get("fault")
        if f:
            start = now.replace(second=0, microsecond=0) - dt.timedelta(hours=float(f["started_hours_ago"]))
            end = now.replace(second=0, microsecond=0) + dt.timedelta(hours=float(f["restored_in_hours"]))
            out.append(DemoOutage("fault", start, end, str(f["scope"]), int(f["customer"]), str(f["reason"])))
        return out


def load_grid(data_dir: Path) -> Grid:
    path = data_dir / "demo" / "outages.yml"
    raw = read_yaml_mapping(path, required=("feeders_per_street", "transformer_areas_per_feeder"))
    try:
        grid = Grid(
            int(raw["feeders_per_street"]),
            int(raw["transformer_areas_per_feeder"]),
            str(raw.get("feeder_name", "10kV{street}{n}号线")),
            str(raw.get("transformer_area_name", "{street}{n}-{m}号台区")),
            raw,
        )
        if grid.feeders_per_street < 1 or grid.areas_per_feeder < 1:
            raise ValueError("feeders_per_street and transformer_areas_per_feeder must be at least 1")
        grid.outages(dt.datetime(2026, 1, 1, 12))  # every event readable
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: {exc}; see the comments in the file for the expected shape") from exc
    return grid
