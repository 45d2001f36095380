"""The real-consumption profile features on hand-made series."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.anomaly.profile import peer_season_features, profile_features


def test_missing_and_zero_structure() -> None:
    days = pd.date_range("2015-01-01", periods=364, freq="D")
    x = np.full((3, 364), 5.0, dtype=np.float32)
    x[0, :90] = np.nan  # the first quarter (January–March 2015) unread: a late start
    x[1, 100:110] = 0.0  # one zero run of 10 days …
    x[1, 200:203] = 0.0  # … and a short one
    x[1, 150:152] = np.nan
    x[2, 10:20] = 0.0  # zeros with a gap inside still make one long run
    x[2, 15] = np.nan
    f = profile_features(x, days)
    assert f["miss_lead"][0] == np.float32(90 / 364) and f["miss_inner"][0] == 0
    assert f["miss_q1"][0] == 1 and f["miss_q2"][0] == 0
    assert f["miss_inner"][1] == np.float32(2 / 364) and f["miss_run_count"][1] == np.float32(100 / 364)
    assert f["zero_run_long"].tolist() == [0, 1, 1]
    assert f["zero_runs"][1] == np.float32(200 / 364)


def test_weekly_and_seasonal_shape() -> None:
    days = pd.date_range("2015-01-05", periods=364, freq="D")  # a Monday
    t = np.arange(364)
    weekly = np.where(days.dayofweek >= 5, 2.0, 1.0)
    season = 1 + 0.5 * np.sin(2 * np.pi * t / 364)
    x = np.stack([weekly * 3, weekly * 3 * season, np.where(t < 182, weekly, weekly[::-1]) * 3]).astype(np.float32)
    f = profile_features(x, days)
    assert f["weekend_log"][0] > 0.6 and f["week_stability"][0] > 0.99
    assert f["season_amp"][1] > f["season_amp"][0] + 0.5
    assert f["week_stability"][2] < 0.5  # the weekly rhythm changed between the halves
    peer = np.tile(season.astype(np.float32), (3, 1))
    p = peer_season_features(x, days, peer)
    assert p["season_dev_peer"][1] < p["season_dev_peer"][0]  # follows its peers' season
    assert set(p) == {"season_dev_peer", "season_corr_peer", "peer_rel_std"}
