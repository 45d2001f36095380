"""The command line's database: migrated to head first, then a session factory (disposed by the caller's exit)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.settings import get_settings


def migrated_sessions() -> sessionmaker[Session]:
    url = get_settings().effective_database_url
    upgrade(url)
    return make_session_factory(make_engine(url))
