"""Console agents: argon2 password hashes, server-side sessions, presence (sessions passed in)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidInput, NotAuthenticated
from core.models_console import ROLES, Agent, AgentSession

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,49}$")
MIN_PASSWORD = 10
_hasher = PasswordHasher()
# verifying against this when the user does not exist keeps the timing of a wrong name and a wrong password alike
_DUMMY_HASH = _hasher.hash("not-a-password-of-anyone")


@dataclass(frozen=True)
class Principal:
    """Who is calling the console: the agent and the session's CSRF token."""

    agent_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"the password has {len(password)} characters; use at least {MIN_PASSWORD}")
    if len(password) > 256:
        raise InvalidInput("the password is longer than 256 characters; use a shorter one")


def create_agent(session: Session, username: str, display_name: str, password: str, role: str = "agent") -> Agent:
    if not USERNAME.match(username):
        raise InvalidInput(f"username {username!r} is not allowed; use 2–50 lowercase letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} is unknown; use one of {', '.join(ROLES)}")
    display_name = display_name.strip()
    if not display_name or len(display_name) > 50:
        raise InvalidInput("the display name must have 1–50 characters")
    check_new_password(password)
    if session.scalar(select(Agent.id).where(Agent.username == username)) is not None:
        raise Conflict(f"agent {username!r} exists already; use `powerdesk console user passwd` to change it")
    agent = Agent(username=username, display_name=display_name, password_hash=_hasher.hash(password), role=role)
    session.add(agent)
    session.flush()
    return agent


def set_password(session: Session, username: str, password: str) -> None:
    check_new_password(password)
    agent = _by_name(session, username)
    agent.password_hash = _hasher.hash(password)
    session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))  # log out everywhere


def set_active(session: Session, username: str, active: bool) -> None:
    agent = _by_name(session, username)
    agent.active = active
    if not active:
        session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))


def _by_name(session: Session, username: str) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.username == username))
    if agent is None:
        raise InvalidInput(f"no agent {username!r}; `powerdesk console user list` shows them")
    return agent


def list_agents(session: Session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.username)))


def verify_login(session: Session, username: str, password: str) -> Agent:
    """The active agent with this name and password, or NotAuthenticated (same message either way)."""
    agent = session.scalar(select(Agent).where(Agent.username == username[:50]))
    try:
        _hasher.verify(agent.password_hash if agent is not None else _DUMMY_HASH, password[:256])
    except (VerificationError, InvalidHashError):
        agent = None
    if agent is None or not agent.active:
        raise NotAuthenticated("wrong user name or password")
    if _hasher.check_needs_rehash(agent.password_hash):
        agent.password_hash = _hasher.hash(password)
    return agent


def open_session(session: Session, agent: Agent, hours: float, now: dt.datetime | None = None) -> tuple[str, str]:
    """A new console session: returns (cookie token, CSRF token)."""
    now = now or _now()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    session.add(
        AgentSession(
            token_hash=_token_hash(token),
            agent_id=agent.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
    )
    agent.last_seen_at = now
    return token, csrf


def principal_for(session: Session, token: str | None, now: dt.datetime | None = None) -> Principal | None:
    """The logged-in agent behind a session cookie; None when missing, unknown, expired or disabled."""
    if not token or len(token) > 128:
        return None
    row = session.execute(
        select(AgentSession, Agent)
        .join(Agent, Agent.id == AgentSession.agent_id)
        .where(AgentSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    login, agent = row
    if login.expires_at <= (now or _now()) or not agent.active:
        return None
    return Principal(agent.id, agent.username, agent.display_name, agent.role, login.csrf_token)


def close_session(session: Session, token: str | None) -> None:
    """Log out: the session ends on the server and the agent no longer counts as online."""
    if not token:
        return
    login = session.scalar(select(AgentSession).where(AgentSession.token_hash == _token_hash(token)))
    if login is not None:
        agent = session.get(Agent, login.agent_id)
        if agent is not None:
            agent.last_seen_at = None
        session.delete(login)


def touch(session: Session, agent_id: int, now: dt.datetime | None = None) -> None:
    """Presence: the agent's console is open (a websocket heartbeat)."""
    agent = session.get(Agent, agent_id)
    if agent is not None:
        agent.last_seen_at = now or _now()


def online_agents(session: Session, timeout_s: float, now: dt.datetime | None = None) -> list[Agent]:
    since = (now or _now()) - dt.timedelta(seconds=timeout_s)
    return list(
        session.scalars(
            select(Agent).where(Agent.active.is_(True), Agent.last_seen_at >= since).order_by(Agent.username)
        )
    )
