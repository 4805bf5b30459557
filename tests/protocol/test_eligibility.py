"""Eligibility: three-valued rules, missing data and wrong types never make a patient eligible."""

from __future__ import annotations

import numpy as np
import pytest
from protocol_fixtures import data, eligible_patient, lms04  # noqa: F401 (pytest fixtures)


def test_eligible(lms04, eligible_patient):
    result = lms04.check_eligibility(eligible_patient)
    assert result.status == "eligible" and result.eligible
    assert result.failed == () and result.undetermined == ()
    assert len(result.passed) == len(lms04.eligibility)
    assert result.to_dict()["status"] == "eligible"


def test_numpy_values_are_numbers_and_booleans(lms04, eligible_patient):
    eligible_patient.update(age=np.int64(40), ecog=np.float64(0), cns_metastases=np.False_)
    assert lms04.check_eligibility(eligible_patient).status == "eligible"


@pytest.mark.parametrize("change, criterion, reason", [
    ({"age": 17}, "age", "age = 17, expected >= 18"),
    ({"histology": "other"}, "histology", "histology = 'other', expected == 'leiomyosarcoma'"),
    ({"expert_pathology_review": False}, "histology",
     "expert_pathology_review = False, expected true"),
    ({"prior_chemotherapy": True}, "no_prior_chemotherapy",
     "prior_chemotherapy = True, expected false"),
    ({"measurable_lesions": 0}, "measurable", "measurable_lesions = 0, expected >= 1"),
    ({"ecog": 2}, "ecog", "ecog = 2, expected one of [0, 1]"),
    ({"adequate_organ_function": False}, "organ_function",
     "adequate_organ_function = False, expected true"),
    ({"stage": "locally_advanced", "unresectable": False}, "disease_extent",
     "stage = 'locally_advanced', expected == 'metastatic' and "
     "unresectable = False, expected true"),
    ({"other_cancer_in_remission_lt_3y": True}, "no_other_cancer",
     "other_cancer_in_remission_lt_3y = True, expected false"),
    ({"cns_metastases": True}, "no_cns_metastases", "cns_metastases = True, expected false"),
])
def test_each_failing_criterion(lms04, eligible_patient, change, criterion, reason):
    eligible_patient.update(change)
    result = lms04.check_eligibility(eligible_patient)
    assert result.status == "not eligible"
    [failed] = result.failed
    assert (failed.id, failed.reason) == (criterion, reason)
    assert failed.text == next(c.text for c in lms04.eligibility if c.id == criterion)


def test_unresectable_locally_advanced_is_eligible(lms04, eligible_patient):
    eligible_patient.update(stage="locally_advanced", unresectable=True)
    assert lms04.check_eligibility(eligible_patient).status == "eligible"
    del eligible_patient["unresectable"]
    result = lms04.check_eligibility(eligible_patient)
    assert result.status == "cannot be determined"
    assert [(o.id, o.reason) for o in result.undetermined] == [
        ("disease_extent", "unresectable is missing")]


@pytest.mark.parametrize("missing", ["age", "ecog", "cns_metastases", "histology"])
def test_missing_data_cannot_be_determined(lms04, eligible_patient, missing):
    for how in ("absent", "none", "nan"):
        patient = dict(eligible_patient)
        if how == "absent":
            del patient[missing]
        else:
            patient[missing] = None if how == "none" else float("nan")
        result = lms04.check_eligibility(patient)
        assert result.status == "cannot be determined"
        assert result.failed == ()
        [undetermined] = result.undetermined
        assert undetermined.reason == f"{missing} is missing"


def test_metastatic_does_not_need_resectability(lms04, eligible_patient):
    del eligible_patient["unresectable"]
    assert lms04.check_eligibility(eligible_patient).status == "eligible"


def test_failed_plus_missing_is_not_eligible(lms04, eligible_patient):
    eligible_patient["age"] = 16
    del eligible_patient["ecog"]
    result = lms04.check_eligibility(eligible_patient)
    assert result.status == "not eligible"
    assert [o.id for o in result.failed] == ["age"]
    assert [o.id for o in result.undetermined] == ["ecog"]
    assert repr(result) == ("EligibilityResult(status='not eligible', failed=['age'], "
                            "undetermined=['ecog'])")


@pytest.mark.parametrize("field, value, reason", [
    ("age", "72", "age: expected a number, got '72'"),
    ("age", True, "age: expected a number, got True"),
    ("cns_metastases", 0, "cns_metastases: expected true/false, got 0"),
    ("cns_metastases", "no", "cns_metastases: expected true/false, got 'no'"),
    ("origin", "Uterine", "origin: 'Uterine' is not a declared level (uterine, soft_tissue)"),
    ("stage", 1, "stage: 1 is not a declared level (locally_advanced, metastatic)"),
])
def test_wrong_types_are_undetermined_never_coerced(lms04, eligible_patient, field, value,
                                                    reason):
    eligible_patient[field] = value
    result = lms04.check_eligibility(eligible_patient)
    assert result.status == "cannot be determined"
    [undetermined] = result.undetermined
    assert undetermined.reason == reason


def test_patient_must_be_a_mapping(lms04):
    with pytest.raises(TypeError, match="patient: expected a mapping"):
        lms04.check_eligibility([("age", 40)])


def test_date_fields(data):
    from datetime import date

    from oncotrial.protocol import Protocol
    data["fields"]["consent_date"] = {"type": "date"}
    data["eligibility"].append({"id": "consent", "text": "Consent after 2016-12-01",
                                "field": "consent_date", "op": ">=",
                                "value": date(2016, 12, 1)})
    protocol = Protocol.from_dict(data)
    base = {"consent_date": date(2017, 1, 5)}
    assert "consent" in protocol.check_eligibility(base).passed
    late = protocol.check_eligibility({"consent_date": date(2016, 1, 5)})
    assert [o.id for o in late.failed] == ["consent"]
    text = protocol.check_eligibility({"consent_date": "2017-01-05"})
    assert [o.reason for o in text.undetermined if o.id == "consent"] == [
        "consent_date: expected a date, got '2017-01-05'"]
