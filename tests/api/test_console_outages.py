"""The console's outage pages, the outage events in the case view, and tickets moved from the console."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.clock import local_now
from core.db import make_engine, make_session_factory, transaction
from core.models import Customer
from core.settings import Settings
from services import agents
from services.customers import bind
from services.outages import NewOutage, close_outage, create_outage
from services.ticket_lifecycle import link_outage
from services.tickets import create_ticket
from tests.api.console_helpers import PASSWORD, login
from tests.outage_helpers import add_customers

FEEDER = "10kV文三路1号线"
BIG = str(2**63)


@dataclass(frozen=True)
class Grid:
    fault: int  # active, on the feeder: all 120 customers
    planned: int  # coming, on one 台区: 60 customers
    listed: int  # coming, 3 accounts
    closed: int
    ticket_no: str  # an outage ticket of customer 3301000000, linked to the fault
    free_ticket_no: str  # another ticket of the same customer, not linked


@pytest.fixture
def grid(agent_online: str, api_settings: Settings) -> Grid:
    """120 customers on one feeder, a fault in progress, two coming planned outages, a closed one, tickets; the
    agent wang (online) and the supervisor li."""
    engine = make_engine(api_settings.effective_database_url)
    sessions = make_session_factory(engine)
    add_customers(sessions, 120, feeder=FEEDER)
    now = local_now()
    day = dt.timedelta(days=1)
    with transaction(sessions) as session:
        agents.create_agent(session, "li", "李娜", PASSWORD, "supervisor")

        def event(kind: str, start: dt.datetime, end: dt.datetime, scope: str, value: str | None, **kw: object) -> int:
            new = NewOutage(kind, start, end, "电缆故障" if kind == "fault" else "10kV线路检修", scope, value, **kw)  # type: ignore[arg-type]
            return create_outage(session=session, new=new, by="调度员张", now=now).id

        fault = event("fault", now - dt.timedelta(hours=2), now + dt.timedelta(hours=3), "feeder", FEEDER)
        planned = event("planned", now + day, now + day + dt.timedelta(hours=8), "transformer_area", "文三路1-1号台区")
        listed = event(
            "planned",
            now + 2 * day,
            now + 2 * day + dt.timedelta(hours=4),
            "accounts",
            None,
            accounts=["3301000001", "3301000002", "3301000003"],
        )
        closed = event("fault", now - day, now - day + dt.timedelta(hours=2), "feeder", FEEDER)
        close_outage(session=session, event_id=closed, by="调度员张")
        customer = session.scalars(select(Customer).where(Customer.account_no == "3301000000")).one()
        ticket_no = create_ticket(session, "outage", description="整栋楼停电", customer_id=customer.id).ticket_no
        link_outage(session, ticket_no=ticket_no, outage_id=fault)
        other = create_ticket(session, "outage", description="楼道灯不亮", customer_id=customer.id).ticket_no
        bind(session, "api", "grid-customer", customer)
    engine.dispose()
    return Grid(fault, planned, listed, closed, ticket_no, other)


def _row(page: str, event_id: int) -> str:
    found = re.search(rf'<tr data-outage="{event_id}".*?</tr>', page, re.S)
    assert found is not None, f"no row for event {event_id}"
    return found.group(0)


def _customers(page: str) -> int:
    """Customers listed in an event page's 受影响客户 section."""
    section = page[page.index("受影响客户") : page.index("关联工单 <small>")]
    return section.count("<td>33010")


def _numbers(row: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', row)]


def test_the_outage_page_lists_active_and_coming_events_with_their_counts(client: TestClient, grid: Grid) -> None:
    for path in ("/console/outages", f"/console/outages/{grid.fault}", f"/console/tickets/{grid.ticket_no}"):
        stranger = client.get(path, follow_redirects=False)  # strangers go to the login
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/console/login"), path
    login(client, "wang")
    home = client.get("/console").text
    assert 'href="/console/outages"' in home  # in the navigation
    page = client.get("/console/outages")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    text = page.text
    assert _numbers(_row(text, grid.fault)) == [120, 0, 1] and "故障停电" in _row(text, grid.fault)
    assert "停电中" in _row(text, grid.fault) and "电缆故障" in _row(text, grid.fault)
    assert _numbers(_row(text, grid.planned)) == [60, 0, 0] and "即将停电" in _row(text, grid.planned)
    assert "台区 文三路1-1号台区" in _row(text, grid.planned)
    assert _numbers(_row(text, grid.listed)) == [3, 0, 0] and "指定户号" in _row(text, grid.listed)
    assert f'data-outage="{grid.closed}"' not in text
    assert text.index(f'data-outage="{grid.fault}"') < text.index(f'data-outage="{grid.planned}"')
    everything = client.get("/console/outages?which=all").text
    assert "已关闭" in _row(everything, grid.closed) and f'data-outage="{grid.fault}"' in everything


def test_an_event_page_shows_its_history_customers_a_page_at_a_time_and_its_tickets(
    client: TestClient, grid: Grid
) -> None:
    login(client, "wang")
    first = client.get(f"/console/outages/{grid.fault}").text
    assert "共 120 户" in first and "第 1 / 3 页" in first
    assert _customers(first) == 50 and "<td>3301000000</td>" in first and "<td>3301000050</td>" not in first
    assert "创建" in first and "调度员张" in first and "电缆故障" in first  # history
    assert f'href="/console/tickets/{grid.ticket_no}"' in first and "整栋楼停电" in first  # linked tickets
    assert "共 1 张" in first and "楼道灯不亮" not in first
    assert "/close" not in first  # an agent sees no supervisor form
    last = client.get(f"/console/outages/{grid.fault}?page=3").text
    assert _customers(last) == 20 and "<td>3301000119</td>" in last and 'rel="next"' not in last
    assert _customers(client.get(f"/console/outages/{grid.fault}?page=99").text) == 20  # the last page
    listed = client.get(f"/console/outages/{grid.listed}").text
    assert "共 3 户" in listed and _customers(listed) == 3 and "翻页" not in listed


def test_a_supervisor_updates_the_estimated_restoration_and_closes_the_event(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "li")
    url = f"/console/outages/{grid.fault}"
    page = client.get(url).text
    assert f'action="{url}/update"' in page and f'action="{url}/close"' in page
    later = (local_now() + dt.timedelta(hours=6)).replace(second=0, microsecond=0)
    moved = client.post(
        f"{url}/update",
        data={"csrf_token": csrf, "end": later.strftime("%Y-%m-%dT%H:%M"), "reason": " "},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"] == url
    page = client.get(url).text
    assert later.strftime("%Y-%m-%d %H:%M") in page and "更新" in page and "li" in page
    nothing = client.post(f"{url}/update", data={"csrf_token": csrf, "end": "", "reason": ""})
    assert nothing.status_code == 422 and "nothing to update" in nothing.text
    garbled = client.post(f"{url}/update", data={"csrf_token": csrf, "end": "明天下午"})
    assert garbled.status_code == 422 and "end" in garbled.text
    before = client.post(f"{url}/update", data={"csrf_token": csrf, "end": "2000-01-01T00:00"})
    assert before.status_code == 422 and "is not after start" in before.text
    closed = client.post(f"{url}/close", data={"csrf_token": csrf}, follow_redirects=False)
    assert closed.status_code == 303
    page = client.get(url).text
    assert "已关闭" in page and "关闭时间" in page and "/close" not in page
    again = client.post(f"{url}/update", data={"csrf_token": csrf, "reason": "电缆头击穿"})
    assert again.status_code == 409 and "cannot change" in again.text and "停电事件 #" in again.text
    assert client.post(f"{url}/close", data={"csrf_token": csrf}).status_code == 409
    assert f'data-outage="{grid.fault}"' not in client.get("/console/outages").text


def test_a_supervisor_moves_a_planned_outage(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "li")
    url = f"/console/outages/{grid.planned}"
    assert 'name="start"' in client.get(url).text
    assert 'name="start"' not in client.get(f"/console/outages/{grid.fault}").text  # a fault's start is a fact
    start = (local_now() + dt.timedelta(days=1, hours=2)).replace(second=0, microsecond=0)
    form = {"csrf_token": csrf, "start": start.strftime("%Y-%m-%dT%H:%M")}
    moved = client.post(f"{url}/update", data=form, follow_redirects=False)
    assert moved.status_code == 303
    assert start.strftime("%Y-%m-%d %H:%M") in client.get(url).text
    late = (start + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    after_end = client.post(f"{url}/update", data={"csrf_token": csrf, "start": late})
    assert after_end.status_code == 422 and "is not after start" in after_end.text


def test_agents_may_not_change_events_and_forms_need_the_csrf_token(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "wang")
    url = f"/console/outages/{grid.fault}"
    assert client.post(f"{url}/close", data={"csrf_token": csrf}).status_code == 403
    assert client.post(f"{url}/update", data={"csrf_token": csrf, "reason": "x"}).status_code == 403
    boss = TestClient(client.app)
    boss_csrf = login(boss, "li")
    for path in (f"{url}/close", f"{url}/update"):
        assert boss.post(path, data={"reason": "x"}).status_code == 403
        assert boss.post(path, data={"csrf_token": "wrong", "reason": "x"}).status_code == 403
        other_site = boss.post(path, data={"csrf_token": boss_csrf}, headers={"Origin": "https://evil.example"})
        assert other_site.status_code == 403
    ticket = f"/console/tickets/{grid.ticket_no}/move"
    assert client.post(ticket, data={"to": "dispatched"}).status_code == 403
    assert "已关闭" not in boss.get(url).text  # nothing changed
    stranger = TestClient(client.app)
    assert stranger.post(f"{url}/close", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303


def test_bad_ids_are_422_and_unknown_ones_404(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "li")
    for bad in (BIG, str(2**64), "0", "-1", "abc"):
        assert client.get(f"/console/outages/{bad}").status_code == 422, bad
        for action in ("update", "close"):
            got = client.post(f"/console/outages/{bad}/{action}", data={"csrf_token": csrf, "reason": "x"})
            assert got.status_code == 422, (bad, action)
    for page in ("0", "-3", BIG, "x"):
        assert client.get(f"/console/outages/{grid.fault}?page={page}").status_code == 422, page
    missing = client.get("/console/outages/999999")
    assert missing.status_code == 404 and "no outage event 999999" in missing.text
    assert client.post("/console/outages/999999/close", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/console/outages/999999/update", data={"csrf_token": csrf, "reason": "x"}).status_code == 404
    assert client.get("/console/tickets/GZ20990101999999").status_code == 404
    for bad_no in ("x" * 21, "GZ-1", "GZ%201"):
        assert client.get(f"/console/tickets/{bad_no}").status_code == 422, bad_no
        assert client.post(f"/console/tickets/{bad_no}/move", data={"csrf_token": csrf}).status_code == 422


def test_a_ticket_moves_through_its_lifecycle_from_the_console(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "wang")
    url = f"/console/tickets/{grid.ticket_no}"
    page = client.get(url).text
    assert "受理" in page and "整栋楼停电" in page and "3301000000" in page
    assert f'href="/console/outages/{grid.fault}"' in page  # the event it belongs to
    assert '<option value="dispatched">派单</option>' in page and '<option value="cancelled">取消</option>' in page
    moved = client.post(
        f"{url}/move", data={"csrf_token": csrf, "to": "dispatched", "note": "抢修一班"}, follow_redirects=False
    )
    assert moved.status_code == 303 and moved.headers["location"] == url
    page = client.get(url).text
    history = page[page.index("流转记录") :]
    assert "派单" in history and "抢修一班" in history and "wang" in history
    assert '<option value="dispatched">' not in page  # forward only
    back = client.post(f"{url}/move", data={"csrf_token": csrf, "to": "accepted"})
    assert back.status_code == 409 and "cannot go to accepted" in back.text and "流转记录" in back.text
    unknown = client.post(f"{url}/move", data={"csrf_token": csrf, "to": "flying"})
    assert unknown.status_code == 422 and "unknown ticket state" in unknown.text
    blank = client.post(f"{url}/move", data={"csrf_token": csrf, "to": ""})
    assert blank.status_code == 422 and "to" in blank.text
    long_note = client.post(f"{url}/move", data={"csrf_token": csrf, "to": "on_site", "note": "长" * 501})
    assert long_note.status_code == 422
    for state in ("on_site", "repaired", "visited"):
        assert (
            client.post(f"{url}/move", data={"csrf_token": csrf, "to": state}, follow_redirects=False).status_code
            == 303
        )
    page = client.get(url).text
    assert "不能再流转" in page and "办结时间" in page and f'action="{url}/move"' not in page
    final = client.post(f"{url}/move", data={"csrf_token": csrf, "to": "cancelled"})
    assert final.status_code == 409 and "final" in final.text
    lower = client.get(f"/console/tickets/{grid.ticket_no.lower()}")
    assert lower.status_code == 200 and "回访" in lower.text


def test_a_ticket_is_linked_to_an_outage_affecting_its_customer(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "wang")
    url = f"/console/tickets/{grid.free_ticket_no}"
    page = client.get(url).text
    assert "未关联" in page and f'<option value="{grid.fault}"' in page
    assert f'<option value="{grid.planned}"' in page and f'<option value="{grid.listed}"' not in page  # not theirs
    for bad in (BIG, "abc", ""):
        got = client.post(f"{url}/outage", data={"csrf_token": csrf, "outage_id": bad})
        assert got.status_code == 422 and "outage_id" in got.text, bad
    assert client.post(f"{url}/outage", data={"csrf_token": csrf, "outage_id": "999999"}).status_code == 404
    done = client.post(f"{url}/outage", data={"csrf_token": csrf, "outage_id": str(grid.fault)}, follow_redirects=False)
    assert done.status_code == 303
    assert f'href="/console/outages/{grid.fault}"' in client.get(url).text
    assert _numbers(_row(client.get("/console/outages").text, grid.fault)) == [120, 0, 2]


def test_the_case_view_shows_the_outages_affecting_the_customer(client: TestClient, grid: Grid) -> None:
    csrf = login(client, "wang")
    client.post("/api/v1/messages", json={"user_id": "grid-customer", "text": "家里停电了，转人工"})
    handoff_id = client.get("/console/api/queue").json()["waiting"][0]["handoff_id"]
    assert client.post(f"/console/api/cases/{handoff_id}/claim", headers={"X-CSRF-Token": csrf}).status_code == 200
    page = client.get(f"/console/cases/{handoff_id}").text
    notices = page[page.index('id="customer-outages"') : page.index("知识库建议")]
    assert "您所在区域正在故障抢修，预计" in notices and f'href="/console/outages/{grid.fault}"' in notices
    assert "计划停电" in notices and f'data-outage="{grid.planned}"' in notices  # its 台区, tomorrow
    assert f'data-outage="{grid.listed}"' not in notices and f'data-outage="{grid.closed}"' not in notices
    assert f'href="/console/tickets/{grid.ticket_no}"' in page  # the open tickets link to their pages
    unbound = TestClient(client.app)
    unbound_csrf = login(unbound, "li")
    unbound.post("/api/v1/messages", json={"user_id": "nobody-bound", "text": "转人工"})
    other = next(c for c in unbound.get("/console/api/queue").json()["waiting"] if c["handoff_id"] != handoff_id)
    unbound.post(f"/console/api/cases/{other['handoff_id']}/claim", headers={"X-CSRF-Token": unbound_csrf})
    assert 'id="customer-outages"' not in unbound.get(f"/console/cases/{other['handoff_id']}").text
