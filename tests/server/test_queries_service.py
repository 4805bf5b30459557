"""Queries on a field (raise by data manager or monitor, answer by the site, close by the
data manager; the history kept and append-only) and source-data verification."""

from __future__ import annotations

import pytest
from capture_fixtures import make_world
from sqlalchemy import text

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.server.services import queries


@pytest.fixture
def world(database, monkeypatch):
    w = make_world(database.url, monkeypatch)
    w.save(w.subjects["S01"][0], "adverse_event")
    w.save(w.subjects["S02"][0], "adverse_event")
    yield w
    w.db.dispose()


def _raise(world, role, subject, field="grade", text="grade 2 or 3 in the source?"):
    with world.db.write() as session:
        return queries.raise_query(session, world.principal(role), subject, "adverse_event", "1",
                                   field=field, text=text)


def test_raise_answer_close_keeps_the_history(world):
    subject = world.subjects["S01"][0]
    raised = _raise(world, "monitor", subject)
    assert raised.status == "open" and raised.raised_by == "monitor" and raised.field == "grade"
    with world.db.read() as session:
        listed = queries.list_queries(session, world.principal("dm"))
    assert [q.id for q in listed] == [raised.id]
    with world.db.write() as session:
        answered = queries.answer_query(session, world.inv("S01"), raised.id,
                                        text="grade 2 confirmed")
    assert answered.status == "answered"
    with world.db.write() as session:
        closed = queries.close_query(session, world.principal("dm"), raised.id, text="thanks")
    assert closed.status == "closed"
    assert [(m.action, m.by) for m in closed.messages] == [
        ("raise", "monitor"), ("answer", "inv-S01"), ("close", "dm")]
    with world.db.write() as session, pytest.raises(queries.QueryStateError):
        queries.answer_query(session, world.inv("S01"), raised.id, text="late")
    with world.db.write() as session, pytest.raises(queries.QueryStateError):
        queries.close_query(session, world.principal("dm"), raised.id, text="again")
    with world.db.read() as session:
        assert queries.list_queries(session, world.principal("dm"), status="open") == []


def test_history_is_append_only(world):
    raised = _raise(world, "dm", world.subjects["S01"][0])
    for statement in ("UPDATE query_messages SET text = 'rewritten'", "DELETE FROM query_messages"):
        with pytest.raises(Exception, match="append-only"), world.db.write() as session:
            session.execute(text(statement))
    with world.db.read() as session:
        (view,) = queries.list_queries(session, world.principal("dm"))
    assert view.messages[0].text == raised.messages[0].text


def test_roles_and_site_scope(world):
    ours, theirs = world.subjects["S01"][0], world.subjects["S02"][0]
    for role in ("inv-S01", "admin", "stat"):
        with pytest.raises(PermissionDenied):
            _raise(world, role, ours)
    raised = _raise(world, "dm", theirs)
    with world.db.write() as session, pytest.raises(queries.QueryNotFound):
        queries.answer_query(session, world.inv("S01"), raised.id, text="not mine")
    with world.db.write() as session, pytest.raises(PermissionDenied):
        queries.close_query(session, world.principal("monitor"), raised.id, text="monitor")
    with world.db.read() as session:
        assert queries.list_queries(session, world.inv("S01")) == []
        assert [q.subject for q in queries.list_queries(session, world.inv("S02"))] == [theirs]
    with pytest.raises(InputError) as err:
        _raise(world, "dm", ours, field="colour")
    assert err.value.field == "field"
    with pytest.raises(InputError) as err:
        _raise(world, "dm", ours, text=" ")
    assert err.value.field == "text"


def test_source_data_verification_follows_the_version(world):
    subject = world.subjects["S01"][0]
    with world.db.write() as session:
        flag = queries.verify_record(session, world.principal("monitor"), subject,
                                     "adverse_event", "1")
    assert flag.version == 1 and flag.verified_by == "monitor"
    with world.db.write() as session:  # again: nothing new
        assert queries.verify_record(session, world.principal("monitor"), subject,
                                     "adverse_event", "1").verified_at == flag.verified_at
    with world.db.write() as session, pytest.raises(PermissionDenied):
        queries.verify_record(session, world.principal("dm"), subject, "adverse_event", "1")
    view = world.edit(subject, "adverse_event", "1", "source says grade 3", grade=3)
    assert view.version == 2 and view.verified_version == 1  # the new version is unverified
    _raise(world, "monitor", subject)
    view = world.edit(subject, "adverse_event", "1", "query", grade=2)
    assert view.open_queries == 1
