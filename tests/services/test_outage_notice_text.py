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
    with pytest.raises(ValueError, match="use one of announced, changed, called_off, restored"):
        WORDING.render("updated", fault)
    with pytest.raises(ValueError, match="unknown notice kind"):
        WORDING.template_data("updated", fault)


def test_new_times_and_a_called_off_outage_are_worded() -> None:
    moved = WORDING.render("changed", facts(start=dt.datetime(2026, 12, 9, 9, 0), end=dt.datetime(2026, 12, 9, 12, 0)))
    assert "【计划停电时间调整】" in moved and "调整为12月9日（周三）09:00至12:00" in moved
    off = WORDING.render("called_off", facts())
    assert "【计划停电取消】原定12月8日（周二）08:00至17:30" in off and "已取消" in off


def test_template_messages_carry_the_same_facts_in_the_template_fields() -> None:
    data = WORDING.template_data("announced", facts())
    assert {k: v["value"] for k, v in data.items()} == {
        "first": "计划停电通知",
        "keyword1": "12月8日（周二）08:00至17:30",
        "keyword2": "10kV文三路1号线供电范围内",
        "keyword3": "10kV线路检修",
        "remark": "请提前做好准备，停电期间请勿自行操作电力设施。如有疑问请回复咨询或拨打95598。",
    }
    fault = facts(kind="fault", closed_at=dt.datetime(2026, 12, 7, 10, 45))
    restored = WORDING.template_data("restored", fault)
    assert restored["first"]["value"] == "恢复供电通知" and restored["keyword1"]["value"] == "12月7日 18:45"


def test_a_broken_wording_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "messages").mkdir()
    path = tmp_path / "messages" / "outage_notices.yml"
    shutil.copy(REPO_ROOT / "data" / "messages" / "outage_notices.yml", path)
    path.write_text(path.read_text(encoding="utf-8").replace("  accounts:", "  everyone:"), encoding="utf-8")
    with pytest.raises(DataError, match="outage_notices.yml: `where` has no wording for accounts"):
        load_notice_wording(tmp_path)
    original = (REPO_ROOT / "data" / "messages" / "outage_notices.yml").read_text(encoding="utf-8")
    path.write_text(original.replace("    called_off: 届时", "    cancelled: 届时"), encoding="utf-8")
    with pytest.raises(DataError, match="`template` has no wording for remark.called_off"):
        load_notice_wording(tmp_path)
    path.write_text("announced: x\n", encoding="utf-8")
    with pytest.raises(DataError, match="missing `changed`"):
        load_notice_wording(tmp_path)
