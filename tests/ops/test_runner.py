"""The processes `powerdesk run` starts for each profile, and the settings that cannot work together."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.errors import ConfigError
from core.settings import Settings
from ops.rasa_env import endpoints_file, ensure_tracker_database, rasa_env, tracker_store_url
from ops.runner import process_specs, with_internal_tokens, with_profile
from tests.conftest import PG_ADMIN_URL

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/powerdesk"


def _settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(powerdesk_env="test", var_dir=tmp_path, _env_file=None, **values)


def test_the_single_profile_is_one_of_each(tmp_path: Path) -> None:
    settings = with_internal_tokens(with_profile(_settings(tmp_path), "single"))
    specs = process_specs(settings)
    assert [s.name for s in specs] == ["rasa", "actions", "api"]
    assert endpoints_file(settings) == "endpoints-sql.yml"
    api = specs[-1]
    assert api.cmd[api.cmd.index("--workers") + 1] == "1" and "--proxy-headers" in api.cmd
    assert "TRACKER_STORE_URL" not in rasa_env(settings)


def test_the_scaled_profile_shares_trackers_and_locks(tmp_path: Path) -> None:
    settings = with_internal_tokens(with_profile(_settings(tmp_path, database_url=PG), "scaled"))
    assert (settings.rasa_replicas, settings.api_workers, settings.tracker_store, settings.lock_store) == (
        2,
        2,
        "sql",
        "redis",
    )
    specs = process_specs(settings)
    assert [s.name for s in specs] == ["rasa", "rasa-2", "actions", "api"]
    ports = [s.cmd[s.cmd.index("-p") + 1] for s in specs[:2]]
    assert ports == ["5005", "5006"] and {s.cmd[s.cmd.index("--endpoints") + 1] for s in specs[:2]} == {
        "endpoints-scaled.yml"
    }
    assert specs[-1].env["RASA_URLS"] == "http://127.0.0.1:5005,http://127.0.0.1:5006"
    env = rasa_env(settings)
    # Rasa's table is named `events`, like PowerDesk's event table: the trackers get a database of their own
    assert env["TRACKER_STORE_URL"] == "postgresql://postgres@127.0.0.1:5432/powerdesk_tracker"
    assert (env["LOCK_STORE_HOST"], env["LOCK_STORE_PORT"], env["LOCK_STORE_DB"]) == ("127.0.0.1", "6379", "0")
    # several Rasa servers on one machine: one TensorFlow thread each (the single profile keeps TensorFlow's default)
    assert env["TF_INTRA_OP_PARALLELISM_THREADS"] == env["TF_INTER_OP_PARALLELISM_THREADS"] == "1"
    single = rasa_env(with_internal_tokens(with_profile(_settings(tmp_path), "single")))
    assert single.get("TF_INTRA_OP_PARALLELISM_THREADS") == os.environ.get("TF_INTRA_OP_PARALLELISM_THREADS")
    for name in ("endpoints-scaled.yml", "endpoints-scaled-rabbitmq.yml"):
        endpoints = (settings.bot_dir / name).read_text(encoding="utf-8")
        for variable in ("TRACKER_STORE_URL", "LOCK_STORE_HOST", "LOCK_STORE_PORT", "ACTION_SERVER_TOKEN"):
            assert "${" + variable + "}" in endpoints and variable in env
    rabbit = settings.model_copy(update={"event_broker": "rabbitmq"})
    assert endpoints_file(rabbit) == "endpoints-scaled-rabbitmq.yml"


def test_settings_that_cannot_work_together_are_refused_with_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TRACKER_STORE=sql needs a PostgreSQL DATABASE_URL"):
        with_profile(_settings(tmp_path), "scaled")  # SQLite cannot be shared by Rasa servers
    with pytest.raises(ConfigError, match="unknown profile"):
        with_profile(_settings(tmp_path), "huge")
    with pytest.raises(ConfigError, match="several Rasa servers need TRACKER_STORE=sql"):
        _settings(tmp_path, rasa_replicas=2)
    with pytest.raises(ConfigError, match="API_WORKERS > 1 needs REDIS_URL"):
        _settings(tmp_path, api_workers=3)
    with pytest.raises(ConfigError, match="several Rasa servers"):
        _settings(tmp_path, rasa_urls="http://a:5005,http://b:5005")
    listed = _settings(
        tmp_path,
        rasa_urls="http://10.0.0.5:5005, http://10.0.0.6:5005/",
        tracker_store="sql",
        lock_store="redis",
        redis_url="redis://10.0.0.9:6379/2",
        database_url=PG,
    )
    assert listed.rasa_url_list == ["http://10.0.0.5:5005", "http://10.0.0.6:5005"]
    assert tracker_store_url(listed.model_copy(update={"tracker_store_url": "postgresql+psycopg://t@h/rasa"})) == (
        "postgresql://t@h/rasa"
    )


def test_the_tracker_database_is_created_once(tmp_path: Path) -> None:
    try:
        create_engine(PG_ADMIN_URL).connect().close()
    except Exception:
        pytest.skip("PostgreSQL not reachable")
    base = PG_ADMIN_URL.rsplit("/", 1)[0] + "/powerdesk_runner_test"
    settings = _settings(tmp_path, database_url=base, tracker_store="sql", lock_store="redis", redis_url="redis://x")
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        ensure_tracker_database(settings)
        ensure_tracker_database(settings)  # already there: nothing to do
        with admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = 'powerdesk_runner_test_tracker'"))
            assert found.scalar() == 1
    finally:
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "powerdesk_runner_test_tracker" WITH (FORCE)'))
        admin.dispose()


def test_warm_up_runs_every_rasa_server_s_nlu_and_the_action_server(tmp_path: Path) -> None:
    """Before customers come: every Rasa server parses once (its first parse builds the classifier's graphs) with
    its token, and the action server runs its warm-up action."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from ops.runner import warm_up
    from tests.api.fake_wechat import serve

    calls: list[tuple[str, str | None]] = []

    async def record(request: Request) -> JSONResponse:
        calls.append((request.url.path, request.query_params.get("token") or request.headers.get("X-PowerDesk-Token")))
        return JSONResponse({})

    app = Starlette(
        routes=[Route("/model/parse", record, methods=["POST"]), Route("/webhook", record, methods=["POST"])]
    )
    with serve(app) as one, serve(app) as two:
        settings = _settings(
            tmp_path,
            rasa_urls=f"{one},{two}",
            tracker_store="sql",
            lock_store="redis",
            redis_url="redis://127.0.0.1:6379/0",
            database_url=PG,
            action_server_url=one,
            rasa_token="r" * 20,
            action_server_token="a" * 20,
        )
        warm_up(settings, timeout_s=10)
    parses = [c for c in calls if c[0] == "/model/parse"]
    assert len(parses) == 2 * 2 and {t for _, t in parses} == {"r" * 20}
    assert ("/webhook", "a" * 20) in calls
