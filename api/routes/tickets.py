"""Tickets over HTTP: read one with its lifecycle, move it to its next state or link it to an outage (API key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.api_key import require_api_key
from api.schemas import MAX_DB_ID, ErrorOut, TicketNo
from core.db import transaction
from services.ticket_lifecycle import STATES, get_ticket, link_outage, move, ticket_view

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 409, 422, 503)}
router = APIRouter(prefix="/api/v1/tickets", tags=["tickets"], dependencies=[Depends(require_api_key)])


class TicketPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str | None = Field(default=None, max_length=20, description=f"one of {', '.join(STATES)}")
    note: str | None = Field(default=None, max_length=500)
    outage_id: int | None = Field(default=None, ge=1, le=MAX_DB_ID, description="the outage event it belongs to")
    by: str = Field(default="api", min_length=1, max_length=50)

    @model_validator(mode="after")
    def _something(self) -> TicketPatch:
        if self.status is None and self.outage_id is None:
            raise ValueError("nothing to change; give status (the next state) and/or outage_id")
        return self


class TicketStepOut(BaseModel):
    from_status: str | None
    to_status: str
    at: str
    by: str
    note: str | None


class TicketOut(BaseModel):
    ticket_no: str
    kind: str
    status: str
    description: str
    created_at: str
    closed_at: str | None
    contact_by: str | None
    reply_by: str | None
    outage_id: int | None
    next: list[str] = Field(description="the states it may move to")
    history: list[TicketStepOut]


@router.get("/{ticket_no}", response_model=TicketOut, responses=ERRORS)
async def get_one_ticket(ticket_no: TicketNo, request: Request) -> TicketOut:
    def query() -> TicketOut:
        with request.app.state.sessions() as session:
            return TicketOut(**ticket_view(session, get_ticket(session, ticket_no)).as_dict())

    return await run_in_threadpool(query)


@router.patch("/{ticket_no}", response_model=TicketOut, responses=ERRORS)
async def patch_ticket(ticket_no: TicketNo, body: TicketPatch, request: Request) -> TicketOut:
    """Move the ticket on (受理 → 派单 → 到场 → 修复 → 回访, or 取消): 409 when the lifecycle does not allow it."""

    def change() -> TicketOut:
        with transaction(request.app.state.sessions) as session:
            if body.outage_id is not None:
                link_outage(session, ticket_no=ticket_no, outage_id=body.outage_id)
            if body.status is not None:
                move(session, ticket_no=ticket_no, to=body.status, by=body.by, note=body.note)
            return TicketOut(**ticket_view(session, get_ticket(session, ticket_no)).as_dict())

    return await run_in_threadpool(change)
