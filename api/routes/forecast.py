"""Load forecast over HTTP: today's band vs actual, measured intervals in, alerts out, and the console page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.api_key import check_api_key
from api.console.auth import principal
from api.schemas import ActualsIn, ErrorOut

router = APIRouter(tags=["forecast"])


@router.get("/api/v1/forecast/today")
async def today(request: Request) -> dict[str, Any]:
    """Today's forecast per interval (P10 / P50 / P90, the day-ahead P50, the actual when measured), risk, alerts."""
    live = await request.app.state.forecast.live()
    return dict(live.snapshot())


@router.post("/api/v1/forecast/actuals", responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}})
async def actuals(body: ActualsIn, request: Request, x_api_key: str | None = Header(default=None)) -> dict[str, Any]:
    """Measured intervals of today: the rest of the day is re-anchored and the risk re-assessed (alert on change)."""
    check_api_key(request, x_api_key)
    stamps = [item.timestamp.replace(tzinfo=None) for item in body.intervals]
    update, risk = await request.app.state.forecast.post(stamps, [item.load for item in body.intervals])
    return {**update.as_json(), "risk": risk}


@router.get("/api/v1/forecast/alerts")
async def alerts(request: Request) -> dict[str, Any]:
    await request.app.state.forecast.live()
    return {"alerts": [a.as_json() for a in request.app.state.forecast.alerts.alerts]}


@router.get("/console/forecast", response_class=HTMLResponse)
async def console(request: Request) -> Response:
    """Forecast vs actual with the P10–P90 band and the alerts (refreshes itself); console agents only."""
    if await principal(request) is None:
        return RedirectResponse("/console/login?next=/console/forecast", status_code=303)
    live = await request.app.state.forecast.live()
    snapshot = live.snapshot()
    return request.app.state.templates.TemplateResponse(
        request,
        "forecast.html",
        {
            "snapshot": snapshot,
            "chart": _chart(snapshot),
            "level_names": {str(row["level"]): str(row["zh"]) for row in live.config.levels},
        },
    )


def _chart(snapshot: dict[str, Any], width: int = 960, height: int = 320) -> dict[str, Any]:
    """SVG polylines of the band, the P50, the day-ahead P50, the actual and the capacity."""
    rows = snapshot["intervals"]
    values = [v for r in rows for v in (r["p10"], r["p90"], r["actual"]) if v is not None] + [snapshot["capacity"]]
    low, high = min(values) * 0.95, max(values) * 1.02
    n = max(len(rows) - 1, 1)

    def x(i: int) -> float:
        return round(40 + i * (width - 50) / n, 1)

    def y(v: float) -> float:
        return round(height - 20 - (v - low) / (high - low) * (height - 30), 1)

    def line(key: str) -> str:
        return " ".join(f"{x(i)},{y(r[key])}" for i, r in enumerate(rows) if r[key] is not None)

    band = [f"{x(i)},{y(r['p90'])}" for i, r in enumerate(rows)] + [
        f"{x(i)},{y(r['p10'])}" for i, r in reversed(list(enumerate(rows)))
    ]
    ticks = [{"x": x(i), "label": rows[i]["time"]} for i in range(0, len(rows), max(1, len(rows) // 8))]
    return {
        "width": width,
        "height": height,
        "band": " ".join(band),
        "p50": line("p50"),
        "day_ahead": line("day_ahead_p50"),
        "actual": line("actual"),
        "capacity_y": y(snapshot["capacity"]),
        "ticks": ticks,
        "labels": [{"y": y(v), "text": f"{v:.0f}"} for v in (low + (high - low) * f for f in (0.1, 0.5, 0.9))],
    }
