"""Packing of a meter-day's interval energies into the `interval_readings.values` column."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from core.errors import InvalidInput

VALID_SLOTS = (24, 96)


def pack_day(values: npt.ArrayLike) -> bytes:
    """A day's 96 (15-minute) or 24 (hourly) kWh values as little-endian float32 bytes."""
    arr = np.asarray(values, dtype="<f4")
    if arr.ndim != 1 or arr.size not in VALID_SLOTS:
        raise InvalidInput(f"a meter-day needs 24 or 96 interval values, got shape {arr.shape}")
    return arr.tobytes()


def unpack_day(blob: bytes) -> npt.NDArray[np.float32]:
    arr = np.frombuffer(blob, dtype="<f4")
    if arr.size not in VALID_SLOTS:
        raise InvalidInput(f"stored meter-day has {arr.size} values; expected 24 or 96 (corrupt row?)")
    return arr


def unpack_many(blobs: list[bytes], slots: int) -> npt.NDArray[np.float32]:
    """Stack many meter-days of the same resolution into a (days, slots) array."""
    if not blobs:
        return np.zeros((0, slots), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), slots)
