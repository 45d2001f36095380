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


SAFE = {
    "secret_key": "s" * 40,
    "api_key": "k" * 24,
    "rasa_token": "r" * 24,
    "action_server_token": "a" * 24,
    "public_base_url": "https://kefu.example.cn",
}


def test_production_refuses_every_unsafe_setting_and_names_it() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings(powerdesk_env="production", _env_file=None)
    for name in ("SECRET_KEY", "API_KEY", "RASA_TOKEN", "ACTION_SERVER_TOKEN", "PUBLIC_BASE_URL"):
        assert name in str(refused.value)
    assert Settings(powerdesk_env="production", **SAFE, _env_file=None).api_key
    for name, unsafe in (
        ("api_key", ""),
        ("secret_key", "change-me-local-only"),
        ("rasa_token", "short"),
        ("public_base_url", "http://kefu.example.cn"),
    ):
        with pytest.raises(ConfigError, match=name.upper()):
            Settings(powerdesk_env="production", **{**SAFE, name: unsafe}, _env_file=None)
    with pytest.raises(ConfigError, match="WECHAT_ENCODING_AES_KEY"):  # WeChat in plaintext mode
        Settings(powerdesk_env="production", **SAFE, wechat_token="t", _env_file=None)
    # outside production the defaults stay usable for a laptop
    assert Settings(_env_file=None).api_key == ""


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
