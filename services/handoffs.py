"""Handoffs: opening one (transcript and customer summary), the queue by priority then waiting time, claim,
transfer, close, callbacks, ratings and the supervisor's numbers. Plain functions over a session the caller opens."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.errors import Conflict, Forbidden, InvalidInput, NotFound
from core.identity import mask_account, mask_name
from core.models import Conversation, Handoff, Message, Rating, Ticket
from core.models_console import Agent
from services.customers import bound_customer
from services.ticket_lifecycle import is_open
from services.tickets import create_ticket

OPEN = ("waiting", "claimed")
HANDOFF_PRIORITY = {"complaint": 10, "sentiment": 8, "bot_unavailable": 6}
TRANSCRIPT_LIMIT = 50  # messages kept with a handoff


def open_handoff(session: Session, conversation_id: int, reason: str) -> int:
    """Queue the conversation for a person, with its transcript and a short customer summary; the open
    handoff's id when there is one already."""
    conversation = session.get_one(Conversation, conversation_id)
    existing = session.scalar(
        select(Handoff).where(Handoff.conversation_id == conversation_id, Handoff.status.in_(OPEN))
    )
    if existing is not None:
        return existing.id
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.id.desc())
        .limit(TRANSCRIPT_LIMIT)
    ).all()
    transcript = [
        {"direction": m.direction, "sender": m.sender, "text": m.text, "at": m.created_at.isoformat()}
        for m in reversed(messages)
    ]
    customer = bound_customer(session, conversation.channel, conversation.external_user_id)
    last_question = next((m.text for m in messages if m.direction == "in"), "")
    who = (
        f"{mask_name(customer.name)}（户号 {mask_account(customer.account_no)}，{customer.area}）"
        if customer
        else "未绑定户号的客户"
    )
    handoff = Handoff(
        conversation_id=conversation_id,
        reason=reason,
        priority=HANDOFF_PRIORITY.get(reason, 0),
        summary=f"{who}；最后的问题：{last_question[:200]}",
        transcript=transcript,
    )
    session.add(handoff)
    conversation.state = "waiting_agent"
    if customer is not None:
        conversation.customer_id = customer.id
    session.flush()
    return handoff.id


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Case:
    handoff_id: int
    conversation_id: int
    channel: str
    external_user_id: str
    customer_id: int | None
    reason: str
    priority: int
    summary: str
    status: str
    agent: str | None
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    waiting_s: float  # until claimed (or until now while waiting)

    def as_json(self) -> dict[str, object]:
        return {
            "handoff_id": self.handoff_id,
            "conversation_id": self.conversation_id,
            "channel": self.channel,
            "reason": self.reason,
            "priority": self.priority,
            "summary": self.summary,
            "status": self.status,
            "agent": self.agent,
            "created_at": self.created_at.isoformat(),
            "waiting_s": round(self.waiting_s, 1),
        }


def _case(handoff: Handoff, conversation: Conversation, now: dt.datetime) -> Case:
    until = handoff.claimed_at or now
    return Case(
        handoff.id,
        conversation.id,
        conversation.channel,
        conversation.external_user_id,
        conversation.customer_id,
        handoff.reason,
        handoff.priority,
        handoff.summary,
        handoff.status,
        handoff.agent,
        handoff.created_at,
        handoff.claimed_at,
        max(0.0, (until - handoff.created_at).total_seconds()),
    )


def queue(session: Session, now: dt.datetime | None = None) -> list[Case]:
    """Waiting cases: complaints (highest priority) first, then the longest waiting."""
    now = now or _now()
    rows = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == "waiting")
        .order_by(Handoff.priority.desc(), Handoff.created_at, Handoff.id)
    ).all()
    return [_case(h, c, now) for h, c in rows]


def cases_of(session: Session, agent: str, now: dt.datetime | None = None) -> list[Case]:
    now = now or _now()
    rows = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.status == "claimed", Handoff.agent == agent)
        .order_by(Handoff.claimed_at)
    ).all()
    return [_case(h, c, now) for h, c in rows]


def get_case(session: Session, handoff_id: int, now: dt.datetime | None = None) -> Case:
    row = session.execute(
        select(Handoff, Conversation)
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.id == handoff_id)
    ).first()
    if row is None:
        raise NotFound(f"no case {handoff_id}; it may have been removed — reload the queue")
    return _case(row[0], row[1], now or _now())


def check_access(case: Case, agent: str, supervisor: bool) -> None:
    """Waiting cases are open to every agent; a claimed or closed case to its agent and to supervisors."""
    if supervisor or case.status == "waiting" or case.agent == agent:
        return
    raise Forbidden(f"case {case.handoff_id} belongs to {case.agent}; ask them or a supervisor to transfer it")


def claim(session: Session, handoff_id: int, agent: str, now: dt.datetime | None = None) -> Case:
    """Take a waiting case. Exactly one of several agents claiming at once wins; the others get Conflict."""
    now = now or _now()
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", agent=agent, claimed_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        case = get_case(session, handoff_id, now)
        raise Conflict(f"case {handoff_id} is {case.status} (agent {case.agent}); pick another from the queue")
    case = get_case(session, handoff_id, now)
    session.execute(update(Conversation).where(Conversation.id == case.conversation_id).values(state="with_agent"))
    return get_case(session, handoff_id, now)


def transfer(session: Session, handoff_id: int, agent: str, to: str, supervisor: bool = False) -> Case:
    case = get_case(session, handoff_id)
    if case.status != "claimed":
        raise Conflict(f"case {handoff_id} is {case.status}; only a claimed case can be transferred")
    check_access(case, agent, supervisor)
    target = session.scalar(select(Agent).where(Agent.username == to, Agent.active.is_(True)))
    if target is None:
        raise InvalidInput(f"no active agent {to!r} to transfer to; pick one from the list")
    if to == case.agent:
        raise InvalidInput(f"case {handoff_id} is already with {to}")
    session.execute(update(Handoff).where(Handoff.id == handoff_id).values(agent=to))
    return get_case(session, handoff_id)


def close(
    session: Session,
    handoff_id: int,
    agent: str,
    resolution: str,
    note: str = "",
    supervisor: bool = False,
    now: dt.datetime | None = None,
) -> Case:
    """Close a claimed case: the conversation is closed and a rating is requested from the customer."""
    now = now or _now()
    case = get_case(session, handoff_id, now)
    check_access(case, agent, supervisor)
    result = session.execute(
        update(Handoff)
        .where(Handoff.id == handoff_id, Handoff.status == "claimed")
        .values(status="closed", resolution=resolution, note=note or None, closed_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"case {handoff_id} is {case.status}; only a claimed case can be closed")
    session.execute(
        update(Conversation)
        .where(Conversation.id == case.conversation_id)
        .values(state="closed", closed_at=now, rating_requested_at=now)
    )
    return get_case(session, handoff_id, now)


def book_callback(session: Session, handoff_id: int, callback_by: dt.datetime, why: str) -> Ticket:
    """Nobody can answer now: a callback ticket, the case leaves the queue, the conversation goes back to the bot.
    A complaint's own ticket (registered with its contact time) serves as the callback: one promise, not two."""
    handoff = session.get_one(Handoff, handoff_id)
    conversation = session.get_one(Conversation, handoff.conversation_id)
    complaint = (
        session.scalar(
            select(Ticket)
            .where(Ticket.conversation_id == conversation.id, Ticket.kind == "complaint", is_open())
            .order_by(Ticket.id.desc())
            .limit(1)
        )
        if handoff.reason == "complaint"
        else None
    )
    ticket = complaint or create_ticket(
        session,
        "callback",
        description=f"{handoff.summary}；{why}；回电时限 {callback_by:%Y-%m-%d %H:%M}",
        customer_id=conversation.customer_id,
        conversation_id=conversation.id,
        contact_by=callback_by,
    )
    handoff.status, handoff.ticket_id, handoff.resolution = "callback", ticket.id, "callback"
    handoff.closed_at = _now()
    conversation.state = "bot"
    return ticket


def pending_rating(
    session: Session, channel: str, user: str, window_s: float, now: dt.datetime | None = None
) -> int | None:
    """The user's conversation closed by an agent within the window and not rated yet, if any."""
    since = (now or _now()) - dt.timedelta(seconds=window_s)
    conversation = session.scalar(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.external_user_id == user)
        .order_by(Conversation.id.desc())
        .limit(1)
    )
    if conversation is None or conversation.state != "closed" or conversation.rating_requested_at is None:
        return None
    if conversation.rating_requested_at < since:
        return None
    rated = session.scalar(select(Rating.id).where(Rating.conversation_id == conversation.id))
    return None if rated is not None else conversation.id


def store_rating(session: Session, conversation_id: int, score: int, comment: str | None) -> Rating:
    """One rating per conversation, with whether a person took part (and who)."""
    if not 1 <= score <= 5:
        raise InvalidInput(f"a rating is 1–5; got {score}")
    if session.scalar(select(Rating.id).where(Rating.conversation_id == conversation_id)) is not None:
        raise Conflict(f"conversation {conversation_id} is rated already")
    answered = session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.claimed_at.is_not(None))
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    rating = Rating(
        conversation_id=conversation_id,
        score=score,
        comment=(comment or "").strip()[:1000] or None,
        human_involved=answered is not None,
        agent=answered.agent if answered is not None else None,
    )
    session.add(rating)
    session.flush()
    return rating


def transcript(session: Session, conversation_id: int, after_id: int = 0, limit: int = 500) -> list[Message]:
    return list(
        session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.id > after_id)
            .order_by(Message.id)
            .limit(limit)
        )
    )


def last_customer_text(session: Session, conversation_id: int) -> str:
    return (
        session.scalar(
            select(Message.text)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .order_by(Message.id.desc())
            .limit(1)
        )
        or ""
    )


def mark_read_by_agent(session: Session, case: Case, agent: str) -> None:
    """The case's agent loaded the transcript: what the customer wrote while waiting has reached them."""
    if case.status == "claimed" and case.agent == agent:
        session.execute(
            update(Message)
            .where(
                Message.conversation_id == case.conversation_id, Message.direction == "in", Message.status == "stored"
            )
            .values(status="delivered")
        )


def mark_delivered(session: Session, message_ids: list[int]) -> None:
    if message_ids:
        session.execute(
            update(Message).where(Message.id.in_(message_ids), Message.status != "delivered").values(status="delivered")
        )


@dataclass(frozen=True)
class TeamNumbers:
    waiting: int
    waiting_by_reason: dict[str, int]
    longest_wait_s: float
    median_wait_s: float | None  # of the cases claimed in the last 24 hours
    target_s: float
    over_target: int  # waiting now longer than the target
    claimed: int
    agents_online: list[str]
    cases_per_agent: dict[str, int]
    callbacks_open: int

    def as_json(self) -> dict[str, object]:
        return {**self.__dict__}


def team_numbers(session: Session, target_s: float, online: list[str], now: dt.datetime | None = None) -> TeamNumbers:
    now = now or _now()
    waiting = queue(session, now)
    by_reason: dict[str, int] = {}
    for case in waiting:
        by_reason[case.reason] = by_reason.get(case.reason, 0) + 1
    recent = session.execute(
        select(Handoff.created_at, Handoff.claimed_at).where(
            Handoff.claimed_at.is_not(None), Handoff.claimed_at >= now - dt.timedelta(hours=24)
        )
    ).all()
    waits = [(claimed - created).total_seconds() for created, claimed in recent]
    per_agent: dict[str, int] = {
        str(agent): int(n)
        for agent, n in session.execute(
            select(Handoff.agent, func.count()).where(Handoff.status == "claimed").group_by(Handoff.agent)
        ).all()
    }
    callbacks = session.scalar(select(func.count()).select_from(Ticket).where(Ticket.kind == "callback", is_open()))
    return TeamNumbers(
        waiting=len(waiting),
        waiting_by_reason=by_reason,
        longest_wait_s=round(max((c.waiting_s for c in waiting), default=0.0), 1),
        median_wait_s=round(statistics.median(waits), 1) if waits else None,
        target_s=target_s,
        over_target=sum(1 for c in waiting if c.waiting_s > target_s),
        claimed=sum(per_agent.values()),
        agents_online=online,
        cases_per_agent={str(k): int(v) for k, v in per_agent.items()},
        callbacks_open=int(callbacks or 0),
    )
