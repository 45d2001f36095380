"""Running the bill audit over the database: partitions of customers, in process (pandas) or on Dask.

Each partition opens its own database session, recomputes its customers' bills from readings and
schedules and returns findings; the driver writes them to `audit_findings` and to a CSV. Memory is
bounded by the partition size, whatever the number of bills.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from analytics.billing.audit import Finding, audit_customer
from analytics.billing.schedule import load_tariff_book
from core.db import make_engine, make_session_factory, transaction
from core.errors import InvalidInput
from core.models import Customer
from core.models_billing import AuditRun
from services.bills import billed_customers, load_partition, write_findings

Engine = Literal["pandas", "dask"]


@dataclass
class AuditSummary:
    run_id: int
    customers: int
    bills: int
    findings: list[Finding] = field(default_factory=list)
    csv_path: Path | None = None

    def by_reason(self) -> dict[str, int]:
        return dict(sorted(Counter(f.reason for f in self.findings).items()))


def audit_chunk(
    database_url: str, tariff_dir: str, customer_ids: list[int], first: dt.date, last: dt.date
) -> tuple[int, list[Finding]]:
    """One partition: (bills checked, findings). Top-level so that Dask workers can run it."""
    engine = make_engine(database_url)
    try:
        book = load_tariff_book(Path(tariff_dir))
        with Session(engine) as session:
            part = load_partition(session, customer_ids, first, last, book)
    finally:
        engine.dispose()
    findings: list[Finding] = []
    checked = 0
    for customer_id, bills in part.stored.items():
        checked += len(bills)
        findings += audit_customer(bills, part.expected.get(customer_id, {}))
    return checked, findings


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def month_range(first: str | None, last: str | None) -> tuple[dt.date, dt.date]:
    """--from/--to as YYYY-MM (inclusive months) → the first day of each."""

    def parse(text: str, name: str) -> dt.date:
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise InvalidInput(f"{name} must be a month like 2026-03, got {text!r}") from None

    low = parse(first, "--from") if first else dt.date(1900, 1, 1)
    high = parse(last, "--to") if last else dt.date(2999, 12, 1)
    if high < low:
        raise InvalidInput(f"--to {last} is before --from {first}")
    return low, high


def run_bill_audit(
    database_url: str,
    tariff_dir: Path,
    csv_dir: Path,
    first: dt.date,
    last: dt.date,
    engine: Engine = "pandas",
    scheduler: str | None = None,
    partition_customers: int = 250,
    progress: Callable[[int, int], None] | None = None,
) -> AuditSummary:
    """Audit the stored bills with periods starting in [first, last]; `progress(done, total)` per partition."""
    load_tariff_book(tariff_dir)  # fail fast on a broken schedule, before any worker starts
    db = make_engine(database_url)
    sessions = make_session_factory(db)
    with transaction(sessions) as session:
        customers = billed_customers(session, first, last)
        run = AuditRun(kind="bill", params={"from": str(first), "to": str(last), "engine": engine})
        session.add(run)
        session.flush()
        run_id = run.id
    parts = list(_chunks(customers, partition_customers))
    checked = 0
    findings: list[Finding] = []
    for done, (n, found) in enumerate(_execute(parts, database_url, tariff_dir, first, last, engine, scheduler), 1):
        checked += n
        findings += found
        if progress:
            progress(done, len(parts))
    findings.sort(key=lambda f: f.bill_id)
    with transaction(sessions) as session:
        write_findings(session, run_id, findings)
        run = session.get_one(AuditRun, run_id)
        run.checked, run.flagged = checked, len(findings)
        run.finished_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        accounts = dict(session.execute(select(Customer.id, Customer.account_no)).tuples().all())
    db.dispose()
    csv_path = _write_csv(csv_dir / f"bill-audit-{run_id}.csv", findings, accounts)
    return AuditSummary(run_id, len(customers), checked, findings, csv_path)


def _execute(
    parts: list[list[int]],
    url: str,
    tariff_dir: Path,
    first: dt.date,
    last: dt.date,
    engine: Engine,
    scheduler: str | None,
) -> Iterator[tuple[int, list[Finding]]]:
    if engine == "pandas":
        for part in parts:
            yield audit_chunk(url, str(tariff_dir), part, first, last)
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = (
        None if scheduler else LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    client = Client(scheduler or cluster)
    try:
        futures = [client.submit(audit_chunk, url, str(tariff_dir), part, first, last, pure=False) for part in parts]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _write_csv(path: Path, findings: list[Finding], accounts: dict[int, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["bill_id", "account_no", "reason", "stored", "recomputed", "difference", "detail"])
        for f in findings:
            writer.writerow(
                [f.bill_id, accounts.get(f.customer_id, ""), f.reason, f.stored, f.recomputed, f.difference, f.detail]
            )
    return path
