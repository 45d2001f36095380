"""Codes shown to people by their Chinese names (data/labels.yml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import DataError
from core.settings import REPO_ROOT
from services.labels import GROUPS, load_labels


def test_shipped_names_cover_the_codes_the_product_stores() -> None:
    labels = load_labels(REPO_ROOT / "data")
    for reason in ("asked", "misunderstanding", "low_confidence", "sentiment", "complaint", "bot_unavailable"):
        assert labels(reason, "reason") != reason
    for kind in ("outage", "callback", "correction", "complaint", "other"):
        assert labels(kind, "ticket_kind") != kind
    assert labels("bot_unavailable", "reason") == "系统故障"
    assert labels("residential_tou", "tariff_category") == "居民峰谷分时电价"


def test_an_unlisted_code_is_shown_as_it_is_never_empty() -> None:
    labels = load_labels(REPO_ROOT / "data")
    assert labels("new_reason", "reason") == "new_reason" and labels(None, "reason") == ""


def test_a_broken_file_names_the_group(tmp_path: Path) -> None:
    (tmp_path / "labels.yml").write_text("\n".join(f"{g}: {{a: 甲}}" for g in GROUPS[1:]), encoding="utf-8")
    with pytest.raises(DataError, match="missing `reason`"):
        load_labels(tmp_path)
    (tmp_path / "labels.yml").write_text("\n".join(f"{g}: {{a: ''}}" for g in GROUPS), encoding="utf-8")
    with pytest.raises(DataError, match="`reason` must map each code"):
        load_labels(tmp_path)
