"""Rasa's schema checks with each schema checked once (bot/channels/schema_checks.py): the same verdicts and
errors as `jsonschema.validate`, for the action server's results and the tracker events the api posts. Runs in
Rasa's environment (a subprocess)."""

from __future__ import annotations

import subprocess

import pytest

from core.settings import REPO_ROOT

RASA_PYTHON = REPO_ROOT / ".venv-rasa" / "bin" / "python"
CHECK = """
import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.server import EVENTS_SCHEMA
from channels.schema_checks import check_schemas_once

cases = [
    (RemoteAction.action_response_format_spec(), {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []}),
    (RemoteAction.action_response_format_spec(), {"events": "not a list"}),
    (EVENTS_SCHEMA, [{"event": "resume"}, {"event": "action", "name": "action_listen"}]),
    (EVENTS_SCHEMA, [{"event": 3}]),
]

def verdicts():
    out = []
    for schema, instance in cases:
        try:
            jsonschema.validate(instance, schema)
            out.append(None)
        except jsonschema.ValidationError as error:
            out.append(str(error))
    return out

before = verdicts()
check_schemas_once()
assert jsonschema.validate.__module__ == "channels.schema_checks"
after = verdicts()
assert before == after, (before, after)
assert [v is None for v in after] == [True, False, True, False], after
try:  # a broken schema is still refused
    jsonschema.validate({}, {"type": 12})
except jsonschema.SchemaError:
    print("OK")
"""


def test_schemas_checked_once_give_the_same_verdicts_and_errors() -> None:
    if not RASA_PYTHON.exists():
        pytest.skip("the Rasa environment (.venv-rasa) is not installed; `make setup` creates it")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", CHECK],
        cwd=REPO_ROOT / "bot",
        env={"PYTHONPATH": str(REPO_ROOT / "bot"), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("OK"), result.stderr[-2000:]
