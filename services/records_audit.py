"""Running the customer-record audit over the database; findings to `audit_findings` and a CSV."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

from analytics.records.audit import audit_records
from core.db import make_engine, make_session_factory, transaction
from core.identity import mask_id_number
from core.models_billing import AuditRun
from services.records import load_records, write_record_findings


def run_records_audit(database_url: str, csv_dir: Path) -> dict[str, Any]:
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        records = load_records(session)
        findings = audit_records(records)
        run = AuditRun(
            kind="record",
            params={},
            checked=len(records),
            flagged=len(findings),
            finished_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
        session.add(run)
        session.flush()
        write_record_findings(session, run.id, findings)
        run_id = run.id
    engine.dispose()
    accounts = {r.id: r.account_no for r in records}
    path = csv_dir / f"records-audit-{run_id}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["customer_id", "account_no", "reason", "field", "detail"])
        for f in findings:
            # the detail may quote an ID number: mask it in the exported file
            detail = " ".join(
                mask_id_number(w) if len(w) == 18 and w[:17].isdigit() else w for w in f.detail.split(" ")
            )
            writer.writerow([f.customer_id, accounts.get(f.customer_id, ""), f.reason, f.field, detail])
    by_reason = Counter(f.reason for f in findings)
    return {
        "run_id": run_id,
        "customers": len(records),
        "findings": len(findings),
        "by_reason": dict(sorted(by_reason.items())),
        "csv": str(path),
    }
