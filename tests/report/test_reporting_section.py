"""The protocol's ``reporting:`` section drives Table 1 and the forest-plot subgroups: its
schema and errors, numeric levels however ADSL was read, the defaults without a section,
and the bundled trial's report unchanged by moving its rows from code to its protocol."""

from __future__ import annotations

import gzip
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.core.errors import DataError, InputError
from oncotrial.protocol import Protocol, ProtocolError
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse, default_table1
from oncotrial.report.ard import ard_to_csv
from oncotrial.report.forest import (
    Subgroup,
    protocol_subgroups,
    subgroup_hazard_ratios,
    subgroup_levels,
)
from oncotrial.report.tables import Categorical, Continuous, Flags, table1
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
GOLDEN = Path(__file__).parent / "golden" / "demo_seed4_ard.csv.gz"
GE = "\u2265"

#: the Table 1 and subgroups the report held in code before they moved to the protocol file
TABLE1_IN_CODE = (
    Continuous("AGE", "Age, years", statistics=("median_iqr",), digits=0),
    Categorical("SEX", "Sex", levels={"F": "Female", "M": "Male"}),
    Categorical("ECOG", "ECOG performance-status score", levels={0: "0", 1: "1"}, missing="exclude"),
    Categorical("GRADE", "Disease grade (soft-tissue tumours)", levels={1: "1", 2: "2", 3: "3"},
                where="origin == 'soft_tissue'"),
    Categorical("origin", "Site of primary tumour", levels={"uterine": "Uterus", "soft_tissue": "Soft tissue"}),
    Categorical("stage", "Metastatic disease", levels={"metastatic": "Yes", "locally_advanced": "No"}),
    Flags("Site of metastasis", {"METLUNG": "Lung", "METLIVER": "Liver", "METBONE": "Bone",
                                 "METSKIN": "Cutaneous tissue", "METOTHER": "Other"}),
    Categorical("NMETS", "Number of metastases", bins=((1, 1, "1"), (2, math.inf, "≥2"))),
)
SUBGROUPS_IN_CODE = {
    "Origin site": ("origin", {"uterine": "Uterine", "soft_tissue": "Soft tissue"}),
    "Stage": ("stage", {"locally_advanced": "Locally advanced", "metastatic": "Metastatic"}),
    "Age": ("AGE", [65]),
    "ECOG performance status": ("ECOG", {0: "0", 1: "1"}),
    "No. of metastases": ("NMETS", lambda n: n.map(lambda v: "1" if v == 1 else (f"{GE} 2" if v >= 2 else np.nan))),
}


def _with_reporting(reporting: object) -> dict:
    spec = LMS04.to_dict()
    spec["reporting"] = reporting
    return spec


def _errors(reporting: object) -> list[str]:
    with pytest.raises(ProtocolError) as caught:
        Protocol.from_dict(_with_reporting(reporting))
    return caught.value.errors


@pytest.fixture(scope="module")
def patients() -> pd.DataFrame:
    """A seeded ADSL-like frame with PFS in months."""
    rng = np.random.default_rng(20170101)
    n = 150
    arm = rng.permutation(np.repeat(["DOX", "DOXTRAB"], [76, 74]))
    stage = np.where(rng.random(n) < 0.12, "locally_advanced", "metastatic")
    ecog = rng.choice([0.0, 1.0], n, p=[0.65, 0.35])
    ecog[rng.choice(n, 6, replace=False)] = np.nan
    event_time = rng.exponential(np.where(arm == "DOX", 6.0, 11.0) / np.log(2))
    censor_time = rng.uniform(12, 60, n)
    return pd.DataFrame({
        "USUBJID": [f"P-{i:03d}" for i in range(n)], "ARMCD": arm, "ITTFL": "Y",
        "origin": np.where(rng.random(n) < 0.45, "uterine", "soft_tissue"), "stage": stage,
        "AGE": rng.integers(28, 82, n), "ECOG": ecog,
        "NMETS": np.where(stage == "metastatic", rng.integers(1, 6, n), 0),
        "AVALM": np.minimum(event_time, censor_time), "EVENT": (event_time <= censor_time).astype(int),
    })


# ----------------------------------------------------------------------------- the bundled trial

def test_the_protocol_holds_the_table1_and_subgroups_that_were_in_code(patients):
    assert default_table1(LMS04) == TABLE1_IN_CODE
    from_protocol = subgroup_hazard_ratios(patients, time="AVALM", event="EVENT", group="ARMCD", reference="DOX",
                                           subgroups=protocol_subgroups(LMS04), strata=["origin", "stage"])
    in_code = subgroup_hazard_ratios(patients, time="AVALM", event="EVENT", group="ARMCD", reference="DOX",
                                     subgroups=SUBGROUPS_IN_CODE, strata=["origin", "stage"])
    pd.testing.assert_frame_equal(from_protocol, in_code)


#: the tables of the golden ARD
GOLDEN_TABLES = ("trial", "table1", "consort", "efficacy", "response", "adverse_events")


def test_the_demo_report_numbers_are_unchanged(tmp_path):
    """The ARD of the demo replica (seed 4) against the one of the report before its Table 1
    and subgroups moved to the protocol; the simulated-data mark is the one record added.
    Since the end points follow their protocol analysis, OS and PFS2 (``p_value: false``)
    have no P records, PFS has the one P of its stratified log-rank test (filed under the
    experimental arm, its sidedness in the method) and no Wald P. Since the SAP's rules were
    applied, the end points' hazard ratios come from the stratified Cox model of their test,
    the 12-month landmark rates are added, and ORR, DCR and adverse events carry no P (the
    golden file was regenerated for exactly these records). The records of the tables added
    since (events, duration of response, subgroups, Annex V) are tested where they are made;
    the golden file holds the tables it was made of. Every record and text is
    the same; numbers to 1e-12 relative, because the last binary digit of a Cox fit depends
    on the BLAS build. Regenerate the golden file only when a change of the simulator is
    intended."""
    trial = simulate_trial("lms04", seed=4)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    ard = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), LMS04).ard
    ard = ard[ard["table"].isin(GOLDEN_TABLES)].reset_index(drop=True)
    marked = ard["statistic"] == "simulated"
    assert ard.loc[marked, "value"].tolist() == [4.0]
    written = ard_to_csv(ard[~marked].reset_index(drop=True), tmp_path / "ard.csv")
    got = pd.read_csv(written, dtype=str, keep_default_na=False)
    expected = pd.read_csv(io.BytesIO(gzip.decompress(GOLDEN.read_bytes())), dtype=str, keep_default_na=False)
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected)
    numbers = ["value", "lower", "upper", "time"]
    texts = [c for c in expected.columns if c not in numbers]
    pd.testing.assert_frame_equal(got[texts], expected[texts])
    for column in numbers:
        assert (got[column] == "").equals(expected[column] == ""), column
        given = got[column] != ""
        np.testing.assert_allclose(got.loc[given, column].astype(float), expected.loc[given, column].astype(float),
                                   rtol=1e-12, atol=0, err_msg=column)


# ----------------------------------------------------------------------------- schema

def test_a_reporting_section_of_another_trial():
    protocol = Protocol.from_dict(_with_reporting({
        "table1": [{"type": "continuous", "column": "AGE", "label": "Age", "statistics": ["n", "mean_sd"]},
                   {"type": "categorical", "column": "REGION", "label": "Region"},
                   {"type": "categorical", "column": "PDL1", "label": "PD-L1 CPS", "bins": [[0, 0.99, "< 1"],
                                                                                          [1, math.inf, "≥ 1"]]}],
        "subgroups": {"ecog": {"column": "ECOG", "label": "ECOG", "levels": {0: "0", 1: "1"}},
                      "older": {"column": "AGE", "cuts": [65, 75], "where": "SEX == 'F'"}}}))
    variables = default_table1(protocol)
    assert variables[0] == Continuous("AGE", "Age", statistics=("n", "mean_sd"), digits=1)
    assert variables[1] == Categorical("REGION", "Region")
    assert variables[2].bins == ((0, 0.99, "< 1"), (1, math.inf, "≥ 1"))
    assert protocol_subgroups(protocol) == {"ECOG": Subgroup("ECOG", levels={0: "0", 1: "1"}),
                                            "older": Subgroup("AGE", cuts=(65.0, 75.0), where="SEX == 'F'")}
    assert Protocol.from_dict(protocol.to_dict()) == protocol


@pytest.mark.parametrize("reporting, expected", [
    ({"tables": []}, "reporting.tables: unknown key"),
    ({"table1": [{"type": "categorical", "label": "Sex"}]}, "reporting.table1[0].column: required for a categorical"),
    ({"table1": [{"type": "flags", "label": "Sites", "column": "X", "columns": {"A": "a"}}]},
     "reporting.table1[0].column: not a key of a flags row"),
    ({"table1": [{"type": "continuous", "column": "AGE", "label": "Age", "statistics": ["mode"]}]},
     "reporting.table1[0].statistics[0]:"),
    ({"table1": [{"type": "categorical", "column": "ECOG", "label": "ECOG", "levels": {0: "0", "0": "zero"}}]},
     "reporting.table1[0].levels.0: the same level as 0"),
    ({"table1": [{"type": "categorical", "column": "N", "label": "N", "bins": [[2, 1, "x"]]}]},
     "reporting.table1[0].bins[0]: a bin is [low, high, label] with low <= high"),
    ({"table1": [{"type": "categorical", "column": "A", "label": "A", "where": "A =="}]},
     "reporting.table1[0].where: not an expression"),
    ({"table1": [{"type": "categorical", "column": "A", "label": "A", "surprise": 1}]},
     "reporting.table1[0].surprise: unknown key"),
    ({"subgroups": {"Age": {"column": "AGE", "cuts": [65, 60]}}}, "reporting.subgroups.Age.cuts: cut points"),
    ({"subgroups": {"Age": {"column": "AGE", "cuts": [65], "levels": {1: "a"}}}},
     "reporting.subgroups.Age.cuts: give one of levels, bins or cuts"),
    ({"subgroups": {"a": {"column": "X", "label": "Same"}, "b": {"column": "Y", "label": "Same"}}},
     "reporting.subgroups.a: duplicate subgroup label 'Same'"),
    ({"subgroups": {"ECOG": {"column": "ECOG", "levels": {True: "yes"}}}}, "reporting.subgroups.ECOG.levels"),
    ({"landmarks": [12]}, "reporting.landmarks: unknown key"),  # analysis.landmarks is their one home
])
def test_errors_name_the_yaml_path(reporting, expected):
    errors = _errors(reporting)
    assert any(e.startswith(expected) for e in errors), errors


# ----------------------------------------------------------------------------- defaults

def test_without_a_section_age_sex_and_the_strata():
    spec = LMS04.to_dict()
    del spec["reporting"]
    protocol = Protocol.from_dict(spec)
    assert [v.label for v in default_table1(protocol)] == ["Age, years", "Sex",
                                                           *[f.label or f.name for f in LMS04.stratification]]
    assert protocol_subgroups(protocol) == {
        f.label or f.name: Subgroup(f.name, levels={lv: str(lv) for lv in f.levels}) for f in LMS04.stratification}


# ----------------------------------------------------------------------------- numeric levels

@pytest.mark.parametrize("ecog", [pd.Series([0, 1, 0, 1], dtype="int64"), pd.Series([0.0, 1.0, 0.0, 1.0]),
                                  pd.Series(["0", "1", "0", " 1"])], ids=["csv int64", "xpt float", "text"])
def test_numeric_levels_match_however_adsl_was_read(ecog):
    adsl = pd.DataFrame({"ARMCD": ["A", "A", "B", "B"], "ECOG": ecog})
    t = table1(adsl, variables=[Categorical("ECOG", "ECOG", levels={0: "0", 1: "1"})], total=False)
    assert t.table[["level", "A", "B"]].values.tolist() == [["0", "1 (50)", "1 (50)"], ["1", "1 (50)", "1 (50)"]]
    _, levels, order = subgroup_levels(adsl, "ECOG", Subgroup("ECOG", levels={0: "0", 1: "1"}))
    assert levels.tolist() == ["0", "1", "0", "1"] and order == ["0", "1"]


def test_a_value_outside_the_levels_is_still_an_error():
    adsl = pd.DataFrame({"ARMCD": ["A", "B"], "ECOG": [0, 2]})
    with pytest.raises(DataError, match=r"ADSL.ECOG: value 2 is not a declared level \(0, 1\) at rows \[2\]"):
        table1(adsl, variables=[Categorical("ECOG", "ECOG", levels={0: "0", 1: "1"})])


def test_subgroup_bins_and_where(patients):
    spec = Subgroup("NMETS", bins=((1, 1, "1"), (2, math.inf, f"{GE} 2")), where="stage == 'metastatic'")
    _, levels, order = subgroup_levels(patients, "Metastases", spec)
    assert order == ["1", f"{GE} 2"]
    metastatic = patients["stage"] == "metastatic"
    assert levels[~metastatic].isna().all() and levels[metastatic].notna().all()
    assert (levels[patients["NMETS"] == 1] == "1").all()
    with pytest.raises(InputError, match=r"subgroups\['x'\]: cannot evaluate where"):
        subgroup_levels(patients, "x", Subgroup("AGE", cuts=(65.0,), where="NOPE > 1"))
