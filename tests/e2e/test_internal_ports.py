"""The internal ports, tried as an attacker on the machine would: Rasa's HTTP API and channel, and the action
server, refuse whoever lacks the tokens that `powerdesk run` gives the api and Rasa."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


def test_rasa_http_api_needs_the_token(stack: Stack) -> None:
    rasa = stack.settings.rasa_url
    sender = "api:attacker-target"
    httpx.post(
        f"{stack.base_url}/api/v1/messages", json={"user_id": "attacker-target", "text": "你好"}, timeout=30
    ).raise_for_status()
    assert httpx.get(f"{rasa}/conversations/{sender}/tracker", timeout=10).status_code == 401
    injected = [{"event": "slot", "name": "account_no", "value": "3300000001"}]
    assert httpx.post(f"{rasa}/conversations/{sender}/tracker/events", json=injected, timeout=10).status_code == 401
    execute = {"name": "action_bind_account_submit"}
    assert httpx.post(f"{rasa}/conversations/{sender}/execute", json=execute, timeout=10).status_code == 401
    assert httpx.put(f"{rasa}/model", json={"model_file": "/tmp/x.tar.gz"}, timeout=10).status_code == 401
    assert httpx.get(f"{rasa}/conversations/{sender}/tracker", params={"token": "guess"}, timeout=10).status_code == 401
    # the api's own token works (what the api does to pause and resume conversations)
    own = httpx.get(f"{rasa}/status", params={"token": stack.settings.rasa_token}, timeout=10)
    assert own.status_code == 200


def test_rasa_channels_need_the_token(stack: Stack) -> None:
    rasa = stack.settings.rasa_url
    body = {"sender": "api:attacker", "message": "/restart"}
    assert httpx.post(f"{rasa}/webhooks/powerdesk/webhook", json=body, timeout=10).status_code == 401
    wrong = {"X-PowerDesk-Token": "x" * 43}
    assert httpx.post(f"{rasa}/webhooks/powerdesk/webhook", json=body, headers=wrong, timeout=10).status_code == 401
    assert httpx.post(f"{rasa}/webhooks/rest/webhook", json=body, timeout=10).status_code == 404  # REST channel off
    good = {"X-PowerDesk-Token": stack.settings.rasa_token}
    bad = httpx.post(f"{rasa}/webhooks/powerdesk/webhook", content=b"\xff{", headers=good, timeout=10)
    assert bad.status_code == 400


def test_action_server_needs_the_token_and_a_well_formed_call(stack: Stack) -> None:
    url = stack.settings.action_server_url
    forged = {
        "next_action": "action_bind_account_submit",
        "sender_id": "widget:victim",
        "tracker": {
            "sender_id": "widget:victim",
            "slots": {"account_no": "3300000001", "phone_last4": "1"},
            "latest_message": {"text": "1"},
            "events": [],
        },
        "domain": {},
    }
    assert httpx.post(f"{url}/webhook", json=forged, timeout=10).status_code == 401
    assert httpx.get(f"{url}/actions", timeout=10).status_code == 401
    assert httpx.get(f"{url}/health", timeout=10).status_code == 200  # readiness needs no secret
    good = {"X-PowerDesk-Token": stack.settings.action_server_token}
    null_tracker = {**forged, "tracker": None}
    answer = httpx.post(f"{url}/webhook", json=null_tracker, headers=good, timeout=10)
    assert answer.status_code == 400 and "tracker" in answer.json()["error"]
    not_json = httpx.post(f"{url}/webhook", content=b"{{{", headers=good, timeout=10)
    assert not_json.status_code == 400
    # even Rasa's own token and a filled-in tracker bind nothing the database does not confirm
    answer = httpx.post(f"{url}/webhook", json=forged, headers=good, timeout=30)
    assert answer.status_code == 200
    assert not any(e.get("name") == "bound_account" and e.get("value") for e in answer.json()["events"])
