"""Forecast accuracy: MAPE, sMAPE, RMSE, pinball loss (P10, P50, P90) and P10–P90 coverage."""

from __future__ import annotations

import numpy as np

QUANTILES = (0.1, 0.5, 0.9)


def pinball(actual: np.ndarray, forecast: np.ndarray, q: float) -> float:
    diff = actual - forecast
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def scores(actual: np.ndarray, p10: np.ndarray, p50: np.ndarray, p90: np.ndarray) -> dict[str, float]:
    """Metrics over every scored interval (arrays of equal shape, no NaN)."""
    err = actual - p50
    return {
        "mape": float(np.mean(np.abs(err) / actual) * 100),
        "smape": float(np.mean(2 * np.abs(err) / (np.abs(actual) + np.abs(p50))) * 100),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "pinball": float(np.mean([pinball(actual, f, q) for f, q in zip((p10, p50, p90), QUANTILES, strict=True)])),
        "coverage": float(np.mean((actual >= p10) & (actual <= p90))),
        "peak_mape": float(np.mean(np.abs(actual.max(axis=1) - p50.max(axis=1)) / actual.max(axis=1)) * 100)
        if actual.ndim == 2
        else float("nan"),
    }
