"""Reading and validating ADaM input: every error names the dataset, the variable and the rows."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest

from oncotrial.core.errors import DataError, InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, AdamValidationError, read_adam, validate_adam

LMS04 = Protocol.load("lms04")


@pytest.fixture
def adam() -> AdamData:
    """Four randomised patients (two per LMS04 arm), PFS and OS, a BOR each, two AEs."""
    adsl = pd.DataFrame({
        "USUBJID": ["P1", "P2", "P3", "P4"],
        "ARMCD": ["DOX", "DOX", "DOXTRAB", "DOXTRAB"],
        "ARM": ["Doxorubicin", "Doxorubicin", "Doxorubicin + trabectedin", "Doxorubicin + trabectedin"],
        "ACTARM": ["Doxorubicin", "Doxorubicin", "Doxorubicin + trabectedin", "Doxorubicin + trabectedin"],
        "ITTFL": ["Y"] * 4,
        "SAFFL": ["Y", "N", "Y", "Y"],
        "RANDDT": ["2017-02-16", "2017-03-01", "2017-03-08", "2017-04-02"],
        "DTHFL": ["Y", "N", "", "Y"],
        "DTHDT": ["2019-01-04", "", None, "2018-05-01"],
        "origin": ["uterine", "soft_tissue", "uterine", "soft_tissue"],
        "stage": ["metastatic", "metastatic", "locally_advanced", "metastatic"],
    })
    adtte = pd.DataFrame({
        "USUBJID": ["P1", "P2", "P3", "P4"] * 2,
        "PARAMCD": ["PFS"] * 4 + ["OS"] * 4,
        "AVAL": [316, 120, 400, 90, 688, 900, 1200, 395],
        "CNSR": [0, 0, 2, 0, 0, 5, 5, 0],
    })
    adrs = pd.DataFrame({"USUBJID": ["P1", "P2", "P3", "P4"], "PARAMCD": "BOR", "AVALC": ["SD", "PD", "PR", "CR"],
                         "ADT": ["2017-04-03", "2017-04-10", "2017-05-01", "2017-06-01"]})
    adae = pd.DataFrame({"USUBJID": ["P1", "P3"], "AEDECOD": ["Nausea", "Anemia"], "TRTEMFL": ["Y", "Y"],
                         "ATOXGR": [1, 3], "ASTDT": ["2017-03-01", "02MAR2017"]})
    return AdamData(adsl, adtte, adrs, adae)


def _error(adam: AdamData, protocol=None) -> str:
    with pytest.raises(AdamValidationError) as info:
        validate_adam(adam, protocol)
    assert isinstance(info.value, DataError) and info.value.problems
    assert all(type(p) is DataError and p.dataset in str(p) for p in info.value.problems)
    return str(info.value)


def test_valid_data_is_normalised(adam):
    out = validate_adam(adam, LMS04)
    assert str(out.adsl["RANDDT"].dtype) == "datetime64[ns]"
    assert out.adsl["DTHDT"].isna().tolist() == [False, True, True, False]  # "" and None are missing
    assert out.adae["ASTDT"].tolist() == [pd.Timestamp("2017-03-01"), pd.Timestamp("2017-03-02")]  # DATE9.
    assert str(out.adtte["CNSR"].dtype) == "int64"
    assert validate_adam(out, LMS04).adsl.equals(out.adsl)  # validating twice changes nothing
    assert "adsl=4" in repr(out)


def test_sas_day_numbers_are_dates(adam):
    adsl = adam.adsl.assign(RANDDT=[0.0, 1.0, 20_866.0, None])
    out = validate_adam(AdamData(adsl, adam.adtte))
    assert out.adsl["RANDDT"].tolist()[:3] == [pd.Timestamp("1960-01-01"), pd.Timestamp("1960-01-02"),
                                               pd.Timestamp("2017-02-16")]


def test_missing_required_variable(adam):
    message = _error(AdamData(adam.adsl, adam.adtte.drop(columns=["CNSR"])))
    assert "ADTTE.CNSR: required variable missing" in message


def test_safety_variables_required_with_adae(adam):
    message = _error(AdamData(adam.adsl.drop(columns=["SAFFL"]), adam.adtte, adae=adam.adae))
    assert "ADSL.SAFFL: required variable missing" in message
    validate_adam(AdamData(adam.adsl.drop(columns=["SAFFL"]), adam.adtte))  # fine without ADAE


def test_cnsr_must_be_integers_at_least_zero(adam):
    adtte = adam.adtte.assign(CNSR=[0, 2.5, 0, -1, 0, 5, "Y", 0])
    message = _error(AdamData(adam.adsl, adtte))
    assert "ADTTE.CNSR: expected integers >= 0 (0 = event) at rows [2, 4] (2 rows)" in message
    assert "ADTTE.CNSR: expected numbers, got str values such as 'Y'" in message and "at rows [7] (1 row)" in message


def test_aval_must_be_a_time_of_a_known_unit(adam):
    adtte = adam.adtte.assign(AVAL=[316, None, 400, -3, 688, 900, 1200, 395], AVALU="DAYS")
    assert ("ADTTE.AVAL: expected a time >= 0 (days, or the unit AVALU names) at rows [2, 4]"
            in _error(AdamData(adam.adsl, adtte)))
    adtte = adam.adtte.assign(AVALU=["DAYS"] * 6 + ["HOURS", "MONTH"])
    assert ("ADTTE.AVALU: unit 'HOURS' is not one of the CDISC terms DAYS, WEEKS, MONTHS, YEARS "
            "(case-insensitive; blank is DAYS) at rows [7, 8]") in _error(AdamData(adam.adsl, adtte))


def test_primary_end_point_must_be_present(adam):
    adtte = adam.adtte[adam.adtte["PARAMCD"] == "OS"]
    message = _error(AdamData(adam.adsl, adtte), LMS04)
    assert "ADTTE.PARAMCD: primary end point 'PFS' absent (parameters present: OS)" in message


def test_parameter_codes_must_be_given(adam):
    adtte = adam.adtte.assign(PARAMCD=["PFS", "PFS", " ", "PFS", "OS", None, "OS", "OS"])
    assert "ADTTE.PARAMCD: missing parameter code at rows [3, 6]" in _error(AdamData(adam.adsl, adtte))


def test_every_protocol_arm_needs_patients(adam):
    adsl = adam.adsl.assign(ARMCD="DOX", ARM="Doxorubicin")
    message = _error(AdamData(adsl, adam.adtte), LMS04)
    assert "ADSL.ARMCD: protocol arm 'DOXTRAB' (Doxorubicin + trabectedin) has no randomised subject" in message


def test_arms_must_be_protocol_arms(adam):
    adsl = adam.adsl.assign(ARMCD=["DOX", "DOX", "DOXTRAB", "PLACEBO"],
                            ARM=["Doxorubicin", "Doxorubicin", "Doxorubicin + trabectedin", "Placebo"])
    message = _error(AdamData(adsl, adam.adtte), LMS04)
    assert "ADSL.ARMCD: not an arm of protocol LMS04 (DOX, DOXTRAB) at rows [4]" in message


def test_subjects_must_be_in_adsl(adam):
    adtte = adam.adtte.assign(USUBJID=["P1", "P2", "P9", "P4", "P1", "P2", "P3", "P4"])
    assert "ADTTE.USUBJID: subject not in ADSL at rows [3]" in _error(AdamData(adam.adsl, adtte))
    adae = adam.adae.assign(USUBJID=["P1", "X"])
    assert "ADAE.USUBJID: subject not in ADSL at rows [2]" in _error(AdamData(adam.adsl, adam.adtte, adae=adae))


def test_unparsable_dates_name_the_rows(adam):
    adsl = adam.adsl.assign(RANDDT=["2017-02-16", "2017-02-30", "2017-03-08", "yesterday"])
    message = _error(AdamData(adsl, adam.adtte))
    assert "ADSL.RANDDT: date not parsable (e.g. '2017-02-30'; expected ISO 8601 or DATE9.) at rows [2, 4]" in message


def test_duplicates_flags_and_arm_labels(adam):
    adsl = adam.adsl.assign(USUBJID=["P1", "P1", "P3", "P4"], ITTFL=["Y", "Y", "Y", "yes"],
                            ARM=["Doxorubicin", "Dox", "Doxorubicin + trabectedin", "Doxorubicin + trabectedin"])
    message = _error(AdamData(adsl, adam.adtte))
    assert "ADSL.ITTFL: expected Y, N or blank at rows [4]" in message
    assert "ADSL.USUBJID: subject on more than one row at rows [1, 2]" in message
    assert "ADSL.ARM: ARMCD 'DOX' has more than one ARM label at rows [1, 2]" in message
    adtte = pd.concat([adam.adtte, adam.adtte.iloc[[0]]], ignore_index=True)
    assert "ADTTE.PARAMCD: parameter on more than one row for a subject at rows [1, 9]" in _error(
        AdamData(adam.adsl, adtte))


def test_every_problem_is_reported_at_once(adam):
    adsl = adam.adsl.assign(RANDDT=["bad", "2017-03-01", "2017-03-08", "2017-04-02"])
    adtte = adam.adtte.assign(CNSR=[0, 0, 0, 0, 0, 0, 0, -1])
    lines = _error(AdamData(adsl, adtte)).splitlines()
    assert lines[0] == "ADaM data failed validation:" and len(lines) == 3


def test_read_adam_prefers_parquet_and_reads_every_format(adam, tmp_path):
    adam.adsl.to_csv(tmp_path / "adsl.csv", index=False)
    adam.adsl.assign(SOURCE="parquet").to_parquet(tmp_path / "ADSL.parquet")
    adam.adtte.to_csv(tmp_path / "adtte.csv", index=False)
    pyreadstat.write_xport(adam.adrs, str(tmp_path / "adrs.xpt"), file_format_version=5)
    adam.adae.to_csv(tmp_path / "adae.csv", index=False)
    out = read_adam(tmp_path)
    assert "SOURCE" in out.adsl.columns  # Parquet (typed) wins over CSV
    assert len(out.adsl) == 4 and len(out.adrs) == 4 and len(out.adae) == 2
    assert str(out.adsl["RANDDT"].dtype) == "datetime64[ns]" and str(out.adrs["ADT"].dtype) == "datetime64[ns]"
    (tmp_path / "ADSL.parquet").unlink()
    assert "SOURCE" not in read_adam(tmp_path).adsl.columns


def test_read_adam_optional_and_required_datasets(adam, tmp_path):
    adam.adsl.to_csv(tmp_path / "adsl.csv", index=False)
    with pytest.raises(DataError, match=r"adam: ADTTE not found in .* \(expected one of adtte\.parquet"):
        read_adam(tmp_path)
    adam.adtte.to_csv(tmp_path / "adtte.csv", index=False)
    out = read_adam(tmp_path)
    assert out.adrs is None and out.adae is None
    with pytest.raises(InputError, match="adam: directory not found"):
        read_adam(tmp_path / "nowhere")
