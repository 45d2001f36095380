"""The month look-ups a customer can resume after binding, or continue with another month."""

from __future__ import annotations

from actions.bills import ActionExplainBill, ActionQueryBill
from actions.usage import ActionQueryUsage, MonthlyLookup

MONTHLY_LOOKUPS: dict[str, type[MonthlyLookup]] = {
    "action_query_usage": ActionQueryUsage,
    "action_query_bill": ActionQueryBill,
    "action_explain_bill": ActionExplainBill,
}
