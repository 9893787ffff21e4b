"""Every write to the registry, each in one transaction with its audit event."""
