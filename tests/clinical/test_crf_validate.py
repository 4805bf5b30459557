"""validate_form: each bad input is an issue naming its field and what was expected; any
JSON is answered with issues, never an exception."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical.crf import FormSpec, SubjectContext, form_specs, validate_form
from oncotrial.protocol import Protocol

TODAY = dt.date(2024, 6, 1)
RANDOMISED = dt.date(2024, 1, 10)


@pytest.fixture(scope="module")
def specs() -> dict[str, FormSpec]:
    return form_specs(Protocol.load("lms04"))


def _context(**kw: Any) -> SubjectContext:
    return SubjectContext(**{"today": TODAY, "randomised_on": RANDOMISED, **kw})


def _issues(spec: FormSpec, data: Any, **kw: Any) -> dict[str, str]:
    return {i.field: i.message for i in validate_form(spec, data, _context(**kw)).issues}


AE = {"seq": 1, "term": "Nausea", "system_organ_class": "Gastrointestinal disorders",
      "grade": 2, "start_date": "2024-02-01", "serious": False}
CYCLE = {"phase": "induction", "cycle": 2, "date": "2024-02-01", "doxorubicin_dose": 75}
BASELINE_SCAN = {"visit": 0, "date": "2024-01-05", "lesions": [
    {"id": "T01", "role": "TARGET", "location": "LUNG", "diameter_mm": 25},
    {"id": "NT01", "role": "NON-TARGET", "location": "LIVER", "state": "PRESENT"}]}


def test_valid_forms_give_typed_values(specs: dict[str, FormSpec]) -> None:
    result = validate_form(specs["adverse_event"], {**AE, "grade": "2", "serious": "N"},
                           _context())
    assert result.ok and result.values["grade"] == 2 and result.values["serious"] is False
    assert validate_form(specs["cycle"], CYCLE, _context(arm="DOX")).ok
    assert validate_form(specs["tumour_assessment"], BASELINE_SCAN, _context()).ok


def test_date_in_the_future(specs: dict[str, FormSpec]) -> None:
    issues = _issues(specs["adverse_event"], {**AE, "start_date": "2024-06-02"})
    assert "future" in issues["start_date"] and "2024-06-01" in issues["start_date"]


def test_scan_before_randomisation(specs: dict[str, FormSpec]) -> None:
    scan = {"visit": 1, "date": "2024-01-09", "lesions": [{"id": "T01", "diameter_mm": 20}]}
    issues = _issues(specs["tumour_assessment"], scan)
    assert "randomisation date 2024-01-10" in issues["date"]
    assert _issues(specs["tumour_assessment"], BASELINE_SCAN) == {}  # baseline may precede it


def test_grade_six(specs: dict[str, FormSpec]) -> None:
    assert _issues(specs["adverse_event"], {**AE, "grade": 6}) == {
        "grade": "expected <= 5, got 6"}


def test_negative_diameter(specs: dict[str, FormSpec]) -> None:
    scan = {**BASELINE_SCAN, "lesions": [{"id": "T01", "role": "TARGET", "diameter_mm": -3}]}
    issues = _issues(specs["tumour_assessment"], scan)
    assert issues == {"lesions[0].diameter_mm": "expected >= 0 mm, got -3"}


def test_zero_diameter_at_baseline(specs: dict[str, FormSpec]) -> None:
    scan = {**BASELINE_SCAN, "lesions": [{"id": "T01", "role": "TARGET", "diameter_mm": 0}]}
    assert "> 0 mm" in _issues(specs["tumour_assessment"], scan)["lesions[0].diameter_mm"]


def test_dose_far_from_protocol_needs_a_reason(specs: dict[str, FormSpec]) -> None:
    issues = _issues(specs["cycle"], {**CYCLE, "doxorubicin_dose": 60}, arm="DOX")
    assert "differs from the protocol dose 75" in issues["doxorubicin_reason"]
    assert _issues(specs["cycle"], {**CYCLE, "doxorubicin_dose": 60,
                                    "doxorubicin_reason": "neutropenia"}, arm="DOX") == {}
    # masked: 60 mg/m2 is the full dose of the other arm
    assert _issues(specs["cycle"], {**CYCLE, "doxorubicin_dose": 60}) == {}


def test_total_far_from_computed_dose(specs: dict[str, FormSpec]) -> None:
    body = {"height_cm": 170, "weight_kg": 70, "arm": "DOX"}  # BSA 1.818 m2: 136.4 mg
    assert _issues(specs["cycle"], {**CYCLE, "doxorubicin_total": 136}, **body) == {}
    issues = _issues(specs["cycle"], {**CYCLE, "doxorubicin_total": 100}, **body)
    assert "computed dose 136.4" in issues["doxorubicin_reason"]


def test_drug_not_of_the_arm(specs: dict[str, FormSpec]) -> None:
    issues = _issues(specs["cycle"], {**CYCLE, "trabectedin_dose": 1.1}, arm="DOX")
    assert "not a drug of phase 'induction'" in issues["trabectedin_dose"]


def test_required_types_choices_and_order(specs: dict[str, FormSpec]) -> None:
    issues = _issues(specs["adverse_event"], {**AE, "term": "", "serious": "maybe",
                                              "end_date": "2024-01-31", "extra": 1})
    assert issues["term"].startswith("required")
    assert "yes or no" in issues["serious"]
    assert "on or after the start 2024-02-01" in issues["end_date"]
    assert "unknown field" in issues["extra"]
    baseline = _issues(specs["baseline"], {"sex": "X", "origin": "lung", "stage": "metastatic",
                                           "performance_status": 5})
    assert "expected one of F, M, U" in baseline["sex"]
    assert "uterine, soft_tissue" in baseline["origin"]
    assert baseline["performance_status"] == "expected <= 4, got 5"
    assert "year of birth" in baseline["age"]
    assert "partial" not in _issues(specs["death"], {"date": "2024-02", "cause": "x"})["date"]


def test_follow_up_lesions_against_baseline(specs: dict[str, FormSpec]) -> None:
    scan = {"visit": 1, "date": "2024-02-20", "lesions": [
        {"id": "T01", "diameter_mm": 20}, {"id": "NT01", "diameter_mm": 4},
        {"id": "X9", "location": "BONE"}, {"id": "T01", "diameter_mm": 21}]}
    issues = _issues(specs["tumour_assessment"], scan,
                     baseline_lesions=BASELINE_SCAN["lesions"])
    assert "non-target" in issues["lesions[1].diameter_mm"]
    assert "not a baseline lesion" in issues["lesions[2].role"]
    assert "duplicate" in issues["lesions[3].id"]


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@settings(max_examples=60, deadline=None)
@given(form=st.sampled_from(sorted(form_specs(Protocol.load("lms04")))),
       data=JSON | st.dictionaries(st.sampled_from(["date", "grade", "lesions", "visit",
                                                    "phase", "sex", "doxorubicin_dose", "seq"]),
                                   JSON, max_size=6))
def test_any_json_gives_issues_not_exceptions(form: str, data: Any) -> None:
    spec = form_specs(Protocol.load("lms04"))[form]
    result = validate_form(spec, data, _context(baseline_lesions=BASELINE_SCAN["lesions"]))
    assert all(i.field and i.message for i in result.issues)
    assert isinstance(result.to_dict(), dict)
    if not isinstance(data, dict):
        assert result.issues and result.values == {}
