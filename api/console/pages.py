"""Server-rendered console pages (Jinja2, autoescaped) and the login/logout forms."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.console.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, check_form_csrf, principal, same_origin
from api.console.customer_view import customer_view
from api.console.page_kit import Change, base, error_page, form_action, page, posted_form, to_login
from api.handoff import message_json
from api.schemas import DbId
from core.db import transaction
from core.errors import NotAuthenticated, PowerDeskError, RateLimited
from services import agents, anomaly_alerts, handoffs, inspections
from services.agents import Principal

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
ASSETS = {"console.js": "application/javascript; charset=utf-8", "console.css": "text/css; charset=utf-8"}


def _secure(request: Request) -> bool:
    return request.app.state.settings.base_url.startswith("https")


@router.get("/static/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        return Response("not found", status_code=404)
    return Response((STATIC / name).read_text(encoding="utf-8"), media_type=ASSETS[name])


@router.get("/console/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/console") -> HTMLResponse:
    csrf = secrets.token_urlsafe(24)
    response = page(request, "login.html", {"csrf": csrf, "next": _safe_next(next), "error": None})
    response.set_cookie(
        LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request), path="/console"
    )
    return response


def _safe_next(value: str) -> str:
    return value if value.startswith("/console") and "//" not in value and "\\" not in value else "/console"


@router.post("/console/login")
async def login(request: Request) -> Response:
    state = request.app.state
    form = await request.form()
    username, password = str(form.get("username") or "")[:50], str(form.get("password") or "")[:256]
    target = _safe_next(str(form.get("next") or "/console"))
    csrf = secrets.token_urlsafe(24)

    def again(error: str, status: int) -> HTMLResponse:
        response = page(
            request, "login.html", {"csrf": csrf, "next": target, "error": error, "username": username}, status
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=_secure(request), path="/console"
        )
        return response

    if not same_origin(request) or not check_form_csrf(
        request.cookies.get(LOGIN_CSRF_COOKIE), str(form.get("csrf_token") or "")
    ):
        return again("表单已过期，请重新登录。", 403)
    client = request.client.host if request.client else "unknown"
    try:
        await state.login_limiters.check(username, client)
    except RateLimited as exc:
        response = again("登录尝试过于频繁，请稍后再试。", 429)
        response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    settings = state.settings

    def verify() -> str:
        with transaction(state.sessions) as session:
            agent = agents.verify_login(session, username, password)
            token, _ = agents.open_session(session, agent, settings.console_session_hours)
            return token

    try:
        token = await run_in_threadpool(verify)
    except NotAuthenticated:
        return again("用户名或密码错误。", 401)
    redirect = RedirectResponse(target, status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
        max_age=int(settings.console_session_hours * 3600),
    )
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return redirect


@router.post("/console/logout")
async def logout(request: Request) -> Response:
    who, _ = await posted_form(request, "the console page")
    if who is None:
        return to_login(request)
    token = request.cookies.get(SESSION_COOKIE)

    def close() -> None:
        with transaction(request.app.state.sessions) as session:
            agents.close_session(session, token)

    await run_in_threadpool(close)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/console", response_class=HTMLResponse)
async def queue_page(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return to_login(request)
    sessions = request.app.state.sessions

    def load() -> dict[str, Any]:
        with sessions() as session:
            return {"waiting": handoffs.queue(session), "mine": handoffs.cases_of(session, who.username)}

    return page(request, "queue.html", {**base(who), **await run_in_threadpool(load)})


@router.get("/console/cases/{handoff_id}", response_class=HTMLResponse)
async def case_page(request: Request, handoff_id: DbId) -> Response:
    who = await principal(request)
    if who is None:
        return to_login(request)
    state = request.app.state

    def load() -> dict[str, Any]:
        with transaction(state.sessions) as session:
            case = handoffs.get_case(session, handoff_id)
            handoffs.check_access(case, who.username, who.is_supervisor)
            handoffs.mark_read_by_agent(session, case, who.username)
            messages = [message_json(m) for m in handoffs.transcript(session, case.conversation_id)]
            view = customer_view(session, case.customer_id, state.customer_sections, state.labels)
            others = [a for a in agents.list_agents(session) if a.active and a.username != who.username]
            return {"case": case, "messages": messages, "view": view, "agents": others}

    try:
        context = await run_in_threadpool(load)
    except PowerDeskError as exc:
        return page(request, "error.html", {**base(who), "message": str(exc)}, exc.status_code)
    data = state.console_data
    return page(
        request,
        "case.html",
        {**base(who), **context, "canned": data.canned, "resolutions": data.resolutions},
    )


@router.get("/console/supervisor", response_class=HTMLResponse)
async def supervisor_page(request: Request) -> Response:
    who = await principal(request)
    if who is None:
        return to_login(request)
    if not who.is_supervisor:
        return page(request, "error.html", {**base(who), "message": "只有班长（supervisor）可以查看此页面。"}, 403)
    numbers = await request.app.state.team_numbers()
    return page(request, "supervisor.html", {**base(who), "numbers": numbers})


@router.get("/console/alerts", response_class=HTMLResponse)
async def alerts_page(request: Request, status: str = "open") -> Response:
    """Consumption-anomaly alerts (customer and regional), newest first, with an acknowledge button."""
    who = await principal(request)
    if who is None:
        return to_login(request)
    if status not in ("open", "acknowledged", "all"):
        status = "open"

    def load() -> list[Any]:
        with request.app.state.sessions() as session:
            return anomaly_alerts.list_alerts(session, status=None if status == "all" else status)

    alerts = await run_in_threadpool(load)
    return page(request, "alerts.html", {**base(who), "alerts": alerts, "status": status})


async def _alert_action(request: Request, act: Change) -> Response:
    """A form posted from the alerts page: the agent's session and CSRF checked, `act` run in one transaction;
    an error gives the error page."""

    async def failed(who: Principal, exc: PowerDeskError) -> Response:
        return error_page(request, who, str(exc), exc.status_code)

    return await form_action(request, "the alerts page", act, "/console/alerts", failed)


@router.post("/console/alerts/{alert_id}/ack")
async def acknowledge_alert(request: Request, alert_id: DbId) -> Response:
    return await _alert_action(
        request, lambda session, who, _: anomaly_alerts.acknowledge(session, alert_id, who.username)
    )


@router.post("/console/alerts/{alert_id}/finding")
async def record_alert_finding(request: Request, alert_id: DbId) -> Response:
    """An inspector's finding for a customer alert (theft / fault / normal): the theft model's next label."""

    def record(session: Session, who: Principal, form: Any) -> object:
        finding, note = str(form.get("finding") or ""), str(form.get("note") or "")
        return inspections.record_alert_finding(session, alert_id, finding, who.username, note)

    return await _alert_action(request, record)
