"""A small neural model on the CPU (torch): an MLP over the same level-normalised (day, interval) rows.

Refit every `retrain_every` days by continuing from the previous weights for a few epochs on the whole
history (warm start), so a year's backtest stays cheap. Point forecast only: its band is calibrated on
its residuals like the baselines'. Kept only as a contender: see the backtest table in the README.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from analytics.forecast.features import FeatureSet
from analytics.forecast.models import MIN_TRAIN_DAYS, RawForecast
from core.errors import InvalidInput


@dataclass
class MLPForecaster:
    features: FeatureSet
    name: str = "mlp"
    retrain_every: int = 7
    hidden: int = 96
    first_epochs: int = 30
    update_epochs: int = 4
    batch: int = 512
    seed: int = 7
    fitted_at: int = -1
    fits: int = 0
    _net: Any = None
    _mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    _std: np.ndarray = field(default_factory=lambda: np.ones(0))

    def _matrix(self, x: np.ndarray) -> np.ndarray:
        missing = np.isnan(x)
        z = (np.where(missing, self._mean, x) - self._mean) / self._std
        return np.concatenate([z, missing.astype(np.float32)], axis=1).astype(np.float32)

    def fit(self, pos: int) -> None:
        import torch

        fs = self.features
        days = np.arange(0, pos)
        usable = days[~np.isnan(fs.y[days]).any(axis=1) & np.isfinite(fs.level[days])]
        if usable.size < MIN_TRAIN_DAYS:
            raise InvalidInput(
                f"only {usable.size} complete days before {fs.days[pos].date()}; at least {MIN_TRAIN_DAYS} are needed"
            )
        x, y = fs.rows(usable)
        torch.manual_seed(self.seed + self.fits)
        torch.set_num_threads(1)
        if self._net is None:
            self._mean = np.nanmean(x, axis=0)
            self._mean = np.where(np.isfinite(self._mean), self._mean, 0.0)
            std = np.nanstd(x, axis=0)
            self._std = np.where(np.isfinite(std) & (std > 1e-6), std, 1.0)
            width = x.shape[1] * 2
            self._net = torch.nn.Sequential(
                torch.nn.Linear(width, self.hidden),
                torch.nn.SiLU(),
                torch.nn.Linear(self.hidden, self.hidden),
                torch.nn.SiLU(),
                torch.nn.Linear(self.hidden, 1),
            )
            epochs = self.first_epochs
        else:
            epochs = self.update_epochs
        data = torch.from_numpy(self._matrix(x))
        target = torch.from_numpy(y.astype(np.float32)).unsqueeze(1)
        optimiser = torch.optim.AdamW(self._net.parameters(), lr=2e-3 if self.fits == 0 else 5e-4, weight_decay=1e-4)
        self._net.train()
        for _ in range(epochs):
            order = torch.randperm(len(data))
            for start in range(0, len(data), self.batch):
                idx = order[start : start + self.batch]
                optimiser.zero_grad()
                loss = torch.nn.functional.mse_loss(self._net(data[idx]), target[idx])
                loss.backward()
                optimiser.step()
        self.fitted_at = pos
        self.fits += 1

    def predict(self, pos: int) -> RawForecast:
        import torch

        if self._net is None or pos - self.fitted_at >= self.retrain_every:
            self.fit(pos)
        fs = self.features
        self._net.eval()
        with torch.no_grad():
            out = self._net(torch.from_numpy(self._matrix(fs.x[pos]))).numpy().reshape(-1)
        return RawForecast(out.astype(np.float64) * fs.level[pos])
