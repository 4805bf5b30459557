"""The audit trail: hash chain, tamper detection by SQL, append-only enforcement by the
database (triggers; the PostgreSQL app role's rights), export and the principal-facing
functions."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pytest
from sqlalchemy import select, text

from oncotrial.errors import InputError, PermissionDenied
from oncotrial.server.db.models import AuditRecord
from oncotrial.server.db.session import make_engine, write_transaction
from oncotrial.server.security import Principal
from oncotrial.server.services import audit

ADMIN = Principal(user_id=1, username="boss", role="admin", site_id=None, trial_id=1)


def _append(factory, n: int = 5) -> None:
    for i in range(n):
        with write_transaction(factory) as session:
            audit.append(session, action="thing.change", entity="thing", entity_id=i,
                         changes=[("colour", "red", f"blue {i}"), ("size", i, i + 1)],
                         principal=ADMIN, reason="why not", request_id=f"req-{i}",
                         client="127.0.0.1")


def _verify(factory) -> audit.AuditVerification:
    with factory() as session:
        return audit.verify(session)


def _owner_sql(database, *statements: str) -> None:
    """Run statements as the schema owner with the append-only triggers out of the way,
    as an attacker with the owner's rights could."""
    engine = make_engine(database.owner_url)
    try:
        with engine.begin() as conn:
            if database.kind == "postgresql":
                conn.execute(text("ALTER TABLE audit_records DISABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER audit_records_no_update"))
                conn.execute(text("DROP TRIGGER audit_records_no_delete"))
            for statement in statements:
                conn.execute(text(statement))
            if database.kind == "postgresql":
                conn.execute(text("ALTER TABLE audit_records ENABLE TRIGGER USER"))
    finally:
        engine.dispose()


def test_records_chain_and_verify(session_factory):
    _append(session_factory)
    result = _verify(session_factory)
    assert result.ok and result.problems == ()
    assert result.records == result.head_seq == 5
    with session_factory() as session:
        rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars().all()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS
    for before, after in zip(rows, rows[1:]):
        assert after.prev_hash == before.hash
    # the hash is SHA-256 of the previous hash and the canonical JSON, independently recomputed
    first = rows[0]
    body = {"seq": 1, "at": first.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "trial_id": 1, "user_id": 1, "username": "boss", "role": "admin", "site_id": None,
            "action": "thing.change", "entity": "thing", "entity_id": "0",
            "changes": [{"field": "colour", "old": "red", "new": "blue 0"},
                        {"field": "size", "old": 0, "new": 1}],
            "reason": "why not", "request_id": "req-0", "client": "127.0.0.1"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert first.hash == hashlib.sha256((audit.GENESIS + canonical).encode()).hexdigest()
    assert result.head_hash == rows[-1].hash


def test_an_empty_trail_verifies(session_factory):
    result = _verify(session_factory)
    assert result.ok and result.records == 0 and result.head_hash == audit.GENESIS


@pytest.mark.parametrize("tamper, expected", [
    ("UPDATE audit_records SET reason = 'nothing happened' WHERE seq = 3",
     "record 3: content does not match its hash (edited)"),
    ("UPDATE audit_records SET changes_json = '[]' WHERE seq = 2",
     "record 2: content does not match its hash (edited)"),
    ("DELETE FROM audit_records WHERE seq = 3",
     "record 4: expected sequence number 3"),
    ("DELETE FROM audit_records WHERE seq = 5",
     "the audit head names record 5, the last record is 4"),
])
def test_edited_and_deleted_records_are_detected(session_factory, database, tamper, expected):
    _append(session_factory)
    _owner_sql(database, tamper)
    result = _verify(session_factory)
    assert not result.ok
    assert any(p.startswith(expected) for p in result.problems), result.problems


def test_an_inserted_record_is_detected(session_factory, database):
    _append(session_factory)
    # shift records 3..5 up and insert a forged record 3 that claims to link to record 2
    with session_factory() as session:
        two = session.execute(select(AuditRecord).where(AuditRecord.seq == 2)).scalar_one()
        prev = two.hash
    _owner_sql(database,
               "UPDATE audit_records SET seq = seq + 100 WHERE seq >= 3",
               "UPDATE audit_records SET seq = seq - 99 WHERE seq >= 103",
               "INSERT INTO audit_records (seq, at, action, entity, changes_json, prev_hash, "
               f"hash) VALUES (3, '2026-01-01 00:00:00', 'forged', 'thing', '[]', '{prev}', "
               f"'{'f' * 64}')",
               "UPDATE audit_head SET seq = 6")
    result = _verify(session_factory)
    assert not result.ok
    assert "record 3: content does not match its hash (edited)" in result.problems
    assert any(p.startswith("record 4: does not link") for p in result.problems)


def test_reordered_records_are_detected(session_factory, database):
    _append(session_factory)
    _owner_sql(database,
               "UPDATE audit_records SET seq = 100 WHERE seq = 2",
               "UPDATE audit_records SET seq = 2 WHERE seq = 4",
               "UPDATE audit_records SET seq = 4 WHERE seq = 100")
    result = _verify(session_factory)
    assert not result.ok
    assert any(p.startswith("record 2: does not link") for p in result.problems)
    assert any(p.startswith("record 2: content does not match") for p in result.problems)


def test_an_edited_head_is_detected(session_factory, database):
    _append(session_factory)
    _owner_sql(database, "UPDATE audit_head SET seq = 9")
    result = _verify(session_factory)
    assert not result.ok and "the audit head names record 9" in result.problems[0]


def test_the_database_refuses_update_and_delete_of_records(session_factory, database):
    _append(session_factory, 2)
    for statement in ("UPDATE audit_records SET reason = 'x' WHERE seq = 1",
                      "DELETE FROM audit_records WHERE seq = 1"):
        engine = make_engine(database.owner_url)
        try:
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
    assert _verify(session_factory).ok


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE audit_records SET reason = 'x' WHERE seq = 1",
    "DELETE FROM audit_records WHERE seq = 1",
    "TRUNCATE audit_records",
    "ALTER TABLE audit_records DISABLE TRIGGER USER",
    "DROP TRIGGER audit_records_no_change ON audit_records",
])
def test_the_app_role_cannot_change_the_trail(postgres_database, statement):
    """The application's PostgreSQL role may read and append, nothing else."""
    from oncotrial.server.db.session import make_session_factory

    factory = make_session_factory(make_engine(postgres_database.url))
    try:
        _append(factory, 2)
        engine = make_engine(postgres_database.url)
        try:
            with pytest.raises(Exception, match="permission denied|must be owner"), \
                    engine.begin() as conn:
                conn.execute(text(statement))
        finally:
            engine.dispose()
        assert _verify(factory).ok and _verify(factory).records == 2
    finally:
        factory.kw["bind"].dispose()


@pytest.mark.postgres
def test_even_the_owner_cannot_truncate_with_the_trigger_on(postgres_database):
    engine = make_engine(postgres_database.owner_url)
    try:
        with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_records"))
    finally:
        engine.dispose()


def test_append_without_principal_names_the_actor(session_factory):
    with write_transaction(session_factory) as session:
        record = audit.append(session, action="trial.create", entity="trial", entity_id="T",
                              actor="cli", trial_id=7)
    assert (record.username, record.role, record.user_id, record.trial_id) == ("cli", None,
                                                                               None, 7)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"action": "", "entity": "x"}, InputError, "action: an audit record needs"),
    ({"action": "a", "entity": " "}, InputError, "entity: an audit record needs"),
    ({"action": "a", "entity": "x", "changes": [("f", 1)]}, TypeError, "a change is"),
    ({"action": "a", "entity": "x", "changes": [("f", object(), 1)]}, TypeError, "JSON data"),
    ({"action": "a", "entity": "x", "at": dt.datetime(2026, 1, 1)}, TypeError, "aware"),
])
def test_append_refuses_bad_records(session_factory, kwargs, error, message):
    with pytest.raises(error, match=message), write_transaction(session_factory) as session:
        audit.append(session, **kwargs)
    assert _verify(session_factory).records == 0


def test_values_are_stored_as_json(session_factory):
    when = dt.datetime(2026, 5, 6, 7, 8, tzinfo=dt.UTC)
    with write_transaction(session_factory) as session:
        audit.append(session, action="a", entity="x", changes=[
            ("when", None, when), ("day", None, dt.date(2026, 5, 6)), ("nan", None, float("nan")),
            ("nested", None, {"k": [1, 2.5, True]})])
    with session_factory() as session:
        (record,) = audit.list_records(session)
    assert [c["new"] for c in record["changes"]] == [
        "2026-05-06T07:08:00.000000+00:00", "2026-05-06", None,
        {"k": [1, 2.5, True]}]
    assert _verify(session_factory).ok


def test_list_records_filters(session_factory):
    _append(session_factory)
    with write_transaction(session_factory) as session:
        audit.append(session, action="login.failure", entity="user", entity_id="eve",
                     actor="eve")
    with session_factory() as session:
        assert [r["seq"] for r in audit.list_records(session, entity_id="2")] == [3]
        assert [r["seq"] for r in audit.list_records(session, username="eve")] == [6]
        assert [r["seq"] for r in audit.list_records(session, after_seq=3, limit=2)] == [4, 5]
        assert [r["seq"] for r in audit.list_records(session, trial_id=1, action="login.failure")
                ] == [6]  # records of no trial are kept with a trial filter
        assert audit.list_records(session, trial_id=2, entity="thing") == []
        future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert audit.list_records(session, since=future) == []
        assert len(audit.list_records(session, until=future)) == 6
        with pytest.raises(InputError, match="limit"):
            audit.list_records(session, limit=0)
        with pytest.raises(InputError, match="offset"):
            audit.list_records(session, offset=-1)
        with pytest.raises(InputError, match="after_seq"):
            audit.list_records(session, after_seq=-1)
        with pytest.raises(InputError, match="since: expected a timezone-aware"):
            audit.list_records(session, since=dt.datetime(2026, 1, 1))


def test_export_csv_and_json(session_factory, tmp_path):
    _append(session_factory, 2)
    with write_transaction(session_factory) as session:
        audit.append(session, action="plain", entity="x")
    with session_factory() as session:
        assert audit.export(session, tmp_path / "a.csv", "csv") == 3
        assert audit.export(session, tmp_path / "a.json", "json") == 3
        with pytest.raises(InputError, match="format: expected csv or json"):
            audit.export(session, tmp_path / "a.xml", "xml")
    with open(tmp_path / "a.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == audit.EXPORT_COLUMNS
    assert len(rows) == 5  # two changes for each of two records, one row for the plain one
    assert (rows[0]["seq"], rows[0]["field"], rows[0]["old"], rows[0]["new"]) == \
        ("1", "colour", '"red"', '"blue 0"')
    assert (rows[4]["action"], rows[4]["field"]) == ("plain", "")
    data = json.loads((tmp_path / "a.json").read_text())
    assert [r["seq"] for r in data] == [1, 2, 3] and data[0]["changes"][1]["new"] == 1


def test_principal_functions_check_the_role(session_factory):
    _append(session_factory, 2)
    investigator = Principal(user_id=2, username="inv", role="investigator", site_id=1,
                             trial_id=1)
    monitor = Principal(user_id=3, username="mon", role="monitor", site_id=None, trial_id=1)
    dm = Principal(user_id=4, username="dm", role="data_manager", site_id=None, trial_id=1)
    with session_factory() as session:
        for fn in (audit.records, audit.verify_for):
            with pytest.raises(PermissionDenied):
                fn(session, investigator)
        views = audit.records(session, monitor, after_seq=1)
        assert [v.seq for v in views] == [2] and views[0].to_dict()["changes"][0]["field"] == \
            "colour"
        assert audit.verify_for(session, dm).ok
    with pytest.raises(PermissionDenied), write_transaction(session_factory) as session:
        audit.export_text(session, dm, "csv")
    with write_transaction(session_factory) as session:
        text_csv = audit.export_text(session, monitor, "csv", request_id="r-9")
    assert text_csv.splitlines()[0].split(",")[0] == "seq"
    with session_factory() as session:
        last = audit.list_records(session)[-1]
    assert (last["action"], last["username"], last["request_id"]) == ("audit.export", "mon", "r-9")
    with pytest.raises(InputError), write_transaction(session_factory) as session:
        audit.export_text(session, monitor, "pdf")
    assert _verify(session_factory).ok


def test_concurrent_appends_keep_one_chain(database):
    """Appends from several threads (separate connections) form one gap-free chain."""
    import threading

    from oncotrial.server.db.session import make_session_factory

    factory = make_session_factory(make_engine(database.url, pool_size=8))
    try:
        def work(k: int) -> None:
            for i in range(5):
                with write_transaction(factory) as session:
                    audit.append(session, action="burst", entity="t", entity_id=f"{k}-{i}")

        threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        result = _verify(factory)
        assert result.ok and result.records == 30, result.problems
    finally:
        factory.kw["bind"].dispose()
