"""Customer segments: load-profile features, clustering per group, and interpretable Chinese names.

Features per customer (from its own meter data): level (mean kWh a day), night share (22:00–08:00,
interval meters), load factor (mean over peak 15-minute demand, interval meters), weekday ratio
(workday over rest-day energy), summer and winter uplift (July–August and December–February
daily energy over the spring/autumn months, the temperature sensitivity), growth (the last month
over the same month a year before). Customers are clustered with k-means on standardised features
within three groups that share the same features (daily-read households, interval-metered
households, businesses); k is chosen by silhouette. A segment is named after what stands out in its
centre (data/recommend/segments.yml), e.g. 空调敏感型居民, 夜间用电型居民, 稳定大工业.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

from analytics.calendar import DayType, day_types
from analytics.recommend.loads import CustomerLoad
from core.datafiles import read_yaml_mapping

F64 = npt.NDArray[np.float64]
NIGHT_SLOTS = np.r_[0:32, 88:96]  # 22:00–08:00
SHOULDER = (3, 4, 5, 10, 11)
SUMMER = (7, 8)
WINTER = (12, 1, 2)
GROUP_FEATURES = {
    "household_daily": ["level", "weekday_ratio", "summer_uplift", "winter_uplift", "growth"],
    "household_interval": ["level", "night_share", "weekday_ratio", "summer_uplift", "winter_uplift", "growth"],
    "business": ["level", "night_share", "load_factor", "weekday_ratio", "summer_uplift", "growth"],
}
ALL_FEATURES = ["level", "night_share", "load_factor", "weekday_ratio", "summer_uplift", "winter_uplift", "growth"]


def group_of(load: CustomerLoad) -> str:
    if load.customer_category in ("commercial", "industrial"):
        return "business"
    return "household_interval" if load.has_intervals else "household_daily"


def features(load: CustomerLoad, types: dict[dt.date, DayType]) -> dict[str, float]:
    """One customer's features (NaN where its data cannot say)."""
    daily = load.daily_kwh
    months = np.array([d.month for d in load.days])
    rest = np.array([types[d] != DayType.WORKDAY for d in load.days])

    def mean_of(mask: npt.NDArray[np.bool_]) -> float:
        return float(daily[mask].mean()) if mask.any() else float("nan")

    shoulder = mean_of(np.isin(months, SHOULDER))
    out = {
        "level": float(daily.mean()),
        "night_share": float("nan"),
        "load_factor": float("nan"),
        "weekday_ratio": mean_of(~rest) / mean_of(rest) if mean_of(rest) > 0 else float("nan"),
        "summer_uplift": mean_of(np.isin(months, SUMMER)) / shoulder - 1 if shoulder > 0 else float("nan"),
        "winter_uplift": mean_of(np.isin(months, WINTER)) / shoulder - 1 if shoulder > 0 else float("nan"),
        "growth": _growth(load),
    }
    if load.has_intervals:
        assert load.intervals is not None
        total = float(load.intervals.sum())
        out["night_share"] = float(load.intervals[:, NIGHT_SLOTS].sum() / total) if total > 0 else float("nan")
        peak = float(load.intervals.max())
        out["load_factor"] = float(load.intervals.mean() / peak) if peak > 0 else float("nan")
    return out


def _growth(load: CustomerLoad) -> float:
    """The last complete month's daily mean over the same month a year earlier, minus 1."""
    first, last = load.days[0], load.days[-1]
    month = last.replace(day=1) if (last + dt.timedelta(days=1)).day == 1 else None
    if month is None or (month.year - 1, month.month) < (first.year, first.month):
        return float("nan")
    year_ago = month.replace(year=month.year - 1)
    days = np.array(load.days)
    now = load.daily_kwh[(days >= month)]
    before = load.daily_kwh[(days >= year_ago) & (days < (year_ago + dt.timedelta(days=32)).replace(day=1))]
    return float(now.mean() / before.mean() - 1) if len(before) and before.mean() > 0 else float("nan")


def feature_frame(loads: list[CustomerLoad]) -> pd.DataFrame:
    """One row per customer: customer_id, group, kind (customer category; TOU households apart), the features."""
    all_days = sorted({d for load in loads for d in load.days})
    types = dict(zip(all_days, day_types(all_days), strict=True))
    rows = [
        {"customer_id": load.customer_id, "group": group_of(load), "kind": _kind(load), **features(load, types)}
        for load in loads
    ]
    return pd.DataFrame(rows, columns=["customer_id", "group", "kind", *ALL_FEATURES])


def _kind(load: CustomerLoad) -> str:
    return "residential_tou" if load.tariff_category == "residential_tou" else load.customer_category


def invalid_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose group's features are missing or not finite (the contract of `feature_frame`)."""
    bad = pd.Series(False, index=frame.index)
    for group, names in GROUP_FEATURES.items():
        rows = frame["group"] == group
        values = frame.loc[rows, names].to_numpy(dtype=float)
        bad.loc[rows] = ~np.isfinite(values).all(axis=1)
    return frame[bad]


@dataclass
class Segment:
    code: str  # S1, S2, … (chart file names, labels where no CJK font renders)
    name: str
    group: str
    size: int
    centroid: dict[str, float]  # feature means of the members
    z: dict[str, float]  # centre in standard deviations of its group
    members: list[int] = field(default_factory=list)
    typical_day: list[float] | None = None  # 96 shares of a workday's energy (interval-metered groups)
    typical_year: list[float] = field(default_factory=list)  # mean kWh a day per calendar month


def load_naming(path: Path) -> dict[str, Any]:
    return read_yaml_mapping(path, required=("min_z", "stable", "features", "kinds"))


def name_segment(z: dict[str, float], kind: str, naming: dict[str, Any], taken: set[str]) -> str:
    """The label of the feature standing out most (then the next ones, if that name is taken), plus the kind."""
    suffix = naming["kinds"].get(kind, kind)
    ranked = sorted(z.items(), key=lambda kv: -abs(kv[1]))
    labels = []
    for feature, value in ranked:
        label = (naming["features"].get(feature) or {}).get("high" if value > 0 else "low")
        if label and abs(value) >= naming["min_z"]:
            labels.append(label)
    candidates = [labels[0]] if labels else [naming["stable"]]
    if len(labels) > 1:
        candidates.append(labels[0] + "·" + labels[1])
    for label in candidates:
        name = naming.get("overrides", {}).get(label + suffix, label + suffix)
        if name not in taken:
            return name
    base = candidates[-1] + suffix
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _choose_k(x: F64, seed: int, k_range: range) -> int:
    best, best_score = k_range.start, -1.0
    for k in k_range:
        if k >= len(x):
            break
        labels = KMeans(k, n_init=5, random_state=seed).fit_predict(x)
        sample = min(len(x), 2000)
        score = float(silhouette_score(x, labels, sample_size=sample, random_state=seed))
        if score > best_score:
            best, best_score = k, score
    return best


def cluster(
    frame: pd.DataFrame, naming: dict[str, Any], seed: int = 0, k_range: range = range(3, 7)
) -> tuple[list[Segment], dict[int, str]]:
    """Segments of every group and each customer's segment code. Customers with invalid features are left out."""
    frame = frame.drop(index=invalid_features(frame).index)
    segments: list[Segment] = []
    assignment: dict[int, str] = {}
    taken: set[str] = set()
    for group, names in GROUP_FEATURES.items():
        part = frame[frame["group"] == group]
        if len(part) < 2:
            continue
        raw = part[names].to_numpy(dtype=float, copy=True)
        raw[:, names.index("level")] = np.log1p(raw[:, names.index("level")])
        mean, std = raw.mean(axis=0), raw.std(axis=0)
        x = (raw - mean) / np.where(std > 0, std, 1.0)
        k = _choose_k(x, seed, range(min(k_range.start, len(part) - 1), k_range.stop)) if len(part) > 3 else 1
        labels = KMeans(k, n_init=10, random_state=seed).fit_predict(x) if k > 1 else np.zeros(len(part), int)
        for label in sorted(set(labels), key=lambda v: -int((labels == v).sum())):
            rows = labels == label
            members = part[rows]
            z = dict(zip(names, x[rows].mean(axis=0).round(3).tolist(), strict=True))
            kind = Counter(members["kind"]).most_common(1)[0][0]
            name = name_segment(z, kind, naming, taken)
            taken.add(name)
            code = f"S{len(segments) + 1}"
            centroid = {f: round(float(members[f].mean()), 4) for f in names}
            ids = [int(v) for v in members["customer_id"]]
            segments.append(Segment(code, name, group, len(ids), centroid, z, ids))
            assignment.update({i: code for i in ids})
    return segments, assignment


Profile = tuple[F64 | None, F64]  # a customer's workday shape (96 shares) or None, and mean kWh a day by month (12)


def customer_profile(load: CustomerLoad, workdays: set[dt.date]) -> Profile:
    """A customer's typical workday (shares of the day's energy, interval meters) and typical year."""
    months = np.array([d.month for d in load.days])
    year = np.full(12, np.nan)
    for m in range(1, 13):
        if (months == m).any():
            year[m - 1] = load.daily_kwh[months == m].mean()
    shape = None
    if load.has_intervals:
        assert load.intervals is not None
        rows = np.array([d in workdays for d in load.days])
        if not rows.any():
            rows[:] = True
        day = load.intervals[rows].mean(axis=0).astype(np.float64)
        shape = day / day.sum() if day.sum() > 0 else None
    return shape, year


def workdays_of(days: list[dt.date]) -> set[dt.date]:
    return {d for d, t in zip(days, day_types(days), strict=True) if t == DayType.WORKDAY}


def segment_profiles(segments: list[Segment], profiles: dict[int, Profile]) -> None:
    """Each segment's typical workday (mean of its interval-metered members' shapes) and typical year."""
    for s in segments:
        mine = [profiles[i] for i in s.members if i in profiles]
        shapes = [p[0] for p in mine if p[0] is not None]
        years = np.array([p[1] for p in mine]) if mine else np.full((1, 12), np.nan)
        counts = np.isfinite(years).sum(axis=0)
        means = np.where(counts > 0, np.nansum(years, axis=0) / np.maximum(counts, 1), 0.0)
        s.typical_year = [round(float(v), 3) for v in means]
        s.typical_day = [round(float(v), 6) for v in np.mean(shapes, axis=0)] if shapes else None
