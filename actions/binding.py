"""Binding a channel user to an account: 户号 plus the last 4 digits of the registered phone.

Every check goes through `services.binding_guard` (failures counted in the database per account and per
user); the submit checks again, so a tracker that arrives with slots already filled binds nothing unless
the database agrees.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PowerDeskAction, channel_user, find_bound_customer, latest_text
from actions.forms import CheckedForm
from actions.lookups import AFTER_BINDING
from actions.parsing import extract_account_no, extract_last4, extract_phone
from actions.services import Services, get_services
from actions.understanding import read_text
from core.clock import utc_now
from core.db import transaction
from core.identity import mask_account, mask_name
from services.binding_guard import BindCheck, BindLimits, attempts_left, check_binding
from services.customers import bind, unbind

UNBIND_WORDS = ("解绑", "解除绑定", "取消绑定")
REBIND_WORDS = ("换绑", "更换", "换一个", "重新绑定", "改绑")


class ActionStartBinding(PowerDeskAction):
    def name(self) -> str:
        return "action_start_binding"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        text = latest_text(tracker)
        channel, user = channel_user(tracker)
        with transaction(services.sessions) as session:
            current = find_bound_customer(session, tracker)
            if any(w in text for w in UNBIND_WORDS):
                if current is None:
                    dispatcher.utter_message(response="utter_not_bound")
                    return [SlotSet("bound_account", None)]
                reading = read_text(services.lexicon(), text)
                if reading.about:  # "解绑完了能马上绑新的吗": a question never unbinds, it asks to confirm
                    dispatcher.utter_message(
                        response="utter_confirm_unbind", account_masked=mask_account(current.account_no)
                    )
                    return [SlotSet("bound_account", current.account_no)]
                unbind(session, channel, user)
                dispatcher.utter_message(response="utter_unbind_done", account_masked=mask_account(current.account_no))
                return [SlotSet("bound_account", None)]
        if current is not None and not any(w in text for w in REBIND_WORDS):
            dispatcher.utter_message(response="utter_already_bound", account_masked=mask_account(current.account_no))
            return [SlotSet("bound_account", current.account_no)]
        with services.sessions() as session:
            left = attempts_left(
                session, *_source(tracker), None, utc_now(), BindLimits.from_settings(services.settings)
            )
        if left <= 0:
            dispatcher.utter_message(response="utter_bind_locked")
            return []
        # an account number from an earlier turn never skips the question: only one typed in this message counts
        # (a slot set to None counts as filled in this turn and would be validated: reset only what holds a value)
        typed = extract_account_no(text)
        events: Events = [SlotSet(s, None) for s in ("phone_last4", "account_no") if tracker.get_slot(s) is not None]
        if typed:
            events.append(SlotSet("account_no", typed))
        return [*events, FollowupAction("bind_account_form")]


def earlier_value(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest message (the value this turn's extraction replaced)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def _source(tracker: Tracker) -> tuple[str, str | None]:
    """Who is trying: the channel user, and the client address when the channel passed one."""
    channel, user = channel_user(tracker)
    client = (tracker.latest_message.get("metadata") or {}).get("client")
    return f"{channel}:{user}", client[:64] if isinstance(client, str) and client else None


def _check(services: Services, tracker: Tracker, account_no: str, last4: str) -> BindCheck:
    """One recorded check (a worker thread)."""
    with transaction(services.sessions) as session:
        result = check_binding(
            session, account_no, last4, *_source(tracker), utc_now(), BindLimits.from_settings(services.settings)
        )
        if result.customer is not None:
            session.expunge(result.customer)
        return result


class ValidateBindAccountForm(CheckedForm):
    cleared_on_cancel = ("account_no", "phone_last4")

    def name(self) -> str:
        return "validate_bind_account_form"

    async def validate_account_no(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """The form only reads a 10-digit number here: whether the account exists is told by nobody (the phone
        digits are checked together with it)."""
        if value is None:
            return {"account_no": None}
        account_no = extract_account_no(str(value))
        if account_no is None and tracker.get_slot("requested_slot") == "phone_last4":
            # the phone digits read as an account number by the NLU ("2688"): the account given before stands
            return {"account_no": earlier_value(tracker, "account_no")}
        if account_no is None:
            phone = extract_phone(str(value or ""))
            dispatcher.utter_message(response="utter_account_is_phone" if phone else "utter_account_no_invalid")
            return {"account_no": None}
        return {"account_no": account_no}

    async def validate_phone_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if value is None:
            return {"phone_last4": None}
        corrected = extract_account_no(str(value))
        if corrected is not None:  # after a mismatch, the account number typed again: the digits are asked next
            return {"account_no": corrected, "phone_last4": None}
        last4 = extract_last4(str(value))
        if last4 is None:
            dispatcher.utter_message(response="utter_phone_last4_invalid")
            return {"phone_last4": None}
        account_no = tracker.get_slot("account_no") or ""
        result = await asyncio.to_thread(_check, get_services(), tracker, account_no, last4)
        if result.outcome == "verified":
            return {"phone_last4": last4}
        if result.outcome == "locked":
            dispatcher.utter_message(response="utter_bind_locked")
            return {"phone_last4": None, "account_no": None, "requested_slot": None}
        # the same answer for an unknown account and a wrong phone; the digits are asked again, and a new account
        # number typed instead replaces the one given (validate_account_no / above)
        dispatcher.utter_message(response="utter_phone_mismatch", attempts_left=result.attempts_left)
        return {"phone_last4": None}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events = await super().run(dispatcher, tracker, domain)
        locked = any(m.get("response") == "utter_bind_locked" for m in dispatcher.messages)
        return [*events, ActiveLoop(None)] if locked else events


class ActionBindAccountSubmit(PowerDeskAction):
    def name(self) -> str:
        return "action_bind_account_submit"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        account_no = tracker.get_slot("account_no") or ""
        last4 = tracker.get_slot("phone_last4") or ""
        reset = [SlotSet("phone_last4", None), SlotSet("account_no", None)]
        if not account_no or not last4:
            return [*reset, SlotSet("pending_action", None)]
        channel, user = channel_user(tracker)
        result = _check(services, tracker, account_no, last4)  # again: the slots may not come from the form
        customer = result.customer
        if customer is None:
            dispatcher.utter_message(
                response="utter_bind_locked" if result.outcome == "locked" else "utter_bind_failed"
            )
            return [*reset, SlotSet("pending_action", None)]
        with transaction(services.sessions) as session:
            bind(session, channel, user, customer)
        dispatcher.utter_message(
            response="utter_bind_success",
            account_masked=mask_account(customer.account_no),
            customer_name_masked=mask_name(customer.name),
        )
        events: Events = [*reset, SlotSet("bound_account", account_no)]
        pending = AFTER_BINDING.get(tracker.get_slot("pending_action") or "")
        if pending is not None:
            # answer the question that needed the binding, in this same turn, as it was asked ("昨天用了多少电":
            # the day is in that message, not in the phone digits just typed)
            asked = _as_asked(tracker)
            events += [SlotSet("pending_action", None), *pending().act(services, dispatcher, asked, domain)]
        return events


def _as_asked(tracker: Tracker) -> Tracker:
    """The tracker with the customer's message that needed the binding (the last one before `pending_action` was
    set) as its latest message; the tracker itself when none is found."""
    asked: str | None = None
    said: str | None = None
    for event in tracker.events:
        if event.get("event") == "user":
            said = event.get("text")
        elif event.get("event") == "slot" and event.get("name") == "pending_action" and event.get("value"):
            asked = said
    if not asked:
        return tracker
    view = copy.copy(tracker)
    view.latest_message = {**tracker.latest_message, "text": asked}
    return view
