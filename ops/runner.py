"""Starting the three processes (Rasa, action server, api), and training Rasa only when bot/ changed."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.errors import ConfigError
from core.settings import REPO_ROOT, Settings, scale_problems
from ops.rasa_env import endpoints_file, ensure_tracker_database, rasa_env

MODEL_NAME = "powerdesk"
TRAINING_INPUTS = ("config.yml", "domain", "data", "dictionaries", "components")


def rasa_executable() -> Path:
    path = REPO_ROOT / ".venv-rasa" / "bin" / "rasa"
    if not path.exists():
        raise ConfigError(f"{path} is missing; run `make setup` to create the Rasa environment")
    return path


def bot_fingerprint(bot_dir: Path) -> str:
    """A hash of everything `rasa train` reads; the model is retrained only when it changes."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        root = bot_dir / name
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            digest.update(str(path.relative_to(bot_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(bot_dir: Path) -> Path:
    return bot_dir / "models" / f"{MODEL_NAME}.tar.gz"


PROFILES = ("single", "scaled")


def with_profile(settings: Settings, profile: str) -> Settings:
    """`single`: the settings as they are. `scaled`: at least two Rasa servers sharing a SQL tracker store and a
    Redis lock store, and at least two api workers; needs a PostgreSQL DATABASE_URL (REDIS_URL defaults to the
    local Redis)."""
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}; use one of {', '.join(PROFILES)}")
    if profile == "single":
        return settings
    scaled = settings.model_copy(
        update={
            "rasa_replicas": max(2, settings.rasa_replicas),
            "api_workers": max(2, settings.api_workers),
            "tracker_store": "sql",
            "lock_store": "redis",
            "redis_url": settings.redis_url or "redis://127.0.0.1:6379/0",
        }
    )
    problems = scale_problems(scaled)
    if problems:
        raise ConfigError("--profile scaled:\n- " + "\n- ".join(problems))
    return scaled


def ensure_model(settings: Settings, force: bool = False, echo: bool = True) -> bool:
    """Train the Rasa model if it is missing or bot/ changed since; returns whether it trained."""
    bot_dir = settings.bot_dir
    stamp = bot_dir / "models" / "fingerprint.txt"
    fingerprint = bot_fingerprint(bot_dir)
    if not force and model_path(bot_dir).exists() and stamp.exists() and stamp.read_text().strip() == fingerprint:
        return False
    if echo:
        print("Training the Rasa model (bot/ changed or no model yet)…", flush=True)
    cmd = [
        str(rasa_executable()),
        "train",
        "--domain",
        "domain",
        "--data",
        "data",
        "--config",
        "config.yml",
        "--out",
        "models",
        "--fixed-model-name",
        MODEL_NAME,
    ]
    result = subprocess.run(
        cmd,
        cwd=bot_dir,
        env=rasa_env(settings),
        stdout=None if echo else subprocess.DEVNULL,
        stderr=None if echo else subprocess.STDOUT,
    )
    if result.returncode != 0:
        raise ConfigError(f"`rasa train` failed (exit {result.returncode}); run it in bot/ to see why")
    stamp.write_text(fingerprint)
    return True


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    cmd: list[str]
    cwd: Path
    env: dict[str, str]


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as environment variables, so every child process sees the same configuration."""
    values = settings.model_dump()
    values["database_url"] = settings.effective_database_url
    return {name.upper(): str(value) for name, value in values.items() if value is not None}


def with_internal_tokens(settings: Settings) -> Settings:
    """The settings with the internal ports' tokens, made at random for this run where none is configured."""
    return settings.model_copy(
        update={
            "rasa_token": settings.rasa_token or secrets.token_urlsafe(32),
            "action_server_token": settings.action_server_token or secrets.token_urlsafe(32),
        }
    )


def rasa_process_name(replica: int) -> str:
    """The supervisor's name of Rasa replica `replica` (1-based): rasa, rasa-2, rasa-3 …"""
    return "rasa" if replica == 1 else f"rasa-{replica}"


def process_specs(settings: Settings) -> list[ProcessSpec]:
    """Rasa (one process per replica), the action server and the api; `settings` must carry the internal tokens
    (`with_internal_tokens`)."""
    if len(settings.rasa_token) < 16 or len(settings.action_server_token) < 16:
        raise ConfigError(
            "RASA_TOKEN and ACTION_SERVER_TOKEN must be 16+ characters (leave both empty and `powerdesk run` "
            "makes random ones)"
        )
    app_env = {**os.environ, **settings_env(settings), "PYTHONUNBUFFERED": "1"}
    if settings.rasa_replicas > 1 and not settings.rasa_urls:
        app_env["RASA_URLS"] = ",".join(settings.rasa_url_list)  # the api routes each customer to one of them
    host = httpx.URL(settings.rasa_url).host or "127.0.0.1"
    rasa = [
        ProcessSpec(
            rasa_process_name(i + 1),
            [
                str(rasa_executable()),
                "run",
                "--enable-api",
                "--auth-token",
                settings.rasa_token,
                "-i",
                host,
                "-p",
                str(settings.rasa_port + i),
                "-m",
                str(model_path(settings.bot_dir)),
                "--endpoints",
                endpoints_file(settings),
                "--credentials",
                "credentials.yml",
            ],
            settings.bot_dir,
            rasa_env(settings),
        )
        for i in range(settings.rasa_replicas)
    ]
    return [
        *rasa,
        ProcessSpec(
            "actions",
            [
                sys.executable,
                "-m",
                "actions.server",
                "--actions",
                "actions",
                "--port",
                str(settings.action_server_port),
            ],
            REPO_ROOT,
            # rasa-sdk listens on every interface unless told otherwise; only Rasa needs to reach it
            {**app_env, "SANIC_HOST": httpx.URL(settings.action_server_url).host or "127.0.0.1"},
        ),
        ProcessSpec(
            "api",
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.app:create_app",
                "--host",
                settings.api_host,
                "--port",
                str(settings.api_port),
                "--workers",
                str(settings.api_workers),
                "--no-access-log",
                "--no-server-header",
                # the client address (limits, binding checks) from X-Forwarded-For, from these proxies only
                "--proxy-headers",
                "--forwarded-allow-ips",
                settings.trusted_proxies,
            ],
            REPO_ROOT,
            app_env,
        ),
    ]


def stop_process_groups(processes: list[subprocess.Popen[bytes]], grace_s: float = 20) -> None:
    """Stop processes started with start_new_session=True, children included: TERM, then KILL."""
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for process in processes:
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()


def wait_ready(base_url: str, timeout_s: float) -> float | None:
    """Seconds until /readyz answers 200, or None on timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2.0).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return None


WARM_UP_TEXTS = ("停电了", "查一下上个月的电费")  # what Rasa parses once before customers come (no tracker touched)


def warm_up(settings: Settings, timeout_s: float = 120) -> None:
    """Have the action server load its database engine and the knowledge index, and every Rasa server run its NLU
    once, before customers come. Rasa's first parse builds the classifier's TensorFlow graphs (seconds): in an
    outage storm the first customers' turns waited for it past the api's timeout, and the handoffs that followed
    slowed everyone else."""
    for url in settings.rasa_url_list:
        for text in WARM_UP_TEXTS:
            try:
                httpx.post(
                    f"{url.rstrip('/')}/model/parse",
                    json={"text": text},
                    params={"token": settings.rasa_token},
                    timeout=timeout_s,
                )
            except httpx.HTTPError as exc:
                print(f"warm-up of Rasa at {url} failed ({exc}); the first answer may be slow", flush=True)
                break
    tracker = {
        "sender_id": "warm-up",
        "slots": {},
        "latest_message": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": None,
    }
    body = {"next_action": "action_warm_up", "sender_id": "warm-up", "tracker": tracker, "domain": {}}
    try:
        httpx.post(
            f"{settings.action_server_url.rstrip('/')}/webhook",
            json=body,
            headers={"X-PowerDesk-Token": settings.action_server_token},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        print(f"warm-up of the action server failed ({exc}); the first answer may be slow", flush=True)


def run_all(settings: Settings) -> int:
    """Run every process under the supervisor (a process that dies is restarted), printing the URLs once all
    are ready; Ctrl-C stops them all."""
    from ops.supervisor import Supervisor, console_printer

    settings = with_internal_tokens(settings)
    ensure_tracker_database(settings)
    supervisor = Supervisor(process_specs(settings), console_printer(sys.stdout))

    def announce() -> None:
        took = wait_ready(settings.base_url, 300)
        if took is None:
            print("PowerDesk did not become ready within 300 s; see the process logs above.", flush=True)
            return
        warm_up(settings)
        print(
            f"\nPowerDesk is ready after {took:.0f} s:\n"
            f"  chat widget demo   {settings.base_url}/\n"
            f"  api docs           {settings.base_url}/docs\n"
            f"  readiness          {settings.base_url}/readyz\n",
            flush=True,
        )

    threading.Thread(target=announce, daemon=True).start()
    return supervisor.run()
