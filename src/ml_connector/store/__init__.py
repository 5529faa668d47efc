"""State store: SQLAlchemy models, engine set-up, Alembic migrations and repositories."""
