"""Alembic environment: runs on the connection :mod:`oncotrial.server.db.upgrade` passes
(``config.attributes["connection"]``), or on ``sqlalchemy.url`` when run by hand."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from oncotrial.server.db import models  # noqa: F401  (registers the tables)
from oncotrial.server.db.base import Base
from oncotrial.server.db.session import make_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own:
        _run(own)
    engine.dispose()
