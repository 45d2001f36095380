"""The action server's own checks: the shape of an action call (the token is checked end to end in
tests/e2e/test_internal_ports.py)."""

from __future__ import annotations

from typing import Any

import pytest

from actions.server import call_problem

GOOD = {
    "next_action": "action_query_bill",
    "sender_id": "widget:x",
    "tracker": {"sender_id": "widget:x", "slots": {}, "events": [], "latest_message": {}},
    "domain": {},
}


@pytest.mark.parametrize(
    "call",
    [
        None,
        [],
        "x",
        {**GOOD, "next_action": None},
        {**GOOD, "next_action": ""},
        {**GOOD, "tracker": None},
        {**GOOD, "tracker": []},
        {**GOOD, "tracker": {**GOOD["tracker"], "sender_id": None}},
        {**GOOD, "tracker": {**GOOD["tracker"], "events": {}}},
        {**GOOD, "tracker": {**GOOD["tracker"], "slots": []}},
        {**GOOD, "tracker": {**GOOD["tracker"], "latest_message": "hi"}},
        {**GOOD, "domain": []},
    ],
)
def test_malformed_action_calls_are_named(call: Any) -> None:
    assert call_problem(call)


def test_a_well_formed_call_passes() -> None:
    assert call_problem(GOOD) is None
    assert call_problem({**GOOD, "domain": None, "tracker": {"sender_id": "x"}}) is None
