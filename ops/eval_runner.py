"""End-to-end evaluation through the running api, as fresh customers: knowledge questions one at a time
(`powerdesk eval faq`) and multi-turn scripts (`powerdesk eval conversations`), with the values the replies must
state read from the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.orm import Session, sessionmaker

from core.clock import local_now
from core.db import transaction
from core.errors import UpstreamUnavailable
from services.customers import bind
from services.dialogue_eval import (
    Dialogue,
    TurnOutcome,
    asked_slot,
    check_turn,
    fact_value,
    pick_affected,
    pick_customer,
    placeholders,
    task_start,
)

OUTCOMES = ("right", "wrong_topic", "account_check", "refused", "handed_off", "asked_to_choose", "other")


@dataclass(frozen=True)
class Api:
    url: str
    api_key: str = ""
    timeout: float = 30.0

    async def say(self, client: httpx.AsyncClient, user: str, text: str) -> dict[str, Any]:
        headers = {"X-API-Key": self.api_key} if self.api_key else {}
        body = {"user_id": user, "text": text, "channel": "api"}
        for attempt in range(5):  # the api's per-user rate limit answers 429: wait and ask again
            response = await client.post(f"{self.url}/api/v1/messages", json=body, headers=headers)
            if response.status_code != 429:
                break
            await asyncio.sleep(1.0 + attempt)
        if response.status_code >= 400:
            raise UpstreamUnavailable(f"the api answered {response.status_code}: {response.text[:200]}")
        data: dict[str, Any] = response.json()
        return data


def fresh_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# --- knowledge questions ------------------------------------------------------------------------------------


def faq_outcome(topic: str, state: str, replies: list[dict[str, Any]]) -> tuple[str, str | None]:
    """What a customer asking one knowledge question got: (outcome, the topic answered)."""
    customs = [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]
    answered = next((c["knowledge"].get("topic") for c in customs if isinstance(c.get("knowledge"), dict)), None)
    declined = any(c.get("declined") for c in customs)
    if topic == "none":
        if declined:
            return "right", None
    elif answered == topic:
        return "right", answered
    if answered is not None:
        return "wrong_topic", answered
    if state != "bot" or any("handoff" in c or "callback" in c for c in customs):
        return "handed_off", None
    if declined:
        return "refused", None
    if asked_slot(replies) == "account_no":
        return "account_check", None
    if any(r.get("buttons") for r in replies):
        return "asked_to_choose", None
    return "other", None


@dataclass
class FaqReport:
    in_scope: Counter[str] = field(default_factory=Counter)
    out_of_scope: Counter[str] = field(default_factory=Counter)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        n_in, n_out = sum(self.in_scope.values()), sum(self.out_of_scope.values())
        return {
            "in_scope": {"n": n_in, **{k: self.in_scope[k] for k in OUTCOMES}},
            "out_of_scope": {"n": n_out, **{k: self.out_of_scope[k] for k in OUTCOMES}},
            "in_scope_right_topic": round(self.in_scope["right"] / n_in, 4) if n_in else None,
            "out_of_scope_declined": round(self.out_of_scope["right"] / n_out, 4) if n_out else None,
            "misses": self.misses,
        }


async def run_faq(api: Api, items: list[dict[str, str]], concurrency: int = 4) -> FaqReport:
    report = FaqReport()
    gate = asyncio.Semaphore(concurrency)

    async def ask(client: httpx.AsyncClient, item: dict[str, str]) -> None:
        async with gate:
            data = await api.say(client, fresh_user("eval-faq"), item["text"])
        outcome, answered = faq_outcome(item["topic"], data.get("state", ""), data.get("replies") or [])
        (report.out_of_scope if item["topic"] == "none" else report.in_scope)[outcome] += 1
        if outcome != "right":
            report.misses.append({"text": item["text"], "topic": item["topic"], "outcome": outcome, "got": answered})

    async with httpx.AsyncClient(timeout=api.timeout) as client:
        await asyncio.gather(*(ask(client, item) for item in items))
    return report


# --- multi-turn dialogues -----------------------------------------------------------------------------------


@dataclass
class DialogueResult:
    dialogue: Dialogue
    turns: list[TurnOutcome]

    @property
    def passed(self) -> bool:
        return all(not t.failures for t in self.turns)


def _prepare(sessions: sessionmaker[Session], dialogue: Dialogue, index: int, user: str, today: dt.date) -> Any:
    """The dialogue's customer (bound to the fresh user when the script says so) and its placeholders."""
    if dialogue.customer is None and dialogue.affected is None:
        return None, placeholders(None, today)
    with transaction(sessions) as session:
        if dialogue.affected is not None:
            customer = pick_affected(session, dialogue.affected, dialogue.customer, index, local_now())
        else:
            customer = pick_customer(session, str(dialogue.customer), index)
        if dialogue.bound:
            bind(session, "api", user, customer)
        session.expunge(customer)
    return customer, placeholders(customer, today)


def _facts(sessions: sessionmaker[Session], customer: Any, expect: dict[str, Any], today: dt.date) -> list[Any]:
    facts = expect.get("facts") or []
    if not facts:
        return []
    if customer is None:
        return [(str(f.get("value")), None) for f in facts]
    with sessions() as session:
        return [
            (
                f"{f['value']} { ({k: v for k, v in f.items() if k != 'value'}) }",
                fact_value(session, customer, f, today),
            )
            for f in facts
        ]


async def run_dialogue(
    api: Api,
    client: httpx.AsyncClient,
    sessions: sessionmaker[Session],
    dialogue: Dialogue,
    index: int,
    today: dt.date,
) -> DialogueResult:
    user = fresh_user("eval-dlg")
    customer, values = await asyncio.to_thread(_prepare, sessions, dialogue, index, user, today)
    outcomes = []
    for turn in dialogue.turns:
        said = turn.say
        for key, value in values.items():
            said = said.replace("{" + key + "}", value)
        data = await api.say(client, user, said)
        state, replies = str(data.get("state", "")), list(data.get("replies") or [])
        facts = await asyncio.to_thread(_facts, sessions, customer, turn.expect, today)
        outcomes.append(TurnOutcome(said, state, replies, check_turn(turn.expect, state, replies, facts)))
    return DialogueResult(dialogue, outcomes)


async def run_dialogues(
    api: Api, sessions: sessionmaker[Session], dialogues: list[Dialogue], today: dt.date, concurrency: int = 4
) -> list[DialogueResult]:
    gate = asyncio.Semaphore(concurrency)

    async def one(client: httpx.AsyncClient, index: int, dialogue: Dialogue) -> DialogueResult:
        async with gate:
            return await run_dialogue(api, client, sessions, dialogue, index, today)

    async with httpx.AsyncClient(timeout=api.timeout) as client:
        return list(await asyncio.gather(*(one(client, i, d) for i, d in enumerate(dialogues))))


def dialogues_json(results: list[DialogueResult]) -> dict[str, Any]:
    by_pattern: dict[str, Counter[str]] = {}
    for r in results:
        by_pattern.setdefault(r.dialogue.pattern or "-", Counter())["passed" if r.passed else "failed"] += 1
    return {
        "dialogues": len(results),
        "passed": sum(r.passed for r in results),
        "turns": sum(len(r.turns) for r in results),
        "turns_passed": sum(not t.failures for r in results for t in r.turns),
        "by_pattern": {k: dict(v) for k, v in sorted(by_pattern.items())},
        "failures": [
            {
                "name": r.dialogue.name,
                "pattern": r.dialogue.pattern,
                "turns": [
                    {
                        "said": t.said,
                        "state": t.state,
                        "failures": t.failures,
                        "replies": [str(x.get("text") or "")[:160] for x in t.replies],
                    }
                    for t in r.turns
                ],
            }
            for r in results
            if not r.passed
        ],
    }


# --- task requests ------------------------------------------------------------------------------------------


async def run_tasks(api: Api, examples: list[tuple[str, str]], concurrency: int = 4) -> dict[str, Any]:
    """Each request to act, sent by a fresh customer: did its task start? Per intent and overall."""
    gate = asyncio.Semaphore(concurrency)
    per_intent: dict[str, Counter[str]] = {}
    misses: list[dict[str, Any]] = []

    async def one(client: httpx.AsyncClient, intent: str, text: str) -> None:
        async with gate:
            data = await api.say(client, fresh_user("eval-task"), text)
        replies = list(data.get("replies") or [])
        outcome = task_start(intent, str(data.get("state", "")), replies)
        per_intent.setdefault(intent, Counter())[outcome] += 1
        if outcome != "started":
            texts = [str(r.get("text") or "")[:80] for r in replies]
            misses.append({"intent": intent, "text": text, "outcome": outcome, "replies": texts})

    async with httpx.AsyncClient(timeout=api.timeout) as client:
        await asyncio.gather(*(one(client, i, t) for i, t in examples))
    started = sum(c["started"] for c in per_intent.values())
    offered = sum(c["offered"] for c in per_intent.values())
    total = sum(sum(c.values()) for c in per_intent.values())
    return {
        "n": total,
        "started": started,
        "offered": offered,
        "started_share": round(started / total, 4) if total else None,
        "started_or_offered_share": round((started + offered) / total, 4) if total else None,
        "per_intent": {k: dict(v) for k, v in sorted(per_intent.items())},
        "misses": misses,
    }
