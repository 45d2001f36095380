"""Real api processes (uvicorn) sharing one database and Redis, in front of the fake Rasa server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.settings import REPO_ROOT, Settings
from ops.runner import settings_env, stop_process_groups


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class ApiProcesses:
    urls: list[str]
    rasa_url: str
    settings: Settings


def _wait(url: str, timeout_s: float, logs: Path) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout_s} s; logs in {logs}")


@contextmanager
def api_processes(settings: Settings, count: int, logs: Path) -> Iterator[ApiProcesses]:
    """`count` api processes (and the fake Rasa) on free ports, with `settings` (database, Redis …)."""
    rasa_port = free_port()
    ports = [free_port() for _ in range(count)]
    settings = settings.model_copy(update={"rasa_url": f"http://127.0.0.1:{rasa_port}"})
    env = {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}
    processes = []
    specs = [("fake-rasa", ["tests.api.fake_rasa_server:app", "--port", str(rasa_port)])] + [
        (f"api-{i}", ["--factory", "api.app:create_app", "--port", str(port)]) for i, port in enumerate(ports)
    ]
    try:
        for name, args in specs:
            log = open(logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                *args,
                "--host",
                "127.0.0.1",
                "--no-access-log",
                "--log-level",
                "warning",
            ]
            processes.append(
                (
                    subprocess.Popen(
                        cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    ),
                    log,
                )
            )
        _wait(f"http://127.0.0.1:{rasa_port}/status", 30, logs)
        for port in ports:
            _wait(f"http://127.0.0.1:{port}/healthz", 60, logs)
        yield ApiProcesses([f"http://127.0.0.1:{p}" for p in ports], settings.rasa_url, settings)
    finally:
        stop_process_groups([p for p, _ in processes], grace_s=10)
        for _, log in processes:
            log.close()
