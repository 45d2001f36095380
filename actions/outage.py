"""Outage reports: address, contact phone and description become a repair ticket."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, find_bound_customer, known_conversation, latest_text
from actions.form_input import looks_like_address, situation_told
from actions.forms import CheckedForm
from actions.outage_info import known_outage_at_address
from actions.parsing import extract_account_no, extract_phone, normalise
from actions.services import Services, get_services
from core.db import transaction
from services.tickets import create_ticket

MIN_ADDRESS_CHARS = 5
MAX_FIELD_CHARS = 500


class ValidateOutageReportForm(CheckedForm):
    """Each slot takes only a value of its kind: an address that names a place, an 11-digit mobile number (not a
    10-digit 户号), a description that is not a question. A safety emergency typed as the description is kept,
    marked urgent, after the safety advice."""

    cleared_on_cancel = ("address", "phone", "description")
    safety_is_answer = ("description",)
    free_text = ("description",)

    def name(self) -> str:
        return "validate_outage_report_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events = await super().run(dispatcher, tracker, domain)
        told = any((m.get("custom") or {}).get("outage_report") for m in dispatcher.messages)
        return [*events, ActiveLoop(None)] if told else events

    async def validate_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:  # reset, not typed
            return {"address": None}
        address = normalise(str(value or ""))[:200]
        if len(address) < MIN_ADDRESS_CHARS:
            dispatcher.utter_message(response="utter_address_too_short")
            return {"address": None}
        services = get_services()
        if not looks_like_address(services.lexicon(), address):
            dispatcher.utter_message(response="utter_address_not_address")
            return {"address": None}
        if await asyncio.to_thread(known_outage_at_address, services, dispatcher, tracker, address):
            # the address lies in an outage we know: told and linked, the form ends with nothing filed
            return {"address": None, "phone": None, "description": None, "requested_slot": None}
        return {"address": address}

    def validate_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:  # reset, not typed
            return {"phone": None}
        text = str(value or "")
        phone = extract_phone(text)
        if phone is None:
            account = extract_account_no(text)
            dispatcher.utter_message(response="utter_phone_is_account" if account else "utter_phone_invalid")
            return {"phone": None}
        told = situation_told(get_services().lexicon(), latest_text(tracker))
        if told and not tracker.get_slot("description"):  # "电话139…，整个店里都没电": the description too
            return {"phone": phone, "description": told[:MAX_FIELD_CHARS]}
        return {"phone": phone}

    def validate_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:  # reset, not typed
            return {"description": None}
        description = normalise(str(value or ""))[:MAX_FIELD_CHARS]
        if not description:
            dispatcher.utter_message(response="utter_description_is_question")
            return {"description": None}
        if get_services().lexicon().safety.search(description.replace(" ", "")):
            description = "【安全紧急】" + description
        return {"description": description}


class ActionSubmitOutageReport(PowerDeskAction):
    def name(self) -> str:
        return "action_submit_outage_report"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        address = tracker.get_slot("address") or ""
        if not address or not tracker.get_slot("phone") or not tracker.get_slot("description"):
            return []  # the form was left (算了 / 取消 / a person asked for): nothing to file
        with transaction(services.sessions) as session:
            customer = find_bound_customer(session, tracker)
            ticket = create_ticket(
                session,
                "outage",
                description=tracker.get_slot("description") or "",
                customer_id=customer.id if customer else None,
                conversation_id=known_conversation(session, tracker),
                address=address,
                phone=tracker.get_slot("phone"),
            )
            ticket_no = ticket.ticket_no
        dispatcher.utter_message(
            response="utter_outage_ticket_created",
            ticket_no=ticket_no,
            address=address,
            json_message={"ticket": {"ticket_no": ticket_no, "kind": "outage"}},
        )
        return [SlotSet("address", None), SlotSet("phone", None), SlotSet("description", None)]
