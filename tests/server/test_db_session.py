"""Engines, transactions, the UTC column type, migrations and the schema's constraints,
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from oncotrial.errors import ConcurrencyConflict, InputError
from oncotrial.server.db.base import Base
from oncotrial.server.db.models import RoleAssignment, Site, Trial, User
from oncotrial.server.db.session import (
    is_postgres,
    make_engine,
    make_session_factory,
    normalise_url,
    write_transaction,
)
from oncotrial.server.db.upgrade import current_revision, ensure_schema, head_revision, upgrade
from oncotrial.server.settings import Settings

NOW = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)


def _trial(code: str = "T1") -> Trial:
    return Trial(code=code, title="t", protocol_yaml="x", protocol_sha256="0" * 64,
                 blinded=False, status="setup", created_at=NOW)


# ----------------------------------------------------------------------------- URLs, settings

@pytest.mark.parametrize("url, message", [
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("not a url", "not a database URL"),
    ("sqlite+aiosqlite:///x.db", "unsupported SQLite driver"),
])
def test_bad_database_urls_are_refused(url, message):
    with pytest.raises(InputError, match=message) as info:
        normalise_url(url)
    assert info.value.field == "database_url"


def test_postgresql_urls_use_psycopg():
    assert normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"


def test_in_memory_and_missing_folder_sqlite_are_refused(tmp_path):
    with pytest.raises(InputError, match="in-memory"):
        make_engine("sqlite://")
    with pytest.raises(InputError, match="does not exist"):
        make_engine(f"sqlite:///{tmp_path}/missing/x.db")


def test_settings_from_env_and_validation():
    s = Settings.from_env({"ONCOTRIAL_DATABASE_URL": "sqlite:///a.db",
                           "ONCOTRIAL_SESSION_MINUTES": "5"}, lockout_failures=3)
    assert (s.database_url, s.session_minutes, s.lockout_failures) == ("sqlite:///a.db", 5, 3)
    assert s.owner_url == "sqlite:///a.db"
    assert Settings(migration_url="postgresql://o@h/d").owner_url == "postgresql://o@h/d"
    with pytest.raises(InputError, match="ONCOTRIAL_SESSION_MINUTES: expected a whole number"):
        Settings.from_env({"ONCOTRIAL_SESSION_MINUTES": "soon"})
    with pytest.raises(InputError, match="lockout_failures: expected a positive"):
        Settings(lockout_failures=0)
    with pytest.raises(InputError, match="database_url: expected a URL"):
        Settings(database_url="oncotrial.db")
    with pytest.raises(InputError, match="argon2_memory_kib"):
        Settings(argon2_memory_kib=8, argon2_parallelism=4)
    s = Settings.from_env({"ONCOTRIAL_THREADS": "4", "ONCOTRIAL_PROTOCOL": "gastric_example"})
    assert (s.threads, s.protocol) == (4, "gastric_example")
    with pytest.raises(InputError, match="threads: expected a positive"):
        Settings(threads=0)


# ----------------------------------------------------------------------------- engines

def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(sqlite_database):
    engine = make_engine(sqlite_database.url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    finally:
        engine.dispose()


def test_write_transaction_commits_and_rolls_back(session_factory):
    with write_transaction(session_factory) as session:
        session.add(_trial("KEPT"))
    with pytest.raises(RuntimeError), write_transaction(session_factory) as session:
        session.add(_trial("GONE"))
        session.flush()
        raise RuntimeError("boom")
    with session_factory() as session:
        codes = session.execute(select(Trial.code)).scalars().all()
    assert codes == ["KEPT"]


def test_is_postgres(session_factory, database):
    with session_factory() as session:
        assert is_postgres(session) == (database.kind == "postgresql")


def test_times_come_back_aware_utc_with_microseconds(session_factory):
    paris = dt.timezone(dt.timedelta(hours=1))
    with write_transaction(session_factory) as session:
        trial = _trial()
        trial.created_at = NOW.astimezone(paris)
        session.add(trial)
    with session_factory() as session:
        stored = session.execute(select(Trial.created_at)).scalar_one()
    assert stored == NOW and stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)
    assert stored.microsecond == 678901


def test_naive_times_are_refused(session_factory):
    with pytest.raises(Exception, match="timezone-aware"), \
            write_transaction(session_factory) as session:
        trial = _trial()
        trial.created_at = dt.datetime(2026, 1, 1)
        session.add(trial)


def test_sqlite_writers_are_serialised_and_a_lock_timeout_is_a_conflict(sqlite_database):
    """BEGIN IMMEDIATE takes the write lock at the start: a second writer waits; one that
    cannot get it within the busy timeout gets ConcurrencyConflict, not a driver error."""
    holder = make_session_factory(make_engine(sqlite_database.url))
    impatient = make_session_factory(make_engine(sqlite_database.url, busy_timeout_ms=100))
    patient = make_session_factory(make_engine(sqlite_database.url))
    started, release = threading.Event(), threading.Event()
    order: list[str] = []

    def hold() -> None:
        with write_transaction(holder) as session:
            session.add(_trial("FIRST"))
            session.flush()
            started.set()
            release.wait(10)
            order.append("first committed")

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert started.wait(10)
        with pytest.raises(ConcurrencyConflict, match="retry"), write_transaction(impatient):
            pass

        def second() -> None:
            with write_transaction(patient) as session:
                order.append("second started")
                session.add(_trial("SECOND"))

        waiter = threading.Thread(target=second)
        waiter.start()
        time.sleep(0.3)
        assert order == []  # still waiting for the lock
        release.set()
        waiter.join(10)
        thread.join(10)
        assert order == ["first committed", "second started"]
    finally:
        release.set()
        thread.join(10)
        for f in (holder, impatient, patient):
            f.kw["bind"].dispose()


# ----------------------------------------------------------------------------- migrations

def test_models_and_migration_agree(database):
    engine = make_engine(database.url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_upgrade_is_idempotent_and_ensure_schema_migrates_empty_databases(tmp_path):
    url = f"sqlite:///{tmp_path}/new.db"
    assert current_revision(url) is None
    assert ensure_schema(url) is True
    assert current_revision(url) == head_revision()
    assert ensure_schema(url) is False
    assert upgrade(url) == head_revision()
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT seq, hash FROM audit_head")).one() == (0, "0" * 64)
    finally:
        engine.dispose()


def test_ensure_schema_refuses_foreign_and_outdated_databases(tmp_path):
    foreign = f"sqlite:///{tmp_path}/foreign.db"
    engine = make_engine(foreign)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE patients (id INTEGER)"))
    engine.dispose()
    with pytest.raises(InputError, match="holds tables that are not oncotrial's"):
        ensure_schema(foreign)
    old = f"sqlite:///{tmp_path}/old.db"
    upgrade(old)
    engine = make_engine(old)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    with pytest.raises(InputError, match="revision 0000.*oncotrial db upgrade"):
        ensure_schema(old)


def test_app_role_is_postgresql_only_and_must_be_a_role_name(tmp_path):
    with pytest.raises(InputError, match="PostgreSQL only"):
        upgrade(f"sqlite:///{tmp_path}/x.db", app_role="app")
    with pytest.raises(InputError, match="not a PostgreSQL role name"):
        upgrade(f"sqlite:///{tmp_path}/x.db", app_role="app; DROP TABLE x")


@pytest.mark.postgres
def test_app_role_must_exist(postgres_database):
    with pytest.raises(InputError, match="no PostgreSQL role 'nobody_here'"):
        upgrade(postgres_database.owner_url, app_role="nobody_here")


@pytest.mark.postgres
def test_the_app_role_owns_nothing_and_cannot_migrate(postgres_database):
    engine = make_engine(postgres_database.url)
    try:
        with engine.connect() as conn:
            owners = set(conn.execute(text(
                "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname='public'")).scalars())
        assert owners == {"oncotrial_owner"}
        with pytest.raises(Exception, match="permission denied|must be owner"), \
                engine.begin() as conn:
            conn.execute(text("ALTER TABLE trials ADD COLUMN x INTEGER"))
    finally:
        engine.dispose()


# ----------------------------------------------------------------------------- constraints

def test_an_investigator_role_needs_a_site_in_the_database(session_factory):
    with write_transaction(session_factory) as session:
        session.add(_trial())
        session.add(User(username="u", password_hash="h", created_at=NOW))
        session.flush()
    with pytest.raises(IntegrityError), write_transaction(session_factory) as session:
        trial_id = session.execute(select(Trial.id)).scalar_one()
        user_id = session.execute(select(User.id)).scalar_one()
        session.add(RoleAssignment(user_id=user_id, trial_id=trial_id, role="investigator"))
    with pytest.raises(IntegrityError), write_transaction(session_factory) as session:
        session.add(RoleAssignment(user_id=user_id, trial_id=trial_id, role="superuser"))


def test_site_codes_are_unique_per_trial_and_foreign_keys_hold(session_factory):
    with write_transaction(session_factory) as session:
        session.add(_trial())
    with session_factory() as session:
        trial_id = session.execute(select(Trial.id)).scalar_one()
    with write_transaction(session_factory) as session:
        session.add(Site(trial_id=trial_id, code="A", name="a"))
    with pytest.raises(IntegrityError), write_transaction(session_factory) as session:
        session.add(Site(trial_id=trial_id, code="A", name="again"))
    with pytest.raises(IntegrityError), write_transaction(session_factory) as session:
        session.add(Site(trial_id=trial_id + 99, code="B", name="no trial"))


def test_schema_has_every_table(database):
    engine = make_engine(database.url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables
