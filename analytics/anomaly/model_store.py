"""Saving and loading a trained theft model (one joblib file), with where it came from.

The file holds the fitted `TheftModel` and a note of its source (the labels it was trained on) and of
the library versions that wrote it (a pickle is read back by the same scikit-learn and LightGBM; after
upgrading them, retrain). A model from another feature version is refused with what to do rather than
silently misread.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import sklearn

from analytics.anomaly.theft_model import TheftModel
from core.errors import DataError

FEATURE_VERSION = 1  # bump when the features change meaning: saved models must then be retrained


def save_model(model: TheftModel, path: Path, source: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload: dict[str, Any] = {
        "feature_version": FEATURE_VERSION,
        "model": model,
        "source": source,
        "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": {"scikit-learn": sklearn.__version__, "lightgbm": lgb.__version__},  # what unpickles it
    }
    joblib.dump(payload, path, compress=3)
    return path


def load_model(path: Path) -> tuple[TheftModel, dict[str, Any]]:
    """The model and its note (source, trained_at, feature_version)."""
    try:
        payload = joblib.load(path)
    except (OSError, EOFError, ValueError, ImportError, AttributeError, KeyError) as exc:
        raise DataError(
            f"{path}: not a readable theft model ({exc}); retrain it with `powerdesk anomaly train`"
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("model"), TheftModel):
        raise DataError(f"{path}: not a theft model file; retrain it with `powerdesk anomaly train`")
    if payload.get("feature_version") != FEATURE_VERSION:
        raise DataError(
            f"{path}: trained on feature version {payload.get('feature_version')}, this code computes version "
            f"{FEATURE_VERSION}; retrain it with `powerdesk anomaly train`"
        )
    note = {k: v for k, v in payload.items() if k != "model"}
    return payload["model"], note
