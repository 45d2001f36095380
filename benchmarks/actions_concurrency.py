"""Do customers wait for each other in the action server? Ten knowledge questions at once vs one at a time.

Starts the real action server (rasa-sdk, its own port and a seeded SQLite database) and posts
Rasa's webhook requests to it: (1) ten knowledge questions one after another, (2) the same ten at
once, (3) a cheap database look-up alone and (4) sent together with the ten questions. With
actions on rasa-sdk's event loop, every request waits for all that arrived before it; with the
work in threads, the look-up is answered while the questions are still being searched.

    .venv/bin/python benchmarks/actions_concurrency.py [--label after]   # → benchmarks/results/actions.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

# run as a script, this folder comes first on sys.path and its knowledge.py would shadow the package
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from core.clock import local_today  # noqa: E402
from core.db import make_engine, make_session_factory  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.settings import REPO_ROOT, Settings  # noqa: E402
from demo.config import load_demo_config  # noqa: E402
from knowledge.service import embedder_path, ensure_index  # noqa: E402
from ops.demo_seed import seed_demo  # noqa: E402
from ops.runner import process_specs, stop_process_groups  # noqa: E402

QUESTIONS = [
    "阶梯电价是怎么收费的",
    "电费可以在哪里交",
    "峰谷电价的时段怎么划分",
    "怎么开电子发票",
    "电表走得快怎么申请校验",
    "新装一户居民用电要多久",
    "欠费多久会停电",
    "过户需要带什么材料",
    "功率因数调整电费是什么",
    "分布式光伏怎么并网",
]
RESULTS = REPO_ROOT / "benchmarks" / "results" / "actions.json"


def body(action: str, sender: str, text: str, intent: str) -> dict[str, Any]:
    tracker = {
        "sender_id": sender,
        "slots": {},
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
    }
    return {"next_action": action, "sender_id": sender, "tracker": tracker, "domain": {}}


async def timed(client: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> float:
    started = time.perf_counter()
    response = await client.post(url, json=payload, timeout=120)
    response.raise_for_status()
    assert response.json()["responses"], response.text  # every request is answered
    return (time.perf_counter() - started) * 1000


def knowledge(i: int, text: str) -> dict[str, Any]:
    return body("action_answer_knowledge", f"widget:bench-kb-{i}", text, "ask_tariff")


LOOKUP = body("action_query_usage", "widget:bench-lookup", "上个月用了多少电", "query_usage")


async def measure(url: str, rounds: int) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        for i, q in enumerate(QUESTIONS):  # warm: the index, jieba, the database
            await timed(client, url, knowledge(i, q))
        one: list[float] = []
        together: list[float] = []
        lookup_alone: list[float] = []
        lookup_busy: list[float] = []
        for _ in range(rounds):
            for i, q in enumerate(QUESTIONS):
                one.append(await timed(client, url, knowledge(i, q)))
            together += await asyncio.gather(*(timed(client, url, knowledge(i, q)) for i, q in enumerate(QUESTIONS)))
            lookup_alone.append(await timed(client, url, LOOKUP))
            tasks = [asyncio.create_task(timed(client, url, knowledge(i, q))) for i, q in enumerate(QUESTIONS)]
            await asyncio.sleep(0.005)  # the questions arrive first
            lookup_busy.append(await timed(client, url, LOOKUP))
            await asyncio.gather(*tasks)

    def summary(values: list[float]) -> dict[str, float]:
        ordered = sorted(values)
        return {
            "mean_ms": round(statistics.fmean(values), 1),
            "p50_ms": round(statistics.median(values), 1),
            "max_ms": round(ordered[-1], 1),
        }

    out = {
        "one_at_a_time": summary(one),
        "ten_at_once": summary(together),
        "lookup_alone": summary(lookup_alone),
        "lookup_behind_ten_questions": summary(lookup_busy),
    }
    out["ten_at_once_vs_one_mean_ratio"] = round(out["ten_at_once"]["mean_ms"] / out["one_at_a_time"]["mean_ms"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="after", help="key under which the results are stored")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--port", type=int, default=19155)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="powerdesk-actions-bench-"))
    url = f"sqlite:///{root / 'bench.db'}"
    settings = Settings(
        powerdesk_env="test",
        var_dir=root,
        database_url=url,
        action_server_port=args.port,
        action_server_url=f"http://127.0.0.1:{args.port}",
        _env_file=None,
    )
    settings = settings.model_copy(update={"embedding_model": str(embedder_path(Settings(_env_file=None)))})
    upgrade(url)
    engine = make_engine(url)
    seed_demo(make_session_factory(engine), load_demo_config(REPO_ROOT / "data", today=local_today(), customers=20))
    engine.dispose()
    ensure_index(settings)
    spec = next(s for s in process_specs(settings) if s.name == "actions")
    log = open(root / "actions.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        spec.cmd, cwd=spec.cwd, env=spec.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        webhook = f"{settings.action_server_url}/webhook"
        for _ in range(240):
            try:
                if httpx.get(f"{settings.action_server_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        results = asyncio.run(measure(webhook, args.rounds))
    finally:
        stop_process_groups([process])
        log.close()
    stored = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    stored[args.label] = {"measured": local_today().isoformat(), "rounds": args.rounds, **results}
    RESULTS.write_text(json.dumps(stored, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps({args.label: stored[args.label]}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
