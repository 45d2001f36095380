"""The consumption contract: messy files load, every problem is reported per customer, nothing crashes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analytics.anomaly.contract import read_consumption, read_labels
from core.errors import InvalidInput
from tests.conftest import FIXTURES

FIX = FIXTURES / "anomaly"


def _problems(cons) -> dict[tuple[str, str], int]:  # type: ignore[no-untyped-def]
    return {(r.customer_id, r.problem): r.rows for r in cons.problems.itertuples()}


def test_messy_daily_file_loads_with_problems_per_customer() -> None:
    cons = read_consumption(FIX / "messy_daily.csv")
    ids = list(cons.customers)
    assert sorted(ids) == ["A1", "A2", "A3", "A4"]
    assert str(cons.days[0].date()) == "2024-01-01" and len(cons.days) == 5
    a1 = cons.kwh[ids.index("A1")]
    assert a1[0] == 3.0 and a1[1] == 3.5  # unsorted rows land on their day
    assert a1[3] == 4.5  # conflicting duplicate: the last one in the file wins, and it is reported
    assert np.isnan(a1[2]) and np.isnan(a1[4])  # text and negative kWh are missing, not zero
    assert cons.negatives[ids.index("A1")] == 1
    a2 = cons.kwh[ids.index("A2")]
    assert a2[1] == 6.0 and a2[2] == 5.0  # whitespace around numbers is fine
    problems = _problems(cons)
    assert problems[("A1", "duplicate_reading")] == 1
    assert problems[("A1", "conflicting_duplicate_kept_last")] == 1
    assert problems[("A1", "text_in_kwh")] == 1
    assert problems[("A1", "negative_kwh")] == 1
    assert problems[("A1", "unparseable_date")] == 1
    assert problems[("", "empty_customer_id")] == 1
    assert ("", "malformed_row") in problems  # the ragged line is skipped, not fatal
    assert problems[("A3", "fewer_than_two_readings")] == 1
    assert problems[("A4", "text_in_kwh")] == 1  # inf is not a reading
    assert problems[("A4", "fewer_than_two_readings")] == 0


def test_timestamps_become_daily_sums_and_intervals() -> None:
    cons = read_consumption(FIX / "intervals.csv")
    assert cons.intervals is not None and cons.intervals.shape == (2, 3, 96)
    t1 = list(cons.customers).index("T1")
    expected = 15 * 4 * 0.25 + 9 * 4 * 0.1
    assert cons.kwh[t1, 0] == pytest.approx(expected, rel=1e-5)
    t2 = list(cons.customers).index("T2")
    assert np.isnan(cons.kwh[t2, 1])  # less than half of the day measured: missing, not a low day


def test_wide_format_ignores_the_label_column_and_sorts_dates() -> None:
    cons = read_consumption(FIX / "wide.csv")
    assert list(cons.customers) == ["X1", "X2", "X3"]
    assert [str(d.date()) for d in cons.days] == ["2014-01-01", "2014-01-02", "2014-01-03"]
    np.testing.assert_array_equal(cons.kwh[0], np.array([1, np.nan, 3], dtype=np.float32))
    problems = _problems(cons)
    assert ("", "ignored_column:FLAG") in problems
    assert problems[("X2", "duplicate_customer_row_kept_first")] == 1
    assert ("X3", "text_in_kwh") in problems


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"a;b;c\n1;2;3\n", "header"),
        (b"customer_id,day,value\n1,2,3\n", "neither long format"),
        (b"customer_id,date,kwh\n\xff\xfe\xfa,2024-01-01,1\n", "UTF-8"),
        (b"customer_id,date,kwh\n,,\n", "none of its"),
    ],
)
def test_unreadable_files_raise_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        read_consumption(path)


def test_oversized_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_text("customer_id,date,kwh\n" + "C1,2024-01-01,1\n" * 100, encoding="utf-8")
    with pytest.raises(InvalidInput, match="ANOMALY_MAX_FILE_MB"):
        read_consumption(path, max_bytes=100)
    with pytest.raises(InvalidInput, match="does not exist"):
        read_consumption(tmp_path / "missing.csv")


def test_labels(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("customer_id,label\nA,1\nB,1\nC,maybe\nD,0\nB,0\n", encoding="utf-8")
    labels = read_labels(path)
    assert labels.to_dict() == {"A": 1, "B": 0, "D": 0}  # text skipped, the last label of a customer wins
    path.write_text("customer_id,label\nA,1\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="both 0"):
        read_labels(path)
