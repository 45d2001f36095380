"""Metric definitions on the hand-computed log in tests/fixtures/satisfaction (worked out below).

Contacts: A = conv 1 (c1, widget, 11-02 10:00–10:01:05, query_bill, 2 customer messages, 1 fallback);
B = conv 3 (c1, widget, 11-03 09:00–09:12, query_bill, 3 messages, handoff "asked" to wang, agent's first
message 120 s after the handoff, claim→close 600 s, rated 5 with a person); C = conv 2 14:00–14:02:03
(c2, wechat, ask_tariff — the 0.4-confidence message is a fallback, not the matter — 3 messages);
D = conv 2 from 15:00 (58 min later: a new contact; thanks and a rating of 3 by the bot only; matter unknown);
E = conv 4 (c3, api, complain, handoff "complaint" claimed by li, not yet answered or closed).
The log ends at 11-06 08:00:02.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analytics.satisfaction.contract import Log, check_log, require_log
from analytics.satisfaction.metrics import Params, contacts, escalation_reasons, intent_mix, summarise
from core.errors import InvalidInput

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "satisfaction"
TIMES = ["started_at", "created_at", "claimed_at", "closed_at"]


def read_log(folder: Path = FIXTURE) -> Log:
    frames = {}
    for name in ("conversations", "messages", "handoffs", "ratings"):
        frame = pd.read_csv(folder / f"{name}.csv", dtype={"text": str, "intent": object, "agent": object})
        for col in TIMES:
            if col in frame:
                frame[col] = pd.to_datetime(frame[col])
        frames[name] = frame
    frames["ratings"]["human_involved"] = frames["ratings"]["human_involved"].astype(bool)
    sentiment = pd.read_csv(folder / "sentiment.csv").set_index("message_id")["score"]
    return Log(**frames, sentiment=sentiment)


@pytest.fixture(scope="module")
def log() -> Log:
    return read_log()


@pytest.fixture(scope="module")
def table(log: Log) -> pd.DataFrame:
    return contacts(log).set_index("conversation_id", append=True)


def by_letter(c: pd.DataFrame) -> dict[str, pd.Series]:
    rows = c.reset_index().sort_values("start")
    # order by start: A (11-02 10:00), C (14:00), D (15:00), B (11-03), E (11-06)
    return dict(zip("ACDBE", (row for _, row in rows.iterrows()), strict=True))


def test_contacts_split_on_gaps_and_carry_their_matter(table: pd.DataFrame) -> None:
    rows = by_letter(table)
    assert len(table) == 5
    assert [rows[k]["matter"] for k in "ABCDE"] == ["query_bill", "query_bill", "ask_tariff", "unknown", "complain"]
    assert [rows[k]["customer_messages"] for k in "ABCDE"] == [2, 3, 3, 2, 1]
    assert [rows[k]["fallbacks"] for k in "ABCDE"] == [1, 0, 1, 0, 0]
    assert rows["C"]["conversation_id"] == rows["D"]["conversation_id"] == 2


def test_resolution_is_no_repeat_on_the_same_matter_within_48_hours(table: pd.DataFrame) -> None:
    rows = by_letter(table)
    assert rows["A"]["resolved"] == 0.0  # c1 came back on query_bill 23 h later (contact B)
    assert rows["B"]["resolved"] == 1.0  # 48 h passed (log ends 11-06) without a repeat
    assert rows["C"]["resolved"] == 1.0  # D is a different (unknown) matter
    assert math.isnan(rows["D"]["resolved"])  # no matter
    assert math.isnan(rows["E"]["resolved"])  # window not over at the end of the log


def test_handoff_times_and_agents(table: pd.DataFrame) -> None:
    rows = by_letter(table)
    assert rows["B"]["escalated"] and rows["E"]["escalated"] and not rows["A"]["escalated"]
    assert rows["B"]["first_response_s"] == 120.0 and rows["B"]["handling_s"] == 600.0
    assert math.isnan(rows["E"]["first_response_s"]) and math.isnan(rows["E"]["handling_s"])
    assert (rows["B"]["agent"], rows["E"]["agent"], rows["B"]["reason"]) == ("wang", "li", "asked")
    assert rows["B"]["score"] == 5 and rows["D"]["score"] == 3 and math.isnan(rows["C"]["score"])


def test_overall_summary_matches_hand_computation(table: pd.DataFrame) -> None:
    s = summarise(table.reset_index()).iloc[0]
    assert s["contacts"] == 5 and s["customer_messages"] == 11
    assert s["escalation_rate"] == pytest.approx(2 / 5) and s["containment"] == pytest.approx(3 / 5)
    assert s["resolution_rate"] == pytest.approx(2 / 3)  # A 0, B 1, C 1
    assert s["fallback_rate"] == pytest.approx(2 / 11)
    assert s["ratings"] == 2 and s["mean_score"] == pytest.approx(4.0)
    assert (s["csat"], s["csat_bot"], s["csat_agent"]) == pytest.approx((0.5, 0.0, 1.0))
    assert s["first_response_median_s"] == 120.0 and s["handling_median_s"] == 600.0
    # contact means: A -0.3, B 0.0667, C 0.3333, D 0.45, E -0.95
    assert s["sentiment_mean"] == pytest.approx(-0.08)
    assert s["negative_share"] == pytest.approx(2 / 11)  # -0.7 and -0.95 are ≤ -0.6


def test_breakdowns_per_day_channel_matter_and_agent(table: pd.DataFrame) -> None:
    flat = table.reset_index()
    days = summarise(flat, "day").set_index("day")
    assert days["contacts"].tolist() == [3, 1, 1]  # 11-02: A C D; 11-03: B; 11-06: E
    assert days.loc[pd.Timestamp("2026-11-02"), "escalation_rate"] == 0
    channels = summarise(flat, "channel").set_index("channel")
    assert channels.loc["widget", "csat_agent"] == 1.0 and channels.loc["wechat", "csat_bot"] == 0.0
    assert channels.loc["widget", "resolution_rate"] == 0.5
    agents = summarise(flat, "agent").set_index("agent")
    assert sorted(agents.index) == ["li", "wang"] and agents.loc["wang", "handling_median_s"] == 600
    matters = summarise(flat, "matter").set_index("matter")
    assert matters.loc["query_bill", "contacts"] == 2 and matters.loc["query_bill", "fallback_rate"] == 0.2
    with pytest.raises(ValueError, match="breakdown"):
        summarise(flat, "weather")


def test_escalation_reasons_and_intent_mix(log: Log, table: pd.DataFrame) -> None:
    reasons = escalation_reasons(table.reset_index()).set_index("reason")
    assert reasons["escalations"].to_dict() == {"asked": 1, "complaint": 1}
    assert reasons["share"].tolist() == [0.5, 0.5]
    mix = intent_mix(log.messages).set_index("intent")["messages"].to_dict()
    assert mix == {
        "query_bill": 2,
        "rate_service": 2,
        "ask_tariff": 2,
        "nlu_fallback": 1,
        "request_human": 1,
        "greet": 1,
        "thank": 1,
        "complain": 1,
    }
    daily = intent_mix(log.messages, by_day=True)
    assert daily.groupby("day")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])


def test_a_longer_gap_merges_contacts(log: Log) -> None:
    merged = contacts(log, Params(session_gap=pd.Timedelta(hours=2)))
    assert len(merged) == 4  # C and D become one contact


def test_empty_log_and_contract_violations(log: Log) -> None:
    empty = Log(log.conversations.iloc[:0], log.messages.iloc[:0], log.handoffs.iloc[:0], log.ratings.iloc[:0])
    assert contacts(empty).empty and summarise(contacts(empty)).empty
    bad_messages = log.messages.copy()
    bad_messages.loc[0, "confidence"] = 7.0
    bad_messages.loc[1, "direction"] = "sideways"
    bad_ratings = log.ratings.copy()
    bad_ratings.loc[0, "score"] = 9
    broken = Log(log.conversations, bad_messages, log.handoffs, bad_ratings)
    problems = check_log(broken)
    assert problems["messages"]["message_id"].tolist() == [1, 2]
    assert problems["ratings"]["score"].tolist() == [9]
    assert check_log(log) == {}
    with pytest.raises(InvalidInput, match="contract"):
        require_log(broken)
    missing = Log(log.conversations.drop(columns=["channel"]), log.messages, log.handoffs, log.ratings)
    assert check_log(missing)["conversations"]["missing_column"].tolist() == ["channel"]
