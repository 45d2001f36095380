"""Chinese names of the codes people see in the console and the reports (data/labels.yml): a reason such as
`bot_unavailable` is shown as 系统故障; the code itself stays what is stored and what the APIs return."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.datafiles import read_yaml_mapping
from core.errors import DataError

GROUPS = (
    "reason",
    "channel",
    "case_status",
    "ticket_kind",
    "ticket_status",
    "customer_category",
    "tariff_category",
    "intent",
    "audit_reason",
    "alert_kind",
    "outage_kind",
    "outage_status",
    "outage_scope",
)


@dataclass(frozen=True)
class Labels:
    by_group: dict[str, dict[str, str]]

    def __call__(self, code: object, group: str) -> str:
        """The code's name in `group`; an unlisted code is shown as it is (never an empty cell)."""
        text = "" if code is None else str(code)
        return self.by_group[group].get(text, text)


def load_labels(data_dir: Path) -> Labels:
    path = data_dir / "labels.yml"
    raw = read_yaml_mapping(path, required=GROUPS)
    groups: dict[str, dict[str, str]] = {}
    for group in GROUPS:
        codes = raw[group]
        if not isinstance(codes, dict) or not all(isinstance(v, str) and v.strip() for v in codes.values()):
            raise DataError(f"{path}: `{group}` must map each code to a non-empty Chinese name")
        groups[group] = {str(k): str(v) for k, v in codes.items()}
    return Labels(groups)
