"""`powerdesk demo simulate`: customers played through the running api (and so the real bot), agents
working the console's HTTP api (log in, claim, reply, close), customers rating — so a fresh install's
satisfaction report has content. Scenarios and wording: data/demo/simulate.yml.

Nothing is inserted into the database directly except the demo agents' accounts (`demo-agent-N`, whose
passwords are reset to a random value on every run so the simulator can log in).
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core.datafiles import read_yaml_mapping
from core.errors import DataError, UpstreamUnavailable


@dataclass(frozen=True)
class Scenario:
    name: str
    weight: float
    turns: list[list[str]]
    ratings: list[int]
    agent: bool


@dataclass(frozen=True)
class Script:
    scenarios: list[Scenario]
    agent_replies: list[str]
    rating_texts: list[str]


@dataclass
class SimulationStats:
    conversations: int = 0
    messages: int = 0
    handoffs_closed: int = 0
    ratings: int = 0
    errors: list[str] = field(default_factory=list)


def load_script(data_dir: Path) -> Script:
    path = data_dir / "demo" / "simulate.yml"
    raw = read_yaml_mapping(path)
    try:
        scenarios = [
            Scenario(
                name=str(name),
                weight=float(spec["weight"]),
                turns=[[str(t) for t in turn] for turn in spec["turns"]],
                ratings=[int(r) for r in spec.get("rating") or []],
                agent=bool(spec.get("agent", False)),
            )
            for name, spec in raw["scenarios"].items()
        ]
        script = Script(scenarios, [str(r) for r in raw["agent_replies"]], [str(t) for t in raw["rating_text"]])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path} is malformed ({exc!r}); restore it from git") from exc
    bad = [s.name for s in script.scenarios if s.weight <= 0 or not s.turns or any(not t for t in s.turns)]
    if bad or not script.agent_replies or not script.rating_texts:
        raise DataError(f"{path}: scenarios {bad} need a positive weight and non-empty turns; replies and texts too")
    return script


def _check(response: httpx.Response) -> None:
    if response.status_code != 200:
        raise UpstreamUnavailable(f"the console api answered {response.status_code}: {response.text[:300]}")


class Agent:
    """One simulated agent on the console's HTTP api."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.username, self.password = username, password
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.csrf = ""

    async def login(self) -> None:
        page = await self.http.get("/console/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        if token is None:
            raise UpstreamUnavailable("the console login page has no CSRF token; is this a PowerDesk api?")
        form = {"username": self.username, "password": self.password, "csrf_token": token.group(1)}
        await self.http.post("/console/login", data=form)
        home = await self.http.get("/console")
        found = re.search(r'data-csrf="([^"]+)"', home.text)
        if found is None:
            raise UpstreamUnavailable(f"demo agent {self.username} could not log in to the console")
        self.csrf = found.group(1)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return await self.http.post(path, json=body, headers={"X-CSRF-Token": self.csrf})

    async def work_one(self, rng: random.Random, replies: list[str]) -> int | None:
        """Claim the oldest waiting case, answer it, close it; the conversation id, or None if none waited."""
        queue = (await self.http.get("/console/api/queue")).json()
        for case in queue.get("waiting", []):
            claimed = await self.post(f"/console/api/cases/{case['handoff_id']}/claim")
            if claimed.status_code != 200:
                continue  # another agent was quicker
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            for text in rng.sample(replies, k=min(2, len(replies))):
                _check(await self.post(f"/console/api/cases/{case['handoff_id']}/reply", {"text": text}))
            resolution = rng.choice(["resolved", "resolved", "answered", "callback_promised", "complaint_recorded"])
            body = {"resolution": resolution, "note": ""}
            _check(await self.post(f"/console/api/cases/{case['handoff_id']}/close", body))
            return int(case["conversation_id"])
        return None

    async def close(self) -> None:
        await self.http.aclose()


async def simulate(
    base_url: str,
    script: Script,
    agents: list[tuple[str, str]],
    conversations: int,
    *,
    seed: int = 0,
    concurrency: int = 4,
    api_key: str = "",
    timeout_s: float = 30.0,
) -> SimulationStats:
    rng = random.Random(seed)
    stats = SimulationStats()
    headers = {"X-API-Key": api_key} if api_key else None
    client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, headers=headers)
    team = [Agent(base_url, name, password) for name, password in agents]
    try:
        try:
            await client.get("/healthz")
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"cannot reach the api at {base_url}: {exc}; start it with `powerdesk run`"
            ) from exc
        for agent in team:
            await agent.login()
        gate = asyncio.Semaphore(concurrency)
        picks = rng.choices(script.scenarios, weights=[s.weight for s in script.scenarios], k=conversations)
        seeds = [rng.randrange(2**32) for _ in picks]
        await asyncio.gather(
            *(_play(client, team, script, s, random.Random(k), gate, stats) for s, k in zip(picks, seeds, strict=True))
        )
    finally:
        await client.aclose()
        for agent in team:
            await agent.close()
    return stats


async def _say(client: httpx.AsyncClient, user: str, channel: str, text: str, stats: SimulationStats) -> dict[str, Any]:
    response = await client.post("/api/v1/messages", json={"user_id": user, "text": text, "channel": channel})
    stats.messages += 1
    if response.status_code != 200:
        stats.errors.append(f"{response.status_code}: {response.text[:200]}")
        return {}
    return dict(response.json())


async def _play(
    client: httpx.AsyncClient,
    team: list[Agent],
    script: Script,
    scenario: Scenario,
    rng: random.Random,
    gate: asyncio.Semaphore,
    stats: SimulationStats,
) -> None:
    async with gate:
        user = f"sim-{uuid.uuid4().hex[:12]}"
        channel = rng.choice(["widget", "widget", "api"])  # what /api/v1/messages accepts
        state, waited = "", False
        for turn in scenario.turns:
            reply = await _say(client, user, channel, rng.choice(turn), stats)
            state = str(reply.get("state", state))
            waited = waited or state in ("waiting_agent", "with_agent")
            await asyncio.sleep(rng.uniform(0.05, 0.3))
        if waited and team:  # an agent picks the case up, answers and closes it
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            for _attempt in range(5):
                if await rng.choice(team).work_one(rng, script.agent_replies) is not None:
                    stats.handoffs_closed += 1
                    break
                await asyncio.sleep(0.5)
        stats.conversations += 1
        if scenario.ratings and rng.random() < 0.8:
            score = rng.choice(scenario.ratings)
            text = rng.choice(script.rating_texts).format(score=score)
            reply = await _say(client, user, channel, text, stats)
            stats.ratings += 1 if reply else 0


def ensure_demo_agents(sessions: Any, count: int) -> list[tuple[str, str]]:
    """`demo-agent-1` … with fresh random passwords (created if missing); [(username, password)]."""
    from sqlalchemy import select

    from core.db import transaction
    from core.models_console import Agent as AgentRow
    from services import agents

    made = []
    with transaction(sessions) as session:
        for i in range(1, count + 1):
            name, password = f"demo-agent-{i}", secrets.token_urlsafe(18)
            if session.scalar(select(AgentRow.id).where(AgentRow.username == name)) is None:
                agents.create_agent(session, name, f"演示坐席{i}", password)
            else:
                agents.set_password(session, name, password)
                agents.set_active(session, name, True)
            made.append((name, password))
    return made
