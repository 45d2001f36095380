"""The words of outage notices, from data/messages/outage_notices.yml."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from core.errors import DataError
from core.settings import REPO_ROOT
from services.outage_notice_text import EventFacts, load_notice_wording

WORDING = load_notice_wording(REPO_ROOT / "data")


def facts(**kw: object) -> EventFacts:
    base: dict[str, object] = {
        "kind": "planned",
        "start": dt.datetime(2026, 12, 8, 8, 0),
        "end": dt.datetime(2026, 12, 8, 17, 30),
        "reason": "10kV线路检修",
        "scope": "feeder",
        "scope_value": "10kV文三路1号线",
        "closed_at": None,
    }
    return EventFacts(**{**base, **kw})  # type: ignore[arg-type]


def test_announcements_say_when_where_and_why() -> None:
    text = WORDING.render("announced", facts())
    assert "因10kV线路检修，12月8日（周二）08:00至17:30，10kV文三路1号线供电范围内将停电" in text
    overnight = WORDING.render("announced", facts(end=dt.datetime(2026, 12, 9, 6, 0), scope="accounts"))
    assert "12月8日（周二）08:00至12月9日（周三）06:00，您的用电地址将停电" in overnight


def test_restorations_say_when_power_came_back_in_local_time() -> None:
    fault = facts(kind="fault", closed_at=dt.datetime(2026, 12, 7, 10, 45), scope="area", scope_value="西湖区")
    assert "西湖区部分区域因10kV线路检修造成的停电已于12月7日 18:45修复" in WORDING.render("restored", fault)
    with pytest.raises(ValueError, match="use announced or restored"):
        WORDING.render("updated", fault)


def test_a_broken_wording_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    path = tmp_path / "messages" / "outage_notices.yml"
    shutil.copy(REPO_ROOT / "data" / "messages" / "outage_notices.yml", path)
    path.write_text(path.read_text(encoding="utf-8").replace("  accounts:", "  everyone:"), encoding="utf-8")
    with pytest.raises(DataError, match="outage_notices.yml: `where` has no wording for accounts"):
        load_notice_wording(tmp_path)
    path.write_text("announced: x\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing `restored`"):
        load_notice_wording(tmp_path)
