"""Backup and restore (SQLite online backup; pg_dump/pg_restore): the restored database
holds the same trail, which verifies; a backup taken while writers run is consistent."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from oncotrial.errors import InputError
from oncotrial.server.db.models import User
from oncotrial.server.db.session import make_engine, make_session_factory, write_transaction
from oncotrial.server.services import audit
from oncotrial.server.services.backup import backup, pg_binary, restore


def _trail(url: str) -> tuple[list[str], audit.AuditVerification]:
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return ([r["hash"] for r in audit.list_records(session)], audit.verify(session))
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip(make_trial, database, other_database, tmp_path):
    setup = make_trial()
    hashes, before = _trail(database.url)
    out = tmp_path / ("backup.db" if database.kind == "sqlite" else "backup.dump")
    result = backup(database.url if database.kind == "sqlite" else database.owner_url, out)
    assert out.is_file() and result.bytes == out.stat().st_size > 0
    assert (result.audit_records, result.audit_head_hash) == (before.head_seq, before.head_hash)
    assert len(result.sha256) == 64
    target = other_database.owner_url
    assert _trail(target)[1].records == 0
    restored = restore(target, out)
    assert restored.audit.ok and restored.audit.records == before.records
    after, verification = _trail(target)
    assert after == hashes and verification.head_hash == before.head_hash
    engine = make_engine(target)
    try:
        with make_session_factory(engine)() as session:
            names = set(session.execute(select(User.username)).scalars())
    finally:
        engine.dispose()
    assert set(c.username for c in setup.users.values()) == names


def test_restore_over_a_changed_database_brings_back_the_backup(make_trial, database,
                                                                tmp_path):
    make_trial()
    owner = database.owner_url
    out = tmp_path / "b.bak"
    backup(database.url if database.kind == "sqlite" else owner, out)
    factory = make_session_factory(make_engine(database.url))
    try:
        with write_transaction(factory) as session:
            audit.append(session, action="after.backup", entity="x")
    finally:
        factory.kw["bind"].dispose()
    assert _trail(database.url)[1].records == 16
    restored = restore(owner, out)
    assert restored.audit.ok and restored.audit.records == 15


@pytest.mark.postgres
def test_the_restored_app_role_still_cannot_change_the_trail(make_postgres_trial,
                                                             postgres_database, tmp_path):
    from sqlalchemy import text

    make_postgres_trial()
    out = tmp_path / "b.dump"
    backup(postgres_database.owner_url, out)
    restore(postgres_database.owner_url, out)
    engine = make_engine(postgres_database.url)
    try:
        with pytest.raises(Exception, match="permission denied"), engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_records"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_records")).scalar() == 15
    finally:
        engine.dispose()


def test_backup_during_writes_is_consistent(make_trial, database, other_database, tmp_path):
    """Writers keep appending while the backup runs; the copy's chain verifies."""
    make_trial()
    factory = make_session_factory(make_engine(database.url))
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            with write_transaction(factory) as session:
                audit.append(session, action="burst", entity="x")

    threads = [threading.Thread(target=write) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        out = tmp_path / "during.bak"
        result = backup(database.url if database.kind == "sqlite" else database.owner_url, out)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        factory.kw["bind"].dispose()
    restored = restore(other_database.owner_url, out)
    assert restored.audit.ok and restored.audit.records == result.audit_records >= 15


def test_backup_refuses_bad_targets(sqlite_database, tmp_path):
    existing = tmp_path / "there.db"
    existing.write_text("x")
    with pytest.raises(InputError, match="exists; a backup never overwrites"):
        backup(sqlite_database.url, existing)
    with pytest.raises(InputError, match="does not exist"):
        backup(sqlite_database.url, tmp_path / "missing" / "b.db")
    with pytest.raises(InputError, match="no SQLite database"):
        backup(f"sqlite:///{tmp_path}/nothing.db", tmp_path / "b.db")


def test_restore_refuses_files_that_are_not_backups(sqlite_database, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"hello, not a database")
    with pytest.raises(InputError, match="is not a SQLite database"):
        restore(sqlite_database.url, junk)
    with pytest.raises(InputError, match="no backup file"):
        restore(sqlite_database.url, tmp_path / "none.db")
    import sqlite3

    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(InputError, match="not an oncotrial database"):
        restore(sqlite_database.url, other)
    with pytest.raises(InputError, match="not a pg_dump custom-format backup"):
        restore("postgresql://u@127.0.0.1:1/x", junk)


def test_pg_binaries_are_found():
    assert pg_binary("pg_dump").endswith("pg_dump")
    from oncotrial.errors import OncotrialError

    with pytest.raises(OncotrialError, match="not found"):
        pg_binary("pg_nonexistent_tool")
