"""Evaluation of whole conversations as customers meet them: the scripts (YAML), what a turn's replies must show,
and the values a reply must state, read from the database for the dialogue's customer.

A script (data/eval/conversations_*.yml) is a list of dialogues:
  {name, pattern, customer?: residential|residential_tou|shared|commercial|industrial, bound?: bool,
   affected?: fault|planned|none (a customer the demo's active fault / a planned outage within 7 days / no event
             affects),
   turns: [{say, expect?: {topic, no_knowledge, asks, handoff, ticket (a kind, created: any, none), declined,
                            buttons, contains,
                            contains_any, not_contains, outage: fault|planned|none, ticket_status: bool,
                            facts: [{value, months_ago|days_ago|last_days}]}}]}
`say` may hold {account_no} {phone_last4} {wrong_last4} {m1}…{m4} (the month numbers 1–4 months ago).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, false, func, not_, or_, select
from sqlalchemy.orm import Session

from core.datafiles import read_yaml_list, read_yaml_mapping
from core.errors import DataError
from core.models import Customer
from core.models_billing import Bill
from services.customers import CUSTOMER_KINDS, of_kind
from services.meter_data import daily_kwh, interval_days, meters_of
from services.outage_scope import covers
from services.outages import list_outages

KINDS = CUSTOMER_KINDS
EXPECT_KEYS = frozenset(
    {"topic", "no_knowledge", "asks", "handoff", "ticket", "declined", "buttons", "contains", "contains_any"}
    | {"not_contains", "facts", "outage", "ticket_status"}
)
AFFECTED = ("fault", "planned", "none")
FACT_VALUES = frozenset({"bill_total", "month_kwh", "day_kwh", "days_kwh"})
MAX_TURNS = 20


@dataclass(frozen=True)
class Turn:
    say: str
    expect: dict[str, Any]


@dataclass(frozen=True)
class Dialogue:
    name: str
    pattern: str
    customer: str | None
    bound: bool
    turns: tuple[Turn, ...]
    affected: str | None = None


@dataclass
class TurnOutcome:
    said: str
    state: str
    replies: list[dict[str, Any]]
    failures: list[str] = field(default_factory=list)


def _check_expect(where: str, expect: Any) -> dict[str, Any]:
    if expect is None:
        return {}
    if not isinstance(expect, dict):
        raise DataError(f"{where}: `expect` must be a mapping")
    unknown = set(expect) - EXPECT_KEYS
    if unknown:
        raise DataError(f"{where}: unknown expectation(s) {sorted(unknown)}; use {sorted(EXPECT_KEYS)}")
    for fact in expect.get("facts") or []:
        if not isinstance(fact, dict) or fact.get("value") not in FACT_VALUES:
            raise DataError(f"{where}: a fact needs `value` in {sorted(FACT_VALUES)}")
        if not any(k in fact for k in ("months_ago", "days_ago", "last_days")):
            raise DataError(f"{where}: a fact needs months_ago, days_ago or last_days")
    return expect


def load_dialogues(path: Path) -> list[Dialogue]:
    dialogues: list[Dialogue] = []
    for i, raw in enumerate(read_yaml_list(path), 1):
        where = f"{path}: dialogue {i}"
        if not isinstance(raw, dict) or not raw.get("name") or not isinstance(raw.get("turns"), list):
            raise DataError(f"{where}: needs `name` and a list of `turns`")
        customer = raw.get("customer")
        if customer is not None and customer not in KINDS:
            raise DataError(f"{where}: customer {customer!r} is not one of {KINDS}")
        affected = raw.get("affected")
        if affected is not None and affected not in AFFECTED:
            raise DataError(f"{where}: affected {affected!r} is not one of {AFFECTED}")
        if raw.get("bound") and customer is None and affected is None:
            raise DataError(f"{where}: `bound: true` needs a `customer` kind or `affected`")
        turns = []
        for j, t in enumerate(raw["turns"][:MAX_TURNS], 1):
            if not isinstance(t, dict) or not isinstance(t.get("say"), str) or not t["say"].strip():
                raise DataError(f"{where}, turn {j}: needs `say` (what the customer types)")
            turns.append(Turn(t["say"], _check_expect(f"{where}, turn {j}", t.get("expect"))))
        dialogues.append(
            Dialogue(
                str(raw["name"]),
                str(raw.get("pattern") or ""),
                customer,
                bool(raw.get("bound")),
                tuple(turns),
                affected,
            )
        )
    return dialogues


# --- the demo customer a dialogue plays, and the values its replies must state ---------------------------------


def _playable(*conditions: Any) -> Select[tuple[Customer]]:
    """Demo customers with a phone and bills meeting `conditions`, in a fixed order."""
    with_bills = select(Bill.customer_id).distinct()
    return (
        select(Customer)
        .where(*conditions, Customer.phone.is_not(None), Customer.id.in_(with_bills))
        .order_by(Customer.id)
    )


def _nth(session: Session, query: Select[tuple[Customer]], index: int, missing: str) -> Customer:
    """One of the first 50 customers of `query`, a different one per `index` (DataError `missing` when none)."""
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    if count == 0:
        raise DataError(missing)
    customer = session.scalars(query.offset(index % min(count, 50)).limit(1)).first()
    assert customer is not None
    return customer


def pick_customer(session: Session, kind: str, index: int) -> Customer:
    """A demo customer of `kind` with a phone and bills (a different one per `index`, deterministically)."""
    missing = f"no demo customer of kind {kind!r} with a phone and bills; run `powerdesk demo seed`"
    return _nth(session, _playable(of_kind(kind)), index, missing)


def pick_affected(session: Session, affected: str, kind: str | None, index: int, now: dt.datetime) -> Customer:
    """A demo customer with a phone and bills whom the active fault (`fault`) or a planned outage in the next 7 days
    (`planned`) affects, or whom no open event affects (`none`); `now` is local time."""
    open_events = [
        *list_outages(session=session, which="active", now=now),
        *list_outages(session=session, which="coming", now=now),
    ]
    horizon = now + dt.timedelta(days=7)
    if affected == "fault":
        events = [e for e in open_events if e.kind == "fault"]
    elif affected == "planned":
        events = [e for e in open_events if e.kind == "planned" and e.start > now and e.start < horizon]
    else:
        events = open_events
    if affected != "none" and not events:
        raise DataError(f"no open {affected} outage in the demo; run `powerdesk demo extend` to refresh its events")
    condition = or_(*[covers(e) for e in events]) if events else false()
    conditions = [not_(condition) if affected == "none" else condition]
    faults = [covers(e) for e in open_events if e.kind == "fault"]
    if affected == "planned" and faults:  # the planned outage is what they are told about: no fault as well
        conditions.append(not_(or_(*faults)))
    if kind is not None:
        conditions.append(of_kind(kind))
    missing = f"no demo customer with a phone and bills is affected by {affected!r}; check `powerdesk outage list`"
    return _nth(session, _playable(*conditions), index, missing)


def months_ago(today: dt.date, n: int) -> dt.date:
    index = today.year * 12 + today.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def placeholders(customer: Customer | None, today: dt.date) -> dict[str, str]:
    values = {f"m{n}": str(months_ago(today, n).month) for n in range(1, 5)}
    if customer is not None:
        last4 = (customer.phone or "")[-4:]
        values |= {"account_no": customer.account_no, "phone_last4": last4}
        values["wrong_last4"] = next(c for c in ("0000", "1111", "2222", "9999") if c != last4)
    return values


def _day_kwh(session: Session, customer: Customer, first: dt.date, last: dt.date) -> float | None:
    if any(m.resolution in ("15min", "hourly") for m in meters_of(session, customer.id)):
        days = interval_days(session, customer.id, first, last)
        return float(days.sum(dtype=float)) if days.shape[0] else None
    daily = daily_kwh(session, customer.id, first, last)
    return float(sum(daily)) if daily else None


def fact_value(session: Session, customer: Customer, fact: dict[str, Any], today: dt.date) -> float | None:
    """The number a reply must state for `fact`; None when the database has none (the expectation then fails)."""
    value = fact["value"]
    if value in ("bill_total", "month_kwh"):
        start = months_ago(today, int(fact.get("months_ago", 1)))
        if value == "bill_total":
            bill = session.scalars(
                select(Bill).where(Bill.customer_id == customer.id, Bill.period_start == start).order_by(Bill.id)
            ).first()
            return float(bill.total) if bill else None
        end = months_ago(today, int(fact.get("months_ago", 1)) - 1) - dt.timedelta(days=1)
        return _day_kwh(session, customer, start, min(end, today - dt.timedelta(days=1)))
    if value == "day_kwh":
        day = today - dt.timedelta(days=int(fact.get("days_ago", 1)))
        return _day_kwh(session, customer, day, day)
    n = int(fact.get("last_days", 7))
    return _day_kwh(session, customer, today - dt.timedelta(days=n), today - dt.timedelta(days=1))


def number_forms(value: float) -> set[str]:
    """How a reply may write a number (bills: 1,234.50; usage: 1234.5 or 1234.50)."""
    return {f"{value:,.2f}", f"{value:.2f}", f"{value:g}", f"{round(value, 2):g}", f"{value:.1f}"}


# --- checking one turn ------------------------------------------------------------------------------------------


def _customs(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r["custom"] for r in replies if isinstance(r.get("custom"), dict)]


def asked_slot(replies: list[dict[str, Any]]) -> str:
    """The slot the bot's last question asks for ("none": no form question pending)."""
    asks = [str(c["asks"]) for c in _customs(replies) if c.get("asks")]
    return asks[-1] if asks else "none"


def check_turn(
    expect: dict[str, Any], state: str, replies: list[dict[str, Any]], facts: list[tuple[str, float | None]]
) -> list[str]:
    """What does not hold in this turn's replies (empty: the turn passed)."""
    text = "\n".join(str(r.get("text") or "") for r in replies)
    customs = _customs(replies)
    topics = [str((c.get("knowledge") or {}).get("topic")) for c in customs if isinstance(c.get("knowledge"), dict)]
    failures = []
    if "topic" in expect and expect["topic"] not in topics:
        failures.append(f"topic {expect['topic']} expected, got {topics or 'no knowledge answer'}")
    told = [c["outages"] for c in customs if isinstance(c.get("outages"), list)]
    if "outage" in expect:
        wanted = str(expect["outage"])
        kinds = {str(e.get("kind")) for events in told for e in events if isinstance(e, dict)}
        ok = bool(told) and (not any(told) if wanted == "none" else wanted in kinds)
        if not ok:
            failures.append(f"outage {wanted} expected, got {sorted(kinds) if told else 'no outage answer'}")
    if "ticket_status" in expect:
        stated = any(isinstance(c.get("ticket_status"), dict) for c in customs)
        if stated != bool(expect["ticket_status"]):
            failures.append(f"ticket_status {expect['ticket_status']} expected, got {stated}")
    if expect.get("no_knowledge") and topics:
        failures.append(f"no knowledge answer expected, got {topics}")
    if "asks" in expect and asked_slot(replies) != str(expect["asks"]):
        failures.append(f"asks {expect['asks']} expected, got {asked_slot(replies)}")
    handed = state != "bot" or any("handoff" in c or "callback" in c for c in customs)
    if "handoff" in expect and bool(expect["handoff"]) != handed:
        failures.append(f"handoff {expect['handoff']} expected, got {handed} (state {state})")
    tickets = [str((c.get("ticket") or {}).get("kind")) for c in customs if isinstance(c.get("ticket"), dict)]
    if "ticket" in expect:
        wanted = str(expect["ticket"])
        created = bool(tickets) if wanted == "created" else wanted in tickets  # "created": of any kind
        if (wanted == "none" and tickets) or (wanted != "none" and not created):
            failures.append(f"ticket {wanted} expected, got {tickets or 'none'}")
    declined = any(c.get("declined") for c in customs)
    if "declined" in expect and bool(expect["declined"]) != declined:
        failures.append(f"declined {expect['declined']} expected, got {declined}")
    if "buttons" in expect and bool(expect["buttons"]) != any(r.get("buttons") for r in replies):
        failures.append(f"buttons {expect['buttons']} expected")
    failures += [f"missing {s!r}" for s in expect.get("contains") or [] if str(s) not in text]
    any_of = [str(s) for s in expect.get("contains_any") or []]
    if any_of and not any(s in text for s in any_of):
        failures.append(f"none of {any_of} in the replies")
    failures += [f"must not contain {s!r}" for s in expect.get("not_contains") or [] if str(s) in text]
    for label, value in facts:
        if value is None:
            failures.append(f"{label}: no value in the database")
        elif not any(form in text for form in number_forms(value)):
            failures.append(f"{label} = {value:.2f} not stated")
    return failures


# --- task requests: does a request to act start the right task? -------------------------------------------------

TASK_STARTS = {
    "query_bill": "binding",
    "query_usage": "binding",
    "explain_bill": "binding",
    "recommend_plan": "binding",
    "energy_saving": "binding",
    "bind_account": "binding",
    "report_outage": "repair",
    "load_risk": "load_risk",
    "complain": "handoff",
    "request_human": "handoff",
}


# the button that starts each task (data/dialogue/understanding.yml): a general answer with it is "offered"
TASK_PAYLOADS = {
    "query_bill": "/query_bill",
    "query_usage": "/query_usage",
    "explain_bill": "/explain_bill",
    "recommend_plan": "/recommend_plan",
    "energy_saving": "/energy_saving",
    "bind_account": "/bind_account",
}


def load_nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, text) of a Rasa NLU YAML file (plain examples; entity annotations are unwrapped)."""
    data = read_yaml_mapping(path)
    examples: list[tuple[str, str]] = []
    for block in data.get("nlu") or []:
        if not isinstance(block, dict) or "intent" not in block:
            continue
        for line in str(block.get("examples") or "").splitlines():
            text = line.strip()
            if text.startswith("- "):
                plain = re.sub(
                    r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\{[^}]*\}", lambda m: m.group(1) or m.group(2), text[2:]
                )
                examples.append((str(block["intent"]), plain.strip()))
    return examples


def task_start(intent: str, state: str, replies: list[dict[str, Any]]) -> str:
    """How a fresh (unbound) customer's request of `intent` was met: "started" (the account check for their own
    data and binding, the repair form or the safety advice, the forecast, a person or a booked callback),
    "offered" (a general answer with the button that starts the task) or "missed"."""
    customs = _customs(replies)
    wanted = TASK_STARTS[intent]
    topics = [(c.get("knowledge") or {}).get("topic") for c in customs if isinstance(c.get("knowledge"), dict)]
    if wanted == "binding":
        # the account check: the 户号 asked for, or (given in the message) the phone digits that verify it
        started = asked_slot(replies) in ("account_no", "phone_last4") or any(
            c.get("task") == "binding" for c in customs
        )
    elif wanted == "repair":
        started = asked_slot(replies) == "address" or any(c.get("safety") for c in customs)
    elif wanted == "load_risk":
        started = any(c.get("task") == "load_risk" for c in customs) or "demand.response" in topics
    else:
        started = state != "bot" or any("handoff" in c or "callback" in c for c in customs)
    if started:
        return "started"
    payload = TASK_PAYLOADS.get(intent)
    offered = any(b.get("payload") == payload for r in replies for b in r.get("buttons") or [])
    return "offered" if topics and offered else "missed"
