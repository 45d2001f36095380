"""False-data attacks and meter faults injected into real consumption, with labels.

The attack types are the standard ones of the theft-detection literature (Jokar et al., 2016,
h1–h6), applied from a start day to the end of the series, as a theft usually persists:

- `scale`: every value × α, α ∈ [0.1, 0.8] (h1)
- `partial_cut`: each day, zero from a random hour for 4–12 hours (h2)
- `random_scale`: every interval × its own random factor in [0.1, 0.8] (h3)
- `mean_scaled`: every interval = the day's mean × a random factor in [0.1, 0.8] (h4)
- `mean`: every interval = the day's mean; the total is unchanged, the shape is flat (h5)
- `reorder`: the day's intervals in reverse order; the total is unchanged (h6)
- `zero_windows`: several windows of 3–14 whole days at zero
- `constant`: every day the same low constant (a fraction of the usual level)

Meter faults (label 0: not theft, kind `meter_fault`): `stuck` (the last value repeated),
`stopped` (zeros from a day on), `rollback` (a few negative readings), `spikes` (a few readings
×10–50), `gaps` (long missing periods). Normal customers also get legitimate changes (vacations,
a lasting level change up or down) so that a plain drop is not yet proof of theft.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
ATTACKS = ("scale", "partial_cut", "random_scale", "mean_scaled", "mean", "reorder", "zero_windows", "constant")
DAILY_ATTACKS = ("scale", "random_scale", "zero_windows", "constant")  # meaningful without intra-day data
FAULTS = ("stuck", "stopped", "rollback", "spikes", "gaps")


@dataclass(frozen=True)
class Injected:
    label: npt.NDArray[np.int8]  # 1 = theft
    kind: npt.NDArray[np.object_]  # normal / theft / meter_fault / vacancy / legitimate_change
    type: npt.NDArray[np.object_]  # attack or fault type, "" for normal
    start: npt.NDArray[np.int32]  # first affected day (-1 if none)


def _day_mean(v: F32) -> F32:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a day without readings stays NaN
        return np.nanmean(v, axis=1, keepdims=True)


def _apply_attack(kind: str, v: F32, rng: np.random.Generator) -> F32:
    """Attack one customer's affected days: v is (days, slots)."""
    days, slots = v.shape
    if kind == "scale":
        return v * rng.uniform(0.1, 0.8)
    if kind == "partial_cut":
        out = v.copy()
        start = np.asarray(rng.integers(0, slots, days))
        length = np.asarray(rng.integers(slots // 6, slots // 2 + 1, days))
        idx = np.arange(slots)[None, :]
        cut = ((idx - start[:, None]) % slots) < length[:, None]
        out[cut] = 0.0
        return out
    if kind == "random_scale":
        return v * rng.uniform(0.1, 0.8, v.shape).astype(np.float32)
    if kind == "mean_scaled":
        return (np.repeat(_day_mean(v), slots, axis=1) * rng.uniform(0.1, 0.8, v.shape)).astype(np.float32)
    if kind == "mean":
        return np.repeat(_day_mean(v), slots, axis=1)
    if kind == "reorder":
        return v[:, ::-1].copy()
    if kind == "zero_windows":
        out = v.copy()
        for _ in range(int(rng.integers(2, 6))):
            a = int(rng.integers(0, max(days - 3, 1)))
            out[a : a + int(rng.integers(3, 15))] = 0.0
        return out
    if kind == "constant":
        level = float(np.nanmean(_day_mean(v))) * rng.uniform(0.1, 0.6) if np.isfinite(v).any() else 0.0
        return np.full_like(v, level)
    raise ValueError(f"unknown attack {kind!r}; choose from {ATTACKS}")


def _apply_fault(kind: str, v: F32, rng: np.random.Generator) -> F32:
    days, slots = v.shape
    out = v.copy()
    if kind == "stuck":
        out[:] = v[0]
    elif kind == "stopped":
        out[:] = 0.0
    elif kind == "rollback":
        for j in rng.choice(days, size=min(days, int(rng.integers(1, 4))), replace=False):
            out[j] = -np.abs(v[j]) * rng.uniform(1, 5)
    elif kind == "spikes":
        for j in rng.choice(days, size=min(days, int(rng.integers(1, 4))), replace=False):
            out[j] = v[j] * rng.uniform(10, 50)
    elif kind == "gaps":
        for _ in range(int(rng.integers(2, 5))):
            a = int(rng.integers(0, max(days - 10, 1)))
            out[a : a + int(rng.integers(10, 40))] = np.nan
    else:
        raise ValueError(f"unknown fault {kind!r}; choose from {FAULTS}")
    return out


def inject(
    data: F32,
    rng: np.random.Generator,
    theft_share: float = 0.3,
    fault_share: float = 0.1,
    attacks: tuple[str, ...] = ATTACKS,
    faults: tuple[str, ...] = FAULTS,
    legit_share: float = 0.2,
) -> tuple[F32, Injected]:
    """Inject in place-copy: `data` is (customers, days, slots) or (customers, days) daily kWh."""
    out = np.array(data, dtype=np.float32, copy=True)
    three_d = out.ndim == 3
    if not three_d:
        out = out[:, :, None]
        bad = [a for a in attacks if a not in DAILY_ATTACKS]
        if bad:
            raise ValueError(f"attacks {bad} need intra-day data; with daily data use {DAILY_ATTACKS}")
    n, d, _ = out.shape
    label = np.zeros(n, dtype=np.int8)
    kind = np.full(n, "normal", dtype=object)
    typ = np.full(n, "", dtype=object)
    start = np.full(n, -1, dtype=np.int32)
    order = rng.permutation(n)
    n_theft, n_fault = int(round(n * theft_share)), int(round(n * fault_share))
    thieves, faulty, normal = order[:n_theft], order[n_theft : n_theft + n_fault], order[n_theft + n_fault :]
    for k, i in enumerate(thieves):
        a = attacks[k % len(attacks)]
        t0 = int(rng.integers(int(0.35 * d), int(0.8 * d)))
        out[i, t0:] = _apply_attack(a, out[i, t0:], rng)
        label[i], kind[i], typ[i], start[i] = 1, "theft", a, t0
    for k, i in enumerate(faulty):
        f = faults[k % len(faults)]
        t0 = int(rng.integers(int(0.35 * d), int(0.8 * d))) if f in ("stuck", "stopped") else 0
        out[i, t0:] = _apply_fault(f, out[i, t0:], rng)
        kind[i], typ[i], start[i] = "meter_fault", f, t0
    n_legit = int(round(len(normal) * legit_share))
    for i in normal[:n_legit]:
        t0 = int(rng.integers(int(0.2 * d), int(0.9 * d)))
        if rng.random() < 0.5:  # a vacation: a few weeks at standby level
            out[i, t0 : t0 + int(rng.integers(7, 28))] *= rng.uniform(0.1, 0.35)
            typ[i] = "vacation"
        else:  # somebody moves in or out, a new appliance: a lasting change
            out[i, t0:] *= rng.choice([rng.uniform(0.6, 0.85), rng.uniform(1.2, 1.8)])
            typ[i] = "level_change"
    return (out if three_d else out[:, :, 0]), Injected(label, kind, typ, start)
