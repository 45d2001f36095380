"""Robust features per customer from daily kWh (NaN = missing) and, when present, 15-minute data.

Missing readings are never filled: the mask itself gives features (share missing, longest gap,
a shift in missingness). Levels use medians and quantiles; changes use the best split of the
series (the largest standardised change in mean, see `series.best_shift`) on the customer's own
series and on its series relative to its peers (same area and category, same days, so the same
weather and holidays).
"""

from __future__ import annotations

import warnings

import numpy as np
import numpy.typing as npt
import pandas as pd

from analytics.anomaly.series import (
    best_shift,
    block_means,
    longest_run,
    nanmean_rows,
    nanstd_rows,
    row_corr,
    run_starts,
    sorted_quantiles,
    trailing_run,
)

F32 = npt.NDArray[np.float32]
Features = dict[str, F32]


def _f(a: npt.ArrayLike) -> F32:
    return np.asarray(a, dtype=np.float32)


def daily_features(
    x: F32, days: pd.DatetimeIndex, peer: F32 | None = None, negatives: F32 | None = None, full: bool = True
) -> Features:
    """Features of a (customers, days) block of daily kWh; `peer` is the (customers, days) peer level.

    `full=False` computes only what the unsupervised detector uses (the population scoring path);
    the supervised model takes them all.
    """
    n, d = x.shape
    out: Features = {}
    ok = ~np.isnan(x)
    cnt = ok.sum(axis=1)
    miss = ~ok
    out["obs_frac"] = _f(cnt / max(d, 1))
    out["miss_run_max"] = _f(longest_run(miss) / max(d, 1))
    if full:
        out["miss_runs"] = _f(run_starts(miss) * 100.0 / max(d, 1))
        out["miss_trailing"] = _f(trailing_run(miss) / max(d, 1))
    out["miss_shift_t"] = best_shift(miss.astype(np.float32)).t
    q10, q25, q50, q75, q90, q100 = sorted_quantiles(x, (0.1, 0.25, 0.5, 0.75, 0.9, 1.0))
    mean = nanmean_rows(x)
    eps = 0.05 * np.nan_to_num(q50) + 0.01
    with np.errstate(all="ignore"):
        out["mean"], out["median"], out["q90"], out["max"] = _f(mean), q50, q90, q100
        out["max_q90"] = _f(q100 / (q90 + eps))
        if full:
            std = nanstd_rows(x)
            (mad,) = sorted_quantiles(np.abs(x - q50[:, None]), (0.5,))
            out["std"], out["mad"], out["q10"] = _f(std), _f(mad), q10
            out["log_median"] = _f(np.log1p(np.maximum(q50, 0)))
            out["cv"] = _f(std / mean)
            out["iqr_rel"] = _f((q75 - q25) / (q50 + eps))
            out["max_med"] = _f(q100 / (q50 + eps))
            out["skew_proxy"] = _f((mean - q50) / (std + 1e-6))
            robust = 1.4826 * mad + eps
            spikes = ok & ((x - q50[:, None]) > 8 * robust[:, None])
            out["spike_frac"] = _f(spikes.sum(axis=1) / np.maximum(cnt, 1))
        zero = ok & (x <= 1e-6)
        out["zero_frac"] = _f(zero.sum(axis=1) / np.maximum(cnt, 1))
        if full:
            out["near_zero_frac"] = _f((ok & (x < 0.1 * q50[:, None])).sum(axis=1) / np.maximum(cnt, 1))
        out["zero_run_max"] = _f(longest_run(zero) / max(d, 1))
        last = d - 1 - np.argmax(ok[:, ::-1], axis=1)  # the last day with a reading
        last_zero = ok.any(axis=1) & zero[np.arange(n), last]
        out["zero_trailing_days"] = _f(trailing_run(zero | miss) * last_zero)  # zeros (gaps allowed) up to the end
        out["zero_shift_t"] = best_shift(np.where(ok, zero, np.nan).astype(np.float32)).t
        same = ok[:, 1:] & ok[:, :-1] & (np.abs(np.diff(x, axis=1)) < 1e-9) & (x[:, 1:] > 1e-6)
        out["flat_run_max"] = _f(longest_run(same) / max(d, 1))
        out["neg_count"] = _f(negatives if negatives is not None else np.zeros(n))
        lx = np.log(np.maximum(x, 0) + eps[:, None]).astype(np.float32)
        shift = best_shift(lx, abs_t=True)
        drop = best_shift(lx, abs_t=False)
        out["shift_t"], out["shift_pos"] = shift.t, shift.position
        out["drop_t"], out["drop_pos"] = drop.t, drop.position
        out["drop_ratio"] = _f(np.exp(drop.after - lx_mean_before(lx, drop.position)))
        out["drop_logratio"] = _f(-np.log(np.maximum(out["drop_ratio"], 1e-3)))
        out["log_std"] = _f(nanstd_rows(lx))  # spread of log daily kWh: the label-free risk's variability
        out["log_mean"] = _f(np.log1p(np.maximum(mean, 0)))  # its stake
        if full:
            out.update(_more_daily(x, days, ok, cnt, same, lx, mean, np.asarray(eps, dtype=np.float64)))
        if peer is not None:
            out.update(peer_features(x, peer, q50, mean, full))
    return out


def _more_daily(
    x: F32,
    days: pd.DatetimeIndex,
    ok: npt.NDArray[np.bool_],
    cnt: npt.NDArray[np.int64],
    same: npt.NDArray[np.bool_],
    lx: F32,
    mean: npt.NDArray[np.float64],
    eps: npt.NDArray[np.float64],
) -> Features:
    """Features only the supervised model uses: trend, ratios, roughness, autocorrelation, weekly pattern."""
    n, d = x.shape
    out: Features = {}
    with np.errstate(all="ignore"):
        out["flat_frac"] = _f(same.sum(axis=1) / np.maximum(cnt - 1, 1))
        t = np.arange(d, dtype=np.float64)[None, :]
        tm = nanmean_rows(np.where(ok, t, np.nan))
        cov = nanmean_rows(np.where(ok, (t - tm[:, None]) * (x - mean[:, None]), np.nan))
        var = nanmean_rows(np.where(ok, (t - tm[:, None]) ** 2, np.nan))
        out["slope_rel"] = _f(cov / var * 365 / (np.abs(mean) + eps))
        for k in (30, 90, 180):
            if d > k + 14:
                out[f"ratio_last{k}"] = _f(nanmean_rows(x[:, -k:]) / (nanmean_rows(x[:, :-k]) + eps))
        dx = np.abs(np.diff(x, axis=1))
        out["roughness"] = _f(nanmean_rows(dx) / (np.abs(mean) + eps))
        out["vol_shift_t"] = best_shift(np.abs(np.diff(lx, axis=1))).t
        out["ac1"] = _f(row_corr(x[:, 1:], x[:, :-1]))
        out["ac7"] = _f(row_corr(x[:, 7:], x[:, :-7])) if d > 21 else _f(np.full(n, np.nan))
        weekend = np.asarray(days.dayofweek >= 5)
        out["weekend_ratio"] = _f(nanmean_rows(x[:, weekend]) / (nanmean_rows(x[:, ~weekend]) + eps))
    return out


def peer_features(
    x: F32, peer: F32, q50: F32 | None = None, mean: npt.NDArray[np.float64] | None = None, full: bool = True
) -> Features:
    """Changes of the customer's series divided by its peers' level (same area, category and days)."""
    out: Features = {}
    d = x.shape[1]
    if q50 is None:
        q50 = sorted_quantiles(x, (0.5,))[0]
    if mean is None:
        mean = nanmean_rows(x)
    with np.errstate(all="ignore"):
        scale = np.where(q50 > 0, q50, np.nan_to_num(mean) + 0.01)
        lr = np.log(np.maximum(x, 0) / (peer * scale[:, None]) + 0.05).astype(np.float32)
        pdrop = best_shift(lr, abs_t=False)
        out["pdrop_t"], out["pdrop_pos"] = pdrop.t, pdrop.position
        out["pdrop_ratio"] = _f(np.exp(pdrop.after - lx_mean_before(lr, pdrop.position)))
        out["pdrop_logratio"] = _f(-np.log(np.maximum(out["pdrop_ratio"], 1e-3)))
        out["pvol_shift_t"] = best_shift(np.abs(np.diff(lr, axis=1))).t
        if full:
            out["pshift_t"] = best_shift(lr, abs_t=True).t
            if d > 104:
                out["pratio_last90"] = _f(np.exp(nanmean_rows(lr[:, -90:]) - nanmean_rows(lr[:, :-90])))
            out["peer_corr"] = _f(row_corr(x, peer))
            out["p_std"] = _f(nanstd_rows(lr))
    return out


def lx_mean_before(lx: F32, position: F32) -> npt.NDArray[np.float64]:
    """Mean of each row before its split position (a fraction of the series)."""
    d = lx.shape[1]
    cut = np.nan_to_num(position * d).astype(np.int64)
    before = np.arange(d)[None, :] < cut[:, None]
    return nanmean_rows(np.where(before, lx, np.nan))


def intraday_features(iv: F32) -> Features:
    """Load factor, night share, within-day variability, zero cuts and shape changes from (n, days, slots)."""
    n, d, s = iv.shape
    out: Features = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        total = np.nansum(iv, axis=2)
        present = (~np.isnan(iv)).sum(axis=2)
        day_ok = present * 2 >= s
        mean = total / np.maximum(present, 1)
        peak = np.nanmax(np.where(np.isnan(iv), -np.inf, iv), axis=2)
        lf = np.where(day_ok & (peak > 0), mean / peak, np.nan)
        night_slots = np.arange(s) < s // 4  # 00:00–06:00
        night = np.where(day_ok & (total > 0), np.nansum(iv[:, :, night_slots], axis=2) / total, np.nan)
        wcv = np.where(day_ok & (mean > 0), np.nanstd(iv, axis=2) / mean, np.nan)
        zero_slot = np.nan_to_num(iv, nan=1.0) <= 1e-6
        run = np.zeros((n, d), dtype=np.int16)
        cur = np.zeros((n, d), dtype=np.int16)
        for j in range(s):
            cur = np.where(zero_slot[:, :, j], cur + 1, 0).astype(np.int16)
            np.maximum(run, cur, out=run)
        cut = np.where(day_ok & (total > 0), (run >= s // 12).astype(np.float32), np.nan)  # ≥ 2 h of zeros
        share = iv / np.where(total > 0, total, np.nan)[:, :, None]
        profile = np.nanmedian(share[:, : max(d // 3, 1)], axis=1)  # (n, slots) its habitual shape, first third
        prof_c = profile - np.nanmean(profile, axis=1, keepdims=True)
        sh_c = share - np.nanmean(share, axis=2, keepdims=True)
        num = np.nansum(sh_c * prof_c[:, None, :], axis=2)
        den = np.sqrt(np.nansum(sh_c**2, axis=2) * np.nansum(prof_c**2, axis=1)[:, None])
        corr = np.where(day_ok & (den > 0), num / den, np.nan)
        peak_slot = np.argmax(np.nan_to_num(profile, nan=-1.0), axis=1)
    for name, daily in (("lf", lf), ("night", night), ("wcv", wcv), ("cut", cut), ("shape", corr)):
        daily32 = daily.astype(np.float32)
        out[f"{name}_mean"] = _f(nanmean_rows(daily32))
        shift = best_shift(daily32)
        out[f"{name}_shift_t"] = shift.t
    out["peak_hour"] = _f(peak_slot * 24.0 / s)
    return out


def block_features(x: F32, peer: F32 | None = None, max_weeks: int = 160, max_months: int = 40) -> Features:
    """Weekly and 30-day blocks counted back from the last day, relative to the customer's median."""
    n, d = x.shape
    out: Features = {}
    scale = np.nan_to_num(sorted_quantiles(x, (0.5,))[0]) + 0.01
    weeks, months = min(max_weeks, d // 7), min(max_months, d // 30)
    wm, wmiss = block_means(x, 7, weeks)
    mm, mmiss = block_means(x, 30, months)
    for j in range(weeks):
        out[f"w{j}_rel"] = _f(wm[:, j] / scale)
        out[f"w{j}_miss"] = wmiss[:, j]
    for j in range(months):
        out[f"m{j}_rel"] = _f(mm[:, j] / scale)
        out[f"m{j}_miss"] = mmiss[:, j]
        out[f"m{j}_log"] = _f(np.log1p(np.maximum(mm[:, j], 0)))
    if peer is not None:
        with np.errstate(all="ignore"):
            pm, _ = block_means((x / (peer * scale[:, None])).astype(np.float32), 30, months)
        for j in range(months):
            out[f"m{j}_peer"] = pm[:, j]
    return out


def to_frame(features: Features, index: npt.ArrayLike | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(features, index=None if index is None else pd.Index(np.asarray(index), name="customer_id"))
    return frame.replace([np.inf, -np.inf], np.nan).astype(np.float32)
