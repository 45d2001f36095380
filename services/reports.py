"""`powerdesk report satisfaction`: load the log, score sentiment, compute the metrics, write HTML, PDF, CSVs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.satisfaction.contract import Log, require_log
from analytics.satisfaction.events import events_by_day, events_frame
from analytics.satisfaction.gaps import GAP_CONFIDENCE, Gap, gap_questions, gaps_frame, knowledge_gaps
from analytics.satisfaction.masking import mask_frame
from analytics.satisfaction.metrics import Params, contacts, escalation_reasons, intent_mix, summarise
from analytics.satisfaction.sentiment import SentimentModel
from core.errors import InvalidInput
from core.settings import Settings
from services.labels import Labels, load_labels
from services.report_render import bar_chart, line_chart, print_pdf, render_html
from services.sentiment import sentiment_model

TITLES = (
    ("day", "按日", "日期"),
    ("channel", "按渠道", "渠道"),
    ("matter", "按事项（意图）", "事项"),
    ("agent", "按坐席", "坐席"),
)
CODES = {"channel": "channel", "matter": "intent"}  # breakdown key → its group in data/labels.yml
Log_ = Callable[[str], Any]


def _records(frame: pd.DataFrame, key: str, name_of: Callable[[object], str] = str) -> list[dict[str, Any]]:
    rows = []
    for row in frame.to_dict("records"):
        name = row[key]
        row["name"] = name.strftime("%Y-%m-%d") if isinstance(name, pd.Timestamp) else name_of(name)
        rows.append(row)
    return rows


def build_context(
    c: pd.DataFrame,
    log: Log,
    gaps: list[Gap] | None,
    start: dt.date,
    end: dt.date,
    params: Params,
    model_name: str,
    labels: Labels,
) -> dict[str, Any]:
    """What the report template shows; codes (reasons, channels, intents) by their Chinese names."""
    overall = summarise(c, None, params)
    daily = summarise(c, "day", params)
    days = [d.strftime("%m-%d") for d in daily["day"]]
    reasons = escalation_reasons(c)
    mix = intent_mix(log.messages).head(15)
    return {
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "generated_at": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "overall": overall.iloc[0].to_dict() if len(overall) else None,
        "charts": {
            "daily": line_chart(
                days,
                {
                    "满意度": daily["csat"].tolist(),
                    "独立解决率": daily["containment"].tolist(),
                    "问题解决率": daily["resolution_rate"].tolist(),
                    "未识别率": daily["fallback_rate"].tolist(),
                },
            ),
            "sentiment": line_chart(
                days,
                {"情绪均值": daily["sentiment_mean"].tolist(), "负面占比": daily["negative_share"].tolist()},
                percent=False,
                bounds=(-1.0, 1.0),
            ),
            "reasons": bar_chart(
                [labels(r, "reason") for r in reasons["reason"]], reasons["escalations"].astype(float).tolist()
            ),
            "intents": bar_chart([labels(i, "intent") for i in mix["intent"]], mix["messages"].astype(float).tolist()),
        },
        "reasons": len(reasons) > 0,
        "breakdowns": [
            {
                "key": key,
                "title": title,
                "label": label,
                "rows": _records(
                    summarise(c, key, params), key, partial(labels, group=CODES[key]) if key in CODES else str
                ),
            }
            for key, title, label in TITLES
        ],
        "gaps": gaps or [],
        "gaps_note": "区间内没有未识别的问题。"
        if gaps is not None
        else "本次未计算知识缺口（--no-gaps 或缺少向量模型）。",
        "gap_confidence": GAP_CONFIDENCE,
        "low_confidence": params.low_confidence,
        "negative_below": params.negative_below,
        "sentiment_model": model_name,
    }


def run_report(
    settings: Settings,
    start: dt.date,
    end: dt.date,
    out: Path,
    *,
    pdf: bool = True,
    gaps: bool = True,
    log: Log_ = print,
    screenshot: bool = False,
    model_loader: Callable[[Settings], SentimentModel | None] = sentiment_model,
) -> list[Path]:
    from sqlalchemy import inspect

    from core.db import make_engine, make_session_factory
    from services.satisfaction import load_events, load_log, store_sentiment

    if out.exists() and not out.is_dir():
        raise InvalidInput(f"--out {out} is a file; give a folder (it is created if missing)")
    out.mkdir(parents=True, exist_ok=True)
    params = Params(negative_below=settings.sentiment_handoff_below)
    engine = make_engine(settings.effective_database_url)
    try:
        if "message_sentiment" not in inspect(engine).get_table_names():
            raise InvalidInput("the database has no report tables yet; run `powerdesk db upgrade` first")
        # 48 h after the last day are read too, so that the last days' resolution is known when it can be
        t0 = dt.datetime.combine(start, dt.time())
        t1 = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
        data = load_log(engine, t0, t1 + params.repeat_window)
        require_log(data)
        model = model_loader(settings)
        model_name = "未安装" if model is None else f"e5 + 逻辑回归（{model.embedder_name}）"
        if model is not None:
            log(f"scoring the sentiment of new customer messages with {model.embedder_name}")
            scores = store_sentiment(make_session_factory(engine), data, model.score_many, "e5-logreg")
            data = Log(data.conversations, data.messages, data.handoffs, data.ratings, scores)
        events, skipped = events_frame(load_events(engine))
        events = events[(events["timestamp"] >= t0) & (events["timestamp"] < t1)]
        if skipped:
            log(f"{skipped} broker events could not be read and were skipped")
    finally:
        engine.dispose()
    c = contacts(data, params)
    c = c[(c["start"] >= t0) & (c["start"] < t1)].reset_index(drop=True)
    in_range = data.messages[(data.messages["created_at"] >= t0) & (data.messages["created_at"] < t1)]
    view = Log(data.conversations, in_range, data.handoffs, data.ratings, data.sentiment)
    found: list[Gap] | None = None
    if gaps and model is not None and model.embedder is not None:
        found = knowledge_gaps(gap_questions(in_range, params), model.embedder)
    rasa_daily = events_by_day(events)
    written = _write_csvs(out, c, view, found, params)
    rasa_daily.to_csv(out / "rasa_events_by_day.csv", index=False, encoding="utf-8-sig", float_format="%.6g")
    written.append(out / "rasa_events_by_day.csv")
    html_path = out / "report.html"
    context = build_context(c, view, found, start, end, params, model_name, load_labels(settings.data_dir))
    context["rasa_days"] = _records(rasa_daily, "day") if len(rasa_daily) else []
    html_path.write_text(render_html(context), encoding="utf-8")
    written.insert(0, html_path)
    if pdf:
        pdf_path = out / "report.pdf"
        print_pdf(html_path, pdf_path, screenshot=out / "report.png" if screenshot else None)
        written.insert(1, pdf_path)
    log(f"{len(c)} contacts, {len(in_range)} messages from {start} to {end}")
    return written


def _write_csvs(out: Path, c: pd.DataFrame, log: Log, gaps: list[Gap] | None, params: Params) -> list[Path]:
    files: dict[str, pd.DataFrame] = {"summary": summarise(c, None, params)}
    for key, _title, _label in TITLES:
        files[f"by_{key}"] = summarise(c, key, params)
    files["escalation_reasons"] = escalation_reasons(c)
    files["escalation_reasons_by_day"] = escalation_reasons(c, "day")
    files["intent_mix"] = intent_mix(log.messages)
    files["intent_mix_by_day"] = intent_mix(log.messages, by_day=True)
    files["contacts"] = c.drop(columns=["customer_key"])  # the exported log carries no customer identity
    if gaps is not None:
        files["knowledge_gaps"] = gaps_frame(gaps)
    written = []
    for name, frame in files.items():
        path = out / f"{name}.csv"
        masked = mask_frame(frame)
        masked.to_csv(path, index=False, encoding="utf-8-sig", float_format="%.6g")
        written.append(path)
    return written
