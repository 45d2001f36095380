"""The data contract: a load series as a day × interval matrix, daily weather, events, and their validators.

Every validator returns the offending rows as a DataFrame (empty when all is well) so a caller can
print them; `clean_load` / `clean_weather` apply the documented repairs and record what they did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.errors import InvalidInput

WEATHER_COLUMNS = ("tmax", "tmin", "tmean", "humidity", "rain")
MAX_GAP_HOURS = 4.0  # runs of missing intervals up to this long are interpolated; longer ones drop the day
SPIKE_FACTOR = 2.0  # a point this many times off both of its (mutually consistent) neighbours is a spike
ABSURD_FACTOR = 10.0  # a value above this × the series median (or below median / this) is absurd
MIN_DAYS = 28
STEPS = (
    5,
    10,
    15,
    20,
    30,
    60,
    120,
)  # resolutions understood (minutes)  # fewer usable days than this cannot be forecast
TEMP_RANGE = (-60.0, 50.0)  # °C; outside is a recording error
TEMP_JUMP = 20.0  # °C away from the 15-day rolling median is a recording error


@dataclass
class LoadData:
    """`values[d, i]` is the mean load of interval i (of `per_day`) on `days[d]`; NaN where unknown."""

    days: pd.DatetimeIndex
    values: np.ndarray
    series_id: str = "load"
    issues: list[str] = field(default_factory=list)
    flagged: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["timestamp", "value", "problem"]))

    @property
    def per_day(self) -> int:
        return int(self.values.shape[1])

    @property
    def step_minutes(self) -> int:
        return 1440 // self.per_day

    def index_of(self, day: dt.date) -> int:
        pos = self.days.get_indexer([pd.Timestamp(day)])[0]
        if pos < 0:
            raise InvalidInput(f"{day} is not in the load data ({self.days[0].date()} … {self.days[-1].date()})")
        return int(pos)

    def complete(self) -> np.ndarray:
        """Boolean mask of the days without any missing interval."""
        return ~np.isnan(self.values).any(axis=1)

    def times(self) -> list[str]:
        return [f"{(i * self.step_minutes) // 60:02d}:{(i * self.step_minutes) % 60:02d}" for i in range(self.per_day)]


@dataclass
class WeatherData:
    """Daily weather indexed by day with the columns of WEATHER_COLUMNS that the file had (°C, %, mm)."""

    frame: pd.DataFrame
    issues: list[str] = field(default_factory=list)
    flagged: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["date", "column", "value", "problem"]))

    def on(self, days: pd.DatetimeIndex) -> pd.DataFrame:
        return self.frame.reindex(days)


@dataclass(frozen=True)
class Event:
    day: dt.date
    name: str
    effect: float  # expected relative change of the load, e.g. -0.2 for a 20% drop


def validate_long(frame: pd.DataFrame) -> pd.DataFrame:
    """Offending rows of a long frame (timestamp, value): unparsable, duplicated, negative or absurd."""
    problems: list[pd.DataFrame] = []
    bad_time = frame["timestamp"].isna()
    problems.append(frame[bad_time].assign(problem="timestamp not understood"))
    bad_value = frame["value"].isna() & ~bad_time
    problems.append(frame[bad_value].assign(problem="load missing or not a number"))
    ok = frame[~bad_time & ~bad_value]
    dup = ok[ok.duplicated("timestamp", keep=False)]
    problems.append(dup.assign(problem="duplicated timestamp"))
    problems.append(ok[ok["value"] <= 0].assign(problem="zero or negative load"))
    positive = ok["value"][ok["value"] > 0]
    if len(positive):
        median = float(positive.median())
        absurd = (ok["value"] > median * ABSURD_FACTOR) | ((ok["value"] > 0) & (ok["value"] < median / ABSURD_FACTOR))
        problems.append(ok[absurd].assign(problem=f"absurd load (median {median:.4g})"))
    out = pd.concat([p for p in problems if len(p)], ignore_index=True) if any(len(p) for p in problems) else None
    return out if out is not None else frame.iloc[0:0].assign(problem=pd.Series(dtype=str))


def validate_weather(frame: pd.DataFrame) -> pd.DataFrame:
    """Offending cells of a daily weather frame: temperatures out of range, jumps, tmax < tmin, negative rain."""
    rows: list[dict[str, object]] = []
    temps = [c for c in ("tmax", "tmin", "tmean") if c in frame]
    for column in temps:
        series = frame[column]
        rolling = series.rolling(15, center=True, min_periods=5).median()
        bad = (series < TEMP_RANGE[0]) | (series > TEMP_RANGE[1]) | ((series - rolling).abs() > TEMP_JUMP)
        rows += [
            {"date": d, "column": column, "value": v, "problem": "temperature impossible here"}
            for d, v in series[bad].items()
        ]
    if "tmax" in frame and "tmin" in frame:
        bad = frame["tmax"] < frame["tmin"] - 0.5
        rows += [
            {"date": d, "column": "tmax", "value": v, "problem": "tmax below tmin"}
            for d, v in frame["tmax"][bad].items()
        ]
    for column, low, high in (("humidity", 0.0, 100.0), ("rain", 0.0, 1000.0)):
        if column in frame:
            bad = (frame[column] < low) | (frame[column] > high)
            rows += [
                {"date": d, "column": column, "value": v, "problem": f"outside {low:g}–{high:g}"}
                for d, v in frame[column][bad].items()
            ]
    return pd.DataFrame(rows, columns=["date", "column", "value", "problem"])


def long_to_matrix(
    frame: pd.DataFrame, step_minutes: int | None = None
) -> tuple[pd.DatetimeIndex, np.ndarray, int, pd.DataFrame]:
    """Long (timestamp, value) → day × interval matrix. Duplicates are averaged; off-grid times are refused."""
    flagged = validate_long(frame)
    ok = frame.dropna(subset=["timestamp", "value"])
    if ok.empty:
        raise InvalidInput(
            "the load file has no row with both a timestamp and a number; expected columns timestamp, load"
        )
    stamps = ok["timestamp"].sort_values().drop_duplicates()
    if step_minutes is None:
        diffs = stamps.diff().dropna().dt.total_seconds() / 60
        if diffs.empty:
            raise InvalidInput("the load file has a single timestamp; at least 28 days of intervals are needed")
        typical = float(diffs.mode().iloc[0])
        step_minutes = min(STEPS, key=lambda s: abs(s - typical))
        if abs(step_minutes - typical) > 0.1 * step_minutes:
            raise InvalidInput(f"the load's typical spacing is {typical:g} minutes; use one of {STEPS} minutes")
    if step_minutes <= 0 or 1440 % step_minutes:
        raise InvalidInput(
            f"the load resolution of {step_minutes} minutes does not divide a day; use 15, 30 or 60 minutes"
        )
    minutes = ok["timestamp"].dt.hour * 60 + ok["timestamp"].dt.minute
    off_grid = (minutes % step_minutes != 0) | (ok["timestamp"].dt.second != 0)
    if off_grid.mean() > 0.01:
        raise InvalidInput(
            f"{int(off_grid.sum())} timestamps are not on the {step_minutes}-minute grid (e.g. {ok['timestamp'][off_grid].iloc[0]}); "
            "resample the file to regular intervals first"
        )
    ok = ok[~off_grid]
    per_day = 1440 // step_minutes
    grouped = ok.groupby("timestamp")["value"].mean()
    day = grouped.index.normalize()
    slot = ((grouped.index.hour * 60 + grouped.index.minute) // step_minutes).astype(int)
    days = pd.date_range(day.min(), day.max(), freq="D")
    values = np.full((len(days), per_day), np.nan)
    values[days.get_indexer(day), slot] = grouped.to_numpy(dtype=float)
    return days, values, per_day, flagged


def clean_load(data: LoadData) -> LoadData:
    """Apply the repairs: absurd values and spikes → missing; short gaps interpolated; long gaps drop the day."""
    values = data.values.copy()
    flags: list[dict[str, object]] = []
    step = data.step_minutes

    def flag(mask: np.ndarray, problem: str) -> None:
        for d, i in zip(*np.nonzero(mask), strict=True):
            stamp = data.days[d] + pd.Timedelta(minutes=int(i) * step)
            flags.append({"timestamp": stamp, "value": values[d, i], "problem": problem})

    finite = values[np.isfinite(values)]
    if finite.size == 0:
        raise InvalidInput("the load file has no numeric load values")
    median = float(np.median(finite[finite > 0])) if (finite > 0).any() else 0.0
    bad = np.isfinite(values) & ((values <= 0) | (values > median * ABSURD_FACTOR) | (values < median / ABSURD_FACTOR))
    flag(bad, "zero, negative or absurd load → treated as missing")
    values[bad] = np.nan
    flat = values.reshape(-1)
    prev, nxt = np.roll(flat, 1), np.roll(flat, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        neighbours = (prev + nxt) / 2
        consistent = np.abs(np.log(prev / nxt)) < np.log(1.3)
        ratio = np.abs(np.log(flat / neighbours))
    spike = np.isfinite(ratio) & consistent & (ratio > np.log(SPIKE_FACTOR))
    spike[[0, -1]] = False
    spike_mask = spike.reshape(values.shape)
    flag(spike_mask, "spike against both neighbours → interpolated")
    values[spike_mask] = np.nan
    series = pd.Series(values.reshape(-1))
    limit = int(MAX_GAP_HOURS * 60 // step)
    missing_before = series.isna().to_numpy()
    filled = series.interpolate(limit=limit, limit_area="inside").to_numpy(copy=True)
    # interpolate only runs no longer than `limit`: pandas' limit would half-fill longer runs
    runs = _run_lengths(missing_before)
    filled[missing_before & (runs > limit)] = np.nan
    out = filled.reshape(values.shape)
    n_interp = int((missing_before & np.isfinite(filled)).sum())
    issues = list(data.issues)
    if n_interp:
        issues.append(f"{n_interp} missing or repaired intervals interpolated (gaps ≤ {MAX_GAP_HOURS:g} h)")
    dropped = np.isnan(out).any(axis=1) & ~np.isnan(values).all(axis=1)
    out[dropped] = np.nan
    missing_days = int(np.isnan(out).any(axis=1).sum())
    if missing_days:
        issues.append(
            f"{missing_days} days with a gap longer than {MAX_GAP_HOURS:g} h or no data: not used for training or scoring"
        )
    usable = int((~np.isnan(out).any(axis=1)).sum())
    if usable < MIN_DAYS:
        raise InvalidInput(
            f"only {usable} complete days of load after cleaning; at least {MIN_DAYS} are needed to forecast"
        )
    new_flags = pd.DataFrame(flags, columns=["timestamp", "value", "problem"])
    flagged = pd.concat([data.flagged, new_flags], ignore_index=True) if len(data.flagged) else new_flags
    return LoadData(data.days, out, data.series_id, issues, flagged)


def clean_weather(weather: WeatherData, days: pd.DatetimeIndex | None = None) -> WeatherData:
    """Impossible values → missing; gaps of up to 3 days interpolated in time; longer gaps stay missing (flagged)."""
    frame = weather.frame.copy()
    flagged = validate_weather(frame)
    for row in flagged.itertuples():
        frame.loc[row.date, row.column] = np.nan
    if days is not None:
        frame = frame.reindex(frame.index.union(days))
    before = frame.isna()
    frame = frame.interpolate(method="time", limit=3, limit_area="inside")
    issues = list(weather.issues)
    if len(flagged):
        issues.append(f"{len(flagged)} impossible weather values treated as missing (see flagged)")
    repaired = int((before & frame.notna()).sum().sum())
    if repaired:
        issues.append(f"{repaired} missing weather values interpolated (gaps ≤ 3 days)")
    if days is not None:
        still = frame.reindex(days).isna().all(axis=1)
        if still.any():
            issues.append(
                f"{int(still.sum())} load days without weather (e.g. {still[still].index[0].date()}): forecast without it"
            )
    return WeatherData(frame, issues, flagged)


def _run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each position, the length of the run of True it belongs to (0 where False)."""
    out = np.zeros(mask.size, dtype=int)
    start = None
    for pos, value in enumerate(np.append(mask, False)):
        if value and start is None:
            start = pos
        elif not value and start is not None:
            out[start:pos] = pos - start
            start = None
    return out
