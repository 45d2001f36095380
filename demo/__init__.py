"""The synthetic demo customer base: fictitious customers with realistic load shapes."""
