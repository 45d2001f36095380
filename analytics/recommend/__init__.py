"""Recommendation: customer segments, tariff plans re-billed by the engine, energy-saving advice, campaigns."""
