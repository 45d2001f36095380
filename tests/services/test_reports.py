"""`powerdesk report satisfaction` on the hand-computed fixture log stored in a real database (SQLite and
PostgreSQL): the CSVs carry the same numbers as the pure metrics, personal numbers are masked everywhere,
bad options are refused, and the report renders in headless Chromium (PDF and a screenshot that is checked)."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from analytics.satisfaction.sentiment import SentimentModel
from core.db import make_engine, make_session_factory, transaction
from core.migrate import upgrade
from core.models import Conversation, Handoff, Message, Rating
from core.models_reports import MessageSentiment
from core.settings import Settings
from services.reports import run_report
from tests.analytics.satisfaction.test_metrics import read_log

START, END = dt.date(2026, 11, 2), dt.date(2026, 11, 6)
SECRETS = ("13812345678", "33010219900101123X", "3301234567")


class HashEmbedder:
    """Character-bigram hashing: deterministic, no model files; '差' pushes a text one way."""

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for i, text in enumerate(texts):
            for a, b in zip(text, text[1:] + " ", strict=True):
                out[i, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % 63] += 1
            out[i, 63] = 5.0 if "差" in text else 0.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def fake_model(_settings: Settings) -> SentimentModel:
    weights = np.zeros(64, dtype=np.float32)
    weights[63] = -10.0
    return SentimentModel(weights, 2.0, "hash-test", HashEmbedder())


def store_fixture(url: str) -> None:
    log = read_log()
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        for row in log.conversations.itertuples():
            session.add(
                Conversation(
                    id=row.conversation_id,
                    channel=row.channel,
                    external_user_id=row.customer_key,
                    state="bot",
                    started_at=row.started_at.to_pydatetime(),
                )
            )
        session.flush()
        for row in log.messages.itertuples():
            text = row.text
            if row.message_id == 3:  # hostile and personal content must come out masked and escaped
                text = "<script>alert(1)</script> 身份证33010219900101123X 户号3301234567"
            session.add(
                Message(
                    id=row.message_id,
                    conversation_id=row.conversation_id,
                    direction=row.direction,
                    sender=row.sender,
                    text=text,
                    intent=None if pd.isna(row.intent) else row.intent,
                    confidence=None if pd.isna(row.confidence) else float(row.confidence),
                    created_at=row.created_at.to_pydatetime(),
                )
            )
        session.flush()
        for row in log.handoffs.itertuples():
            session.add(
                Handoff(
                    id=row.handoff_id,
                    conversation_id=row.conversation_id,
                    reason=row.reason,
                    agent=row.agent,
                    created_at=row.created_at.to_pydatetime(),
                    claimed_at=row.claimed_at.to_pydatetime(),
                    closed_at=None if pd.isna(row.closed_at) else row.closed_at.to_pydatetime(),
                )
            )
        for row in log.ratings.itertuples():
            session.add(
                Rating(
                    conversation_id=row.conversation_id,
                    score=int(row.score),
                    human_involved=bool(row.human_involved),
                    agent=None if pd.isna(row.agent) else row.agent,
                    created_at=row.created_at.to_pydatetime(),
                )
            )
    engine.dispose()


def report_settings(tmp_path: Path, url: str) -> Settings:
    return Settings(powerdesk_env="test", var_dir=tmp_path, database_url=url, _env_file=None)


@pytest.mark.db
def test_report_numbers_csvs_and_masking(db_url: str, tmp_path: Path) -> None:
    store_fixture(db_url)
    out = tmp_path / "out"
    written = run_report(
        report_settings(tmp_path, db_url), START, END, out, pdf=False, log=lambda _m: None, model_loader=fake_model
    )
    names = {p.name for p in written}
    assert {"report.html", "summary.csv", "by_day.csv", "by_agent.csv", "knowledge_gaps.csv", "contacts.csv"} <= names
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    assert summary["contacts"] == 5 and summary["escalation_rate"] == pytest.approx(0.4)
    assert summary["resolution_rate"] == pytest.approx(2 / 3) and summary["csat_agent"] == 1.0
    assert summary["first_response_median_s"] == 120
    # the sentiment of every customer message was stored once, and a second run scores nothing new
    engine = make_engine(db_url)
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(MessageSentiment)) == 11
    engine.dispose()
    run_report(
        report_settings(tmp_path, db_url), START, END, out, pdf=False, log=lambda _m: None, model_loader=fake_model
    )
    html = (out / "report.html").read_text(encoding="utf-8")
    everything = html + "".join(p.read_text(encoding="utf-8-sig") for p in out.glob("*.csv"))
    for secret in SECRETS:
        assert secret not in everything
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html  # the gap example is escaped
    assert "138****5678" in everything or "3301****67" in everything
    assert "客户满意度分析报告" in html and 'data-by="agent"' in html
    gaps = pd.read_csv(out / "knowledge_gaps.csv")
    assert gaps["size"].sum() == 2  # 阿巴阿巴 (fallback) and 电价 (0.4); ratings '5' and '3' are not questions


@pytest.mark.db
def test_empty_period_and_bad_options(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    out = tmp_path / "empty"
    run_report(report_settings(tmp_path, url), START, END, out, pdf=False, log=lambda _m: None, model_loader=fake_model)
    assert 'id="no-data"' in (out / "report.html").read_text(encoding="utf-8")
    from cli.main import app

    runner = CliRunner()
    for args, message in (
        (["--from", "2026-13-01", "--to", "2026-11-02"], "--from must be a date"),
        (["--from", "2026-11-05", "--to", "2026-11-02"], "before"),
        (["--from", "2020-01-01", "--to", "2026-11-02"], "three years"),
    ):
        result = runner.invoke(app, ["report", "satisfaction", *args, "--out", str(tmp_path / "x")])
        assert result.exit_code != 0 and message in str(result.exception)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(Exception, match="is a file"):
        run_report(report_settings(tmp_path, url), START, END, a_file, pdf=False, model_loader=fake_model)


@pytest.mark.browser
@pytest.mark.db
def test_report_prints_in_chromium_and_looks_like_a_report(tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (make setup installs it)")
    from PIL import Image

    url = f"sqlite:///{tmp_path / 'r.db'}"
    upgrade(url)
    store_fixture(url)
    out = tmp_path / "out"
    run_report(
        report_settings(tmp_path, url), START, END, out, log=lambda _m: None, model_loader=fake_model, screenshot=True
    )
    pdf = (out / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 20_000
    shot = Image.open(out / "report.png").convert("RGB")
    assert shot.width == 1100 and shot.height > 1400  # a full page: KPIs, charts, tables
    pixels = np.asarray(shot)
    blue = (np.abs(pixels.astype(int) - (0x1F, 0x6F, 0xB2)).sum(axis=2) < 40).mean()
    assert blue > 0.002  # the KPI values, chart lines and headings are drawn
    dark = (pixels.sum(axis=2) < 200).mean()
    assert dark > 0.005  # text is rendered (not an empty page or an error page)
