"""FakeBot behind Rasa's HTTP surface (the PowerDesk channel webhook, the tracker and its events, /status), for tests
and benchmarks that run real api processes but are not about Rasa:
`python -m uvicorn tests.api.fake_rasa_server:app --port N`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.api.fakes import FakeBot

app = FastAPI()
bot = FakeBot()


@app.get("/status")
async def status() -> dict[str, str]:
    return {"model_file": "fake"}


@app.post("/webhooks/powerdesk/webhook")
async def webhook(body: dict[str, Any]) -> dict[str, Any]:
    turn = await bot.send(str(body["sender"]), str(body["message"]), body.get("metadata") or {})
    return {"messages": turn.messages, "intent": turn.intent, "confidence": turn.confidence}


@app.get("/conversations/{sender}/tracker")
async def tracker(sender: str) -> dict[str, Any]:
    return {"sender_id": sender, "events": bot.events.get(sender, [])}


@app.post("/conversations/{sender}/tracker/events")
async def events(sender: str, body: list[dict[str, Any]] | dict[str, Any]) -> dict[str, str]:
    for event in body if isinstance(body, list) else [body]:
        if event.get("event") == "pause":
            await bot.pause(sender)
        elif event.get("event") == "resume":
            await bot.resume(sender)
    return {"sender_id": sender}
