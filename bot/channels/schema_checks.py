"""Rasa's JSON schema checks with each schema checked once, not on every call.

Rasa 3.6 checks every action server result (`RemoteAction._validate_action_result`) and every body of
`POST /conversations/{id}/tracker/events` (the api's pause and resume) with `jsonschema.validate`, which first
checks the schema itself against the JSON Schema meta-schema and builds a new validator: most of the cost, on
Rasa's one event loop. In an outage storm that check took about a quarter of Rasa's time. `check_schemas_once`
replaces `jsonschema.validate` in Rasa's process with one that keeps a checked validator per schema (by its
content: Rasa builds the action result's schema anew on every call); the instance is validated as before, with the
same error.

This module runs inside Rasa's own environment; it imports only jsonschema.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import jsonschema
from jsonschema import exceptions, validators

_original = jsonschema.validate
_checked: dict[str, Any] = {}
_lock = threading.Lock()


def _validator(schema: Any) -> Any:
    key = json.dumps(schema, sort_keys=True, default=str)
    found = _checked.get(key)
    if found is None:
        cls = validators.validator_for(schema)
        cls.check_schema(schema)  # a broken schema raises here, every time, as before
        found = cls(schema)
        with _lock:
            _checked[key] = found
    return found


def validate(instance: Any, schema: Any, cls: Any = None, *args: Any, **kwargs: Any) -> None:
    """`jsonschema.validate`, with the schema checked once."""
    if cls is not None or args or kwargs:
        _original(instance, schema, cls, *args, **kwargs)
        return
    error = exceptions.best_match(_validator(schema).iter_errors(instance))
    if error is not None:
        raise error


def check_schemas_once() -> None:
    """Install `validate` as `jsonschema.validate` (Rasa looks it up on the module at each call)."""
    jsonschema.validate = validate  # type: ignore[assignment]
