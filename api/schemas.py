"""Pydantic models at the HTTP edge."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, Field

USER_ID_PATTERN = r"^[A-Za-z0-9_.:@\-]{1,128}$"
MAX_DB_ID = 2**63 - 1  # the largest id PostgreSQL's bigint (and SQLite's integer) can hold
# a row id in a path: anything else is a 422, never a database error (2**63 used to give HTTP 500)
DbId = Annotated[int, Path(ge=1, le=MAX_DB_ID, description="a row id")]
TicketNo = Annotated[str, Path(pattern=r"^[A-Za-z0-9]{1,20}$", description="e.g. GZ20261207000042")]


class Button(BaseModel):
    title: str
    payload: str


class Reply(BaseModel):
    text: str = ""
    buttons: list[Button] = Field(default_factory=list)
    custom: dict[str, Any] | None = None


class MessageIn(BaseModel):
    user_id: str = Field(pattern=USER_ID_PATTERN, description="the customer's id on the channel")
    text: str = Field(max_length=100_000, description="what the customer typed")
    channel: Literal["api", "widget"] = "api"


class MessagesOut(BaseModel):
    conversation_id: int
    state: str
    replies: list[Reply]


class HistoryItem(BaseModel):
    id: int | None = None
    direction: Literal["in", "out"]
    sender: str
    text: str
    buttons: list[Button] = Field(default_factory=list)
    custom: dict[str, Any] | None = None
    created_at: str


class NoticeItem(BaseModel):
    id: int
    text: str
    created_at: str


class HistoryOut(BaseModel):
    conversation_id: int | None
    state: str
    messages: list[HistoryItem]
    notices: list[NoticeItem] = Field(
        default_factory=list, description="unread notices for the bound customer (outages, campaigns), now read"
    )


class ErrorOut(BaseModel):
    error: str
    message: str


class IntervalIn(BaseModel):
    timestamp: dt.datetime = Field(description="start of the interval, local time (e.g. 2014-09-01T08:15:00)")
    load: float = Field(description="mean load of the interval, in the series' unit")


class ActualsIn(BaseModel):
    intervals: list[IntervalIn] = Field(min_length=1, max_length=2000)
