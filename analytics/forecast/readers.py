"""Read load, weather and event files, detecting their layout. The only module of the package doing I/O.

Load: long (`[series id,] timestamp, load`) or wide daily (a date column — or year, month, day — and
one column per interval: `T0000…T2345`, `00:00…23:30`, `h1…h24`). Weather: daily rows (a date and
temperature / humidity / rain columns, English or Chinese names) or timestamped / hourly-wide rows,
aggregated to daily max / min / mean. Anything else is refused with a message naming what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from analytics.forecast.contract import Event, LoadData, WeatherData, clean_load, clean_weather, long_to_matrix
from core.errors import InvalidInput

MAX_FILE_BYTES = 512 * 1024 * 1024
_HHMM = re.compile(r"^t?(\d{1,2}):?(\d{2})$")
_HOUR = re.compile(r"^h(\d{1,2})$")
_DATE_NAMES = ("ymd", "date", "day", "日期", "ds_date", "")
_TIME_NAMES = ("timestamp", "ds", "datetime", "time", "date_time", "时间", "时刻")
_LOAD_NAMES = ("load", "y", "value", "mw", "kw", "负荷", "power", "demand")
_ID_NAMES = ("series_id", "unique_id", "zone_id", "station_id", "id", "zone", "area")
_WEATHER_ALIASES = {
    "tmax": ("highest temperature", "max temperature", "tmax", "temp_max", "max_temp", "最高温度", "最高气温"),
    "tmin": ("lowest temperature", "min temperature", "tmin", "temp_min", "min_temp", "最低温度", "最低气温"),
    "tmean": (
        "average temperature",
        "mean temperature",
        "tmean",
        "temp_mean",
        "tavg",
        "temperature",
        "temp",
        "平均温度",
        "平均气温",
        "温度",
        "气温",
    ),
    "humidity": ("humidity", "relative humidity", "rh", "湿度", "相对湿度"),
    "rain": ("rainfall(mm)", "rainfall", "rain", "precipitation", "precip", "降雨量", "降水量", "降雨"),
}
_TEMPERATURE_KEYS = ("tmax", "tmin", "tmean")


def _key(name: str) -> str:
    """A column name reduced for matching: lower case, units in brackets and separators dropped."""
    return re.sub(r"[\s_\-]|\(.*?\)|（.*?）|\[.*?\]", "", str(name).lower())


def _columns(frame: pd.DataFrame, exclude: list[str] | None = None) -> dict[str, str]:
    return {_key(c): c for c in frame.columns if c not in (exclude or [])}


def _find(columns: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((columns[_key(n)] for n in names if _key(n) in columns), None)


def _read_csv(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path} does not exist or is not a file")
    size = path.stat().st_size
    if size == 0:
        raise InvalidInput(f"{path} is empty; expected a CSV with a header row")
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f"{path} is {size / 2**20:.0f} MiB; split it (at most {MAX_FILE_BYTES // 2**20} MiB per file)"
        )
    try:
        frame = pd.read_csv(path, thousands=",", encoding="utf-8-sig", low_memory=False)
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
        raise InvalidInput(f"{path} is not a readable UTF-8 CSV file: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise InvalidInput(f"{path} has a header but no rows")
    return frame


def _interval_columns(columns: list[str]) -> tuple[list[str], list[int]] | None:
    """Columns that name intervals of the day and their starting minute, if there are ≥ 24 of them."""
    names, minutes = [], []
    for column in columns:
        key = column.lower().replace(" ", "")
        if match := _HHMM.match(key):
            hour, minute = int(match[1]), int(match[2])
            if hour < 24 and minute < 60:
                names.append(column)
                minutes.append(hour * 60 + minute)
        elif match := _HOUR.match(key):
            if 1 <= int(match[1]) <= 24:  # hour ending: h1 is 00:00–01:00
                names.append(column)
                minutes.append((int(match[1]) - 1) * 60)
    if len(names) < 24:
        return None
    return names, minutes


def _dates(frame: pd.DataFrame, exclude: list[str]) -> tuple[pd.Series, list[str]]:
    lower = _columns(frame, exclude)
    if {"year", "month", "day"} <= lower.keys():
        parts = frame[[lower["year"], lower["month"], lower["day"]]].set_axis(["year", "month", "day"], axis=1)
        return pd.to_datetime(parts, errors="coerce"), [lower["year"], lower["month"], lower["day"]]
    rest = [c for c in frame.columns if c not in exclude]
    named = [lower[_key(n)] for n in _DATE_NAMES if n and _key(n) in lower]
    candidates = named + [c for c in rest if c.lower().startswith("unnamed") or not c.strip()] + rest[:1]
    for column in dict.fromkeys(candidates):
        parsed = _parse_dates(frame[column])
        if parsed.notna().mean() > 0.9:
            return parsed, [column]
    raise InvalidInput(
        "no date column found; expected a column YMD / date (e.g. 20140101 or 2014-01-01) or year, month, day"
    )


def _parse_dates(column: pd.Series) -> pd.Series:
    text = column.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    compact = text.str.fullmatch(r"\d{8}")
    if compact.mean() > 0.9:
        return pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    return pd.to_datetime(text, errors="coerce", format="mixed")


def _pick_series(frame: pd.DataFrame, series: str | None) -> tuple[pd.DataFrame, str, str | None]:
    id_column = _find(_columns(frame), _ID_NAMES)
    if id_column is None:
        if series is not None:
            raise InvalidInput(f"--series {series} given but the file has no series id column ({', '.join(_ID_NAMES)})")
        return frame, "load", None
    ids = frame[id_column].astype(str).str.strip()
    unique = list(dict.fromkeys(ids))
    if series is None:
        if len(unique) > 1:
            raise InvalidInput(
                f"the file holds {len(unique)} series ({', '.join(unique[:8])}…); pick one with --series ID"
            )
        series = unique[0]
    if series not in unique:
        raise InvalidInput(f"series {series!r} is not in the file; it has {', '.join(unique[:8])}")
    return frame[ids == series], series, id_column


def read_load(path: Path | str, series: str | None = None) -> LoadData:
    """Read, detect the layout and resolution, validate and clean a load file."""
    frame = _read_csv(Path(path))
    frame, series_id, id_column = _pick_series(frame, series)
    exclude = [id_column] if id_column else []
    wide = _interval_columns([c for c in frame.columns if c not in exclude])
    if wide is not None:
        data = _wide_load(frame, wide, exclude, series_id)
    else:
        data = _long_load(frame, exclude, series_id)
    return clean_load(data)


def _wide_load(frame: pd.DataFrame, wide: tuple[list[str], list[int]], exclude: list[str], series_id: str) -> LoadData:
    names, minutes = wide
    order = np.argsort(minutes)
    names = [names[i] for i in order]
    minutes = sorted(minutes)
    steps = set(np.diff(minutes).tolist())
    if len(steps) != 1 or 1440 % len(names) or minutes[0] != 0:
        raise InvalidInput(
            f"the {len(names)} interval columns ({names[0]} … {names[-1]}) are not a regular division of the day; "
            "expected e.g. T0000…T2345 (15 min), 00:00…23:30 (30 min) or h1…h24"
        )
    dates, _ = _dates(frame, exclude + names)
    values = frame[names].apply(pd.to_numeric, errors="coerce")
    long = pd.DataFrame(
        {
            "timestamp": (dates.to_numpy()[:, None] + pd.to_timedelta(minutes, unit="min").to_numpy()[None, :]).reshape(
                -1
            ),
            "value": values.to_numpy(dtype=float).reshape(-1),
        }
    )
    bad_dates = int(dates.isna().sum())
    days, matrix, _, flagged = long_to_matrix(long, 1440 // len(names))
    issues = [f"wide daily format, {len(names)} intervals of {1440 // len(names)} min"]
    if bad_dates:
        issues.append(f"{bad_dates} rows with an unreadable date were skipped")
    return LoadData(days, matrix, series_id, issues, flagged)


def _long_load(frame: pd.DataFrame, exclude: list[str], series_id: str) -> LoadData:
    lower = _columns(frame, exclude)
    time_column = _find(lower, _TIME_NAMES)
    load_column = _find(lower, _LOAD_NAMES)
    if time_column is None or load_column is None:
        raise InvalidInput(
            f"cannot read the load file: columns {list(frame.columns)[:8]}. Expected long format "
            "`[series_id,] timestamp, load` or wide daily `YMD, T0000…T2345` (or 00:00…, h1…h24)"
        )
    stamps = pd.to_datetime(frame[time_column].astype(str).str.strip(), errors="coerce", format="mixed")
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    long = pd.DataFrame({"timestamp": stamps, "value": pd.to_numeric(frame[load_column], errors="coerce")})
    days, matrix, per_day, flagged = long_to_matrix(long)
    return LoadData(days, matrix, series_id, [f"long format, {per_day} intervals of {1440 // per_day} min"], flagged)


def read_weather(path: Path | str, days: pd.DatetimeIndex | None = None) -> WeatherData:
    """Daily weather (tmax, tmin, tmean, humidity, rain), cleaned; `days` = the load days it must cover."""
    frame = _read_csv(Path(path))
    id_column = _find(_columns(frame), _ID_NAMES)
    exclude = [id_column] if id_column else []
    wide = _interval_columns([c for c in frame.columns if c not in exclude])
    issues: list[str] = []
    if wide is not None:  # hourly temperatures, one row per day (and station): average stations, then daily stats
        dates, _ = _dates(frame, exclude + wide[0])
        temps = frame[wide[0]].apply(pd.to_numeric, errors="coerce")
        temps.index = dates
        hourly = temps.groupby(level=0).mean()
        daily = pd.DataFrame({"tmax": hourly.max(axis=1), "tmin": hourly.min(axis=1), "tmean": hourly.mean(axis=1)})
        stations = frame[id_column].nunique() if id_column else 1
        issues.append(f"hourly temperatures of {stations} station(s) averaged, then daily max / min / mean")
    else:
        lower = _columns(frame)
        time_column = _find(lower, _TIME_NAMES)
        mapped = {key: _find(lower, aliases) for key, aliases in _WEATHER_ALIASES.items()}
        found = {k: v for k, v in mapped.items() if v is not None}
        if not found:
            raise InvalidInput(
                f"no weather column recognised in {list(frame.columns)[:8]}; expected a date and some of: "
                "Highest temperature / tmax / 最高温度, Lowest temperature / tmin, Average temperature / tmean, humidity, rainfall"
            )
        values = frame[list(found.values())].apply(pd.to_numeric, errors="coerce").set_axis(list(found), axis=1)
        if time_column is not None and time_column not in found.values():
            stamps = pd.to_datetime(frame[time_column].astype(str), errors="coerce", format="mixed")
            values.index = stamps
            values = values[values.index.notna()]
            if len(values) and (values.index.normalize() != values.index).any():  # intraday readings → daily
                day = values.index.normalize()
                temp = (
                    values[[c for c in _TEMPERATURE_KEYS if c in values]].mean(axis=1)
                    if any(c in values for c in _TEMPERATURE_KEYS)
                    else None
                )
                daily = pd.DataFrame(index=pd.DatetimeIndex(sorted(set(day))))
                if temp is not None:
                    grouped = temp.groupby(day)
                    daily["tmax"], daily["tmin"], daily["tmean"] = grouped.max(), grouped.min(), grouped.mean()
                if "humidity" in values:
                    daily["humidity"] = values["humidity"].groupby(day).mean()
                if "rain" in values:
                    daily["rain"] = values["rain"].groupby(day).sum(min_count=1)
                issues.append("timestamped weather aggregated to daily max / min / mean")
            else:
                daily = values
        else:
            dates, _ = _dates(frame, list(found.values()))
            values.index = dates
            daily = values[values.index.notna()]
    daily = daily[~daily.index.duplicated(keep="first")].sort_index()
    daily.index = pd.DatetimeIndex(daily.index).normalize()
    if "tmean" not in daily and {"tmax", "tmin"} <= set(daily):
        daily["tmean"] = (daily["tmax"] + daily["tmin"]) / 2
    daily = _to_celsius(daily, issues)
    return clean_weather(WeatherData(daily.astype(float), issues), days)


def _to_celsius(daily: pd.DataFrame, issues: list[str]) -> pd.DataFrame:
    temps = [c for c in _TEMPERATURE_KEYS if c in daily]
    if temps and float(np.nanpercentile(daily[temps[0]].to_numpy(dtype=float), 50)) > 45:
        daily = daily.copy()
        daily[temps] = (daily[temps] - 32) * 5 / 9
        issues.append("temperatures look like °F (median above 45): converted to °C")
    return daily


def read_events(path: Path | str) -> list[Event]:
    """Events file: date, name[, effect] — effect is the expected relative change (e.g. -0.2) or a % ('-20%')."""
    frame = _read_csv(Path(path))
    lower = _columns(frame)
    if "date" not in lower or "name" not in lower:
        raise InvalidInput(f"the events file needs columns date, name[, effect]; it has {list(frame.columns)}")
    dates = _parse_dates(frame[lower["date"]])
    events: list[Event] = []
    bad: list[int] = []
    for pos, (day, name) in enumerate(zip(dates, frame[lower["name"]], strict=True)):
        raw = str(frame[lower["effect"]].iloc[pos]).strip() if "effect" in lower else ""
        try:
            effect = float(raw.rstrip("%")) / (100 if raw.endswith("%") else 1) if raw and raw != "nan" else 0.0
        except ValueError:
            effect = float("nan")
        if pd.isna(day) or not np.isfinite(effect) or abs(effect) >= 1:
            bad.append(pos + 2)
            continue
        events.append(Event(day.date(), str(name)[:100], effect))
    if bad:
        raise InvalidInput(
            f"events file lines {bad[:10]}: need a date and an effect between -1 and 1 (e.g. -0.2 or -20%)"
        )
    return events


def slice_days(data: LoadData, start: dt.date | None, end: dt.date | None) -> LoadData:
    keep = np.ones(len(data.days), dtype=bool)
    if start:
        keep &= data.days >= pd.Timestamp(start)
    if end:
        keep &= data.days <= pd.Timestamp(end)
    return LoadData(data.days[keep], data.values[keep], data.series_id, data.issues, data.flagged)


def read_actuals(path: Path | str) -> tuple[list[dt.datetime], list[float]]:
    """Measured intervals: CSV timestamp,load (the long load layout, one day or less)."""
    frame = _read_csv(Path(path))
    lower = _columns(frame)
    time_column = _find(lower, _TIME_NAMES)
    load_column = _find(lower, _LOAD_NAMES)
    if time_column is None or load_column is None:
        raise InvalidInput(f"the actuals file needs columns timestamp, load; it has {list(frame.columns)[:6]}")
    stamps = pd.to_datetime(frame[time_column].astype(str).str.strip(), errors="coerce", format="mixed")
    values = pd.to_numeric(frame[load_column], errors="coerce")
    bad = stamps.isna()
    if bad.any():
        raise InvalidInput(f"actuals rows {list(np.flatnonzero(bad)[:5] + 2)}: timestamp not understood")
    return [s.to_pydatetime() for s in stamps], [float(v) for v in values]
