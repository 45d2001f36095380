"""Bills in the conversation: the month's bill line by line, why it changed, and what to do when it is wrong."""

from __future__ import annotations

import datetime as dt

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.base import Events, known_conversation
from actions.parsing import month_label
from actions.services import Services
from actions.usage import MonthlyLookup, month_key, topic_month
from analytics.billing.audit import Finding, audit_customer
from analytics.billing.wording import BillView, bill_text, explain_text
from core.db import transaction
from core.models import Customer, Ticket
from core.models_billing import Bill
from services.bills import load_partition
from services.ticket_lifecycle import is_open
from services.tickets import create_ticket


def _bills(session: Session, customer_id: int, first: dt.date, last: dt.date) -> list[Bill]:
    query = (
        select(Bill)
        .where(Bill.customer_id == customer_id, Bill.period_start >= first, Bill.period_start <= last)
        .order_by(Bill.period_start, Bill.id)
    )
    return list(session.scalars(query))


def _view(bill: Bill, customer: Customer) -> BillView:
    return BillView(
        bill.period_start,
        bill.period_end,
        bill.category,
        bill.schedule_id,
        bill.year_to_date_kwh,
        bill.lines,
        bill.total,
        customer.pf_standard,
    )


def _shift(year: int, month: int, months: int) -> dt.date:
    index = year * 12 + (month - 1) + months
    return dt.date(index // 12, index % 12 + 1, 1)


def check_month(services: Services, session: Session, customer: Customer, bills: list[Bill]) -> list[Finding]:
    """Recompute the month's `bills` (and the month before, for the reading chain) from the meter data."""
    month = bills[0].period_start
    part = load_partition(session, [customer.id], _shift(month.year, month.month, -1), month, services.tariff_book())
    findings = audit_customer(part.stored.get(customer.id, []), part.expected.get(customer.id, {}))
    return [f for f in findings if f.bill_id in {b.id for b in bills}]


def latest_bill(session: Session, customer_id: int, before: dt.date) -> Bill | None:
    query = (
        select(Bill)
        .where(Bill.customer_id == customer_id, Bill.period_start < before)
        .order_by(Bill.period_start.desc(), Bill.id.desc())
    )
    return session.scalars(query).first()


class _BillLookup(MonthlyLookup):
    task = "bill"

    def answer(
        self,
        services: Services,
        session: Session,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        customer: Customer,
        year: int,
        month: int,
    ) -> Events:
        start = dt.date(year, month, 1)
        bills = _bills(session, customer.id, start, start)
        label = month_label(year, month)
        if not bills:
            latest = latest_bill(session, customer.id, start)
            if latest is None:
                dispatcher.utter_message(response="utter_bill_not_issued", month_label=label)
                return super().answer(services, session, dispatcher, tracker, customer, year, month)
            # not issued yet: say so, and show the latest issued one (the month under discussion from now on)
            issued = latest.period_start
            dispatcher.utter_message(
                response="utter_bill_not_issued_latest",
                month_label=label,
                latest_label=month_label(issued.year, issued.month),
            )
            events = self.answer(services, session, dispatcher, tracker, customer, issued.year, issued.month)
            return [SlotSet("topic_month", month_key(issued.year, issued.month)), *events]
        findings = check_month(services, session, customer, bills)
        events = self.show(services, session, dispatcher, customer, bills[0], label)
        if findings:  # the bill as issued, then why it is being checked
            return [*events, *self.wrong_bill(services, dispatcher, tracker, customer, bills[0], findings, label)]
        return events

    def show(
        self,
        services: Services,
        session: Session,
        dispatcher: CollectingDispatcher,
        customer: Customer,
        bill: Bill,
        label: str,
    ) -> Events:
        dispatcher.utter_message(
            response="utter_bill_detail", bill_text=bill_text(_view(bill, customer), label, services.bill_wording())
        )
        return []

    def wrong_bill(
        self,
        services: Services,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        customer: Customer,
        bill: Bill,
        findings: list[Finding],
        label: str,
    ) -> Events:
        """Apologise, open (or reuse) a correction ticket, offer a person."""
        marker = f"账单#{bill.id}"
        description = f"{marker} {label}账单稽核异常：" + "；".join(
            f"{services.labels()(f.reason, 'audit_reason')}：{f.detail}" for f in findings
        )
        with transaction(services.sessions) as session:
            existing = session.scalars(
                select(Ticket).where(
                    Ticket.customer_id == customer.id,
                    Ticket.kind == "correction",
                    is_open(),
                    Ticket.description.startswith(marker),
                )
            ).first()
            ticket = existing or create_ticket(
                session,
                "correction",
                description=description,
                customer_id=customer.id,
                conversation_id=known_conversation(session, tracker),
            )
            ticket_no = ticket.ticket_no
        dispatcher.utter_message(response="utter_bill_under_review", month_label=label, ticket_no=ticket_no)
        return []


class ActionQueryBill(_BillLookup):
    def name(self) -> str:
        return "action_query_bill"


class ActionExplainBill(_BillLookup):
    """Why a bill is what it is, against the month before and the same month last year (or a month the customer
    names to compare with). With no month named: the bill under discussion ("为什么这么贵" after a bill)."""

    task = "explain"

    def __init__(self, compare_with: tuple[int, int] | None = None) -> None:
        self.compare_with = compare_with

    def name(self) -> str:
        return "action_explain_bill"

    def default_month(self, tracker: Tracker) -> tuple[int, int] | None:
        return topic_month(tracker)

    def show(
        self,
        services: Services,
        session: Session,
        dispatcher: CollectingDispatcher,
        customer: Customer,
        bill: Bill,
        label: str,
    ) -> Events:
        year, month = bill.period_start.year, bill.period_start.month
        other = _shift(*self.compare_with, 0) if self.compare_with else _shift(year, month, -1)
        previous = _bills(session, customer.id, other, other)
        last_year = _bills(session, customer.id, _shift(year, month, -12), _shift(year, month, -12))
        book = services.tariff_book()
        tariff = book.schedule_for(bill.category, bill.period_start).categories[bill.category]
        text = explain_text(
            _view(bill, customer),
            _view(previous[0], customer) if previous else None,
            _view(last_year[0], customer) if last_year else None,
            label,
            services.bill_wording(),
            tariff.tier_bounds,
            previous_label=month_label(*self.compare_with) if self.compare_with else None,
        )
        dispatcher.utter_message(response="utter_bill_explained", explanation=text)
        return []
