"""`powerdesk console user …`: console accounts (agents and supervisors)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import InvalidInput
from core.settings import get_settings

console_app = typer.Typer(help="The agent console at /console.", no_args_is_help=True)
user_app = typer.Typer(help="Console users: agents and supervisors.", no_args_is_help=True)
console_app.add_typer(user_app, name="user")
err = Console(stderr=True)


def _sessions():
    from core.db import make_engine, make_session_factory
    from core.migrate import upgrade

    settings = get_settings()
    upgrade(settings.effective_database_url)
    return make_session_factory(make_engine(settings.effective_database_url))


def _password(password_stdin: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise InvalidInput(
                "no password on stdin; pipe one line, e.g. `pass show agent | powerdesk … --password-stdin`"
            )
        return line
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("again", hide_input=True) != first:
        raise InvalidInput("the two passwords differ; run the command again")
    return str(first)


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="login name: lowercase letters, digits, '.', '_', '-'")],
    name: Annotated[str, typer.Option("--name", help="display name shown to colleagues and customers")],
    role: Annotated[str, typer.Option(help="agent or supervisor")] = "agent",
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin instead of prompting")] = False,
) -> None:
    """Create a console user (the password is stored as an argon2 hash)."""
    from core.db import transaction
    from services import agents

    password = _password(password_stdin)
    with transaction(_sessions()) as session:
        agents.create_agent(session, username, name, password, role)
    err.print(f"{role} {username} created; log in at {get_settings().base_url}/console")


@user_app.command("passwd")
def user_passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option(help="read the password from stdin")] = False,
) -> None:
    """Set a new password (and log the user out everywhere)."""
    from core.db import transaction
    from services import agents

    password = _password(password_stdin)
    with transaction(_sessions()) as session:
        agents.set_password(session, username, password)
    err.print(f"password of {username} changed")


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable a user (logged out at once; their history stays)."""
    from core.db import transaction
    from services import agents

    with transaction(_sessions()) as session:
        agents.set_active(session, username, False)
    err.print(f"{username} disabled")


@user_app.command("enable")
def user_enable(username: str) -> None:
    from core.db import transaction
    from services import agents

    with transaction(_sessions()) as session:
        agents.set_active(session, username, True)
    err.print(f"{username} enabled")


@user_app.command("list")
def user_list() -> None:
    """Console users with their role, state and last heartbeat."""
    from services import agents

    table = Table("username", "name", "role", "active", "last seen (UTC)")
    with _sessions()() as session:
        for agent in agents.list_agents(session):
            seen = f"{agent.last_seen_at:%Y-%m-%d %H:%M:%S}" if agent.last_seen_at else "-"
            table.add_row(agent.username, agent.display_name, agent.role, "yes" if agent.active else "no", seen)
    Console().print(table)
