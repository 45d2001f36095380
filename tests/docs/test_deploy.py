"""deploy/ names only commands, options, processes and settings that exist."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from core.settings import REPO_ROOT, Settings

DEPLOY = REPO_ROOT / "deploy"
POWERDESK = "/opt/powerdesk/.venv/bin/powerdesk"


def _unit_commands() -> list[list[str]]:
    commands = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key in ("ExecStart", "ExecStartPre"):
                argv = shlex.split(value.replace("%i", "1"))
                assert argv[0] == POWERDESK, f"{unit.name}: {line}"
                commands.append(argv[1:])
    return commands


def _container_commands() -> list[list[str]]:
    text = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (.+)$", text, re.M).group(1))  # type: ignore[union-attr]
    assert entry == ["/app/.venv/bin/powerdesk"]
    examples = [
        shlex.split(m.split("(")[0]) for m in re.findall(r"docker run --env-file \S+ powerdesk (.+)$", text, re.M)
    ]
    assert len(examples) >= 4
    return [cmd, *examples]


@pytest.mark.parametrize("argv", _unit_commands() + _container_commands(), ids=" ".join)
def test_every_command_and_option_exists(argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    if argv[0] == "serve":
        assert argv[1] in ("rasa", "actions", "api")


def test_every_setting_named_is_a_setting() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    example = DEPLOY / "powerdesk.env.example"
    names = [line.split("=", 1)[0] for line in example.read_text(encoding="utf-8").splitlines() if "=" in line]
    assert names and not [n for n in names if n.startswith("#")]
    assert set(names) <= fields, set(names) - fields


def test_units_read_the_env_file_and_the_container_runs_make_setup() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        assert "EnvironmentFile=/etc/powerdesk/powerdesk.env" in unit.read_text(encoding="utf-8"), unit.name
    recipe = (DEPLOY / "Containerfile").read_text(encoding="utf-8")
    assert "make setup" in recipe and re.search(r"^setup:", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert Path(REPO_ROOT / "bot" / "endpoints-scaled.yml").exists()
