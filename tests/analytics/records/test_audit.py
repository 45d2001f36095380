"""Record rules and the records audit on hand-made records."""

from __future__ import annotations

from analytics.records.audit import CustomerRecord, audit_records
from analytics.records.rules import account_problem, id_check_digit, id_number_problem, normalise_address, phone_problem


def test_field_rules() -> None:
    assert id_number_problem("11010519491231002X") is None
    assert id_number_problem("110105194912310021") == "身份证号校验位错误"
    assert id_number_problem("91350100M000100Y43") is None
    assert id_number_problem("91350100M000100Y44") == "统一社会信用代码校验位错误"
    assert "格式错误" in (id_number_problem("12345") or "")
    assert phone_problem("138 1234 5678") is None and phone_problem("1381234567") is not None
    assert phone_problem("12812345678") is not None
    assert account_problem("3300000001") is None and account_problem("33O0000001") is not None
    assert normalise_address("杭州市 西湖区文三路１２号３号楼") == normalise_address("杭州市西湖区文三路12号3幢")


def _valid_id(i: int) -> str:
    first17 = f"1101051949123{i:04d}"
    return first17 + id_check_digit(first17)


def _record(i: int, **changes: object) -> CustomerRecord:
    base = CustomerRecord(
        id=i,
        account_no=f"33{i:08d}",
        name="王伟",
        id_number=_valid_id(i),
        phone=f"1381234{i:04d}",
        address=f"杭州市西湖区文三路{i}号",
        customer_category="residential",
        tariff_category="residential",
        capacity_kva=None,
        multiplier=1.0,
        mean_daily_kwh=7.0,
        max_demand_kw=None,
    )
    for key, value in changes.items():
        setattr(base, key, value)
    return base


def test_audit_on_hand_made_records() -> None:
    records = [
        _record(1),
        _record(2, phone="", id_number="110105194912310021"),
        _record(3, phone="13812340001"),  # same mobile as customer 1
        _record(4, address="杭州市西湖区文三路 1 号"),  # same place as customer 1
        _record(5, mean_daily_kwh=240.0),  # a workshop on a household tariff
        _record(
            6,
            tariff_category="commercial_tou",
            customer_category="commercial",
            capacity_kva=80,
            mean_daily_kwh=6.0,
            max_demand_kw=2.0,
        ),  # a household on a business tariff; also tiny demand
        _record(
            7,
            tariff_category="commercial_tou",
            customer_category="commercial",
            capacity_kva=400,
            multiplier=1.0,
            mean_daily_kwh=1500.0,
            max_demand_kw=180.0,
        ),  # CT connection needs a multiplier
        _record(
            8,
            tariff_category="industrial_capacity",
            customer_category="industrial",
            capacity_kva=200,
            multiplier=40.0,
            mean_daily_kwh=3000.0,
            max_demand_kw=300.0,
        ),  # demand above capacity
    ]
    found = {(f.customer_id, f.reason, f.field) for f in audit_records(records)}
    assert found == {
        (2, "MISSING_FIELD", "phone"),
        (2, "INVALID_ID_NUMBER", "id_number"),
        (3, "DUPLICATE_PHONE", "phone"),
        (4, "DUPLICATE_ADDRESS", "address"),
        (5, "CATEGORY_MISMATCH", "tariff_category"),
        (6, "CATEGORY_MISMATCH", "tariff_category"),
        (6, "CAPACITY_MISMATCH", "capacity_kva"),
        (7, "MULTIPLIER_MISMATCH", "multiplier"),
        (8, "CAPACITY_MISMATCH", "capacity_kva"),
    }
