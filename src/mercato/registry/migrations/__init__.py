"""Alembic migrations of the registry database (applied by ``mercato.db.run_migrations``)."""
