"""Satisfaction metrics over a conversation log (pure functions over the frames of `contract.Log`).

Definitions (tested on hand-computed logs in tests/analytics/satisfaction/):

- **contact**: a customer's stretch of talk: the messages of one conversation with no gap longer than
  `session_gap` (30 min). A conversation that stays open for days is several contacts.
- **matter** of a contact: the intent of its first customer message that states a need (not a greeting,
  thanks, yes/no, rating, account binding or fallback); "unknown" when there is none.
- **escalated**: a handoff was created during the contact; **containment** = 1 − escalation rate.
- **resolved**: no later contact by the same customer on the same matter starting within `repeat_window`
  (48 h) after this contact's last message; unknown (NaN) for "unknown" matters, and when the window is
  not yet over at the end of the log and no repeat was seen.
- **fallback**: a customer message classified `nlu_fallback` or with confidence below `low_confidence`.
- **first response**: from the handoff's creation to the agent's first message; **handling time**:
  from claim to close.
- **CSAT**: share of ratings of 4 or 5 (of 1–5), over all ratings, bot-only (`human_involved` false) and
  agent-handled ratings. A rating belongs to the contact it was given in (the latest one started before it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analytics.satisfaction.contract import Log

NOT_A_MATTER = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "rate_service",
        "inform",
        "bind_account",
        "nlu_fallback",
        "kb_select",
    }
)
BREAKDOWNS = ("day", "channel", "matter", "agent")


@dataclass(frozen=True)
class Params:
    session_gap: pd.Timedelta = pd.Timedelta(minutes=30)
    repeat_window: pd.Timedelta = pd.Timedelta(hours=48)
    low_confidence: float = 0.45  # bot/config.yml's FallbackClassifier threshold
    fallback_intents: frozenset[str] = field(default_factory=lambda: frozenset({"nlu_fallback"}))
    good_score: int = 4
    negative_below: float = -0.6  # a message this negative counts as negative (the handoff threshold)


def customer_messages(messages: pd.DataFrame) -> pd.Series:
    return (messages["direction"] == "in") & (messages["sender"] == "customer")


def is_fallback(messages: pd.DataFrame, params: Params) -> pd.Series:
    confidence = pd.to_numeric(messages["confidence"], errors="coerce")
    low = confidence.notna() & (confidence < params.low_confidence)
    return customer_messages(messages) & (messages["intent"].isin(params.fallback_intents) | low)


def contacts(log: Log, params: Params | None = None) -> pd.DataFrame:
    """One row per contact with everything the breakdowns need (see the module's definitions)."""
    params = params or Params()
    log = Log(_ns(log.conversations), _ns(log.messages), _ns(log.handoffs), _ns(log.ratings), log.sentiment)
    m = log.messages.sort_values(["conversation_id", "created_at", "message_id"], kind="stable").reset_index(drop=True)
    if m.empty:
        return _empty_contacts()
    same_conv = m["conversation_id"].eq(m["conversation_id"].shift())
    gap = m["created_at"].diff()
    m["contact_id"] = (~same_conv | (gap > params.session_gap)).cumsum().astype(np.int64)
    inbound = customer_messages(m)
    m["_in"] = inbound
    m["_fallback"] = is_fallback(m, params)
    m["_matter"] = m["intent"].where(inbound & m["intent"].notna() & ~m["intent"].isin(NOT_A_MATTER) & ~m["_fallback"])
    grouped = m.groupby("contact_id", sort=True)
    c = pd.DataFrame(
        {
            "conversation_id": grouped["conversation_id"].first(),
            "start": grouped["created_at"].min(),
            "end": grouped["created_at"].max(),
            "customer_messages": grouped["_in"].sum().astype(np.int64),
            "fallbacks": grouped["_fallback"].sum().astype(np.int64),
            "matter": grouped["_matter"].first().fillna("unknown"),
        }
    )
    c.index.name = "contact_id"
    c = c.reset_index()
    conv = log.conversations[["conversation_id", "channel", "customer_key"]].drop_duplicates("conversation_id")
    c = c.merge(conv, on="conversation_id", how="left")
    c["channel"] = c["channel"].fillna("unknown")
    c["customer_key"] = c["customer_key"].fillna("conversation:" + c["conversation_id"].astype(str))
    c["day"] = c["start"].dt.normalize()
    c = _attach_handoffs(c, m, log.handoffs)
    c = _attach_ratings(c, log.ratings)
    c = _attach_resolution(c, m["created_at"].max(), params)
    c = _attach_sentiment(c, m, log.sentiment, params)
    return c


def _ns(frame: pd.DataFrame) -> pd.DataFrame:
    """Times as datetime64[ns] everywhere (pandas 3 reads CSVs as µs and merge_asof needs equal units)."""
    frame = frame.copy()
    for col in ("started_at", "created_at", "claimed_at", "closed_at"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col]).astype("datetime64[ns]")
    return frame


def _empty_contacts() -> pd.DataFrame:
    cols = {
        "contact_id": "int64",
        "conversation_id": "int64",
        "start": "datetime64[ns]",
        "end": "datetime64[ns]",
        "customer_messages": "int64",
        "fallbacks": "int64",
        "matter": object,
        "channel": object,
        "customer_key": object,
        "day": "datetime64[ns]",
        "escalated": bool,
        "reason": object,
        "agent": object,
        "first_response_s": float,
        "handling_s": float,
        "score": float,
        "human_involved": object,
        "resolved": float,
        "sentiment": float,
        "negative_messages": "int64",
        "scored_messages": "int64",
    }
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in cols.items()})


def _locate(events: pd.DataFrame, c: pd.DataFrame, time_col: str) -> pd.Series:
    """The contact each event falls in: the latest contact of its conversation started at or before it."""
    if events.empty:
        return pd.Series(dtype=np.int64)
    left = events[["conversation_id", time_col]].copy()
    left["_row"] = np.arange(len(left))
    left["_t"] = pd.to_datetime(left[time_col]).astype("datetime64[ns]")
    left = left.sort_values("_t", kind="stable")
    right = c[["conversation_id", "start", "contact_id"]].copy()
    right["_t"] = right["start"].astype("datetime64[ns]")
    right = right.sort_values("_t", kind="stable")
    merged = pd.merge_asof(left, right[["conversation_id", "_t", "contact_id"]], on="_t", by="conversation_id")
    # events before the conversation's first message (clock skew): the first contact
    first = c.groupby("conversation_id")["contact_id"].min()
    merged["contact_id"] = merged["contact_id"].fillna(merged["conversation_id"].map(first))
    return merged.set_index("_row")["contact_id"].sort_index()


def _attach_handoffs(c: pd.DataFrame, m: pd.DataFrame, handoffs: pd.DataFrame) -> pd.DataFrame:
    h = handoffs.copy()
    for col in ("created_at", "claimed_at", "closed_at"):
        h[col] = pd.to_datetime(h[col]).astype("datetime64[ns]")
    h["contact_id"] = _locate(h, c, "created_at").to_numpy() if len(h) else pd.Series(dtype=np.int64)
    h = h.dropna(subset=["contact_id"]).sort_values(["contact_id", "created_at", "handoff_id"], kind="stable")
    agent_msgs = m.loc[m["sender"] == "agent", ["conversation_id", "created_at"]].rename(
        columns={"created_at": "_reply"}
    )
    if len(h) and len(agent_msgs):
        probe = h[["handoff_id", "conversation_id", "created_at"]].sort_values("created_at", kind="stable")
        agent_msgs = agent_msgs.assign(created_at=agent_msgs["_reply"]).sort_values("created_at", kind="stable")
        first = pd.merge_asof(probe, agent_msgs, on="created_at", by="conversation_id", direction="forward")
        h = h.merge(first[["handoff_id", "_reply"]], on="handoff_id", how="left")
    else:
        h["_reply"] = pd.NaT
    h["first_response_s"] = (h["_reply"] - h["created_at"]).dt.total_seconds()
    h["handling_s"] = (h["closed_at"] - h["claimed_at"]).dt.total_seconds()
    firsts = h.groupby("contact_id").first()[["reason", "agent", "first_response_s", "handling_s"]]
    firsts.index = firsts.index.astype(np.int64)
    c = c.merge(firsts, left_on="contact_id", right_index=True, how="left")
    c["escalated"] = c["contact_id"].isin(firsts.index)
    return c


def _attach_ratings(c: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    r = ratings.copy()
    if len(r):
        r["contact_id"] = _locate(r, c, "created_at").to_numpy()
        r = r.dropna(subset=["contact_id"]).drop_duplicates("contact_id", keep="last")
        r = r.set_index(r["contact_id"].astype(np.int64))[["score", "human_involved", "agent"]]
        r = r.rename(columns={"agent": "rated_agent"})
    else:
        r = pd.DataFrame(columns=["score", "human_involved", "rated_agent"])
    c = c.merge(r, left_on="contact_id", right_index=True, how="left")
    c["score"] = pd.to_numeric(c["score"], errors="coerce").astype(float)
    c["agent"] = c["agent"].where(c["agent"].notna(), c["rated_agent"])
    return c.drop(columns=["rated_agent"])


def _attach_resolution(c: pd.DataFrame, horizon: pd.Timestamp, params: Params) -> pd.DataFrame:
    c = c.sort_values(["customer_key", "matter", "start", "contact_id"], kind="stable")
    next_start = c.groupby(["customer_key", "matter"], sort=False)["start"].shift(-1)
    repeat = (next_start - c["end"]) <= params.repeat_window
    window_over = (c["end"] + params.repeat_window) <= horizon
    resolved = pd.Series(np.nan, index=c.index)
    resolved[repeat] = 0.0
    resolved[~repeat & window_over] = 1.0
    resolved[c["matter"] == "unknown"] = np.nan
    c["resolved"] = resolved
    return c.sort_values("contact_id", kind="stable").reset_index(drop=True)


def _attach_sentiment(c: pd.DataFrame, m: pd.DataFrame, sentiment: pd.Series | None, params: Params) -> pd.DataFrame:
    if sentiment is None or sentiment.empty:
        c["sentiment"], c["negative_messages"], c["scored_messages"] = np.nan, 0, 0
        return c
    scored = m.loc[m["_in"], ["message_id", "contact_id"]].copy()
    scored["s"] = scored["message_id"].map(sentiment)
    scored = scored.dropna(subset=["s"])
    scored["neg"] = scored["s"] <= params.negative_below
    g = scored.groupby("contact_id")
    agg = pd.DataFrame(
        {"sentiment": g["s"].mean(), "negative_messages": g["neg"].sum(), "scored_messages": g["s"].size()}
    )
    c = c.merge(agg, left_on="contact_id", right_index=True, how="left")
    c[["negative_messages", "scored_messages"]] = c[["negative_messages", "scored_messages"]].fillna(0).astype(np.int64)
    return c


def summarise(c: pd.DataFrame, by: str | None = None, params: Params | None = None) -> pd.DataFrame:
    """The metrics per value of `by` ("day", "channel", "matter", "agent"), or one row for everything."""
    params = params or Params()
    if by is not None and by not in BREAKDOWNS:
        raise ValueError(f"breakdown must be one of {BREAKDOWNS}; got {by!r}")
    frame = c.assign(_all="all")
    if by == "agent":
        frame = frame[frame["agent"].notna()]
    key = by or "_all"
    rated = frame["score"].notna()
    good = (frame["score"] >= params.good_score).astype(float).where(rated)
    human = frame["human_involved"].fillna(False).astype(bool)
    g = frame.assign(
        _good=good,
        _good_bot=good.where(rated & ~human),
        _good_agent=good.where(rated & human),
        _escalated=frame["escalated"].astype(float),
    ).groupby(key, sort=True)
    out = pd.DataFrame(
        {
            "contacts": g.size(),
            "customer_messages": g["customer_messages"].sum(),
            "containment": 1.0 - g["_escalated"].mean(),
            "escalation_rate": g["_escalated"].mean(),
            "resolution_rate": g["resolved"].mean(),
            "fallback_rate": g["fallbacks"].sum() / g["customer_messages"].sum().replace(0, np.nan),
            "ratings": g["score"].count(),
            "mean_score": g["score"].mean(),
            "csat": g["_good"].mean(),
            "csat_bot": g["_good_bot"].mean(),
            "csat_agent": g["_good_agent"].mean(),
            "first_response_median_s": g["first_response_s"].median(),
            "handling_median_s": g["handling_s"].median(),
            "sentiment_mean": g["sentiment"].mean(),
            "negative_share": g["negative_messages"].sum() / g["scored_messages"].sum().replace(0, np.nan),
        }
    )
    out.index.name = by or "scope"
    return out.reset_index()


def escalation_reasons(c: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Escalated contacts per reason (and per `by`), with each reason's share of the escalations."""
    e = c[c["escalated"]]
    keys = [by, "reason"] if by else ["reason"]
    counts = e.groupby(keys, sort=True).size().rename("escalations").reset_index()
    totals = counts.groupby(by)["escalations"].transform("sum") if by else counts["escalations"].sum()
    counts["share"] = counts["escalations"] / totals
    return counts


def intent_mix(messages: pd.DataFrame, by_day: bool = False) -> pd.DataFrame:
    """Customer messages per intent (unclassified ones as "none"), with each intent's share."""
    m = messages[customer_messages(messages)]
    intents = m["intent"].fillna("none")
    if by_day:
        frame = pd.DataFrame({"day": pd.to_datetime(m["created_at"]).dt.normalize(), "intent": intents})
        counts = frame.groupby(["day", "intent"]).size().rename("messages").reset_index()
        counts["share"] = counts["messages"] / counts.groupby("day")["messages"].transform("sum")
        return counts
    counts = intents.value_counts().rename("messages").rename_axis("intent").reset_index()
    counts["share"] = counts["messages"] / counts["messages"].sum() if len(counts) else counts["messages"]
    return counts.sort_values(["messages", "intent"], ascending=[False, True], kind="stable").reset_index(drop=True)
