"""The month look-ups a customer can resume after binding, or continue with another month."""

from __future__ import annotations

from actions.base import PowerDeskAction
from actions.bills import ActionExplainBill, ActionQueryBill
from actions.outage_info import ActionOutageInfo
from actions.recommend import ActionEnergySaving, ActionRecommendPlan
from actions.usage import ActionQueryUsage, MonthlyLookup

MONTHLY_LOOKUPS: dict[str, type[MonthlyLookup]] = {
    "action_query_usage": ActionQueryUsage,
    "action_query_bill": ActionQueryBill,
    "action_explain_bill": ActionExplainBill,
}
# what binding answers right after it succeeds: the month look-ups and the questions about the customer's own data
AFTER_BINDING: dict[str, type[PowerDeskAction]] = {
    **MONTHLY_LOOKUPS,
    "action_recommend_plan": ActionRecommendPlan,
    "action_energy_saving": ActionEnergySaving,
    "action_outage_info": ActionOutageInfo,
}
