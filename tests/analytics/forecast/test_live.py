from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from analytics.forecast.calibration import Band
from analytics.forecast.engine import ForecastEngine
from analytics.forecast.intraday import AlertBook, reanchor
from analytics.forecast.live import LiveDay
from analytics.forecast.models import LightGBMParams
from analytics.forecast.risk import load_risk_config
from core.errors import InvalidInput
from core.settings import REPO_ROOT

CONFIG = load_risk_config(REPO_ROOT / "data")


def test_reanchor_follows_the_measurements_then_decays() -> None:
    band = Band(np.full(96, 90.0), np.full(96, 100.0), np.full(96, 110.0))
    actual = np.full(96, np.nan)
    actual[:32] = 110.0  # 10% above the forecast all morning
    out, correction = reanchor(band, actual)
    assert correction == pytest.approx(np.log(1.1))
    assert (out.p50[:32] == 110.0).all() and (out.p10[:32] == 110.0).all()
    assert out.p50[32] == pytest.approx(110.0, rel=0.01) and 100.0 < out.p50[-1] < out.p50[40]
    assert reanchor(band, np.full(96, np.nan))[0] is band
    with pytest.raises(InvalidInput, match="expected 96"):
        reanchor(band, np.ones(24))


def test_alert_book_raises_only_on_a_change() -> None:
    book = AlertBook(keep=2)
    day, now = dt.date(2014, 9, 1), dt.datetime(2014, 9, 1, 8)
    assert book.observe(day, "blue", 0.01, "day-ahead", now) is not None
    assert book.observe(day, "blue", 0.02, "update", now) is None
    alert = book.observe(day, "red", 0.7, "update", now)
    assert alert is not None and alert.previous == "blue" and alert.as_json()["level"] == "red"
    book.observe(day, "blue", 0.01, "update", now)
    assert len(book.alerts) == 2


@pytest.fixture()
def live(sample) -> LiveDay:  # type: ignore[no-untyped-def]
    load, weather = sample
    engine = ForecastEngine(load, weather, params=LightGBMParams(n_estimators=60, quantile_estimators=30))
    engine.prepare()
    forecast = engine.forecast()
    capacity = float(forecast.band.p50.max()) * 1.08  # comfortably above the forecast peak: blue or yellow
    return LiveDay.start(engine, capacity, CONFIG, AlertBook(), now=dt.datetime(2014, 9, 1, 0, 0))


def test_measured_surge_reanchors_quickly_and_raises_an_alert(live: LiveDay) -> None:
    assert live.risk.level in ("blue", "yellow") and len(live.alerts.alerts) == 1
    morning = [dt.datetime(2014, 9, 1) + dt.timedelta(minutes=15 * i) for i in range(48)]
    surge = [float(live.base.band.p50[i]) * 1.15 for i in range(48)]
    update = live.post(morning, surge, now=dt.datetime(2014, 9, 1, 12))
    assert update.accepted == 48 and update.seconds < 1.0
    assert update.correction == pytest.approx(np.log(1.15), rel=0.05)
    assert live.risk.level in ("orange", "red") and update.alert is not None and update.alert.previous is not None
    snap = live.snapshot()
    assert (
        snap["intervals"][0]["actual"] == pytest.approx(surge[0], abs=0.1) and snap["intervals"][60]["actual"] is None
    )
    assert snap["intervals"][60]["p50"] > snap["intervals"][60]["day_ahead_p50"]


def test_bad_intervals_are_rejected_with_reasons(live: LiveDay) -> None:
    ok = dt.datetime(2014, 9, 1, 1, 0)
    update = live.post(
        [ok, dt.datetime(2014, 9, 2, 1), dt.datetime(2014, 9, 1, 1, 7), dt.datetime(2014, 9, 1, 2)],
        [5000.0, 5000.0, 5000.0, -3.0],
    )
    assert update.accepted == 1 and len(update.rejected) == 3
    assert any("not on the forecast day" in r for r in update.rejected)
    assert any("grid" in r for r in update.rejected) and any("positive" in r for r in update.rejected)
    with pytest.raises(InvalidInput, match="no interval accepted"):
        live.post([ok], [float("nan")])
    with pytest.raises(InvalidInput, match="at most"):
        live.post([ok] * 2001, [1.0] * 2001)
