"""Schedules load from data and refuse overlaps, gaps, missing prices, unknown keys with file and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics.billing.schedule import TariffBook, load_tariff_book
from core.errors import DataError, InvalidInput


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_shipped_schedules_load(book: TariffBook) -> None:
    assert book.schedule_for("residential", dt.date(2024, 5, 1)).id == "zj-residential-2012"
    ci = book.schedule_for("industrial_demand", dt.date(2024, 5, 1))
    assert ci.reference is True
    assert set(book.pf_tables) == {0.9, 0.85, 0.8}


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        (
            "zj_ci_reference_2024.yml",
            '["11:00-13:00", "22:00-23:00"]',
            '["10:00-13:00", "22:00-23:00"]',
            "flat overlaps peak at 10:00",
        ),
        ("zj_ci_reference_2024.yml", '["23:00-08:00"]', '["23:00-07:00"]', "no period covers 07:00"),
        ("zj_ci_reference_2024.yml", "flat: 0.6710, ", "", "no price for period 'flat'"),
        ("zj_residential_2012.yml", "peak: [0.568, 0.618, 0.868]", "peak: [0.568, 0.618]", "expected 3 price(s)"),
        ("zj_residential_2012.yml", "bounds_kwh: [2760, 4800]", "bounds_kwh: [4800, 2760]", "increasing"),
        ("zj_residential_2012.yml", "effective_from: 2012-07-01", "effective_form: 2012-07-01", "effective_form"),
        (
            "zj_ci_reference_2024.yml",
            'months: [1], hours: ["09:00-11:00"]',
            'months: [1], hours: ["11:00-12:00"]',
            "does not lie in peak",
        ),
        (
            "power_factor.yml",
            "{low: 0.91, high: 0.94,",
            "{low: 0.92, high: 0.94,",
            "no adjustment for power factor 0.91",
        ),
    ],
)
def test_broken_schedules_name_the_file_and_the_problem(
    tariff_dir: Path, file: str, old: str, new: str, message: str
) -> None:
    _edit(tariff_dir / file, old, new)
    with pytest.raises(DataError) as caught:
        load_tariff_book(tariff_dir)
    assert file in str(caught.value)
    assert message in str(caught.value)


def test_not_yaml_and_missing_directory(tariff_dir: Path) -> None:
    (tariff_dir / "broken.yml").write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(DataError, match="broken.yml: cannot read it as YAML"):
        load_tariff_book(tariff_dir)
    with pytest.raises(DataError, match="does not exist"):
        load_tariff_book(tariff_dir / "nowhere")


def test_a_newer_schedule_takes_over_from_its_date(tariff_dir: Path) -> None:
    text = (tariff_dir / "zj_ci_reference_2024.yml").read_text(encoding="utf-8")
    newer = text.replace("id: zj-ci-reference-2024", "id: zj-ci-2026-07").replace("2024-01-01", "2026-07-01")
    (tariff_dir / "zj_ci_2026_07.yml").write_text(newer.replace("peak: 1.0085", "peak: 1.0300"), encoding="utf-8")
    book = load_tariff_book(tariff_dir)
    assert book.schedule_for("commercial_tou", dt.date(2026, 6, 30)).id == "zj-ci-reference-2024"
    assert book.schedule_for("commercial_tou", dt.date(2026, 7, 1)).id == "zj-ci-2026-07"
    with pytest.raises(InvalidInput, match="no commercial_tou schedule in force on 2023-12-31"):
        book.schedule_for("commercial_tou", dt.date(2023, 12, 31))


def test_same_category_and_date_twice_is_refused(tariff_dir: Path) -> None:
    text = (tariff_dir / "zj_residential_2012.yml").read_text(encoding="utf-8")
    (tariff_dir / "copy.yml").write_text(text.replace("id: zj-residential-2012", "id: other"), encoding="utf-8")
    with pytest.raises(DataError, match="also defined in"):
        load_tariff_book(tariff_dir)
