"""Consumption anomalies: theft and meter-fault scoring, attack injection, regional alerts.

Pure computations over arrays and data frames; the database and HTTP edges live in core/ and api/.
"""
