"""Start a throw-away PowerDesk stack (its own ports and database) for benchmarks."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.clock import local_today
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.settings import REPO_ROOT, Settings
from demo.config import load_demo_config
from knowledge.service import embedder_path, ensure_index
from ops.demo_seed import seed_demo
from ops.runner import (
    ensure_model,
    rasa_process_name,
    settings_env,
    stop_process_groups,
    wait_ready,
    warm_up,
    with_internal_tokens,
)


@dataclass
class RunningStack:
    settings: Settings
    pids: dict[str, int]
    ready_after_s: float
    root: Path


def _listening_pid(port: int) -> int:
    """The pid of the process listening on a local TCP port (from /proc/net/tcp and fd links)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(proc.name)
        except OSError:
            continue
    return -1


def rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, in MiB (from /proc)."""
    total = 0
    pids = [pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


@contextmanager
def postgres_database(admin_url: str, prefix: str = "powerdesk_bench") -> Iterator[str]:
    """A fresh PostgreSQL database (and its `_tracker` sibling, if a stack made one), dropped afterwards."""
    import uuid

    from sqlalchemy import create_engine, text

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            for db in (name, f"{name}_tracker"):
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def running_stack(
    customers: int = 200, port_base: int = 19000, database_url: str | None = None, **overrides: object
) -> Iterator[RunningStack]:
    """`database_url`: default a SQLite file in the stack's directory."""
    root = Path(tempfile.mkdtemp(prefix="powerdesk-bench-"))
    url = database_url or f"sqlite:///{root / 'bench.db'}"
    settings = Settings(
        powerdesk_env="test",
        var_dir=root,
        database_url=url,
        api_port=port_base,
        rasa_port=port_base + 5,
        rasa_url=f"http://127.0.0.1:{port_base + 5}",
        action_server_port=port_base + 55,
        action_server_url=f"http://127.0.0.1:{port_base + 55}",
        _env_file=None,
        **overrides,
    )
    upgrade(url)
    engine = make_engine(url)
    config = load_demo_config(REPO_ROOT / "data", today=local_today(), customers=customers, seed=99)
    seed_demo(make_session_factory(engine), config)  # up to yesterday: the stack answers with the clock's date
    engine.dispose()
    settings = settings.model_copy(update={"embedding_model": str(embedder_path(Settings(_env_file=None)))})
    ensure_index(settings)  # prepared before the clock starts, like the Rasa model
    ensure_model(settings, echo=False)
    settings = with_internal_tokens(settings)  # known here too: benchmarks call Rasa's channel directly
    started = time.monotonic()
    # the real command a user runs: migrations, demo data check, model check, then the three processes
    env = {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}
    log = open(root / "run.log", "wb")  # noqa: SIM115
    run = subprocess.Popen(
        [str(REPO_ROOT / ".venv" / "bin" / "powerdesk"), "run"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    processes = {"powerdesk run": run}
    try:
        ready = wait_ready(settings.base_url, 300)
        if ready is None:
            raise RuntimeError(f"stack not ready in 300 s; logs in {root}")
        if settings.rasa_replicas > 1:  # ready while one Rasa server is; a benchmark needs all of them
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                replicas = httpx.get(f"{settings.base_url}/readyz", timeout=10).json().get("rasa_replicas") or {}
                if replicas and all(replicas.values()):
                    break
                time.sleep(1)
            else:
                raise RuntimeError(f"not every Rasa server was ready in 300 s; logs in {root}")
        warm_up(settings)  # what `powerdesk run` does before it announces the URLs
        ready = time.monotonic() - started
        ports = {"actions": settings.action_server_port, "api": settings.api_port}
        ports.update({rasa_process_name(i + 1): settings.rasa_port + i for i in range(settings.rasa_replicas)})
        yield RunningStack(settings, {name: _listening_pid(port) for name, port in ports.items()}, ready, root)
    finally:
        stop_process_groups(list(processes.values()))
