"""Outage events over HTTP (the dispatch / outage-management system): create, update, close, list (API key)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from api.api_key import require_api_key
from api.schemas import DbId, ErrorOut
from core.clock import local_now
from core.db import transaction
from services.outage_scope import MAX_ACCOUNTS
from services.outages import (
    MAX_REASON_CHARS,
    NewOutage,
    close_outage,
    create_outage,
    get_outage,
    list_outages,
    outage_view,
    update_outage,
)

ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorOut} for code in (401, 404, 409, 413, 422, 503)}
router = APIRouter(prefix="/api/v1/outages", tags=["outages"], dependencies=[Depends(require_api_key)])
Name = Field(default=None, min_length=1, max_length=60)
By = Field(default="api", min_length=1, max_length=50, description="who sends it (system or operator)")


class OutageIn(BaseModel):
    """One event: exactly one of area, feeder, transformer_area, accounts says whom it affects."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["planned", "fault"]
    start: dt.datetime = Field(description="local time, ISO 8601 (e.g. 2026-12-08T08:00)")
    end: dt.datetime = Field(description="local time; for a fault, the estimated restoration")
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)
    area: str | None = Name
    feeder: str | None = Name
    transformer_area: str | None = Name
    accounts: list[str] | None = Field(default=None, min_length=1, max_length=MAX_ACCOUNTS)
    by: str = By

    @model_validator(mode="after")
    def _one_scope(self) -> OutageIn:
        given = [k for k in ("area", "feeder", "transformer_area", "accounts") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of area, feeder, transformer_area, accounts (given: {given or 'none'})")
        return self

    def new_outage(self) -> NewOutage:
        scope = next(k for k in ("area", "feeder", "transformer_area", "accounts") if getattr(self, k) is not None)
        value = None if scope == "accounts" else getattr(self, scope)
        return NewOutage(self.kind, self.start, self.end, self.reason, scope, value, list(self.accounts or []))


class OutagePatch(BaseModel):
    """A change: the start (a planned outage moved), the end (`estimated_restoration` for a fault, the same field),
    the reason, or `status: closed`. Customers already told about a planned outage are told of new times."""

    model_config = ConfigDict(extra="forbid")
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    estimated_restoration: dt.datetime | None = None
    reason: str | None = Field(default=None, min_length=1, max_length=MAX_REASON_CHARS)
    status: Literal["closed"] | None = None
    by: str = By

    @model_validator(mode="after")
    def _something(self) -> OutagePatch:
        if self.end is not None and self.estimated_restoration is not None and self.end != self.estimated_restoration:
            raise ValueError("end and estimated_restoration are the same field; give one")
        if all(v is None for v in (self.start, self.end, self.estimated_restoration, self.reason, self.status)):
            raise ValueError("nothing to change; give start, end (estimated_restoration), reason or status: closed")
        return self


class OutageOut(BaseModel):
    id: int
    kind: str
    status: str = Field(description="announced / active / ended / closed, as of now")
    start: str
    end: str
    reason: str
    scope: str
    scope_value: str | None
    affected: int = Field(description="customers affected")
    source: str
    version: int
    created_at: str
    updated_at: str
    closed_at: str | None
    history: list[dict[str, Any]] | None = None


def _out(session: Any, event: Any, history: bool = False) -> OutageOut:
    return OutageOut(**outage_view(session, event, local_now(), history=history).as_dict())


@router.post("", status_code=201, response_model=OutageOut, responses=ERRORS)
async def post_outage(body: OutageIn, request: Request) -> OutageOut:
    """Announce a planned outage or report a fault."""

    def create() -> OutageOut:
        with transaction(request.app.state.sessions) as session:
            event = create_outage(session=session, new=body.new_outage(), by=body.by, source="api")
            return _out(session, event, history=True)

    return await run_in_threadpool(create)


@router.patch("/{event_id}", response_model=OutageOut, responses=ERRORS)
async def patch_outage(event_id: DbId, body: OutagePatch, request: Request) -> OutageOut:
    """Update the start, the estimated restoration / end or the reason, or close the event; a closed event is a
    409."""

    def change() -> OutageOut:
        with transaction(request.app.state.sessions) as session:
            end = body.end or body.estimated_restoration
            if body.start is not None or end is not None or body.reason is not None:
                update_outage(
                    session=session, event_id=event_id, by=body.by, start=body.start, end=end, reason=body.reason
                )
            if body.status == "closed":
                close_outage(session=session, event_id=event_id, by=body.by)
            return _out(session, get_outage(session=session, event_id=event_id), history=True)

    return await run_in_threadpool(change)


@router.get("", response_model=list[OutageOut], responses=ERRORS)
async def get_outages(
    request: Request, active: bool = False, which: Literal["active", "coming", "all"] = "all"
) -> list[OutageOut]:
    """Events: `active=true` (or `which=active`) started and not closed, `which=coming` not started yet."""

    def query() -> list[OutageOut]:
        with request.app.state.sessions() as session:
            events = list_outages(session=session, which="active" if active else which, now=local_now())
            return [_out(session, e) for e in events]

    return await run_in_threadpool(query)


@router.get("/{event_id}", response_model=OutageOut, responses=ERRORS)
async def get_one_outage(event_id: DbId, request: Request) -> OutageOut:
    """One event with its history (creation, each update, closing)."""

    def query() -> OutageOut:
        with request.app.state.sessions() as session:
            return _out(session, get_outage(session=session, event_id=event_id), history=True)

    return await run_in_threadpool(query)
