"""Load risk forecasting: data contract, features, models, rolling backtest, risk and intraday updates.

Pure computations over numpy arrays and DataFrames; file reading lives in `readers`, the only
module here that touches the disk.
"""
