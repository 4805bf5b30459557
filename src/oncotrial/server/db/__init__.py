"""The database: SQLAlchemy 2 models, engines and transactions, Alembic migrations."""
