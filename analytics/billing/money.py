"""Rounding money the way bills do: half up (away from zero) to 0.01 yuan, on whole arrays."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt


def round_half_up(values: npt.ArrayLike, decimals: int = 2) -> npt.NDArray[np.float64]:
    """Half-up rounding that is not fooled by binary floats (75 × 0.618 = 46.349999… → 46.35).

    The scaled value is first snapped to 1e-6 of the last unit, which removes the representation
    error of products of decimal quantities while leaving every genuine fraction alone.
    """
    scale = 10.0**decimals
    scaled = np.round(np.asarray(values, dtype=np.float64) * scale, 6)
    return np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) / scale


def decimal_half_up(value: Decimal | float | str, places: str = "0.01") -> Decimal:
    """The same rule on one Decimal (the reference implementation and the tests)."""
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)
