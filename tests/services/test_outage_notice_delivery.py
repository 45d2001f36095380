"""Delivering outage notices against the fake WeChat server on loopback (SQLite and PostgreSQL): retries, final
refusals, template messages for customers silent for 48 hours, widget notices, new times and a planned outage
called off after customers were told, two workers at once, and a worker that outlives a broken database."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from wechatpy.session.memorystorage import MemoryStorage

from core.db import make_engine, make_session_factory, transaction
from core.models import Conversation, Customer, Message
from core.models_outages import OutageEvent, OutageNotice
from core.models_recommend import CustomerNotice
from core.settings import REPO_ROOT
from services.notices import take_unread
from services.outage_notice_delivery import NoticeDelivery, Pace
from services.outage_notice_text import load_notice_wording
from services.outage_notices import queue_notices
from services.outage_status import record_contact
from services.outages import NewOutage, close_outage, create_outage, update_outage
from tests.api.fake_wechat import FakeWeChatState, fake_wechat_app, serve
from tests.notice_helpers import bind, fake_sender
from tests.outage_helpers import add_customers

NOW = dt.datetime(2026, 12, 7, 10, 0)
WORDING = load_notice_wording(REPO_ROOT / "data")


@pytest.fixture(scope="module")
def wechat() -> Iterator[tuple[str, FakeWeChatState]]:
    state = FakeWeChatState()
    with serve(fake_wechat_app(state)) as url:
        yield url, state


@pytest.fixture
def fake(wechat: tuple[str, FakeWeChatState]) -> tuple[str, FakeWeChatState]:
    url, state = wechat
    state.sent.clear()
    state.refused.clear()
    state.errors_for.clear()
    state.templates.clear()
    state.silent.clear()
    state.template_errors.clear()
    return url, state


def announce(sessions: sessionmaker[Session], wechat_users: int, widget_users: int = 0) -> int:
    """Customers bound on WeChat (o_0 …) and on the widget, and a planned outage of their feeder."""
    add_customers(sessions, wechat_users + widget_users)
    with sessions() as session:
        ids = list(session.scalars(select(Customer.id).order_by(Customer.account_no)))
    bind(sessions, [(c, "wechat", f"o_{i}") for i, c in enumerate(ids[:wechat_users])])
    bind(sessions, [(c, "widget", f"v_{i}") for i, c in enumerate(ids[wechat_users:])])
    new = NewOutage(
        "planned", NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=1, hours=8), "10kV线路检修", "feeder"
    )
    new = NewOutage(**{**new.__dict__, "scope_value": "10kV文三路1号线"})
    with transaction(sessions) as session:
        return create_outage(session=session, new=new, by="test", now=NOW).id


def rows(sessions: sessionmaker[Session]) -> dict[str, OutageNotice]:
    with sessions() as session:
        return {n.recipient or f"widget:{n.customer_id}": n for n in session.scalars(select(OutageNotice))}


def delivery(
    sessions: sessionmaker[Session], url: str | None, token: Any = None, template_id: str = "", **kw: int
) -> NoticeDelivery:
    sender = fake_sender(url, storage=token) if url else None
    return NoticeDelivery(
        sessions, WORDING, sender, rate=1000, concurrency=kw.pop("concurrency", 4), template_id=template_id, **kw
    )


@pytest.mark.db
async def test_retried_refused_and_widget_notices_are_recorded(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 3, widget_users=1)
    state.errors_for.update({"o_0": [-1], "o_1": [45015]})  # system busy once; silent for 48 hours
    report = await delivery(sessions, url).deliver_due()
    assert (report.sent, report.failed, report.retrying, report.attempts) == (3, 1, 0, 4)
    notices = rows(sessions)
    assert (notices["o_0"].status, notices["o_0"].attempts) == ("sent", 2)
    assert (notices["o_1"].status, notices["o_1"].attempts) == ("failed", 1)
    assert "45015" in (notices["o_1"].last_error or "") and "48 hours" in (notices["o_1"].last_error or "")
    assert notices["o_2"].status == "sent" and notices["o_2"].sent_at is not None
    assert Counter(m["touser"] for m in state.sent) == {"o_0": 1, "o_2": 1}
    assert "12月8日（周二）10:00至18:00" in state.texts_to("o_0")[0]
    widget = next(n for key, n in notices.items() if key.startswith("widget:"))
    assert widget.status == "sent" and widget.text == state.texts_to("o_2")[0]
    with transaction(sessions) as session:  # the widget shows it once
        assert [n.text for n in take_unread(session, widget.customer_id)] == [widget.text]
        assert take_unread(session, widget.customer_id) == []
    assert (await delivery(sessions, url).deliver_due()).sent == 0  # nothing twice


@pytest.mark.db
async def test_a_notice_wechat_keeps_refusing_waits_and_is_sent_later(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 1)
    state.errors_for["o_0"] = [-1] * 4  # every attempt of the first round
    report = await delivery(sessions, url).deliver_due()
    assert (report.sent, report.retrying, report.attempts) == (0, 1, 4)
    notice = rows(sessions)["o_0"]
    assert notice.status == "pending" and notice.due_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert "-1" in (notice.last_error or "")
    with transaction(sessions) as session:  # the minute has passed
        session.execute(update(OutageNotice).values(due_at=dt.datetime(2026, 1, 1)))
    assert (await delivery(sessions, url).deliver_due()).sent == 1
    assert (rows(sessions)["o_0"].status, rows(sessions)["o_0"].attempts) == ("sent", 5)


@pytest.mark.db
async def test_two_workers_send_each_notice_once(
    db_url: str, sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 60, widget_users=10)
    other = make_engine(db_url)  # the second worker: its own connections, like another api process …
    token = MemoryStorage()  # … sharing the WeChat token, as api processes do through Redis
    try:
        first = delivery(sessions, url, token, batch=7)
        second = delivery(make_session_factory(other), url, token, batch=7)
        reports = await asyncio.gather(first.deliver_due(), second.deliver_due())
    finally:
        other.dispose()
    assert sum(r.sent for r in reports) == 70 and all(r.sent for r in reports)
    assert Counter(m["touser"] for m in state.sent) == {f"o_{i}": 1 for i in range(60)}
    with sessions() as session:
        assert len(session.scalars(select(CustomerNotice)).all()) == 10
    assert {n.status for n in rows(sessions).values()} == {"sent"}


@pytest.mark.db
async def test_without_wechat_credentials_the_widget_notices_still_go(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    announce(sessions, 2, widget_users=1)
    report = await delivery(sessions, None).deliver_due()
    assert (report.sent, report.waiting_for_wechat) == (1, 2)
    assert fake[1].sent == []


async def test_the_worker_outlives_a_broken_database(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")
    worker = NoticeDelivery(make_session_factory(engine), WORDING, None, rate=10, concurrency=1)
    with caplog.at_level(logging.WARNING, logger="services.outage_notice_delivery"):
        task = asyncio.create_task(worker.run(0.01))
        await asyncio.sleep(0.3)
        assert not task.done()
        task.cancel()
    engine.dispose()
    problems = [r.getMessage() for r in caplog.records]
    assert len(problems) == 1 and "no such table: outage_notices" in problems[0] and "trying again" in problems[0]


async def test_the_pace_spreads_starts_evenly() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    pace = Pace(10, clock=lambda: 100.0, sleep=sleep)
    for _ in range(3):
        await pace.wait()
    assert slept == [0.1, 0.2]
    with pytest.raises(ValueError, match="above 0"):
        Pace(0)


@pytest.mark.db
async def test_concurrent_pushes_share_one_token(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 40)
    before = state.tokens_issued
    report = await delivery(sessions, url, concurrency=16).deliver_due()
    # one fetch, not one per thread (each fetch retires the tokens before it: a storm of 40001s)
    assert (report.sent, report.attempts, state.tokens_issued - before) == (40, 40, 1)


@pytest.mark.db
async def test_a_customer_silent_for_48_hours_is_told_by_a_template_message(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 3)
    state.silent.update({"o_1", "o_2"})
    state.template_errors.append(43004)  # the first template: that customer has unsubscribed
    report = await delivery(sessions, url, template_id="tpl-outage").deliver_due()
    notices = rows(sessions)
    assert (report.sent, report.failed) == (2, 1)
    assert (notices["o_0"].status, notices["o_0"].via) == ("sent", "message")
    told = next(k for k in ("o_1", "o_2") if notices[k].status == "sent")
    refused = "o_2" if told == "o_1" else "o_1"
    assert notices[told].via == "template" and notices[told].attempts == 2  # 45015, then the template
    assert notices[refused].status == "failed" and "43004" in (notices[refused].last_error or "")
    assert notices[refused].via is None
    (template,) = state.templates
    assert template["touser"] == told and template["template_id"] == "tpl-outage"
    data = {name: field["value"] for name, field in template["data"].items()}
    assert data["first"] == "计划停电通知" and data["keyword1"] == "12月8日（周二）10:00至18:00"
    assert data["keyword3"] == "10kV线路检修" and "10kV文三路1号线" in data["keyword2"]
    assert notices[told].text is not None and "12月8日" in notices[told].text
    assert (await delivery(sessions, url, template_id="tpl-outage").deliver_due()).sent == 0  # nothing twice


@pytest.mark.db
async def test_without_a_template_a_silent_customer_is_not_told(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    announce(sessions, 1)
    state.silent.add("o_0")
    assert (await delivery(sessions, url).deliver_due()).failed == 1
    assert state.templates == [] and "45015" in (rows(sessions)["o_0"].last_error or "")


def _change(sessions: sessionmaker[Session], event_id: int, hours: int) -> None:
    with transaction(sessions) as session:
        start = NOW + dt.timedelta(days=1, hours=hours)
        update_outage(
            session=session, event_id=event_id, by="test", start=start, end=start + dt.timedelta(hours=4), now=NOW
        )


@pytest.mark.db
async def test_new_times_are_told_once_per_change_to_the_customers_already_told(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    event_id = announce(sessions, 2, widget_users=1)
    assert (await delivery(sessions, url).deliver_due()).sent == 3
    _change(sessions, event_id, 2)  # 12:00–16:00
    _change(sessions, event_id, 3)  # moved again before anyone was told of the first change: one notice
    assert (await delivery(sessions, url).deliver_due()).sent == 3
    for openid in ("o_0", "o_1"):
        first, second = state.texts_to(openid)
        assert "10:00至18:00" in first and "时间调整" in second and "13:00至17:00" in second
    with sessions() as session:
        widget = session.scalars(select(OutageNotice).where(OutageNotice.channel == "widget")).all()
        assert sorted(n.kind for n in widget) == ["announced", "changed"] and all(n.via == "widget" for n in widget)
    with transaction(sessions) as session:  # the reason alone changes nothing for the customers
        update_outage(session=session, event_id=event_id, by="test", reason="10kV线路改造", now=NOW)
    assert (await delivery(sessions, url).deliver_due()).sent == 0
    _change(sessions, event_id, 4)  # a later change is told again
    assert (await delivery(sessions, url).deliver_due()).sent == 3
    assert "14:00至18:00" in state.texts_to("o_0")[-1] and len(state.texts_to("o_0")) == 3


@pytest.mark.db
async def test_a_customer_not_yet_told_gets_the_new_times_in_the_first_notice(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    event_id = announce(sessions, 2)
    _change(sessions, event_id, 2)
    assert (await delivery(sessions, url).deliver_due()).sent == 2
    assert [len(state.texts_to(o)) for o in ("o_0", "o_1")] == [1, 1]
    assert "12:00至16:00" in state.texts_to("o_0")[0] and "时间调整" not in state.texts_to("o_0")[0]


@pytest.mark.db
async def test_a_planned_outage_called_off_is_told_to_those_told_of_it_and_to_nobody_else(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    event_id = announce(sessions, 2)
    state.errors_for["o_1"] = [-1] * 4  # o_1's notice waits for a retry
    assert (await delivery(sessions, url).deliver_due()).sent == 1
    with transaction(sessions) as session:
        close_outage(session=session, event_id=event_id, by="test", now=NOW)
        session.execute(update(OutageNotice).values(due_at=dt.datetime(2026, 1, 1)))
    report = await delivery(sessions, url).deliver_due()
    assert (report.sent, report.cancelled) == (1, 1)  # o_0 told it is off; o_1's first notice called off
    assert "取消" in state.texts_to("o_0")[-1] and state.texts_to("o_1") == []
    with transaction(sessions) as session:  # closing once more is refused and tells nobody
        with pytest.raises(Exception, match="closed"):
            close_outage(session=session, event_id=event_id, by="test", now=NOW)


@pytest.mark.db
async def test_users_who_reported_a_fault_by_address_are_told_when_power_is_back(
    sessions: sessionmaker[Session], fake: tuple[str, FakeWeChatState]
) -> None:
    url, state = fake
    add_customers(sessions, 2)
    with sessions() as session:
        bound = session.scalars(select(Customer.id).order_by(Customer.account_no)).first()
    assert bound is not None
    bind(sessions, [(bound, "wechat", "o_bound")])
    fault = NewOutage("fault", NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=2), "电缆故障", "feeder")
    fault = NewOutage(**{**fault.__dict__, "scope_value": "10kV文三路1号线"})
    with transaction(sessions) as session:
        event_id = create_outage(session=session, new=fault, by="test", now=NOW).id
        conversation = Conversation(channel="widget", external_user_id="v_addr")
        session.add(conversation)
        session.flush()
        conversation_id = conversation.id
        reporters = [("wechat", "o_addr"), ("widget", "v_addr"), ("api", "a_addr"), ("widget", "v_gone")]
        for channel, user in [*reporters, ("wechat", "o_bound")]:
            mine = user == "o_bound"
            record_contact(
                session,
                event_id=event_id,
                channel=channel,
                user_id=user,
                customer_id=bound if mine else None,
                conversation_id=conversation_id if user == "v_addr" else None,
                matched_by="account" if mine else "address",
            )
        close_outage(session=session, event_id=event_id, by="test", now=NOW)
    report = await delivery(sessions, url).deliver_due()
    assert (report.sent, report.failed) == (3, 1)  # the visitor without a conversation cannot be told
    assert Counter(m["touser"] for m in state.sent) == {"o_bound": 1, "o_addr": 1}
    assert "恢复供电" in state.texts_to("o_addr")[0]
    notices = rows(sessions)
    assert notices["o_addr"].customer_id is None and notices["o_bound"].customer_id == bound
    assert "a_addr" not in notices and notices["v_gone"].status == "failed"
    with sessions() as session:
        shown = session.scalars(select(Message).where(Message.conversation_id == conversation_id)).one()
        assert shown.direction == "out" and "恢复供电" in shown.text
        assert shown.payload == {"custom": {"outage_notice": {"outage_id": event_id, "kind": "restored"}}}
    with transaction(sessions) as session:  # queued again: nobody twice
        event = session.get(OutageEvent, event_id)
        assert event is not None and queue_notices(session, event, NOW) == 4
    assert (await delivery(sessions, url).deliver_due()).sent == 0
