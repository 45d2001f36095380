from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.settings import REPO_ROOT, Settings


def test_env_example_lists_every_setting() -> None:
    listed = {
        line.split("=", 1)[0].strip().lower()
        for line in (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert listed == set(Settings.model_fields)


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings(powerdesk_env="production", _env_file=None)
    assert Settings(powerdesk_env="production", secret_key="x" * 40, _env_file=None).secret_key


def test_database_defaults_to_sqlite_under_var(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path, _env_file=None)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'powerdesk.db'}"
    assert Settings(database_url="postgresql://x/y", _env_file=None).effective_database_url == "postgresql://x/y"


def test_relative_paths_are_taken_from_the_repository() -> None:
    assert Settings(data_dir=Path("data"), _env_file=None).data_dir == REPO_ROOT / "data"


def test_every_line_of_env_example_parses(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for line in (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, value = line.split("=", 1)
            monkeypatch.setenv(name, value)
    assert Settings(_env_file=None).knowledge_min_score is None


def test_settings_survive_the_trip_through_the_environment(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ops.runner import settings_env

    original = Settings(api_port=18123, knowledge_min_score=0.93, _env_file=None)
    for name, value in settings_env(original).items():
        monkeypatch.setenv(name, value)
    again = Settings(_env_file=None)
    assert again.api_port == 18123 and again.knowledge_min_score == 0.93
    assert again.effective_database_url == original.effective_database_url
