"""What every PowerDesk package shares: settings, database, domain types, errors."""
