"""The handoff queue and console accounts on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated
from core.models import Conversation, Handoff, Message, Ticket
from services import agents, handoffs, tickets

pytestmark = pytest.mark.db
T0 = dt.datetime(2026, 11, 24, 9, 0)


def _case(session: Session, reason: str, priority: int, minutes: int, user: str) -> int:
    conversation = Conversation(channel="widget", external_user_id=user, state="waiting_agent")
    session.add(conversation)
    session.flush()
    session.add(Message(conversation_id=conversation.id, direction="in", sender="customer", text=f"{user} 的问题"))
    handoff = Handoff(
        conversation_id=conversation.id, reason=reason, priority=priority, created_at=T0 + dt.timedelta(minutes=minutes)
    )
    session.add(handoff)
    session.flush()
    return handoff.id


def test_queue_claim_transfer_close_and_rating(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        for name, role in (("wang", "agent"), ("zhao", "agent"), ("li", "supervisor")):
            agents.create_agent(s, name, name, "a long password", role)
        old = _case(s, "asked", 0, 0, "a")
        complaint = _case(s, "complaint", 10, 5, "b")
        newer = _case(s, "asked", 0, 3, "c")
    now = T0 + dt.timedelta(minutes=10)
    with sessions() as s:
        assert [c.handoff_id for c in handoffs.queue(s, now)] == [complaint, old, newer]
        assert handoffs.queue(s, now)[1].waiting_s == 600
    with transaction(sessions) as s:
        case = handoffs.claim(s, complaint, "wang", now)
        assert case.status == "claimed" and s.get_one(Conversation, case.conversation_id).state == "with_agent"
    with transaction(sessions) as s, pytest.raises(Conflict, match="claimed"):
        handoffs.claim(s, complaint, "zhao", now)
    with sessions() as s:
        with pytest.raises(Forbidden):
            handoffs.check_access(handoffs.get_case(s, complaint), "zhao", supervisor=False)
        handoffs.check_access(handoffs.get_case(s, complaint), "li", supervisor=True)
    with transaction(sessions) as s, pytest.raises(InvalidInput, match="no active agent"):
        handoffs.transfer(s, complaint, "wang", "nobody")
    with transaction(sessions) as s:
        assert handoffs.transfer(s, complaint, "wang", "zhao").agent == "zhao"
    with transaction(sessions) as s, pytest.raises(Forbidden):
        handoffs.close(s, complaint, "wang", "resolved")
    with transaction(sessions) as s:
        closed = handoffs.close(s, complaint, "zhao", "resolved", "ok", now=now)
        assert closed.status == "closed"
        conversation = s.get_one(Conversation, closed.conversation_id)
        assert conversation.state == "closed" and conversation.rating_requested_at == now
    with sessions() as s:
        assert handoffs.pending_rating(s, "widget", "b", 1800, now + dt.timedelta(minutes=5)) == closed.conversation_id
        assert handoffs.pending_rating(s, "widget", "b", 1800, now + dt.timedelta(hours=1)) is None
    with transaction(sessions) as s:
        rating = handoffs.store_rating(s, closed.conversation_id, 4, " 不错 ")
        assert (rating.human_involved, rating.agent, rating.comment) == (True, "zhao", "不错")
    with transaction(sessions) as s, pytest.raises(Conflict, match="rated already"):
        handoffs.store_rating(s, closed.conversation_id, 5, None)
    with sessions() as s:
        numbers = handoffs.team_numbers(s, 120, ["wang"], now)
        assert (numbers.waiting, numbers.over_target, numbers.claimed) == (2, 2, 0)
        assert numbers.median_wait_s == 300.0 and numbers.waiting_by_reason == {"asked": 2}


def test_concurrent_claims_have_exactly_one_winner(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        handoff_id = _case(s, "asked", 0, 0, "race")

    def try_claim(agent: str) -> str:
        try:
            with transaction(sessions) as s:
                handoffs.claim(s, handoff_id, agent)
            return "won"
        except Conflict:
            return "lost"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(try_claim, [f"agent{i}" for i in range(6)]))
    assert results.count("won") == 1


def test_callback_and_delivery_marks(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        handoff_id = _case(s, "asked", 0, 0, "cb")
        ticket = handoffs.book_callback(s, handoff_id, T0 + dt.timedelta(hours=2), "无客服在线")
        assert ticket.ticket_no.startswith("HF") and ticket.kind == "callback"
        handoff = s.get_one(Handoff, handoff_id)
        assert handoff.status == "callback" and s.get_one(Conversation, handoff.conversation_id).state == "bot"
        message_id = handoffs.transcript(s, handoff.conversation_id)[0].id
        handoffs.mark_delivered(s, [message_id])
    with sessions() as s:
        assert s.get_one(Message, message_id).status == "delivered"
        assert handoffs.queue(s) == []


def test_agent_accounts_sessions_and_presence(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as s:
        agent = agents.create_agent(s, "wang", "王敏", "a long password")
        assert agent.password_hash.startswith("$argon2") and "a long password" not in agent.password_hash
        for bad in (
            ("Wang!", "x", "a long password", "agent"),
            ("li", "x", "short", "agent"),
            ("li", "x", "a long password", "boss"),
        ):
            with pytest.raises(InvalidInput):
                agents.create_agent(s, *bad)
        with pytest.raises(Conflict):
            agents.create_agent(s, "wang", "again", "a long password")
    with transaction(sessions) as s:
        with pytest.raises(NotAuthenticated):
            agents.verify_login(s, "wang", "wrong password")
        token, csrf = agents.open_session(s, agents.verify_login(s, "wang", "a long password"), hours=1, now=T0)
    with sessions() as s:
        who = agents.principal_for(s, token, now=T0 + dt.timedelta(minutes=30))
        assert who is not None and who.csrf_token == csrf and not who.is_supervisor
        assert agents.principal_for(s, token, now=T0 + dt.timedelta(hours=2)) is None  # expired
        assert agents.principal_for(s, "x" * 500) is None
        assert [a.username for a in agents.online_agents(s, 60, now=T0 + dt.timedelta(seconds=30))] == ["wang"]
        assert agents.online_agents(s, 60, now=T0 + dt.timedelta(minutes=5)) == []
    with transaction(sessions) as s:
        agents.set_password(s, "wang", "another long one")
    with sessions() as s:
        assert agents.principal_for(s, token, now=T0) is None  # a new password logs out everywhere


def test_a_complaint_is_a_ticket_with_its_commitments_and_is_its_own_callback(sessions: sessionmaker[Session]) -> None:
    accepted = dt.datetime(2026, 11, 27, 19, 30)  # a Friday evening
    with transaction(sessions) as s:
        handoff_id = _case(s, "complaint", 10, 0, "complainer")
        conversation_id = s.get_one(Handoff, handoff_id).conversation_id
        filed = tickets.file_complaint(s, text="乱收费", accepted_local=accepted, conversation_id=conversation_id)
        complaint = s.scalars(select(Ticket).where(Ticket.ticket_no == filed.ticket_no)).one()
        assert (
            complaint.ticket_no.startswith("TS") and complaint.kind == "complaint" and complaint.description == "乱收费"
        )
        assert filed.said == {"contact_by": "11月28日19:30", "reply_by": "12月4日"}
        assert filed.payload == {
            "ticket": {
                "ticket_no": filed.ticket_no,
                "kind": "complaint",
                "contact_by": "2026-11-28T19:30",
                "reply_by": "2026-12-04T23:59",
            }
        }
        # contact within 24 hours; an answer by the end of the 5th working day (Mon 30 Nov … Fri 4 Dec)
        assert complaint.contact_by == dt.datetime(2026, 11, 28, 19, 30)
        assert complaint.reply_by == dt.datetime(2026, 12, 4, 23, 59)
        # nobody can answer now: the complaint's ticket is the callback, not a second ticket with another time
        booked = handoffs.book_callback(s, handoff_id, accepted + dt.timedelta(hours=14), "非服务时间")
        assert booked.id == complaint.id and s.get_one(Handoff, handoff_id).ticket_id == complaint.id
        other = handoffs.book_callback(s, _case(s, "asked", 0, 1, "asker"), accepted, "非服务时间")
        assert other.kind == "callback" and other.contact_by == accepted
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2
