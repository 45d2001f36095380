"""Domain computations: pure functions over plain data and DataFrames; no web framework."""
