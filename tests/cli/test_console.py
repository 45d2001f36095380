"""`powerdesk console user add | list | passwd | disable` in a subprocess (its own settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from core.db import make_engine, make_session_factory
from core.models_console import Agent
from core.settings import REPO_ROOT
from services.agents import verify_login


def console(var: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VAR_DIR": str(var), "DATABASE_URL": ""}
    return subprocess.run(
        [sys.executable, "-m", "cli", "console", "user", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_add_list_passwd_disable(tmp_path: Path) -> None:
    added = console(
        tmp_path,
        "add",
        "li.na",
        "--name",
        "李娜",
        "--role",
        "supervisor",
        "--password-stdin",
        stdin="a good password\n",
    )
    assert added.returncode == 0, added.stderr
    assert "li.na" in console(tmp_path, "list").stdout
    for args, stdin, message in (
        (("add", "li.na", "--name", "x", "--password-stdin"), "another password\n", "exists already"),
        (("add", "Bad Name", "--name", "x", "--password-stdin"), "another password\n", "not allowed"),
        (("add", "wu", "--name", "x", "--role", "root", "--password-stdin"), "another password\n", "role"),
        (("add", "wu", "--name", "x", "--password-stdin"), "short\n", "at least 10"),
        (("add", "wu", "--name", "x", "--password-stdin"), "", "no password on stdin"),
    ):
        refused = console(tmp_path, *args, stdin=stdin)
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
    assert console(tmp_path, "passwd", "li.na", "--password-stdin", stdin="a newer password\n").returncode == 0
    assert console(tmp_path, "disable", "li.na").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'powerdesk.db'}")
    with make_session_factory(engine)() as session:
        agent = session.scalars(select(Agent)).one()
        assert agent.role == "supervisor" and not agent.active and agent.password_hash.startswith("$argon2id$")
        agent.active = True
        assert verify_login(session, "li.na", "a newer password").username == "li.na"
    engine.dispose()
