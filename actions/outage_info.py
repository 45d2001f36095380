"""Outages and tickets in the conversation: the customer's own outage situation ("明天会不会停电"), a report of an
outage we already know about ("停电了" during a fault: the fault and its estimated restoration, the customer linked
to it, no new repair ticket), and "我的工单到哪一步了".

Replies carry `custom.outages` (the events told, possibly none) and `custom.ticket_status`."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.base import (
    Events,
    PowerDeskAction,
    channel_user,
    find_bound_customer,
    known_conversation,
    latest_text,
    start_binding_then,
)
from actions.parsing import normalise
from actions.services import Services
from core.clock import local_now
from core.datafiles import read_yaml_mapping
from core.db import transaction
from core.errors import DataError
from core.identity import mask_account
from core.models import Customer, Ticket
from core.models_outages import OutageEvent
from services.outage_notices import CHANNELS as NOTICE_CHANNELS
from services.outage_status import customer_outages, outage_at_address, record_contact, user_ticket, user_tickets
from services.ticket_lifecycle import FINAL, ticket_view

HORIZON_DAYS = 7
TICKET_NO = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2}\d{14})(?!\d)")
WORDING_KEYS = (
    *("relative_days", "weekdays", "day", "relative_day", "planned_item", "planned_item_days"),
    *("time_other_day", "ticket_step", "ticket_other", "promise_told", "promise_bind"),
)


@dataclass(frozen=True)
class OutageWording:
    raw: dict[str, Any]

    def day(self, day: dt.date, today: dt.date) -> str:
        relative = self.raw["relative_days"].get((day - today).days)
        weekday = self.raw["weekdays"][day.weekday()]
        if relative is not None:
            return str(self.raw["relative_day"]).format(relative=relative, month=day.month, day=day.day)
        return str(self.raw["day"]).format(month=day.month, day=day.day, weekday=weekday)

    def moment(self, at: dt.datetime, today: dt.date) -> str:
        """ "今天（12月7日） 18:30" — the day always named, so a restoration after midnight is not misread."""
        return str(self.raw["time_other_day"]).format(day=self.day(at.date(), today), time=at.strftime("%H:%M"))

    def planned_item(self, event: OutageEvent, today: dt.date) -> str:
        start, end = event.start, event.end
        if start.date() == end.date():
            return str(self.raw["planned_item"]).format(
                day=self.day(start.date(), today), start=f"{start:%H:%M}", end=f"{end:%H:%M}", reason=event.reason
            )
        return str(self.raw["planned_item_days"]).format(
            day=self.day(start.date(), today),
            start=f"{start:%H:%M}",
            end_day=self.day(end.date(), today),
            end=f"{end:%H:%M}",
            reason=event.reason,
        )


def load_outage_wording(path: Path) -> OutageWording:
    raw = read_yaml_mapping(path)
    missing = [k for k in WORDING_KEYS if k not in raw]
    if missing:
        raise DataError(f"{path}: missing {', '.join(missing)}; see the keys listed in actions/outage_info.py")
    if not isinstance(raw["weekdays"], list) or len(raw["weekdays"]) != 7:
        raise DataError(f"{path}: `weekdays` must list the 7 days, Monday first")
    raw["relative_days"] = {int(k): str(v) for k, v in dict(raw["relative_days"]).items()}
    return OutageWording(raw)


def event_payload(event: OutageEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "start": event.start.isoformat(timespec="minutes"),
        "end": event.end.isoformat(timespec="minutes"),
        "reason": event.reason,
    }


def _wording(services: Services) -> OutageWording:
    wording: OutageWording = services.outage_wording()
    return wording


def tell_without_power(
    services: Services,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    session: Session,
    event: OutageEvent,
    customer: Customer | None,
    address: str | None = None,
) -> None:
    """Tell a customer who has no power the event that explains it, and link them to it (a second report is
    counted, not filed)."""
    now = local_now()
    wording = _wording(services)
    channel, user = channel_user(tracker)
    first = record_contact(
        session,
        event_id=event.id,
        channel=channel,
        user_id=user,
        customer_id=customer.id if customer else None,
        conversation_id=known_conversation(session, tracker),
        matched_by="address" if address else "account",
    )
    where = (
        {"address": address} if address else {"account_masked": mask_account(customer.account_no if customer else "")}
    )
    kind = "fault" if event.kind == "fault" else "planned_now"
    # a fault's restoration notice reaches the reporters on WeChat and the widget (services.outage_notices)
    promise = str(wording.raw["promise_told" if channel in NOTICE_CHANNELS else "promise_bind"])
    dispatcher.utter_message(
        response=f"utter_outage_{kind}_{'address' if address else 'account'}",
        promise=promise,
        reason=event.reason,
        start=wording.moment(event.start, now.date()),
        end=wording.moment(event.end, now.date()),
        **where,
        json_message={"outages": [event_payload(event)], "outage_report": "first" if first else "again"},
    )


def known_outage_instead_of_repair(services: Services, dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """For a bound customer without power because of an event we know (a fault, or a planned outage in progress):
    tell them and link them to it; True when told (no repair ticket is needed)."""
    with transaction(services.sessions) as session:
        customer = find_bound_customer(session, tracker)
        if customer is None:
            return False
        events = customer_outages(session, customer, local_now(), days=0).without_power
        if not events:
            return False
        tell_without_power(services, dispatcher, tracker, session, events[0], customer)
    return True


def known_outage_at_address(
    services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, address: str
) -> bool:
    """The repair form's address, when it lies in an event without power now: told and linked, True."""
    with transaction(services.sessions) as session:
        event = outage_at_address(session, address, local_now())
        if event is None:
            return False
        customer = find_bound_customer(session, tracker)
        tell_without_power(services, dispatcher, tracker, session, event, customer, address=address)
    return True


class ActionOutageInfo(PowerDeskAction):
    """The customer's own outages: a fault or planned outage now, planned ones in the next 7 days, or none."""

    def name(self) -> str:
        return "action_outage_info"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        now = local_now()
        wording = _wording(services)
        with services.sessions() as session:
            customer = find_bound_customer(session, tracker)
            if customer is None:
                return start_binding_then(self.name(), dispatcher)
            situation = customer_outages(session, customer, now, days=HORIZON_DAYS)
            account = mask_account(customer.account_no)
            told: list[OutageEvent] = []
            for event in situation.without_power[:1]:
                kind = "fault" if event.kind == "fault" else "planned_now"
                dispatcher.utter_message(
                    response=f"utter_outage_{kind}_info",
                    account_masked=account,
                    reason=event.reason,
                    start=wording.moment(event.start, now.date()),
                    end=wording.moment(event.end, now.date()),
                )
                told.append(event)
            if situation.planned_coming:
                items = "\n".join(wording.planned_item(e, now.date()) for e in situation.planned_coming)
                dispatcher.utter_message(
                    response="utter_outage_planned_list", account_masked=account, days=HORIZON_DAYS, items=items
                )
                told += situation.planned_coming
            elif told:
                dispatcher.utter_message(response="utter_outage_no_more_planned", days=HORIZON_DAYS)
            else:
                dispatcher.utter_message(response="utter_outage_none", account_masked=account, days=HORIZON_DAYS)
            dispatcher.utter_message(json_message={"outages": [event_payload(e) for e in told]})
        return []


class ActionTicketStatus(PowerDeskAction):
    """ "我的工单到哪一步了" or a ticket number: the state and the time of each step, of this user's own tickets."""

    def name(self) -> str:
        return "action_ticket_status"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        labels = services.labels()
        wording = _wording(services)
        today = local_now().date()
        channel, user = channel_user(tracker)
        match = TICKET_NO.search(normalise(latest_text(tracker)).replace(" ", ""))
        with services.sessions() as session:
            customer = find_bound_customer(session, tracker)
            customer_id = customer.id if customer else None
            if match:
                one = user_ticket(session, match.group(1), channel=channel, user_id=user, customer_id=customer_id)
                if one is None:
                    dispatcher.utter_message(response="utter_ticket_not_found", ticket_no=match.group(1).upper())
                    return []
                found = [one]
            else:
                found = user_tickets(session, channel=channel, user_id=user, customer_id=customer_id)
                if not found:
                    dispatcher.utter_message(response="utter_ticket_none")
                    return []
            view = ticket_view(session, found[0])
            steps = "\n".join(
                str(wording.raw["ticket_step"]).format(
                    status=labels(s.to_status, "ticket_status"),
                    at=wording.moment(dt.datetime.fromisoformat(s.at), today),
                )
                for s in view.history
            )
            others = "\n".join(
                str(wording.raw["ticket_other"]).format(
                    ticket_no=t.ticket_no, kind=labels(t.kind, "ticket_kind"), status=labels(t.status, "ticket_status")
                )
                for t in found[1:]
            )
            payload = {
                "ticket_no": view.ticket_no,
                "kind": view.kind,
                "status": view.status,
                "steps": [{"status": s.to_status, "at": s.at} for s in view.history],
            }
            dispatcher.utter_message(
                response=_status_response(found[0]),
                ticket_no=view.ticket_no,
                kind=labels(view.kind, "ticket_kind"),
                status=labels(view.status, "ticket_status"),
                steps=steps,
                contact_by=_local(found[0].contact_by, today, wording),
                reply_by=_local(found[0].reply_by, today, wording),
                json_message={"ticket_status": payload},
            )
            if others:
                dispatcher.utter_message(response="utter_ticket_others", others=others)
        return []


def _status_response(ticket: Ticket) -> str:
    """The reply for the ticket's kind and state: an open repair ticket recalls the (average) commitments, a
    complaint its promised contact and reply times, a finished one says so."""
    if ticket.status in FINAL:
        return "utter_ticket_status_done"
    if ticket.kind == "outage":
        return "utter_ticket_status_repair"
    if ticket.contact_by is not None and ticket.reply_by is not None:
        return "utter_ticket_status_promised"
    return "utter_ticket_status"


def _local(value: dt.datetime | None, today: dt.date, wording: OutageWording) -> str:
    return wording.moment(value, today) if value is not None else ""
