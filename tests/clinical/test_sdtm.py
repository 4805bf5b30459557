"""Tests of the SDTM subset spec, row-level validation and cross-domain date checks."""

import pandas as pd
import pytest

from oncotrial.clinical.sdtm import SPECS, check_dates, validate_domain
from oncotrial.core.errors import DataError, InputError


def _ae(**columns):
    base = {
        "USUBJID": ["S1"],
        "AEDECOD": ["Nausea"],
        "AEBODSYS": ["Gastrointestinal disorders"],
        "AESTDTC": ["2020-01-10"],
        "AETOXGR": [2],
        "AESER": ["N"],
    }
    base.update(columns)
    return pd.DataFrame(base)


def test_every_domain_has_usubjid_required_and_key_columns_in_spec():
    assert set(SPECS) == {"DM", "EX", "AE", "DS", "CM", "TU", "TR", "RS", "PR"}
    for spec in SPECS.values():
        assert "USUBJID" in spec.required
        names = {c.name for c in spec.columns}
        assert set(spec.key) <= names


def test_missing_required_column_is_a_structural_error_naming_it():
    with pytest.raises(DataError, match="AE: required column.*AETOXGR.*AESER") as info:
        validate_domain("AE", _ae().drop(columns=["AETOXGR", "AESER"]))
    assert (info.value.dataset, info.value.variable) == ("AE", "AETOXGR")
    with pytest.raises(InputError, match="unknown SDTM domain 'XX'"):
        validate_domain("XX", _ae())


def test_valid_record_is_typed():
    check = validate_domain("AE", _ae(AESER=["y"], AETOXGR=[3.0]))
    assert check.issues == ()
    row = check.valid.iloc[0]
    assert row["AESTDTC"] == pd.Timestamp("2020-01-10")
    assert row["AETOXGR"] == 3 and row["AESER"] == "Y"
    assert check.excluded.empty


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("AETOXGR", 6, "outside 1-5"),
        ("AETOXGR", 0, "outside 1-5"),
        ("AETOXGR", 2.5, "not an integer"),
        ("AETOXGR", "severe", "not a number"),
        ("AESER", "maybe", "unknown code"),
        ("AEACN", "STOPPED", "unknown code"),
        ("AESTDTC", "2020-02", "partial date"),
        ("AESTDTC", "10/01/2020", "unparsable"),
        ("AESTDTC", "2020-02-30", "unparsable"),
        ("AEDECOD", None, "required value missing"),
    ],
)
def test_row_problem_excludes_the_row_and_names_domain_subject_field_value(
    field, value, problem
):
    frame = pd.concat(
        [_ae(), _ae(USUBJID=["S2"], **{field: [value]})], ignore_index=True
    )
    check = validate_domain("AE", frame)
    assert list(check.valid["USUBJID"]) == ["S1"]
    (issue,) = check.issues
    assert (issue.domain, issue.usubjid, issue.field, issue.row) == ("AE", "S2", field, 2)
    assert issue.value == value or (value is None and issue.value is None)
    assert problem in issue.problem
    assert check.excluded["EXCLREAS"].iloc[0].startswith(f"{field}: ")
    assert check.to_frame()["usubjid"].tolist() == ["S2"]


def test_partial_date_in_optional_column_keeps_the_row_with_nat():
    check = validate_domain("AE", _ae(AEENDTC=["2020-03"]))
    assert len(check.valid) == 1 and pd.isna(check.valid["AEENDTC"].iloc[0])
    (issue,) = check.issues
    assert issue.field == "AEENDTC" and "partial date" in issue.problem


def test_subject_absent_from_dm_is_excluded():
    check = validate_domain("AE", _ae(USUBJID=["S9"]), subjects=["S1"])
    assert check.valid.empty
    assert check.issues[0].problem == "subject absent from DM"


def test_duplicates_exact_copy_keeps_first_conflict_excludes_all():
    exact = validate_domain("AE", pd.concat([_ae(), _ae()], ignore_index=True))
    assert len(exact.valid) == 1 and exact.issues[0].problem == "exact duplicate record"
    conflict = validate_domain(
        "AE", pd.concat([_ae(), _ae(AETOXGR=[3])], ignore_index=True)
    )
    assert conflict.valid.empty and len(conflict.issues) == 2
    assert {i.problem for i in conflict.issues} == {"conflicting duplicate records"}


def test_ds_decode_codelist_and_revalidation_is_noop():
    ds = pd.DataFrame(
        {
            "USUBJID": ["S1", "S1"],
            "DSDECOD": ["randomized", "ABDUCTED"],
            "DSSTDTC": ["2020-01-01", "2020-02-01"],
        }
    )
    check = validate_domain("DS", ds)
    assert check.valid["DSDECOD"].tolist() == ["RANDOMIZED"]
    assert check.issues[0].field == "DSDECOD" and check.issues[0].value == "ABDUCTED"
    again = validate_domain("DS", check.valid)
    assert again.issues == () and again.valid.equals(check.valid)


def test_check_dates_death_before_randomisation_and_records_after_death():
    dm = validate_domain(
        "DM",
        pd.DataFrame(
            {
                "STUDYID": "LMS04",
                "USUBJID": ["S1", "S2"],
                "ARM": "A",
                "DTHDTC": ["2020-03-01", "2019-12-01"],
            }
        ),
    ).valid
    ds = validate_domain(
        "DS",
        pd.DataFrame(
            {
                "USUBJID": ["S1", "S2", "S1"],
                "DSDECOD": ["RANDOMIZED", "RANDOMIZED", "COMPLETED"],
                "DSSTDTC": ["2020-01-01", "2020-01-01", "2020-04-01"],
            }
        ),
    ).valid
    ae = validate_domain(
        "AE",
        _ae(
            USUBJID=["S1"] * 2,
            AEDECOD=["A", "B"],
            AESTDTC=["2020-03-01", "2020-03-05"],
            AEBODSYS=["X", "X"],
            AETOXGR=[5, 1],
            AESER=["Y", "N"],
        ),
    ).valid
    issues = check_dates(dm, ds, {"AE": ae})
    found = {(i.domain, i.usubjid, i.field, str(i.value)[:10]) for i in issues}
    assert found == {
        ("DS", "S2", "DSSTDTC", "2020-01-01"),  # death 2019-12-01 before randomisation
        ("DS", "S1", "DSSTDTC", "2020-04-01"),  # completed after death
        ("AE", "S1", "AESTDTC", "2020-03-05"),  # same-day grade 5 AE is allowed
    }


def test_validated_mark_still_rechecks_subjects():
    """A validated frame is not parsed again, but its subjects are checked against the DM
    subjects given: a record of a subject absent from DM is still reported and excluded."""
    ae = pd.DataFrame({"USUBJID": ["S1", "S2"], "AEDECOD": ["Nausea", "Fatigue"],
                       "AEBODSYS": ["GI", "General"], "AESTDTC": ["2024-01-05", "2024-01-06"],
                       "AETOXGR": [2, 1], "AESER": ["N", "N"]})
    first = validate_domain("AE", ae)
    assert first.valid.attrs["sdtm_domain"] == "AE"
    again = validate_domain("AE", first.valid, subjects=["S1", "S2"])
    assert again.valid is first.valid and again.issues == ()
    narrowed = validate_domain("AE", first.valid, subjects=["S1"])
    assert narrowed.valid["USUBJID"].tolist() == ["S1"]
    assert [(i.usubjid, i.field) for i in narrowed.issues] == [("S2", "USUBJID")]
