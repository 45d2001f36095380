"""Features that describe real metered consumption (SGCC-like daily kWh with gaps), not injected attacks.

Real theft rarely shows the sudden sustained drop of injected attacks. What separates real thieves in
the SGCC data (Zheng et al., IEEE TII 2018, and `../shared/data/theft/README.md`) is the structure of
missing readings (how many, in how many runs, where in the year), zero runs, how irregular the series
is (thieves' consumption is less periodic), its weekly and seasonal shape and their stability, and its
level against the customer's own history and its peers. Everything here is one vectorised pass over a
(customers, days) block with NaN for missing days: no loop over customers, so it scales like
`features.daily_features`.

The supervised model (`theft_model.py`) takes these on top of `features.daily_features`; the label-free
risk (`risk.py`) needs only daily features, so the population scoring path does not pay for these.
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.anomaly.series import nanmean_rows, nanstd_rows, row_corr, run_starts, sorted_quantiles

F32 = npt.NDArray[np.float32]
Features = dict[str, F32]
LONG_ZERO_RUN = 7  # days: a week of exact zeros with readings around it is a stopped or bypassed meter


def _f(a: npt.ArrayLike) -> F32:
    return np.asarray(a, dtype=np.float32)


def _log_level(x: F32) -> F32:
    """log(kWh + a floor at 5% of the customer's median), so zeros and tiny readings stay finite."""
    med = np.nanmedian(np.where(x > 0, x, np.nan), axis=1) if x.shape[1] else np.zeros(x.shape[0])
    floor = 0.05 * np.nan_to_num(med) + 0.01
    return np.log(np.maximum(x, 0) + floor[:, None]).astype(np.float32)


def _missing_and_zero_runs(x: F32) -> Features:
    """Leading gap, missing share inside the metered span, number of zero runs."""
    n, d = x.shape
    ok = ~np.isnan(x)
    any_ok = ok.any(axis=1)
    first = np.where(any_ok, np.argmax(ok, axis=1), d)
    last = np.where(any_ok, d - 1 - np.argmax(ok[:, ::-1], axis=1), -1)
    span = np.maximum(last - first + 1, 1)
    out: Features = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out["miss_lead"] = _f(first / max(d, 1))
        out["miss_inner"] = _f(1 - ok.sum(axis=1) / span)
        zero = ok & (x <= 1e-6)
        starts = zero & ~np.concatenate([np.zeros((n, 1), bool), zero[:, :-1]], axis=1)
        out["zero_runs"] = _f(starts.sum(axis=1) * 100.0 / max(d, 1))
    return out


def profile_features(x: F32, days: pd.DatetimeIndex, peer: F32 | None = None) -> Features:
    """Missing runs (where in the year), zero runs, distribution, weekly and seasonal shape and stability.

    Level and spread (`log_mean`, `log_std`) come with `features.daily_features`; `peer` (the peers'
    normalised daily level) adds the departure of the seasonal shape from the peers'.
    """
    n, d = x.shape
    out = _missing_and_zero_runs(x)
    ok = ~np.isnan(x)
    miss = ~ok
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        out["miss_run_count"] = _f(run_starts(miss) * 100.0 / max(d, 1))
        quarter = np.asarray(days.quarter)
        for q in range(1, 5):
            sel = quarter == q
            if sel.any():
                out[f"miss_q{q}"] = _f(miss[:, sel].mean(axis=1))
        zero = ok & (x <= 1e-6)
        out["zero_run_long"] = _f(_runs_at_least(zero | (miss & _between(zero)), LONG_ZERO_RUN))
        lx = _log_level(x)
        mean = nanmean_rows(x)
        scale = np.abs(mean) + 0.01
        out["abs_diff_rel"] = _f(nanmean_rows(np.abs(np.diff(x, axis=1))) / scale)
        out["log_diff"] = _f(nanmean_rows(np.abs(np.diff(lx, axis=1))))
        out["log_ac1"] = _f(row_corr(lx[:, 1:], lx[:, :-1]))
        out["log_ac7"] = _f(row_corr(lx[:, 7:], lx[:, :-7])) if d > 21 else _f(np.full(n, np.nan))
        q05, q25, q50, q75, q95, q99 = sorted_quantiles(x, (0.05, 0.25, 0.5, 0.75, 0.95, 0.99))
        base = q50 + 0.01 * scale
        out["q95_q50"], out["q99_q50"] = _f(q95 / base), _f(q99 / base)
        out["q05_q50"], out["iqr_q50"] = _f(q05 / base), _f((q75 - q25) / base)
        c = lx - nanmean_rows(lx)[:, None]
        sd = nanstd_rows(lx) + 1e-6
        out["log_skew"] = _f(nanmean_rows(c**3) / sd**3)
        out["log_kurt"] = _f(nanmean_rows(c**4) / sd**4 - 3)
        out.update(_weekly(x, lx, days))
        out.update(_seasonal(x, lx, days, peer))
    return out


def peer_season_features(x: F32, days: pd.DatetimeIndex, peer: F32) -> Features:
    """Only the departure of the customer's seasonal shape and daily level from its peers'."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        found = _seasonal(x, _log_level(x), days, peer)
    return {k: v for k, v in found.items() if k.endswith("_peer") or k.startswith("peer_")}


def _between(flag: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Days that have a flagged day somewhere before and somewhere after (gaps inside a zero stretch)."""
    before = np.maximum.accumulate(flag, axis=1)
    after = np.maximum.accumulate(flag[:, ::-1], axis=1)[:, ::-1]
    return before & after


def _runs_at_least(flag: npt.NDArray[np.bool_], k: int) -> npt.NDArray[np.int32]:
    """Number of runs of True of length ≥ k per row (a run counted on the day it reaches k)."""
    n, d = flag.shape
    cur = np.zeros(n, dtype=np.int32)
    count = np.zeros(n, dtype=np.int32)
    for j in range(d):
        cur = np.where(flag[:, j], cur + 1, 0)
        count += cur == k
    return count


def _weekly(x: F32, lx: F32, days: pd.DatetimeIndex) -> Features:
    """Weekday profile (share per weekday), its amplitude, its stability between halves, week-to-week spread."""
    n, d = x.shape
    out: Features = {}
    dow = np.asarray(days.dayofweek)
    half = np.arange(d) < d // 2
    prof = np.stack([nanmean_rows(lx[:, dow == k]) for k in range(7)], axis=1)
    prof = prof - np.nanmean(prof, axis=1, keepdims=True)
    out["week_amp"] = _f(np.nanmax(prof, axis=1) - np.nanmin(prof, axis=1))
    out["weekend_log"] = _f(np.nanmean(prof[:, 5:], axis=1) - np.nanmean(prof[:, :5], axis=1))
    p1 = np.stack([nanmean_rows(np.where(half[None, :], lx, np.nan)[:, dow == k]) for k in range(7)], axis=1)
    p2 = np.stack([nanmean_rows(np.where(~half[None, :], lx, np.nan)[:, dow == k]) for k in range(7)], axis=1)
    out["week_stability"] = _f(row_corr(p1, p2))
    weeks = d // 7
    if weeks >= 4:
        wm = nanmean_rows_3d(lx[:, : weeks * 7].reshape(n, weeks, 7))
        out["week_std"] = _f(nanstd_rows(wm))
        out["week_change"] = _f(nanmean_rows(np.abs(np.diff(wm, axis=1))))
    return out


def _seasonal(x: F32, lx: F32, days: pd.DatetimeIndex, peer: F32 | None) -> Features:
    """30-day block levels: amplitude, month-to-month change, largest drop, halves, and the departure from peers."""
    n, d = x.shape
    out: Features = {}
    blocks = d // 30
    if blocks < 2:
        return out
    mb = nanmean_rows_3d(lx[:, : blocks * 30].reshape(n, blocks, 30))
    centred = mb - np.nanmean(mb, axis=1, keepdims=True)
    out["season_amp"] = _f(np.nanmax(centred, axis=1) - np.nanmin(centred, axis=1))
    steps = np.diff(mb, axis=1)
    out["month_change"] = _f(nanmean_rows(np.abs(steps)))
    out["month_drop_max"] = _f(-np.nanmin(np.where(np.isnan(steps), np.inf, steps), axis=1))
    half = d // 2
    out["half_change"] = _f(nanmean_rows(lx[:, half:]) - nanmean_rows(lx[:, :half]))
    if peer is not None:
        lp = np.log(np.maximum(peer, 1e-3)).astype(np.float32)
        pb = nanmean_rows_3d(lp[:, : blocks * 30].reshape(n, blocks, 30))
        rel = centred - (pb - np.nanmean(pb, axis=1, keepdims=True))
        out["season_dev_peer"] = _f(nanmean_rows(np.abs(rel)))
        out["season_corr_peer"] = _f(row_corr(mb, pb))
        daily_rel = lx - lp
        out["peer_rel_std"] = _f(nanstd_rows(daily_rel))
    return out


def nanmean_rows_3d(x: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Mean over the last axis ignoring NaN (NaN where a block has no reading)."""
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.where(ok, x, 0.0).sum(axis=2, dtype=np.float64) / cnt, np.nan)
