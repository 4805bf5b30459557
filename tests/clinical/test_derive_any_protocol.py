"""SDTM -> ADaM for a protocol other than the reference trial: the bundled gastric example.

CAPOX (control) vs CAPOX + anti-PD-1 (1:2 here 3:3), q21d; phase ``combination`` (oxaliplatin
day 1, capecitabine twice daily days 1-14, antibody 360 mg flat day 1) then the open-ended
``continuation``. Everyone randomised 2024-01-01; cycles start 01-01, 01-22, 02-12.

* C1 (CAPOX): capecitabine one record per day, 1000 mg/m2 ``BID``; two combination cycles and
  one continuation cycle: CYCLES 3, no reduction.
* C2 (CAPOX): capecitabine one record per day holding the day's total (``QD``): 2000 mg/m2
  in cycle 1 (full), 1500 mg/m2 in cycle 2 (= 750 twice daily, level -1): reduced.
* C3 (CAPOX): BSA 1.72 m2 (172 cm, 61.92 kg): 1720 mg rounds down to 1700 mg of tablets
  (500 and 150 mg); records in mg (1700, no EXDOSFRQ) and one in mg/m2 (1700 / 1.72 =
  988.4) are full doses, not reductions.
* P1, P2, P3 (CAPOXPD1): antibody 360 mg flat; P2 oxaliplatin at level -1 (100 mg/m2) in
  cycle 2; P3 continues into the open-ended continuation phase for two cycles and stops
  for progression.
"""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.clinical.consistency import check_doses
from oncotrial.clinical.derive import derive_all
from oncotrial.clinical.exposure import administrations_per_day, phase_suffixes
from oncotrial.clinical.sdtm import validate_domain
from oncotrial.protocol import Protocol

STARTS = ["2024-01-01", "2024-01-22", "2024-02-12"]


@pytest.fixture(scope="module")
def gastric() -> Protocol:
    return Protocol.load("gastric_example")


def _days(start: str, n: int = 14) -> list[str]:
    return [d.date().isoformat() for d in pd.date_range(start, periods=n)]


def _ex() -> pd.DataFrame:
    rows: list[dict[str, object]] = []

    def add(subject: str, drug: str, dose: float, unit: str, dates: list[str], epoch: str,
            frequency: str | None = None) -> None:
        for date in dates:
            rows.append({"USUBJID": subject, "EXTRT": drug, "EXDOSE": dose, "EXDOSU": unit,
                         "EXDOSFRQ": frequency, "EXSTDTC": date, "EPOCH": epoch})

    for cycle, start in enumerate(STARTS):
        epoch = "COMBINATION" if cycle < 2 else "CONTINUATION"
        if cycle < 2:
            for subject in ("C1", "C2", "C3", "P1", "P3"):
                add(subject, "oxaliplatin", 130, "mg/m2", [start], epoch)
            add("P2", "oxaliplatin", 130 if cycle == 0 else 100, "mg/m2", [start], epoch)
        add("C1", "capecitabine", 1000, "mg/m2", _days(start), epoch, "BID")
        add("C2", "capecitabine", 1500 if cycle == 1 else 2000, "mg/m2", _days(start), epoch,
            "QD")
        add("C3", "capecitabine", 1700, "mg", _days(start)[1:], epoch)
        add("C3", "capecitabine", round(1700 / 1.72, 1), "mg/m2", [start], epoch)
        for subject in ("P1", "P2", "P3"):
            add(subject, "anti_pd1", 360, "mg", [start], epoch)
            add(subject, "capecitabine", 1000, "mg/m2", _days(start), epoch)
    add("P3", "anti_pd1", 360, "mg", ["2024-03-04"], "CONTINUATION")
    add("P3", "capecitabine", 1000, "mg/m2", _days("2024-03-04"), "CONTINUATION")
    return pd.DataFrame(rows)


def _sdtm() -> dict[str, pd.DataFrame]:
    subjects = ["C1", "C2", "C3", "P1", "P2", "P3"]
    dm = pd.DataFrame({
        "STUDYID": "GASTRIC-EXAMPLE", "USUBJID": subjects,
        "ARMCD": ["CAPOX"] * 3 + ["CAPOXPD1"] * 3,
        "ARM": ["CAPOX"] * 3 + ["CAPOX + anti-PD-1"] * 3,
        "AGE": [60, 58, 71, 49, 66, 62], "SEX": ["M", "F", "M", "M", "F", "M"],
        "RFSTDTC": "2024-01-01",
        "region": ["asia", "rest_of_world", "asia", "asia", "rest_of_world", "asia"],
        "ecog": pd.Series([0, "1", 1, "0", 0.0, 1], dtype=object),
        "pd_l1_cps_class": pd.Series([1, "2", 3, "3 ", 2, 1], dtype=object),
        "HEIGHT": [175.0, 160.0, 172.0, 180.0, 165.0, 172.0],
        "WEIGHT": [70.0, 60.0, 61.92, 80.0, 58.0, 75.0],
        "SIMFL": "Y", "SIMSEED": 20240101,
    })
    ds = pd.DataFrame([
        *[(s, "RANDOMIZED", "2024-01-01", None) for s in subjects],
        ("C1", "COMPLETED", "2024-02-11", "COMBINATION"),
        ("P3", "COMPLETED", "2024-02-11", "COMBINATION"),
        ("P3", "PROGRESSIVE DISEASE", "2024-03-25", "CONTINUATION"),
    ], columns=["USUBJID", "DSDECOD", "DSSTDTC", "EPOCH"])
    rs = pd.DataFrame([
        (s, "OVRLRESP", "SD", "2024-02-12") for s in subjects
    ] + [("P3", "OVRLRESP", "PD", "2024-03-25")],
        columns=["USUBJID", "RSTESTCD", "RSORRES", "RSDTC"])
    return {"DM": dm, "EX": _ex(), "DS": ds, "RS": rs}


@pytest.fixture(scope="module")
def derived(gastric):
    return derive_all(_sdtm(), gastric, cutoff="2024-06-30")


def test_no_spurious_issues(derived):
    assert derived.data_quality().to_dict(orient="records") == []


def test_strata_match_declared_levels(derived):
    adsl = derived.adsl.set_index("USUBJID")
    assert adsl["ecog"].tolist() == [0, 1, 1, 0, 0, 1]
    assert adsl["pd_l1_cps_class"].tolist() == [1, 2, 3, 3, 2, 1]
    assert adsl["region"].tolist() == ["asia", "rest_of_world", "asia", "asia",
                                       "rest_of_world", "asia"]


def test_phase_columns_and_cycles(derived):
    adsl = derived.adsl.set_index("USUBJID")
    assert {"REDCOMBI", "REDCONTI", "CYCCOMBI", "CYCCONTI", "EOTCOMBI", "EOTCONTI"} <= set(
        adsl.columns)
    # daily capecitabine records are one cycle each, not 14
    assert adsl["CYCLES"].to_dict() == {"C1": 3, "C2": 3, "C3": 3, "P1": 3, "P2": 3, "P3": 4}
    assert adsl["CYCCOMBI"].tolist() == [2] * 6
    assert adsl.at["P3", "CYCCONTI"] == 2
    assert adsl["SAFFL"].eq("Y").all()
    assert adsl.at["C1", "EOTCOMBI"] == "COMPLETED"
    assert adsl.at["P3", "EOTCONTI"] == "PROGRESSIVE DISEASE"
    assert adsl.at["P3", "EOTSTT"] == "DISCONTINUED"


def test_dose_reductions_bid_qd_flat_and_tablets(derived):
    adsl = derived.adsl.set_index("USUBJID")
    assert adsl["DOSREDFL"].to_dict() == {"C1": "N", "C2": "Y", "C3": "N", "P1": "N",
                                          "P2": "Y", "P3": "N"}
    assert adsl.at["C2", "REDCOMBI"] == "Y" and adsl.at["C2", "REDCONTI"] == "N"
    assert adsl.at["P2", "REDCOMBI"] == "Y"
    assert adsl["ACTARMCD"].tolist() == adsl["ARMCD"].tolist()


def test_reduced_tablet_dose_in_mg_is_a_reduction(gastric):
    sdtm = _sdtm()
    ex = sdtm["EX"]
    # level -1 at 1.72 m2: 750 x 1.72 = 1290 mg, rounded to 1300 mg of tablets
    ex.loc[(ex["USUBJID"] == "C3") & (ex["EXDOSU"] == "mg"), "EXDOSE"] = 1300.0
    adsl = derive_all(sdtm, gastric).adsl.set_index("USUBJID")
    assert adsl.at["C3", "DOSREDFL"] == "Y"


def test_provenance_columns_pass_through(derived):
    check = validate_domain("DM", _sdtm()["DM"])
    assert check.issues == ()
    adsl = derived.adsl
    assert adsl["SIMFL"].eq("Y").all()
    assert adsl["SIMSEED"].eq(20240101).all()


def test_control_subject_given_the_antibody_received_the_experimental_arm(gastric):
    sdtm = _sdtm()
    extra = pd.DataFrame([{"USUBJID": "C1", "EXTRT": "anti_pd1", "EXDOSE": 360.0,
                           "EXDOSU": "mg", "EXSTDTC": "2024-01-01", "EPOCH": "COMBINATION"}])
    sdtm["EX"] = pd.concat([sdtm["EX"], extra], ignore_index=True)
    adsl = derive_all(sdtm, gastric).adsl.set_index("USUBJID")
    assert adsl.at["C1", "ARMCD"] == "CAPOX"
    assert adsl.at["C1", "ACTARMCD"] == "CAPOXPD1"
    assert adsl.at["C1", "ACTARM"] == "CAPOX + anti-PD-1"


def test_absolute_dose_without_body_size_is_not_compared(gastric):
    sdtm = _sdtm()
    sdtm["DM"] = sdtm["DM"].drop(columns=["HEIGHT", "WEIGHT"])
    derived = derive_all(sdtm, gastric)
    dq = derived.data_quality()
    # one issue for C3's capecitabine in mg, not one per record
    assert dq[["usubjid", "field"]].values.tolist() == [["C3", "EXDOSU"]]
    assert "HEIGHT and WEIGHT" in dq["problem"].iloc[0]


def test_unknown_dosing_frequency_is_reported(gastric):
    ex = validate_domain("EX", pd.DataFrame([
        {"USUBJID": "C1", "EXTRT": "capecitabine", "EXDOSE": 1000.0, "EXDOSU": "mg/m2",
         "EXDOSFRQ": "SOMETIMES", "EXSTDTC": "2024-01-01"}])).valid
    kept, not_compared, issues = check_doses(ex, gastric)
    assert len(kept) == 1 and not_compared == {0}
    assert [i.field for i in issues] == ["EXDOSFRQ"]


@pytest.mark.parametrize(("term", "per_day"), [
    ("QD", 1), ("BID", 2), ("tid", 3), ("QID", 4), ("Q12H", 2), ("Q8H", 3), ("ONCE", 1),
    ("Q3W", 1), ("Q21D", 1), ("QOD", 1), ("Q5H", None), ("PRN", None)])
def test_administrations_per_day(term, per_day):
    assert administrations_per_day(term) == per_day


def test_phase_suffixes_are_unique_and_fit_sas(gastric):
    assert phase_suffixes(Protocol.load("lms04")) == {"induction": "INDUC",
                                                      "maintenance": "MAINT"}
    assert phase_suffixes(gastric) == {"combination": "COMBI", "continuation": "CONTI"}
    data = gastric.to_dict()
    for regimen in data["regimens"].values():
        regimen["phases"][0]["name"] = "treatment_a"
        regimen["phases"][1]["name"] = "treatment_b"
    renamed = Protocol.from_dict(data)
    assert phase_suffixes(renamed) == {"treatment_a": "TREAT", "treatment_b": "TREA2"}
    sdtm = _sdtm()
    sdtm["EX"]["EPOCH"] = sdtm["EX"]["EPOCH"].map({"COMBINATION": "TREATMENT_A",
                                                   "CONTINUATION": "Treatment B"})
    sdtm["DS"]["EPOCH"] = None
    adsl = derive_all(sdtm, renamed).adsl.set_index("USUBJID")
    assert adsl.at["P3", "CYCTREAT"] == 2 and adsl.at["P3", "CYCTREA2"] == 2
    assert adsl.at["C2", "REDTREAT"] == "Y" and adsl.at["C2", "REDTREA2"] == "N"
