"""The console's JSON api (used by its JavaScript): queue, claim, reply, transfer, close, suggestions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.console.auth import api_caller, supervisor_caller
from api.handoff import message_json
from api.schemas import DbId
from core.db import transaction
from core.errors import InvalidInput, UpstreamUnavailable
from services import agents, handoffs
from services.agents import Principal

router = APIRouter(prefix="/console/api", tags=["console"])
Caller = Annotated[Principal, Depends(api_caller)]
SupervisorCaller = Annotated[Principal, Depends(supervisor_caller)]


class ReplyIn(BaseModel):
    text: str = Field(max_length=100_000)


class TransferIn(BaseModel):
    to: str = Field(min_length=1, max_length=50)


class CloseIn(BaseModel):
    resolution: str = Field(min_length=1, max_length=40)
    note: str = Field(default="", max_length=2000)


def _read(request: Request, work: Any) -> Any:
    def run() -> Any:
        with request.app.state.sessions() as session:
            return work(session)

    return run_in_threadpool(run)


@router.get("/queue")
async def queue(request: Request, who: Caller) -> dict[str, Any]:
    waiting, mine = await _read(request, lambda s: (handoffs.queue(s), handoffs.cases_of(s, who.username)))
    return {"waiting": [c.as_json() for c in waiting], "mine": [c.as_json() for c in mine]}


@router.post("/cases/{handoff_id}/claim")
async def claim(request: Request, handoff_id: DbId, who: Caller) -> dict[str, Any]:
    case = await request.app.state.handoffs.claim(who, handoff_id)
    return case.as_json()


@router.get("/cases/{handoff_id}/messages")
async def messages(
    request: Request, handoff_id: DbId, who: Caller, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    def work() -> dict[str, Any]:
        with transaction(request.app.state.sessions) as session:
            case = handoffs.get_case(session, handoff_id)
            handoffs.check_access(case, who.username, who.is_supervisor)
            handoffs.mark_read_by_agent(session, case, who.username)
            rows = handoffs.transcript(session, case.conversation_id, after)
            return {"case": case.as_json(), "messages": [message_json(m) for m in rows]}

    result: dict[str, Any] = await run_in_threadpool(work)
    return result


@router.post("/cases/{handoff_id}/reply")
async def reply(request: Request, handoff_id: DbId, body: ReplyIn, who: Caller) -> dict[str, Any]:
    message: dict[str, Any] = await request.app.state.handoffs.reply(who, handoff_id, body.text)
    return message


@router.post("/cases/{handoff_id}/transfer")
async def transfer(request: Request, handoff_id: DbId, body: TransferIn, who: Caller) -> dict[str, Any]:
    case = await request.app.state.handoffs.transfer(who, handoff_id, body.to)
    return case.as_json()


@router.post("/cases/{handoff_id}/close")
async def close(request: Request, handoff_id: DbId, body: CloseIn, who: Caller) -> dict[str, Any]:
    codes = request.app.state.console_data.resolutions
    if body.resolution not in codes:
        raise InvalidInput(f"unknown resolution {body.resolution!r}; use one of {', '.join(codes)}")
    case = await request.app.state.handoffs.close(who, handoff_id, body.resolution, body.note)
    return case.as_json()


@router.get("/cases/{handoff_id}/suggestions")
async def suggestions(request: Request, handoff_id: DbId, who: Caller) -> dict[str, Any]:
    """Knowledge entries for the customer's last question."""

    def last_question(session: Any) -> str:
        case = handoffs.get_case(session, handoff_id)
        handoffs.check_access(case, who.username, who.is_supervisor)
        return handoffs.last_customer_text(session, case.conversation_id)

    question: str = await _read(request, last_question)
    if not question:
        return {"question": "", "hits": []}
    try:
        retriever = await request.app.state.knowledge.get()
    except UpstreamUnavailable as exc:
        return {"question": question, "hits": [], "error": str(exc)}
    from knowledge.retriever import MAX_QUERY_CHARS

    try:
        result = await run_in_threadpool(retriever.search, question[:MAX_QUERY_CHARS], 3)
    except InvalidInput as exc:
        return {"question": question, "hits": [], "error": str(exc)}
    hits = [
        {
            "id": h.entry.id,
            "title": h.entry.title,
            "answer": h.entry.answer,
            "source": h.entry.source,
            "score": round(float(h.score), 3),
        }
        for h in result.hits
    ]
    return {"question": question, "answerable": result.answerable, "hits": hits}


@router.get("/agents")
async def agent_list(request: Request, who: Caller) -> dict[str, Any]:
    rows = await _read(request, agents.list_agents)
    return {
        "agents": [{"username": a.username, "display_name": a.display_name, "role": a.role} for a in rows if a.active]
    }


@router.get("/supervisor")
async def supervisor(request: Request, who: SupervisorCaller) -> dict[str, Any]:
    numbers: handoffs.TeamNumbers = await request.app.state.team_numbers()
    return numbers.as_json()
