"""Emergency unblinding: the investigator of the subject's site, reason and password, one
subject revealed, audited without the arm, notified to the admins and listed."""

from __future__ import annotations

import json

import pytest
from randomisation_fixtures import BLINDED, PASSWORD, build_trial
from sqlalchemy import select

from oncotrial.core.errors import AllocationError, InputError, PermissionDenied
from oncotrial.server.db.models import AuditRecord, Unblinding
from oncotrial.server.services import notifications, randomisation, unblinding
from oncotrial.server.services.subjects import SubjectNotFound

FACTORS = {"region": "rest_of_world", "ecog": 0, "pd_l1_cps_class": 1}


@pytest.fixture
def db(database_url):
    trial = build_trial(database_url, BLINDED, n_sites=2)
    trial.go_live(per_stratum=6)
    yield trial
    trial.dispose()


def _unblind(db, who, code, reason="severe immune-related hepatitis", password=PASSWORD):
    with db.write() as session:
        return unblinding.unblind(session, who, code, reason=reason, password=password)


def test_unblinding_reveals_one_subject_and_is_recorded(db) -> None:
    codes = [db.register("S01", FACTORS).code for _ in range(2)]
    views = [db.randomise(c, "S01") for c in codes]
    with db.read() as session:
        truth = {a.subject: a.arm for a in randomisation.list_allocations(session, db.principal("stat"))}
    revealed = _unblind(db, db.investigator("S01"), codes[0])
    assert revealed.arm == truth[codes[0]] and revealed.code == views[0].code
    with db.read() as session:
        # still masked everywhere else, including for the unblinding investigator's lists
        rows = randomisation.list_allocations(session, db.investigator("S01"))
        assert [r.arm for r in rows] == [None, None]
        assert len(session.scalars(select(Unblinding)).all()) == 1
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "unblind")).one()
        assert record.reason == "severe immune-related hepatitis" and record.entity_id == codes[0]
        assert "CAPOX" not in record.changes_json
        notes = notifications.list_notifications(session, db.principal("admin"))
        assert [n.kind for n in notes] == ["unblinding"] and codes[0] in notes[0].message
        assert "CAPOX" not in json.dumps([n.to_dict() for n in notes])
        report = unblinding.list_unblindings(session, db.principal("admin"))
        assert [(r.subject, r.unblinded_by) for r in report] == [(codes[0], "inv-S01")]
        assert "arm" not in report[0].to_dict()
        with pytest.raises(PermissionDenied):
            notifications.list_notifications(session, db.investigator("S01"))
        with pytest.raises(PermissionDenied):
            unblinding.list_unblindings(session, db.investigator("S01"))


def test_unblinding_refusals(db) -> None:
    code = db.register("S01", FACTORS).code
    with pytest.raises(AllocationError, match="not randomised"):
        _unblind(db, db.investigator("S01"), code)
    db.randomise(code, "S01")
    with pytest.raises(SubjectNotFound):
        _unblind(db, db.investigator("S02"), code)
    for who in ("admin", "monitor", "dm", "stat"):
        with pytest.raises(PermissionDenied):
            _unblind(db, db.principal(who), code)
    with pytest.raises(InputError) as info:
        _unblind(db, db.investigator("S01"), code, reason=" ")
    assert info.value.field == "reason"
    with pytest.raises(PermissionDenied):
        _unblind(db, db.investigator("S01"), code, password="wrong password!")
    with db.read() as session:
        assert session.scalars(select(Unblinding)).all() == []


def test_open_label_trial_has_nothing_to_unblind(database_url) -> None:
    db = build_trial(database_url, "lms04", n_sites=2)
    db.go_live(per_stratum=4)
    code = db.register("S01", {"origin": "uterine", "stage": "metastatic"}).code
    db.randomise(code, "S01")
    with pytest.raises(AllocationError, match="open label"):
        _unblind(db, db.investigator("S01"), code)
    db.dispose()
