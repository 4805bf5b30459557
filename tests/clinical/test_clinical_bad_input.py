"""Bad SDTM input: every problem is an exact error class or a data-quality issue naming the
domain, the 1-based data row, the subject and the value; nothing is dropped, coerced or
overwritten silently, and every record left out of a derivation is in the report."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.clinical import derive_all, derive_os, response_rates, validate_domain
from oncotrial.clinical.recist_bor import derive_best_overall_response
from oncotrial.core.errors import DataError, InputError
from oncotrial.protocol import Protocol

PROTOCOL = Protocol.load("lms04")


def _dm(**changes) -> pd.DataFrame:
    dm = pd.DataFrame({
        "STUDYID": "LMS04", "USUBJID": ["S1", "S2", "S3"], "ARM": ["Doxorubicin"] * 3,
        "ARMCD": ["DOX"] * 3, "AGE": [55, 61, 48], "SEX": ["F", "F", "M"],
        "RFSTDTC": ["2024-01-01"] * 3, "DTHDTC": [None, None, None],
        "origin": ["uterine", "soft_tissue", "uterine"], "stage": ["metastatic"] * 3,
    })
    for column, values in changes.items():
        dm[column] = values
    return dm


def _ex(**changes) -> pd.DataFrame:
    ex = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "EXTRT": ["DOXORUBICIN"] * 3,
                       "EXDOSE": [75.0, 75.0, 75.0], "EXDOSU": ["mg/m2"] * 3,
                       "EXSTDTC": ["2024-01-02"] * 3})
    for column, values in changes.items():
        ex[column] = values
    return ex


def _derive(**domains) -> pd.DataFrame:
    sdtm = {"DM": _dm(), "EX": _ex(), **domains}
    return derive_all(sdtm, PROTOCOL)


def _issues(data, domain: str) -> pd.DataFrame:
    dq = data.data_quality()
    return dq[dq["domain"] == domain]


def _only(data, domain: str, field: str):
    """The one issue of a record (consequences without a row, e.g. a schedule rule that
    could not be applied to a subject without an arm, are not counted)."""
    found = _issues(data, domain)
    found = found[(found["field"] == field) & found["row"].notna()]
    assert len(found) == 1, data.data_quality()
    return found.iloc[0]


def test_clean_input_has_no_issue():
    data = _derive()
    assert data.data_quality().empty
    assert data.adsl["ARMCD"].tolist() == ["DOX"] * 3


# -- structure -----------------------------------------------------------------------------


def test_duplicated_column_names_are_refused_naming_them():
    ex = pd.concat([_ex(), _ex()[["EXDOSE"]]], axis=1)
    with pytest.raises(DataError, match="EX: duplicated column name.*EXDOSE") as info:
        validate_domain("EX", ex)
    assert (info.value.dataset, info.value.variable) == ("EX", "EXDOSE")
    with pytest.raises(DataError, match="duplicated column name.*EXDOSE"):
        derive_all({"DM": _dm(), "EX": ex}, PROTOCOL)


def test_wrong_python_types_and_arguments():
    with pytest.raises(TypeError, match="DataFrame"):
        validate_domain("EX", {"USUBJID": ["S1"]})
    with pytest.raises(TypeError, match="mapping"):
        derive_all([_dm()], PROTOCOL)
    with pytest.raises(InputError, match="DM domain is required"):
        derive_all({"EX": _ex()}, PROTOCOL)


# -- numbers stored as text or booleans ----------------------------------------------------


@pytest.mark.parametrize(("value", "problem"), [("75", "text"), (True, "boolean")])
def test_text_and_booleans_in_a_numeric_column_are_refused_with_the_row(value, problem):
    ex = _ex(EXDOSE=pd.Series([75.0, value, 75.0], dtype=object))
    check = validate_domain("EX", ex)
    (issue,) = check.issues
    assert (issue.domain, issue.row, issue.usubjid, issue.field) == ("EX", 2, "S2", "EXDOSE")
    assert issue.value == value and f"not a number: {'a ' if problem == 'boolean' else ''}" \
        f"{problem}" in issue.problem
    assert check.valid["USUBJID"].tolist() == ["S1", "S3"]
    assert len(check.valid) + len(check.excluded) == len(ex)


def test_text_age_in_dm_is_reported_and_the_subject_kept():
    data = derive_all({"DM": _dm(AGE=pd.Series([55, "61", 48], dtype=object))}, PROTOCOL)
    issue = _only(data, "DM", "AGE")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", "61")
    assert len(data.adsl) == 3 and pd.isna(data.adsl.set_index("USUBJID").at["S2", "AGE"])


# -- controlled terminology ----------------------------------------------------------------


@pytest.mark.parametrize(("domain", "frame", "field", "value"), [
    ("EX", _ex(EXDOSU=["mg/m2", "spoons", "mg/m2"]), "EXDOSU", "spoons"),
    ("RS", pd.DataFrame({"USUBJID": ["S1", "S2"], "RSTESTCD": "OVRLRESP",
                         "RSORRES": ["PR", "XX"], "RSDTC": ["2024-02-01", "2024-02-01"]}),
     "RSORRES", "XX"),
    ("DS", pd.DataFrame({"USUBJID": ["S1", "S2"], "DSDECOD": ["RANDOMIZED", "ABDUCTED"],
                         "DSSTDTC": "2024-01-01"}), "DSDECOD", "ABDUCTED"),
])
def test_unknown_codes_are_issues_and_the_record_is_excluded(domain, frame, field, value):
    data = derive_all({"DM": _dm(), domain: frame}, PROTOCOL)
    issue = _only(data, domain, field)
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", value)
    assert "unknown code" in issue["problem"]


def test_unknown_sex_keeps_the_subject_with_an_issue():
    data = derive_all({"DM": _dm(SEX=["F", "X", "M"])}, PROTOCOL)
    issue = _only(data, "DM", "SEX")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", "X")
    assert data.adsl["SEX"].tolist() == ["F", None, "M"]


def test_unknown_best_response_code_is_refused_not_counted_as_non_responder():
    bor = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "BOR": ["PR", "XX", "MISSING"]})
    with pytest.raises(DataError, match=r"bor.BOR: unknown best-response code.*XX.*rows \[2\]") \
            as info:
        response_rates(bor, {"S1": "A", "S2": "A", "S3": "B"})
    assert (info.value.dataset, info.value.variable, info.value.rows) == ("bor", "BOR", [2])


def test_unknown_response_code_to_best_response_is_a_data_error_with_the_row():
    rs = pd.DataFrame({"USUBJID": ["S1", "S1"], "RSTESTCD": ["OVRLRESP"] * 2,
                       "RSORRES": ["PR", "XX"], "RSDTC": ["2024-02-01", "2024-03-01"]})
    with pytest.raises(DataError, match="row 2") as info:
        derive_best_overall_response(rs, {"S1": "2024-01-01"})
    assert (info.value.dataset, info.value.variable, info.value.rows) == ("RS", "RSORRES", [2])


# -- arms ----------------------------------------------------------------------------------


def test_armcd_not_in_the_protocol_is_reported_not_overwritten():
    data = derive_all({"DM": _dm(ARMCD=["DOX", "PLACEBO", "DOX"])}, PROTOCOL)
    issue = _only(data, "DM", "ARMCD")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", "PLACEBO")
    assert data.adsl["ARMCD"].tolist() == ["DOX", None, "DOX"]


def test_armcd_and_arm_naming_different_arms_is_a_conflict():
    arm = ["Doxorubicin", "Doxorubicin + trabectedin", "Doxorubicin"]
    data = derive_all({"DM": _dm(ARM=arm)}, PROTOCOL)
    issue = _only(data, "DM", "ARM")
    assert (issue["row"], issue["usubjid"]) == (2, "S2")
    assert "conflicting" in issue["problem"] and "DOXTRAB" in issue["problem"]
    assert data.adsl["ARMCD"].tolist() == ["DOX", None, "DOX"]


def test_arm_text_other_than_the_protocol_label_is_reported():
    data = derive_all({"DM": _dm(ARM=["Doxorubicin", "doxorubicin  ", "Dox alone"])}, PROTOCOL)
    issue = _only(data, "DM", "ARM")  # case and blanks do not count, another text does
    assert (issue["row"], issue["usubjid"], issue["value"]) == (3, "S3", "Dox alone")
    assert data.adsl["ARM"].tolist() == ["Doxorubicin"] * 3


# -- death flag ----------------------------------------------------------------------------


def test_death_flag_without_a_date_and_a_date_without_the_flag_are_reported():
    dm = _dm(DTHFL=["Y", "N", None], DTHDTC=[None, "2024-05-01", None])
    data = derive_all({"DM": dm}, PROTOCOL)
    dq = _issues(data, "DM").set_index("usubjid")
    assert dq.at["S1", "row"] == 1 and "without a death date" in dq.at["S1", "problem"]
    assert "censored" in dq.at["S1", "problem"]
    assert dq.at["S2", "row"] == 2 and "DTHFL = N" in dq.at["S2", "problem"]
    assert "S3" not in dq.index
    os_ = data.adtte[data.adtte["PARAMCD"] == "OS"].set_index("USUBJID")
    assert os_.at["S1", "CNSR"] != 0 and os_.at["S2", "CNSR"] == 0


# -- dates ---------------------------------------------------------------------------------


def test_partial_randomisation_date_is_not_completed():
    data = derive_all({"DM": _dm(RANDDTC=["2024-01-03", "2024-05", None])}, PROTOCOL)
    issue = _only(data, "DM", "RANDDTC")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", "2024-05")
    assert "partial date" in issue["problem"]
    # falls back to RFSTDTC, never to 2024-05-01
    assert data.adsl["RANDDT"].tolist() == [pd.Timestamp(d) for d in
                                            ("2024-01-03", "2024-01-01", "2024-01-01")]


def test_partial_date_in_time_to_event_input_is_a_data_error():
    subjects = pd.DataFrame({"USUBJID": ["S1", "S2"], "RANDDT": ["2024-01-01", "2024-02"],
                             "DTHDT": [None, None], "LSTALVDT": ["2024-06-01", "2024-06-01"]})
    with pytest.raises(DataError, match="complete date.*2024-02.*rows \\[2\\]") as info:
        derive_os(subjects)
    assert (info.value.dataset, info.value.variable, info.value.rows) == (
        "subjects", "RANDDT", [2])


# -- plausibility --------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "value"), [
    ("AGE", 640), ("AGE", -1), ("HEIGHT", 500), ("WEIGHT", 700)])
def test_implausible_dm_values_are_reported_and_emptied(column, value):
    values = {"AGE": [55, 61, 48], "HEIGHT": [165, 170, 180], "WEIGHT": [60, 70, 80]}[column]
    values[1] = value
    data = derive_all({"DM": _dm(**{column: values})}, PROTOCOL)
    issue = _only(data, "DM", column)
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", value)
    assert "implausible" in issue["problem"]
    assert len(data.adsl) == 3 and pd.isna(data.adsl.set_index("USUBJID").at["S2", column])


def test_implausible_lesion_diameter_is_excluded_with_its_row():
    tr = pd.DataFrame({"USUBJID": ["S1", "S1"], "TRLNKID": "T01", "TRTESTCD": "LDIAM",
                       "TRSTRESN": [50.0, 3000.0], "TRDTC": ["2023-12-20", "2024-02-12"]})
    check = validate_domain("TR", tr)
    (issue,) = check.issues
    assert (issue.row, issue.usubjid, issue.field, issue.value) == (2, "S1", "TRSTRESN", 3000.0)
    assert "0-500 mm" in issue.problem and len(check.valid) == 1


def test_diameter_in_another_unit_is_excluded():
    tr = pd.DataFrame({"USUBJID": ["S1"], "TRLNKID": "T01", "TRTESTCD": "LDIAM",
                       "TRSTRESN": [5.0], "TRSTRESU": ["cm"], "TRDTC": ["2023-12-20"]})
    (issue,) = validate_domain("TR", tr).issues
    assert (issue.row, issue.field, issue.value) == (1, "TRSTRESU", "cm")


@pytest.mark.parametrize(("dose", "problem"), [(-75.0, "negative dose"),
                                               (750.0, "implausible dose")])
def test_negative_or_implausible_dose_is_excluded_and_listed(dose, problem):
    data = _derive(EX=_ex(EXDOSE=[75.0, dose, 75.0]))
    issue = _only(data, "EX", "EXDOSE")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", dose)
    assert problem in issue["problem"]
    assert data.adsl["SAFFL"].tolist() == ["Y", "N", "Y"]


def test_dose_in_another_unit_is_not_called_a_reduction():
    data = _derive(EX=_ex(EXDOSE=[75.0, 120.0, 75.0], EXDOSU=["mg/m2", "mg", "mg/m2"]))
    issue = _only(data, "EX", "EXDOSU")
    assert (issue["row"], issue["usubjid"], issue["value"]) == (2, "S2", "MG")
    assert data.adsl["DOSREDFL"].tolist() == ["N", "N", "N"]
    assert data.adsl["SAFFL"].tolist() == ["Y", "Y", "Y"]


def test_blank_stratification_value_is_reported_at_once_with_its_row():
    data = derive_all({"DM": _dm(origin=["uterine", None, " "])}, PROTOCOL)
    found = _issues(data, "DM")
    found = found[found["field"] == "origin"]
    assert found["row"].tolist() == [2, 3] and found["usubjid"].tolist() == ["S2", "S3"]
    assert found["problem"].str.contains("blank stratification value").all()


# -- counts in == counts out + listed exclusions -------------------------------------------


@pytest.mark.parametrize("changes", [
    {"USUBJID": ["S1", "S1", "S3"]},             # a conflicting duplicate subject
    {"STUDYID": ["LMS04", None, "LMS04"]},       # a required value missing
    {"AGE": [55, 700, "x"]},                     # implausible and text: kept, reported
    {"ARMCD": ["DOX", "NONE", None]},
    {"DTHFL": ["Y", "N", "Y"]},
])
def test_every_dm_subject_is_in_adsl_or_in_the_report(changes):
    dm = _dm(**{k: pd.Series(v, dtype=object) for k, v in changes.items()})
    data = derive_all({"DM": dm}, PROTOCOL)
    dq = _issues(data, "DM")
    assert dq["row"].notna().any(), data.data_quality()
    excluded_rows = set(dq.loc[dq["problem"].str.contains("duplicate|required"), "row"])
    assert len(data.adsl) + len(excluded_rows) == len(dm)


@pytest.mark.parametrize("ex", [
    _ex(EXDOSE=pd.Series([75.0, "75", -1.0], dtype=object)),
    _ex(EXDOSE=[75.0, 900.0, 75.0]),
    _ex(EXDOSU=["mg/m2", "spoons", "mg/m2"]),
    _ex(EXSTDTC=["2024-01-02", "2024-01", "2024-01-02"]),
    _ex(USUBJID=["S1", "S9", "S3"]),
])
def test_every_excluded_ex_record_is_in_the_report(ex):
    data = _derive(EX=ex)
    treated = set(data.adsl.loc[data.adsl["SAFFL"] == "Y", "USUBJID"])
    listed = set(_issues(data, "EX")["row"])
    assert listed, data.data_quality()
    used_rows = {i + 1 for i, s in enumerate(ex["USUBJID"]) if s in treated}
    assert used_rows | listed == set(range(1, len(ex) + 1))
    assert not used_rows & listed


def test_written_report_holds_the_rows(tmp_path):
    data = derive_all({"DM": _dm(AGE=[55, 640, 48])}, PROTOCOL)
    data.write(tmp_path)
    report = pd.read_csv(tmp_path / "data_quality.csv")
    assert report.columns.tolist() == ["domain", "row", "usubjid", "field", "value", "problem"]
    assert report[["domain", "row", "usubjid", "field"]].values.tolist() == [
        ["DM", 2, "S2", "AGE"]]
