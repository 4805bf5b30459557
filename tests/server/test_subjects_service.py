"""Subject registration: site-scoped identifiers, the eligibility gate stored with its
reasons, stratification factors and the site scope of reads."""

from __future__ import annotations

import pytest
from randomisation_fixtures import build_trial, eligible
from sqlalchemy import select

from oncotrial.core.errors import InputError, PermissionDenied
from oncotrial.server.db.models import AuditRecord
from oncotrial.server.services import subjects
from oncotrial.server.services.subjects import SubjectNotFound

FACTORS = {"region": "asia", "ecog": 1, "pd_l1_cps_class": 3}


@pytest.fixture
def db(database_url):
    trial = build_trial(database_url, "gastric_example", n_sites=2)
    yield trial
    trial.dispose()


def _register(db, site="S01", **kw):
    args = {"subject_code": None, "site_code": site, "eligibility": eligible("gastric", FACTORS),
            "factors": FACTORS} | kw
    with db.write() as session:
        return subjects.register(session, db.investigator(kw.pop("as_site", site)), **args)


def test_codes_are_generated_per_site(db) -> None:
    assert [_register(db).code for _ in range(2)] == ["S01-001", "S01-002"]
    assert _register(db, "S02").code == "S02-001"
    assert _register(db, subject_code="P-17").code == "P-17"


def test_eligible_subject_registered_and_audited(db) -> None:
    view = _register(db)
    assert view.status == "registered" and view.eligibility_status == "eligible"
    assert view.factors == {"region": "asia", "ecog": "1", "pd_l1_cps_class": "3"}
    assert view.refusal_reasons == ()
    with db.read() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "subject.register")).one()
    assert record.entity_id == view.code and record.username == "inv-S01" and record.site_id is not None


def test_ineligible_and_undetermined_are_stored_with_reasons(db) -> None:
    data = eligible("gastric", FACTORS) | {"age": 16}
    view = _register(db, eligibility=data)
    assert view.status == "ineligible" and view.eligibility_status == "not eligible"
    assert any(r.startswith("age:") for r in view.refusal_reasons)
    data = {k: v for k, v in eligible("gastric", FACTORS).items() if k != "her2_positive"}
    view = _register(db, eligibility=data)
    assert view.eligibility_status == "cannot be determined"
    assert any("her2_positive is missing" in r for r in view.refusal_reasons)


def test_values_are_not_coerced(db) -> None:
    view = _register(db, eligibility=eligible("gastric", FACTORS) | {"age": "72"})
    assert view.status == "ineligible" and view.eligibility_status == "cannot be determined"


def test_factors_come_from_eligibility_fields_and_must_agree(db) -> None:
    assert _register(db, factors=None).factors == {"region": "asia", "ecog": "1", "pd_l1_cps_class": "3"}
    with pytest.raises(InputError) as info:
        _register(db, factors=FACTORS | {"ecog": 0})
    assert info.value.field == "factors.ecog"


@pytest.mark.parametrize(("kw", "field"), [
    ({"site_code": "XX"}, "site"),
    ({"subject_code": "bad code!"}, "subject_code"),
    ({"eligibility": {"weight": 70}}, "eligibility.weight"),
    ({"eligibility": ["age"]}, "eligibility"),
    ({"factors": {"region": "europe", "ecog": 1, "pd_l1_cps_class": 3}}, "factors"),
    ({"factors": {"region": "asia", "ecog": 1, "pd_l1_cps_class": 3, "sex": "f"}}, "factors"),
])
def test_bad_input_names_the_field(db, kw, field) -> None:
    with pytest.raises(InputError) as info:
        _register(db, **kw)
    assert info.value.field == field


def test_duplicate_code_refused(db) -> None:
    _register(db, subject_code="P-1")
    with pytest.raises(InputError) as info:
        _register(db, subject_code="P-1")
    assert info.value.field == "subject_code"


def test_site_scope(db) -> None:
    with pytest.raises(PermissionDenied), db.write() as session:
        subjects.register(session, db.investigator("S01"), subject_code=None, site_code="S02",
                          eligibility=eligible("gastric", FACTORS), factors=FACTORS)
    for who in ("admin", "monitor", "stat"):
        with pytest.raises(PermissionDenied), db.write() as session:
            subjects.register(session, db.principal(who), subject_code=None, site_code="S01",
                              eligibility=eligible("gastric", FACTORS), factors=FACTORS)
    a = _register(db).code
    b = _register(db, "S02").code
    with db.read() as session:
        assert [s.code for s in subjects.list_subjects(session, db.investigator("S01"))] == [a]
        assert [s.code for s in subjects.list_subjects(session, db.principal("monitor"))] == [a, b]
        assert subjects.get(session, db.investigator("S02"), b).site == "S02"
        for code in (a, "S02-999"):
            with pytest.raises(SubjectNotFound) as info:
                subjects.get(session, db.investigator("S02"), code)
            assert info.value.not_found and code in str(info.value)
