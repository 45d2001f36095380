"""Consumption anomalies over HTTP: new readings update scores incrementally; alerts for the console."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.api_key import check_api_key
from api.schemas import ErrorOut

router = APIRouter(prefix="/api/v1/anomaly", tags=["anomaly"])


class ReadingIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9_\-]+$", description="户号")
    date: dt.date
    kwh: float = Field(ge=-1e7, le=1e7, allow_inf_nan=False)


class ReadingsIn(BaseModel):
    readings: list[ReadingIn] = Field(min_length=1, max_length=1000)


class ScoreOut(BaseModel):
    customer_id: str
    score: float
    kind: str
    reasons: list[dict[str, Any]]
    risk: float | None = Field(default=None, description="label-free theft risk in (0, 1): ranks inspections")
    risk_reasons: list[dict[str, Any]] = []


class ReadingsOut(BaseModel):
    updated: list[ScoreOut]
    problems: list[str]
    alerts_new: int


@router.post(
    "/readings",
    response_model=ReadingsOut,
    responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def post_readings(
    body: ReadingsIn, request: Request, x_api_key: str | None = Header(default=None)
) -> ReadingsOut:
    """New daily readings (customer_id = 户号, date, kWh); returns the customers' updated scores."""
    check_api_key(request, x_api_key)
    from services.anomalies import ingest

    rows = [(r.customer_id, r.date, r.kwh) for r in body.readings]
    state = request.app.state
    result = await run_in_threadpool(ingest, state.sessions, state.settings, rows)
    return ReadingsOut(
        updated=[ScoreOut(**r) for r in result.records], problems=result.problems, alerts_new=result.alerts_new
    )


@router.get("/alerts", responses={401: {"model": ErrorOut}})
async def get_alerts(
    request: Request, status: str = "open", limit: int = 100, x_api_key: str | None = Header(default=None)
) -> list[dict[str, Any]]:
    """Anomaly alerts (customer and regional), highest score first; status open | acknowledged | all."""
    check_api_key(request, x_api_key)
    from services.anomaly_alerts import list_alerts

    def query() -> list[dict[str, Any]]:
        with request.app.state.sessions() as session:
            return [v.as_dict() for v in list_alerts(session, None if status == "all" else status, limit=limit)]

    return await run_in_threadpool(query)
