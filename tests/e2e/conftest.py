"""One real stack per test session: Rasa (trained model), the action server and the api.

They run on their own ports against a small seeded SQLite database, so a developer's
`powerdesk run` can keep running beside the tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from core.clock import local_today
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.models import Customer
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from knowledge.service import build as knowledge_build
from knowledge.service import embedder_path
from ops.demo_seed import seed_demo
from ops.rasa_env import ensure_tracker_database
from ops.runner import (
    ensure_model,
    process_specs,
    wait_ready,
    warm_up,
    with_internal_tokens,
)
from ops.supervisor import RestartPolicy, Supervisor

READY_TIMEOUT_S = 300
# several people run the e2e suite on one machine: PD_E2E_PORT_OFFSET=10000 moves every port of the stack
PORT_OFFSET = int(os.environ.get("PD_E2E_PORT_OFFSET", "0"))


@dataclass(frozen=True)
class Stack:
    settings: Settings
    base_url: str
    log_dir: Path
    supervisor: Supervisor

    def sessions(self):  # type: ignore[no-untyped-def]
        return make_session_factory(make_engine(self.settings.effective_database_url))

    def agent_online(self, username: str) -> None:
        """A console user whose console is open (presence), so that handoffs queue instead of booking a callback."""
        from core.db import transaction
        from services import agents

        with transaction(self.sessions()) as session:
            if not any(a.username == username for a in agents.list_agents(session)):
                agents.create_agent(session, username, username, "e2e agent password")
            agent = next(a for a in agents.list_agents(session) if a.username == username)
            agents.touch(session, agent.id)

    def customer(self, tariff: str) -> Customer:
        with self.sessions()() as session:
            customer = session.scalars(select(Customer).where(Customer.tariff_category == tariff)).first()
            assert customer is not None
            return customer


def stack_settings(root: Path, url: str, port_base: int, **overrides: object) -> Settings:
    """Settings for a stack on its own ports (`port_base` + 0: the api; Rasa from +5005; actions +5055)."""
    off = PORT_OFFSET + port_base
    settings = Settings(
        powerdesk_env="test",
        var_dir=root,
        database_url=url,
        api_port=18000 + off,
        rasa_port=15005 + off,
        rasa_url=f"http://127.0.0.1:{15005 + off}",
        action_server_port=15055 + off,
        action_server_url=f"http://127.0.0.1:{15055 + off}",
        rate_limit_burst=30,
        rate_limit_per_second=10.0,
        service_hours_workday="00:00-24:00",
        service_hours_restday="00:00-24:00",
        _env_file=None,
        **overrides,
    )
    return settings.model_copy(update={"embedding_model": str(embedder_path(Settings(_env_file=None)))})


def seed_stack_database(settings: Settings) -> None:
    url = settings.effective_database_url
    upgrade(url)
    knowledge_build(settings)  # the action server answers knowledge questions from this index
    engine = make_engine(url)
    # the stack answers with the clock's date, so its demo history reaches the day the tests run
    seed_demo(
        make_session_factory(engine), load_demo_config(REPO_ROOT / "data", today=local_today(), customers=40, seed=42)
    )
    engine.dispose()


@contextmanager
def running_stack(settings: Settings, root: Path) -> Iterator[Stack]:
    """Every process of `settings` (replicas included) under a supervisor that restarts as `powerdesk run` does,
    faster (the fault tests kill processes); the logs in `root`."""
    ensure_model(settings, echo=False)
    settings = with_internal_tokens(settings)
    ensure_tracker_database(settings)
    notes = open(root / "supervisor.log", "a", encoding="utf-8")  # noqa: SIM115 - closed at the end

    def note(name: str, line: str) -> None:
        notes.write(f"{name}: {line}\n")
        notes.flush()

    supervisor = Supervisor(process_specs(settings), note, RestartPolicy(first_delay_s=0.5), log_dir=root)
    supervisor.watch_in_background()
    try:
        took = wait_ready(settings.base_url, READY_TIMEOUT_S)
        if took is None:
            logs = "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in root.glob("*.log"))
            pytest.fail(f"the stack was not ready within {READY_TIMEOUT_S} s:\n{logs}")
        warm_up(settings)
        yield Stack(settings, settings.base_url, root, supervisor)
    finally:
        supervisor.stop()
        notes.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("stack")
    settings = stack_settings(root, f"sqlite:///{root / 'e2e.db'}", 0)
    seed_stack_database(settings)
    with running_stack(settings, root) as running:
        yield running
