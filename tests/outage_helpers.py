"""Customers on a small grid, for the outage and ticket tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from core.db import transaction
from core.models import Customer


def add_customers(
    sessions: sessionmaker[Session], n: int, area: str = "西湖区", feeder: str = "10kV文三路1号线"
) -> None:
    """`n` customers 3301000000 … with the same area and feeder, two 台区."""
    rows = [
        {
            "account_no": f"{3301000000 + i}",
            "name": "测试",
            "address": f"杭州市{area}文三路{i}号",
            "area": area,
            "feeder": feeder,
            "transformer_area": f"文三路1-{i % 2 + 1}号台区",
            "customer_category": "residential",
            "tariff_category": "residential",
            "opened_on": dt.date(2020, 1, 1),
        }
        for i in range(n)
    ]
    with transaction(sessions) as session:
        session.execute(insert(Customer), rows)
