"""Reading what the app stored, from the tests (a short-lived engine on the app's database)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.settings import Settings

Row = TypeVar("Row")


def stored_rows(settings: Settings, model: type[Row]) -> list[Row]:
    """Every row of `model`, in id order."""
    engine = create_engine(settings.effective_database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(model).order_by(model.id)))  # type: ignore[attr-defined]
    engine.dispose()
    return rows
