"""Usage and bill look-ups for the bound customer."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session

from actions.base import Events, PowerDeskAction, find_bound_customer, latest_text, start_binding_then
from actions.parsing import day_label, month_label, parse_days, parse_month, shift_month
from actions.services import Services
from analytics.usage import MonthUsage, month_bounds, peak_mask, usage_from_daily, usage_from_intervals
from core.models import Customer
from services.meter_data import daily_kwh, interval_days, meters_of


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def topic_month(tracker: Tracker) -> tuple[int, int] | None:
    """The month under discussion: the one the last look-up showed (slot `topic_month`, "YYYY-MM")."""
    value = str(tracker.get_slot("topic_month") or "")
    if len(value) == 7 and value[:4].isdigit() and value[5:].isdigit() and 1 <= int(value[5:]) <= 12:
        return int(value[:4]), int(value[5:])
    return None


def _wanted_month(services: Services, tracker: Tracker, default: tuple[int, int] | None) -> tuple[int, int] | None:
    """The month asked for (slot or text); `default` (else last month) when the customer named none."""
    today = services.today()
    spoken = tracker.get_slot("month")
    parsed = parse_month(spoken, today) or parse_month(latest_text(tracker), today)
    if parsed is None and not spoken:
        return default or shift_month(today.year, today.month, -1)
    return parsed


def _usage(session: Session, customer: Customer, year: int, month: int) -> MonthUsage:
    first, last = month_bounds(year, month)
    if any(m.resolution in ("15min", "hourly") for m in meters_of(session, customer.id)):
        return usage_from_intervals(year, month, interval_days(session, customer.id, first, last))
    return usage_from_daily(year, month, daily_kwh(session, customer.id, first, last))


class _MonthlyLookup(PowerDeskAction):
    """A look-up about one month for the bound customer (binding first when needed). The month shown becomes the
    month under discussion (`topic_month`), which follow-ups ("那8月呢", "跟8月比呢", "为什么这么贵") start from."""

    response = "utter_usage_month"
    task = "usage"

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        return self.lookup(services, dispatcher, tracker, None)

    def default_month(self, tracker: Tracker) -> tuple[int, int] | None:
        """The month when the customer names none: last month (the explanation overrides: the bill just shown)."""
        return None

    def lookup(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, wanted: tuple[int, int] | None
    ) -> Events:
        with services.sessions() as session:
            customer = find_bound_customer(session, tracker)
            if customer is None:
                return start_binding_then(self.name(), dispatcher)
            wanted = wanted or _wanted_month(services, tracker, self.default_month(tracker))
            if wanted is None:
                dispatcher.utter_message(response="utter_month_not_understood")
                return [SlotSet("month", None)]
            events = self.answer(services, session, dispatcher, tracker, customer, *wanted)
        # an answer that shows another month (a bill not issued yet: the latest issued one) sets `topic_month`
        # again in its own events, which come later and so win
        context = [SlotSet("topic_month", month_key(*wanted)), SlotSet("last_task", self.task)]
        return [SlotSet("month", None), *context, *events]

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

    def act(
        self, services: Services, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> Events:
        days = parse_days(latest_text(tracker), services.today())
        if days is None:
            return super().act(services, dispatcher, tracker, domain)
        with services.sessions() as session:
            customer = find_bound_customer(session, tracker)
            if customer is None:
                return start_binding_then(self.name(), dispatcher)
            self.answer_days(services, session, dispatcher, customer, *days)
        return [SlotSet("month", None), SlotSet("last_task", self.task)]

    def answer_days(
        self,
        services: Services,
        session: Session,
        dispatcher: CollectingDispatcher,
        customer: Customer,
        first: dt.date,
        last: dt.date,
    ) -> None:
        """Usage over days, from the readings (which arrive the next day): total, per day, peak/valley, demand."""
        yesterday = services.today() - dt.timedelta(days=1)
        if first > yesterday:
            dispatcher.utter_message(response="utter_usage_today_not_ready")
            first = last = yesterday
        last = min(last, yesterday)
        label = day_label(first, last)
        if any(m.resolution in ("15min", "hourly") for m in meters_of(session, customer.id)):
            days = interval_days(session, customer.id, first, last)
            if days.shape[0] == 0:
                dispatcher.utter_message(response="utter_usage_days_no_data", days_label=label)
                return
            mask = peak_mask(days.shape[1])
            peak, valley = (float(days[:, m].sum(dtype=float)) for m in (mask, ~mask))
            total, count = peak + valley, days.shape[0]
            demand = float(days.max()) * days.shape[1] / 24  # the highest interval's average power, kW
        else:
            daily = daily_kwh(session, customer.id, first, last)
            if not daily:
                dispatcher.utter_message(response="utter_usage_days_no_data", days_label=label)
                return
            total, count, peak, valley, demand = float(sum(daily)), len(daily), None, None, None
        values = {"days_label": label, "kwh": f"{total:.2f}", "days": count, "per_day": f"{total / count:.2f}"}
        if customer.tariff_category == "residential_tou" and peak is not None and valley is not None:
            dispatcher.utter_message(
                response="utter_usage_days_tou", peak_kwh=f"{peak:.2f}", valley_kwh=f"{valley:.2f}", **values
            )
        elif customer.customer_category != "residential" and demand is not None:
            dispatcher.utter_message(response="utter_usage_days_demand", max_kw=f"{demand:.1f}", **values)
        else:
            dispatcher.utter_message(response="utter_usage_days", **values)

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
