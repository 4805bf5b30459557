"""Schema migrations (Alembic), run from code: no ``alembic.ini``; the scripts live in
this package (``migrations/``) so an installed wheel carries them.

On PostgreSQL the schema belongs to the owner role that runs the migrations; the
application's role is granted what it needs and, on the audit trail, no more than
SELECT and INSERT (:func:`grant_app_role`).
"""

from __future__ import annotations

import re
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.engine import URL

from oncotrial.core.errors import InputError
from oncotrial.server.db.session import make_engine, normalise_url

__all__ = ["MIGRATIONS", "current_revision", "ensure_schema", "grant_app_role",
           "head_revision", "upgrade"]

#: the Alembic script directory inside the package
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

_ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(url: str | URL) -> str | None:
    """The revision the database at ``url`` is at; ``None`` for a database never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str | URL, *, revision: str = "head", app_role: str | None = None) -> str:
    """Migrate the database at ``url`` to ``revision``; on PostgreSQL, then grant
    ``app_role`` the application's rights. Returns the revision reached."""
    if app_role is not None and not _ROLE_NAME.match(app_role):
        raise InputError(f"app_role: not a PostgreSQL role name: {app_role!r}", field="app_role")
    engine = make_engine(url)
    try:
        if app_role is not None and engine.dialect.name != "postgresql":
            raise InputError("app_role: database roles exist on PostgreSQL only; SQLite has no "
                             "users", field="app_role")
        with engine.begin() as connection:
            command.upgrade(_config(connection), revision)
            if app_role is not None:
                grant_app_role(connection, app_role)
        with engine.connect() as connection:
            reached = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return reached or ""


def grant_app_role(connection: Connection, role: str) -> None:
    """Give the PostgreSQL role ``role`` what the application needs: read and write on the
    service's tables, except the audit trail, which it may only read and append to."""
    if not _ROLE_NAME.match(role):
        raise InputError(f"app_role: not a PostgreSQL role name: {role!r}", field="app_role")
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"),
                                {"r": role}).first()
    if exists is None:
        raise InputError(f"app_role: no PostgreSQL role {role!r}; create it first "
                         f"(CREATE ROLE {role} LOGIN PASSWORD '...')", field="app_role")
    quoted = f'"{role}"'
    tables = [t for t in inspect(connection).get_table_names() if t != "alembic_version"]
    connection.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    for table in tables:
        if table == "audit_records":
            connection.execute(text(f"REVOKE ALL ON audit_records FROM {quoted}"))
            connection.execute(text(f"GRANT SELECT, INSERT ON audit_records TO {quoted}"))
        else:
            connection.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON "{table}" '
                                    f"TO {quoted}"))
    connection.execute(text(f"GRANT SELECT ON alembic_version TO {quoted}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))


def ensure_schema(url: str | URL) -> bool:
    """Migrate an empty database; accept one at the newest revision; refuse one at an
    older revision (that needs ``oncotrial db upgrade``, deliberately) or one holding
    other tables. Returns whether it migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            tables = inspect(connection).get_table_names()
    finally:
        engine.dispose()
    if revision is None:
        if tables:
            raise InputError(f"database_url: {_shown(url)} holds tables that are not "
                             f"oncotrial's ({', '.join(sorted(tables)[:5])}); use an empty "
                             "database", field="database_url")
        upgrade(url)
        return True
    if revision != head_revision():
        raise InputError(f"database_url: {_shown(url)} is at schema revision {revision}, this "
                         f"version needs {head_revision()}; back it up, then run "
                         "`oncotrial db upgrade`", field="database_url")
    return False


def _shown(url: str | URL) -> str:
    """The URL without its password, for messages."""
    return normalise_url(url).render_as_string(hide_password=True)
