"""Operations: the process runner, demo seeding, extension and simulation, the event consumer."""
