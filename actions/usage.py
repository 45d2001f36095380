"""Usage and bill look-ups for the bound customer."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.base import Events, PowerDeskAction, find_bound_customer, latest_text, start_binding_then
from actions.parsing import month_label, parse_month
from actions.services import Services
from analytics.usage import MonthUsage, month_bounds, usage_from_daily, usage_from_intervals
from core.models import Customer
from services.meter_data import daily_kwh, interval_days, meters_of


def _wanted_month(services: Services, tracker: Tracker) -> tuple[int, int] | None:
    """The month asked for (slot or text); last month when the customer named none."""
    today = services.today()
    spoken = tracker.get_slot("month")
    parsed = parse_month(spoken, today) or parse_month(latest_text(tracker), today)
    if parsed is None and not spoken:
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return year, month
    return parsed


def _usage(session: Session, customer: Customer, year: int, month: int) -> MonthUsage:
    first, last = month_bounds(year, month)
    if any(m.resolution in ("15min", "hourly") for m in meters_of(session, customer.id)):
        return usage_from_intervals(year, month, interval_days(session, customer.id, first, last))
    return usage_from_daily(year, month, daily_kwh(session, customer.id, first, last))


class _MonthlyLookup(PowerDeskAction):
    """A look-up about one month for the bound customer (binding first when needed)."""

    response = "utter_usage_month"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        with services.sessions() as session:
            customer = find_bound_customer(session, tracker)
            if customer is None:
                return start_binding_then(self.name(), dispatcher)
            wanted = _wanted_month(services, tracker)
            if wanted is None:
                dispatcher.utter_message(response="utter_month_not_understood")
                return [SlotSet("month", None)]
            events = self.answer(services, session, dispatcher, tracker, customer, *wanted)
        return [SlotSet("month", None), *events]

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
        """The month's usage; bill look-ups override this."""
        usage = _usage(session, customer, year, month)
        label = month_label(year, month)
        if usage.days_with_data == 0:
            dispatcher.utter_message(response="utter_usage_no_data", month_label=label)
        else:
            self.reply(dispatcher, customer, usage, label)
        return []

    def reply(self, dispatcher: CollectingDispatcher, customer: Customer, usage: MonthUsage, label: str) -> None:
        dispatcher.utter_message(response=self.response, month_label=label, kwh=f"{usage.kwh:g}")


class ActionQueryUsage(_MonthlyLookup):
    def name(self) -> str:
        return "action_query_usage"

    def reply(self, dispatcher: CollectingDispatcher, customer: Customer, usage: MonthUsage, label: str) -> None:
        if customer.tariff_category == "residential_tou" and usage.peak_kwh is not None:
            dispatcher.utter_message(
                response="utter_usage_month_tou",
                month_label=label,
                kwh=f"{usage.kwh:g}",
                peak_kwh=f"{usage.peak_kwh:g}",
                valley_kwh=f"{usage.valley_kwh:g}",
            )
        else:
            super().reply(dispatcher, customer, usage, label)


MonthlyLookup = _MonthlyLookup
