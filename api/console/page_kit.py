"""What every server-rendered console page shares: rendering with the security headers, the way to the login form,
the logged-in agent's context, and a posted form with its CSRF token checked."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.console.auth import SECURITY_HEADERS, check_form_csrf, principal, same_origin
from core.db import transaction
from core.errors import Forbidden, InvalidInput, PowerDeskError
from services.agents import Principal


class ConsoleForm(BaseModel):
    """The fields of a posted console form: spaces around them stripped; a blank field is a field not given."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_is_missing(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}
        return data


FormModel = TypeVar("FormModel", bound=ConsoleForm)
Change = Callable[[Session, Principal, FormData], object]


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, f"console/{name}", context, status_code=status
    )
    response.headers.update(SECURITY_HEADERS)
    return response


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/console/login?next={quote(request.url.path)}", status_code=303)


def base(who: Principal) -> dict[str, Any]:
    return {"me": who, "csrf": who.csrf_token}


def error_page(request: Request, who: Principal, message: str, status: int) -> HTMLResponse:
    return page(request, "error.html", {**base(who), "message": message}, status)


async def posted_form(request: Request, what: str) -> tuple[Principal | None, FormData]:
    """The agent posting a console form and the form; None when not logged in. Forbidden (403) without the
    session's CSRF token or from another origin; `what` names the page to reload."""
    who = await principal(request)
    form = await request.form()
    if who is not None and (
        not same_origin(request) or not check_form_csrf(who.csrf_token, str(form.get("csrf_token") or ""))
    ):
        raise Forbidden(f"missing or wrong CSRF token; reload {what} and try again")
    return who, form


def form_fields(model: type[FormModel], form: FormData) -> FormModel:
    """The posted fields as `model` (the CSRF token and unknown fields ignored); InvalidInput naming each field that
    is wrong."""
    fields = {k: v for k, v in form.items() if k in model.model_fields and isinstance(v, str)}
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors())
        raise InvalidInput(f"check the form: {problems}") from exc


async def loaded_page(
    request: Request,
    who: Principal,
    name: str,
    load: Callable[[Session], dict[str, Any]],
    error: PowerDeskError | None = None,
) -> HTMLResponse:
    """Page `name` with what `load` reads (in a worker thread); an error reading it (404 …) gives the error page.
    `error`: a posted form's error, shown on the page (`form_error`) with its status."""

    def read() -> dict[str, Any]:
        with request.app.state.sessions() as session:
            return load(session)

    try:
        context = await run_in_threadpool(read)
    except PowerDeskError as exc:
        return error_page(request, who, str(exc), exc.status_code)
    status = error.status_code if error is not None else 200
    return page(request, name, {**base(who), **context, "form_error": str(error) if error else None}, status)


async def form_action(
    request: Request,
    what: str,
    change: Change,
    done: str,
    again: Callable[[Principal, PowerDeskError], Awaitable[Response]],
    supervisors_only: str | None = None,
) -> Response:
    """A console form posted from `what` (a page): the agent, the CSRF token and, when `supervisors_only` names
    the action, the role checked; `change(session, who, form)` run in one transaction in a worker thread; then a
    redirect to `done`, or `again(who, error)` showing what went wrong (a Conflict, a field to fix)."""
    who, form = await posted_form(request, what)
    if who is None:
        return to_login(request)
    if supervisors_only and not who.is_supervisor:
        raise Forbidden(f"only supervisors may {supervisors_only}; ask a supervisor")

    def run() -> None:
        with transaction(request.app.state.sessions) as session:
            change(session, who, form)

    try:
        await run_in_threadpool(run)
    except PowerDeskError as exc:
        return await again(who, exc)
    return RedirectResponse(done, status_code=303)
