"""The consumption contract: long CSV (`customer_id,date,kwh` or `customer_id,timestamp,kwh`) or a
wide table (one row per customer, one column per day, as the SGCC theft data set is published)
→ a (customers, days) matrix with NaN for missing readings, plus the problems found, per customer.

Bad rows never crash the load: text in `kwh`, unparseable dates, negative energy (a register
rollback), duplicated days, ragged lines and customers with a single reading are counted per
customer in `Consumption.problems` (customer_id, problem, rows, first_row) and the offending
values are treated as missing. Only a file that cannot be read at all raises `InvalidInput`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.errors import InvalidInput

F32 = npt.NDArray[np.float32]
ID_ALIASES = ("customer_id", "cons_no", "customer", "id", "account_no")
LABEL_COLUMNS = {"flag", "label", "theft", "y"}
PROBLEM_COLUMNS = ["customer_id", "problem", "rows", "first_row"]
MAX_INTRADAY_VALUES = 400_000_000  # (customers × days × slots) kept for intra-day features


@dataclass
class Consumption:
    """Daily kWh per customer: `kwh[i, j]` for customer `customers[i]` on `days[j]` (NaN = no reading)."""

    customers: npt.NDArray[np.object_]
    days: pd.DatetimeIndex
    kwh: F32
    negatives: npt.NDArray[np.int32]  # readings < 0 per customer (register rollbacks), set to NaN
    intervals: F32 | None = None  # (customers, days, slots) when the input had timestamps
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))

    def __post_init__(self) -> None:
        if self.kwh.shape != (len(self.customers), len(self.days)):
            raise InvalidInput(f"kwh has shape {self.kwh.shape}, expected ({len(self.customers)}, {len(self.days)})")

    @property
    def n(self) -> int:
        return len(self.customers)

    def subset(self, rows: npt.ArrayLike) -> Consumption:
        idx = np.asarray(rows)
        ids = set(self.customers[idx].tolist())
        problems = self.problems[self.problems["customer_id"].isin(ids)].reset_index(drop=True)
        intervals = None if self.intervals is None else self.intervals[idx]
        return Consumption(self.customers[idx], self.days, self.kwh[idx], self.negatives[idx], intervals, problems)


def from_matrix(customers: list[str] | npt.ArrayLike, start: str | pd.Timestamp, kwh: npt.ArrayLike) -> Consumption:
    """A Consumption from an in-memory (customers, days) array of daily kWh starting on `start`."""
    arr = np.array(kwh, dtype=np.float32)
    if arr.ndim != 2:
        raise InvalidInput(f"kwh must be a (customers, days) array, got shape {arr.shape}")
    negatives = (arr < 0).sum(axis=1).astype(np.int32)
    arr[arr < 0] = np.nan
    days = pd.date_range(pd.Timestamp(start), periods=arr.shape[1], freq="D")
    return Consumption(np.asarray(customers, dtype=object), days, arr, negatives)


def read_consumption(path: Path, max_bytes: int | None = None) -> Consumption:
    """Read a consumption file in long or wide format (detected from the header)."""
    if not path.exists():
        raise InvalidInput(f"{path} does not exist; give a CSV with columns customer_id,date,kwh")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise InvalidInput(
            f"{path} is {size / 1e6:.0f} MB, above ANOMALY_MAX_FILE_MB ({max_bytes / 1e6:.0f} MB); "
            "split it by customer or raise the setting"
        )
    if size == 0:
        raise InvalidInput(f"{path} is empty; give a CSV with columns customer_id,date,kwh")
    header = _header(path)
    lowered = [h.strip().lower() for h in header]
    if "kwh" in lowered and ("date" in lowered or "timestamp" in lowered):
        return _read_long(path, header, lowered)
    date_cols = [h for h in header if _looks_like_date(h)]
    if len(date_cols) >= 2:
        return _read_wide(path, header, date_cols)
    raise InvalidInput(
        f"{path}: header {header[:6]} is neither long format (customer_id,date,kwh or customer_id,timestamp,kwh) "
        "nor wide format (an id column and one column per date)"
    )


def _header(path: Path) -> list[str]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            line = fh.readline(1_000_000)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path} is not UTF-8 text ({exc}); save it as UTF-8 CSV") from exc
    cells = [c.strip().strip('"') for c in line.rstrip("\r\n").split(",")]
    if len(cells) < 2:
        raise InvalidInput(f"{path}: the first line should be a comma-separated header, got {line[:80]!r}")
    return cells


_DATE_RE = re.compile(r"^\d{4}[-/]\d{1,2}[-/]\d{1,2}$|^\d{8}$")


def _looks_like_date(text: str) -> bool:
    return bool(_DATE_RE.match(text.strip()))


def _parse_dates(values: pd.Series) -> pd.Series:
    """Parse a small set of distinct date strings; NaT where unparseable."""
    text = values.astype(str).str.strip()
    out = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    rest = out.isna()
    if rest.any():
        out[rest] = pd.to_datetime(text[rest], format="mixed", errors="coerce")
    return out


def _read_long(path: Path, header: list[str], lowered: list[str]) -> Consumption:
    id_col = next((header[lowered.index(a)] for a in ID_ALIASES if a in lowered), None)
    if id_col is None:
        raise InvalidInput(f"{path}: no customer column; name it customer_id (header: {header[:6]})")
    time_name = "timestamp" if "timestamp" in lowered else "date"
    time_col, kwh_col = header[lowered.index(time_name)], header[lowered.index("kwh")]
    bad_lines: list[int] = []

    def skip(row: pacsv.InvalidRow) -> str:
        bad_lines.append(row.number if row.number is not None else -1)
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding="utf8", block_size=1 << 24),
            parse_options=pacsv.ParseOptions(invalid_row_handler=skip, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(
                include_columns=[id_col, time_col, kwh_col],
                column_types={id_col: pa.string(), time_col: pa.string(), kwh_col: pa.string()},
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} cannot be parsed as CSV ({exc}); check the delimiter and encoding") from exc
    ids = pc.utf8_trim_whitespace(table.column(id_col).combine_chunks())
    cust_codes, cust_names = _factorize(ids)
    time_codes, time_values = _factorize(table.column(time_col).combine_chunks())
    kwh = _to_float(table.column(kwh_col).combine_chunks())
    n_rows = len(kwh)
    raw_kwh_null = np.asarray(pc.is_null(table.column(kwh_col).combine_chunks()).to_numpy(zero_copy_only=False))
    text_in_kwh = np.isnan(kwh) & ~raw_kwh_null
    stamps = _parse_dates(pd.Series(time_values, dtype=object))
    row_time = stamps.to_numpy()[time_codes] if len(stamps) else np.array([], dtype="datetime64[ns]")
    bad_time = pd.isna(row_time)
    bad_id = cust_codes < 0
    problems = _Problems(cust_names)
    problems.add(cust_codes, bad_id, "empty_customer_id")
    problems.add(cust_codes, text_in_kwh, "text_in_kwh")
    problems.add(cust_codes, bad_time & ~bad_id, "unparseable_" + time_name)
    negative = ~np.isnan(kwh) & (kwh < 0)
    problems.add(cust_codes, negative, "negative_kwh")
    for line in bad_lines:
        problems.rows.append(("", "malformed_row", 1, line))
    good = ~bad_id & ~bad_time
    if not good.any():
        raise InvalidInput(f"{path}: none of its {n_rows} rows has a customer id and a readable {time_name}")
    times = pd.DatetimeIndex(row_time[good])
    day_ns = times.normalize()
    first, last = day_ns.min(), day_ns.max()
    days = pd.date_range(first, last, freq="D")
    day_idx = ((day_ns - first) // pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    c_idx = cust_codes[good].astype(np.int64)
    values = kwh[good]
    rows = np.flatnonzero(good)
    neg_counts = np.bincount(c_idx[values < 0], minlength=len(cust_names)).astype(np.int32)
    values = np.where(values < 0, np.nan, values)
    n, d = len(cust_names), len(days)
    intervals = None
    if time_name == "timestamp":
        minutes = (times - day_ns).total_seconds().to_numpy() / 60.0
        step = _slot_minutes(minutes)
        slots = 1440 // step
        slot_idx = np.clip((minutes // step).astype(np.int64), 0, slots - 1)
        key = (c_idx * d + day_idx) * slots + slot_idx
        kept, vals = _dedupe(key, values, rows, c_idx, problems)
        flat = np.full(n * d * slots, np.nan, dtype=np.float32)
        flat[kept] = vals
        grid = flat.reshape(n, d, slots)
        present = (~np.isnan(grid)).sum(axis=2)
        daily = np.nansum(grid, axis=2, dtype=np.float64) * slots / np.maximum(present, 1)
        daily[present * 2 < slots] = np.nan  # less than half a day measured: the day is missing
        matrix = daily.astype(np.float32)
        if n * d * slots <= MAX_INTRADAY_VALUES:
            intervals = grid
        else:
            problems.rows.append(("", "intraday_dropped_too_large", n * d * slots, -1))
    else:
        key = c_idx * d + day_idx
        kept, vals = _dedupe(key, values, rows, c_idx, problems)
        flat = np.full(n * d, np.nan, dtype=np.float32)
        flat[kept] = vals
        matrix = flat.reshape(n, d)
    counts = (~np.isnan(matrix)).sum(axis=1)
    for i in np.flatnonzero(counts < 2):
        problems.rows.append((str(cust_names[i]), "fewer_than_two_readings", int(counts[i]), -1))
    return Consumption(cust_names, days, matrix, neg_counts, intervals, problems.frame())


def _slot_minutes(minutes: npt.NDArray[np.float64]) -> int:
    distinct = np.unique(minutes[np.isfinite(minutes)])
    if len(distinct) < 2:
        return 1440
    step = float(np.min(np.diff(distinct)))
    for candidate in (15, 30, 60):
        if step <= candidate:
            return candidate
    return 60


def _dedupe(
    key: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    rows: npt.NDArray[np.int64],
    c_idx: npt.NDArray[np.int64],
    problems: _Problems,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """One value per key: the last readable value in file order; duplicates reported per customer."""
    has = ~np.isnan(values)
    key, values, rows, c_idx = key[has], values[has], rows[has], c_idx[has]
    order = np.argsort(key, kind="stable")
    sk, sv = key[order], values[order]
    last = np.ones(len(sk), dtype=bool)
    last[:-1] = sk[1:] != sk[:-1]
    dup = ~last  # an earlier row for the same customer-day (-slot)
    if dup.any():
        start = np.ones(len(sk), dtype=bool)
        start[1:] = sk[1:] != sk[:-1]
        kept_value = sv[last][np.cumsum(start) - 1]
        conflict = dup & (np.abs(kept_value - sv) > 1e-9)
        same = dup & ~conflict
        problems.add(c_idx[order], same, "duplicate_reading", rows[order])
        problems.add(c_idx[order], conflict, "conflicting_duplicate_kept_last", rows[order])
    return sk[last], sv[last]


class _Problems:
    def __init__(self, names: npt.NDArray[np.object_]) -> None:
        self.names = names
        self.rows: list[tuple[str, str, int, int]] = []

    def add(
        self,
        codes: npt.NDArray[np.int64],
        where: npt.NDArray[np.bool_],
        problem: str,
        rows: npt.ArrayLike | None = None,
    ) -> None:
        hit = np.flatnonzero(where)
        if not len(hit):
            return
        line = (np.asarray(rows) if rows is not None else np.arange(len(where)))[hit] + 2  # 1-based, after header
        frame = pd.DataFrame({"c": codes[hit], "line": line}).groupby("c")["line"].agg(["size", "min"])
        for code, size, first in zip(frame.index, frame["size"], frame["min"], strict=True):
            name = str(self.names[code]) if code >= 0 else ""
            self.rows.append((name, problem, int(size), int(first)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=PROBLEM_COLUMNS)


def _factorize(arr: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.object_]]:
    """Integer codes (-1 for null or empty) and the distinct values, in order of appearance."""
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    encoded = pc.dictionary_encode(arr)
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(pd.isna(codes), -1, codes).astype(np.int64)
    return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _to_float(arr: pa.Array) -> npt.NDArray[np.float64]:
    """Numbers as float64; text, empty and non-finite cells become NaN."""
    try:
        out = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = pd.to_numeric(pd.Series(arr.to_pandas(), dtype=object).str.strip(), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
    out = np.array(out, dtype=np.float64, copy=True)
    out[~np.isfinite(out)] = np.nan
    return out


def _read_wide(path: Path, header: list[str], date_cols: list[str]) -> Consumption:
    others = [h for h in header if h not in set(date_cols)]
    id_col = next((h for h in others if h.strip().lower() in ID_ALIASES), None) or next(
        (h for h in others if h.strip().lower() not in LABEL_COLUMNS), None
    )
    if id_col is None:
        raise InvalidInput(f"{path}: wide format needs an id column (e.g. CONS_NO) besides the date columns")
    try:
        frame = pd.read_csv(path, dtype=str, usecols=[id_col, *date_cols], encoding="utf-8-sig", on_bad_lines="skip")
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path} cannot be parsed as a wide CSV ({exc})") from exc
    problems = _Problems(np.array([], dtype=object))
    ignored = [h for h in others if h != id_col]
    for name in ignored:  # never read a label column as a feature
        problems.rows.append(("", f"ignored_column:{name}", 0, -1))
    ids = frame[id_col].astype("string").str.strip()
    frame = frame[ids.notna() & (ids != "")]
    ids = ids[ids.notna() & (ids != "")]
    stamps = _parse_dates(pd.Series(date_cols, dtype=object))
    ok = stamps.notna().to_numpy()
    cols = [c for c, good in zip(date_cols, ok, strict=True) if good]
    stamps = pd.DatetimeIndex(stamps[ok]).normalize()
    days = pd.date_range(stamps.min(), stamps.max(), freq="D")
    text = frame[cols].to_numpy(dtype=object)
    numeric = pd.DataFrame(text).apply(lambda s: pd.to_numeric(s.astype("string").str.strip(), errors="coerce"))
    values = np.array(numeric.astype("float64").to_numpy(na_value=np.nan), dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    text_bad = np.isnan(values) & ~pd.isna(text)
    customers = ids.to_numpy(dtype=object)
    problems.names = customers
    codes = np.arange(len(customers))
    problems.add(codes, np.asarray(text_bad.any(axis=1)), "text_in_kwh")
    negative = values < 0
    problems.add(codes, np.asarray(negative.any(axis=1)), "negative_kwh")
    negatives = negative.sum(axis=1).astype(np.int32)
    values[negative] = np.nan
    matrix = np.full((len(customers), len(days)), np.nan, dtype=np.float32)
    pos = ((stamps - days[0]) // pd.Timedelta(days=1)).to_numpy()
    matrix[:, pos] = values  # columns may come in any order (SGCC's do not)
    uniq, first, counts = np.unique(customers.astype(str), return_index=True, return_counts=True)
    for name, cnt in zip(uniq[counts > 1], counts[counts > 1], strict=True):
        problems.rows.append((str(name), "duplicate_customer_row_kept_first", int(cnt - 1), -1))
    keep = np.sort(first)
    matrix, customers, negatives = matrix[keep], customers[keep], negatives[keep]
    present = (~np.isnan(matrix)).sum(axis=1)
    for i in np.flatnonzero(present < 2):
        problems.rows.append((str(customers[i]), "fewer_than_two_readings", int(present[i]), -1))
    return Consumption(customers, days, matrix, negatives, None, problems.frame())


def read_labels(path: Path, known: npt.NDArray[np.object_] | None = None) -> pd.Series:
    """`customer_id,label` (1 = theft) → a 0/1 Series indexed by customer id (as text)."""
    header = _header(path)
    lowered = [h.lower() for h in header]
    id_col = next((header[lowered.index(a)] for a in ID_ALIASES if a in lowered), header[0])
    label_col = next((header[lowered.index(a)] for a in LABEL_COLUMNS if a in lowered), None)
    if label_col is None:
        raise InvalidInput(f"{path}: needs columns customer_id,label (1 = theft); header is {header[:6]}")
    frame = pd.read_csv(path, dtype=str, usecols=[id_col, label_col], encoding="utf-8-sig", on_bad_lines="skip")
    ids = frame[id_col].astype("string").str.strip()
    label = pd.to_numeric(frame[label_col].astype("string").str.strip(), errors="coerce")
    ok = ids.notna() & label.isin([0, 1])
    if not ok.any():
        raise InvalidInput(f"{path}: no row has a customer id and a label of 0 or 1")
    series = pd.Series(label[ok].astype(int).to_numpy(), index=ids[ok].astype(str).to_numpy(), name="label")
    series = series[~series.index.duplicated(keep="last")]
    if series.nunique() < 2:
        raise InvalidInput(f"{path}: labels must contain both 0 (normal) and 1 (theft)")
    return series
