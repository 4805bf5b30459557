"""Data capture through the services: save, edit with a reason, field-by-field audit,
nothing saved on bad input (every form), site scope and roles, signatures."""

from __future__ import annotations

import contextlib
import json

import pytest
from capture_fixtures import PASSWORD, count_rows, form_data, make_world
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.server.db.models import AuditRecord, FormRecord
from oncotrial.server.services import capture, casebook
from oncotrial.server.services.subjects import SubjectNotFound

FORMS = ("baseline", "tumour_assessment", "cycle", "adverse_event", "surgery",
         "subsequent_therapy", "second_progression", "end_of_treatment", "follow_up", "death",
         "end_of_study")

#: one wrong value per form: (field, value)
BAD = {"baseline": ("sex", "X"), "tumour_assessment": ("date", "2026-02-30"),
       "cycle": ("cycle", 0), "adverse_event": ("grade", 7), "surgery": ("procedure", ""),
       "subsequent_therapy": ("line", 1), "second_progression": ("date", "yesterday"),
       "end_of_treatment": ("reason", "BORED"), "follow_up": ("date", "2999-01-01"),
       "death": ("cause", None), "end_of_study": ("reason", 3)}


@pytest.fixture
def world(database, monkeypatch):
    w = make_world(database.url, monkeypatch)
    yield w
    w.db.dispose()


def _audit(world, action):
    with world.db.read() as session:
        return [r for r in session.scalars(select(AuditRecord).where(AuditRecord.action == action)
                                           .order_by(AuditRecord.seq))]


def test_every_form_saves_and_is_audited_field_by_field(world):
    subject = world.subjects["S01"][0]
    for form in FORMS:
        view = world.save(subject, form)
        assert view.version == 1 and view.status == "saved" and view.created_by == "inv-S01"
    records = _audit(world, "form.save")
    assert len(records) == len(FORMS)
    first = json.loads(records[0].changes_json)
    assert {"field": "baseline.sex", "old": None, "new": "M"} in first
    cycle = json.loads(records[2].changes_json)
    assert {"field": "cycle[combination:1].oxaliplatin_dose", "old": None, "new": 130.0} in cycle
    book = world.db.read
    with book() as session:
        view = casebook.get_casebook(session, world.inv("S01"), subject)
    assert {(r.form, r.key) for r in view.records} >= {("cycle", "combination:1"),
                                                       ("tumour_assessment", "0")}


@pytest.mark.parametrize("form", FORMS)
def test_bad_input_names_the_field_and_saves_nothing(world, form):
    subject = world.subjects["S01"][0]
    if form != "baseline":
        world.save(subject, "baseline")
    before = count_rows(world.db)
    field, value = BAD[form]
    with pytest.raises(capture.FormInvalid) as err:
        world.save(subject, form, **{field: value})
    assert err.value.field == f"data.{field}"
    assert [i.field for i in err.value.issues] == [field]
    assert f"{field}: " in str(err.value)
    assert count_rows(world.db) == before


def test_many_bad_fields_are_all_reported(world):
    subject = world.subjects["S01"][0]
    before = count_rows(world.db)
    with pytest.raises(capture.FormInvalid) as err:
        world.save(subject, "adverse_event", grade=9, serious="perhaps", term="")
    fields = {i.field for i in err.value.issues}
    assert {"grade", "serious", "term"} <= fields
    assert all(f"{f}: " in str(err.value) for f in fields)
    assert count_rows(world.db) == before


def test_not_an_object_unknown_form_and_wrong_key(world):
    subject = world.subjects["S01"][0]
    with world.db.write() as session, pytest.raises(InputError) as err:
        capture.save_form(session, world.inv("S01"), subject, "baseline", None, [1, 2])
    assert err.value.field == "data"
    with world.db.write() as session, pytest.raises(InputError) as err:
        capture.save_form(session, world.inv("S01"), subject, "lab", None, {})
    assert err.value.field == "form"
    with pytest.raises(InputError) as err:
        world.save(subject, "cycle", "combination:2")
    assert err.value.field == "key" and "combination:1" in str(err.value)
    world.save(subject, "cycle", "combination:1")
    with pytest.raises(InputError, match="already saved") as err:
        world.save(subject, "cycle")
    assert err.value.field == "key"


def test_edit_needs_a_reason_and_audits_old_and_new(world):
    subject = world.subjects["S02"][0]
    world.save(subject, "adverse_event")
    before = count_rows(world.db)
    for reason in (None, "", "   "):
        with pytest.raises(InputError) as err:
            world.edit(subject, "adverse_event", "1", reason, grade=3)
        assert err.value.field == "reason"
    assert count_rows(world.db) == before
    view = world.edit(subject, "adverse_event", "1", "source document says grade 3", grade=3)
    assert view.version == 2 and view.data["grade"] == 3
    record = _audit(world, "form.edit")[-1]
    assert record.reason == "source document says grade 3"
    assert json.loads(record.changes_json) == [
        {"field": "adverse_event[1].grade", "old": 2, "new": 3},
        {"field": "adverse_event[1].version", "old": 1, "new": 2}]
    # the same data again change nothing
    assert world.edit(subject, "adverse_event", "1", "again", grade=3).version == 2
    # an edit that does not validate changes nothing either
    before = count_rows(world.db)
    with pytest.raises(capture.FormInvalid):
        world.edit(subject, "adverse_event", "1", "typo", grade=0)
    assert count_rows(world.db) == before
    with pytest.raises(InputError) as err:
        world.edit(subject, "adverse_event", "1", "renumber", seq=2)
    assert err.value.field == "key"


def test_site_scope_and_roles(world):
    other = world.subjects["S02"][0]
    with world.db.write() as session, pytest.raises(SubjectNotFound):
        capture.save_form(session, world.inv("S01"), other, "baseline", None,
                          form_data("baseline", world.start))
    world.save(other, "baseline")
    for role in ("monitor", "dm", "admin", "stat"):
        with world.db.write() as session, pytest.raises(PermissionDenied):
            capture.save_form(session, world.principal(role), other, "follow_up", None,
                              form_data("follow_up", world.start))
        with world.db.read() as session:  # the central roles read every site
            assert capture.get_form(session, world.principal(role), other, "baseline", None)
    with world.db.read() as session, pytest.raises(SubjectNotFound):
        capture.get_form(session, world.inv("S01"), other, "baseline", None)
    with world.db.read() as session, pytest.raises(capture.RecordNotFound):
        capture.get_form(session, world.inv("S02"), other, "death", None)


def test_sign_requires_password_and_meaning_and_an_edit_voids_it(world):
    subject = world.subjects["S01"][1]
    inv = world.inv("S01")
    with world.db.write() as session, pytest.raises(InputError):
        casebook.sign(session, inv, subject, password=PASSWORD, meaning="I confirm")
    world.save(subject, "baseline")
    with world.db.write() as session, pytest.raises(InputError) as err:
        casebook.sign(session, inv, subject, password=PASSWORD, meaning=" ")
    assert err.value.field == "meaning"
    with world.db.write() as session, pytest.raises(PermissionDenied):
        casebook.sign(session, inv, subject, password="wrong password", meaning="I confirm")
    with world.db.write() as session, pytest.raises(PermissionDenied):
        casebook.sign(session, world.principal("dm"), subject, password=PASSWORD,
                      meaning="I confirm")
    with world.db.write() as session:
        book = casebook.sign(session, inv, subject, password=PASSWORD,
                             meaning="I approve the data of this casebook")
    (signature,) = book.signatures
    assert signature.status == "valid" and signature.signer == "inv-S01"
    assert signature.meaning == "I approve the data of this casebook"
    assert signature.casebook_sha256 == casebook.casebook_sha256(book.records)
    signed = _audit(world, "casebook.sign")[-1]
    assert signed.reason == "I approve the data of this casebook"
    world.edit(subject, "baseline", None, "weight re-measured", weight_kg=71.0)
    with world.db.read() as session:
        book = casebook.get_casebook(session, inv, subject)
    assert [s.status for s in book.signatures] == ["void"]
    assert book.signatures[0].void_reason == "baseline edited"
    assert _audit(world, "signature.void")[-1].entity_id == subject


def test_records_are_stored_clean(world):
    subject = world.subjects["S01"][0]
    world.save(subject, "baseline")
    with world.db.read() as session:
        row = session.scalars(select(FormRecord)).one()
    assert json.loads(row.data_json)["ecog"] == 1
    assert row.record_date == world.start  # an undated form is dated by the randomisation


@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.fixed_dictionaries({
    "grade": st.integers(1, 5), "serious": st.booleans(),
    "term": st.sampled_from(["Nausea", "Fatigue", "Diarrhoea"]),
    "related": st.one_of(st.none(), st.booleans())}), min_size=1, max_size=4))
def test_the_audit_trail_replays_to_the_stored_data(sqlite_world, edits):
    """Whatever the edits, the audit records of a record, replayed, give its stored data."""
    world = sqlite_world
    subject = world.subjects["S01"][0]
    with contextlib.suppress(InputError):  # saved by an earlier example
        world.save(subject, "adverse_event")
    for edit in edits:
        values = {k: v for k, v in edit.items() if v is not None}
        with world.db.write() as session:
            capture.edit_form(session, world.inv("S01"), subject, "adverse_event", "1",
                              {**form_data("adverse_event", world.start), **values},
                              reason="replay test")
    replayed: dict[str, object] = {}
    with world.db.read() as session:
        for record in session.scalars(select(AuditRecord).where(
                AuditRecord.entity_id == subject,
                AuditRecord.action.in_(("form.save", "form.edit"))).order_by(AuditRecord.seq)):
            for change in json.loads(record.changes_json):
                form, _, name = change["field"].partition("].")
                if form != "adverse_event[1" or name == "version":
                    continue
                if change["new"] is None:
                    replayed.pop(name, None)
                else:
                    replayed[name] = change["new"]
        row = session.scalars(select(FormRecord).where(FormRecord.form == "adverse_event")).one()
    assert replayed == json.loads(row.data_json)


@pytest.fixture
def sqlite_world(sqlite_database, monkeypatch):
    w = make_world(sqlite_database.url, monkeypatch)
    yield w
    w.db.dispose()
