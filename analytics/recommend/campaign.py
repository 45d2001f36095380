"""Pre-peak campaigns: who to ask to shift load before a high-risk day, a random control group, and the effect.

Selection: interval-metered customers whose consumption in the day's risk window (on the baseline
days before it) is large and is a large share of their day: the part of their load that could move.
The selected are split at random (within each customer category) into a treatment group, who get
the message, and a control group, who do not. Evaluation is a difference in differences on each
customer's window energy relative to its own baseline: effect = mean change of the treated − mean
change of the controls, with a Welch confidence interval. Weather and the day's common shocks hit
both groups alike and cancel.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from analytics.calendar import DayType, day_types
from analytics.recommend.loads import CustomerLoad
from core.errors import InvalidInput

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Window:
    """A window of the day in 15-minute slots, e.g. 19:00–21:00 → slots 76..83."""

    start: str
    end: str

    @classmethod
    def parse(cls, text: str) -> Window:
        try:
            start, end = (part.strip() for part in text.split("-"))
            window = cls(start, end)
            window.slots()
        except (ValueError, IndexError):
            raise InvalidInput(
                f"window {text!r} must look like 19:00-21:00 (quarter hours, start before end)"
            ) from None
        return window

    def slots(self) -> slice:
        a, b = _slot(self.start), _slot(self.end)
        if not 0 <= a < b <= 96:
            raise ValueError(self)
        return slice(a, b)

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


def _slot(hhmm: str) -> int:
    h, m = hhmm.split(":")
    if int(m) % 15 or not 0 <= int(m) < 60:
        raise ValueError(hhmm)
    return int(h) * 4 + int(m) // 15


def baseline_days(day: dt.date, available: list[dt.date], count: int) -> list[dt.date]:
    """The `count` days of the same kind (workday / rest day) as `day` just before it, with data."""
    have = set(available)
    candidates = [day - dt.timedelta(days=i) for i in range(1, 8 * count + 1)]
    kinds = day_types([day, *candidates])
    target = kinds[0] == DayType.WORKDAY
    return [d for d, k in zip(candidates, kinds[1:], strict=True) if d in have and (k == DayType.WORKDAY) == target][
        :count
    ]


@dataclass
class Candidate:
    customer_id: int
    category: str
    baseline_kwh: float  # mean window energy on the baseline days
    window_share: float  # of the day's energy
    score: float  # baseline_kwh × window_share: the window energy that could move


def candidates(loads: list[CustomerLoad], day: dt.date, window: Window, baseline: int) -> list[Candidate]:
    """Interval-metered customers with a full baseline before `day`, scored by their movable window energy."""
    out = []
    w = window.slots()
    for load in loads:
        if not load.has_intervals:
            continue
        assert load.intervals is not None
        days = baseline_days(day, load.days, baseline)
        if len(days) < baseline:
            continue
        index = {d: i for i, d in enumerate(load.days)}
        rows = load.intervals[[index[d] for d in days]].astype(np.float64)
        window_kwh = float(rows[:, w].sum(axis=1).mean())
        total = float(rows.sum(axis=1).mean())
        if window_kwh <= 0 or total <= 0:
            continue
        share = window_kwh / total
        out.append(Candidate(load.customer_id, load.tariff_category, window_kwh, share, window_kwh * share))
    return out


def select(pool: list[Candidate], size: int, min_share: float) -> list[Candidate]:
    """The `size` candidates with the most movable window energy among those whose window share ≥ min_share.

    Ranking is within each category by share of the category's score, so households are not crowded
    out by factories: each category contributes in proportion to its number of eligible candidates.
    """
    if size <= 0:
        raise InvalidInput(f"campaign size must be positive, got {size}")
    eligible = [c for c in pool if c.window_share >= min_share]
    by_cat: dict[str, list[Candidate]] = {}
    for c in eligible:
        by_cat.setdefault(c.category, []).append(c)
    chosen: list[Candidate] = []
    for _cat, items in sorted(by_cat.items()):
        quota = math.ceil(size * len(items) / max(len(eligible), 1))
        chosen += sorted(items, key=lambda c: -c.score)[:quota]
    return sorted(chosen, key=lambda c: -c.score)[:size]


def assign(chosen: list[Candidate], control_share: float, seed: int) -> dict[int, str]:
    """Random treatment / control arms, stratified by category (reproducible from the seed)."""
    if not 0 < control_share < 1:
        raise InvalidInput(f"control share must be between 0 and 1, got {control_share}")
    rng = np.random.default_rng(seed)
    arms: dict[int, str] = {}
    by_cat: dict[str, list[int]] = {}
    for c in chosen:
        by_cat.setdefault(c.category, []).append(c.customer_id)
    for _, ids in sorted(by_cat.items()):
        order = rng.permutation(len(ids))
        n_control = int(round(len(ids) * control_share))
        for rank, k in enumerate(order):
            arms[ids[k]] = "control" if rank < n_control else "treatment"
    return arms


@dataclass
class Effect:
    """Difference in differences of window energy, relative to each customer's baseline."""

    effect_share: float  # e.g. -0.12: the treated used 12% less in the window than they would have
    ci_low: float
    ci_high: float
    p_value: float
    effect_kwh: float  # effect_share × the treated group's baseline window energy
    treated: int
    controls: int
    treated_change: float
    control_change: float
    confidence: float

    @property
    def significant(self) -> bool:
        return self.ci_high < 0 or self.ci_low > 0

    def to_json(self) -> dict[str, float | int | bool]:
        return {
            "effect_share": round(self.effect_share, 4),
            "ci_low": round(self.ci_low, 4),
            "ci_high": round(self.ci_high, 4),
            "p_value": round(self.p_value, 4),
            "effect_kwh": round(self.effect_kwh, 1),
            "treated": self.treated,
            "controls": self.controls,
            "treated_change": round(self.treated_change, 4),
            "control_change": round(self.control_change, 4),
            "confidence": self.confidence,
            "significant": self.significant,
        }


def window_change(load: CustomerLoad, day: dt.date, window: Window, baseline: int) -> tuple[float, float] | None:
    """(window kWh on the day / mean on the baseline days − 1, the baseline kWh); None without the data."""
    if not load.has_intervals or day not in load.days:
        return None
    assert load.intervals is not None
    index = {d: i for i, d in enumerate(load.days)}
    days = baseline_days(day, load.days, baseline)
    if len(days) < baseline:
        return None
    w = window.slots()
    base = float(load.intervals[[index[d] for d in days]][:, w].astype(np.float64).sum(axis=1).mean())
    if base <= 0:
        return None
    return float(load.intervals[index[day], w].astype(np.float64).sum()) / base - 1.0, base


def evaluate(
    loads: list[CustomerLoad],
    arms: dict[int, str],
    day: dt.date,
    window: Window,
    baseline: int,
    confidence: float = 0.95,
) -> Effect:
    """Difference in differences on the day's window energy, with a Welch t confidence interval."""
    changes: dict[str, list[float]] = {"treatment": [], "control": []}
    base_treated = 0.0
    for load in loads:
        arm = arms.get(load.customer_id)
        if arm is None:
            continue
        found = window_change(load, day, window, baseline)
        if found is None:
            continue
        changes[arm].append(found[0])
        if arm == "treatment":
            base_treated += found[1]
    t, c = np.array(changes["treatment"]), np.array(changes["control"])
    if len(t) < 2 or len(c) < 2:
        raise InvalidInput(
            f"need meter data for the campaign day {day} from at least 2 treated and 2 control customers "
            f"(have {len(t)} and {len(c)}); evaluate after the day's readings are in"
        )
    effect = float(t.mean() - c.mean())
    vt, vc = t.var(ddof=1) / len(t), c.var(ddof=1) / len(c)
    se = math.sqrt(vt + vc)
    dof = (vt + vc) ** 2 / (vt**2 / (len(t) - 1) + vc**2 / (len(c) - 1)) if se > 0 else len(t) + len(c) - 2
    q = float(stats.t.ppf(0.5 + confidence / 2, dof))
    p = float(2 * stats.t.sf(abs(effect) / se, dof)) if se > 0 else (0.0 if effect else 1.0)
    return Effect(
        effect,
        effect - q * se,
        effect + q * se,
        p,
        effect * base_treated,
        len(t),
        len(c),
        float(t.mean()),
        float(c.mean()),
        confidence,
    )


def inject_effect(loads: list[CustomerLoad], ids: set[int], day: dt.date, window: Window, share: float) -> None:
    """Simulation: scale the window energy of customers `ids` on `day` by (1 + share), in place."""
    w = window.slots()
    for load in loads:
        if load.customer_id in ids and load.has_intervals and day in load.days:
            assert load.intervals is not None
            i = load.days.index(day)
            load.intervals = load.intervals.copy()
            load.intervals[i, w] *= np.float32(1.0 + share)
