"""End-to-end SDTM -> ADaM on a hand-built four-subject LMS04 set.

Everyone is randomised on 2024-01-01 (2024 is a leap year: Jan 31 + Feb 29 days); baseline
imaging 2023-12-20; cut-off 2024-09-01. AVAL = ADT - RANDDT + 1 days.

* S1 (DOX): liver target 50 mm -> 30 mm on 02-12 (-40 %: PR) -> 40 mm on 03-25 (+10 mm,
  +33 % over the nadir 30: PD). Dies 2024-06-01 (DM.DTHDTC and DS). 4 doxorubicin cycles.
  PDDT 03-25; TEAEENDT = PDDT; PFS event 03-25: 31+29+24 = 84 days after -> AVAL 85;
  OS event 06-01: 31+29+31+30+31 = 152 -> AVAL 153; BOR PR. AE on 04-10 is after PD: not TEAE.
* S2 (DOXTRAB): target 40 -> 38 (SD) on 02-12, 03-25, 05-06. 6 induction cycles (2 drugs per
  cycle, 21 days apart from 01-01) + 2 maintenance cycles (05-06, 05-27): CYCLES 8. No
  progression: PFS censored at the last assessment 05-06: 126 days -> AVAL 127, CNSR 2.
  LSTALVDT = last EX 05-27: 147 days -> OS AVAL 148, CNSR 5. BOR SD. One AE with grade 7
  (invalid -> excluded, reported) and one valid grade-1 AE kept.
* S3 (DOX, stratum origin "bone" is not a declared level -> empty + issue): given
  doxorubicin *and* trabectedin once (01-03) -> ACTARM DOXTRAB. Withdraws 02-01 (DS):
  TEAEENDT = 02-01, LSTALVDT 02-01 -> OS AVAL 32, CNSR 5. Only baseline imaging plus a TR
  measurement of lesion T99 that has no TU record (issue): PFS CNSR 1 at RANDDT, AVAL 1.
* S4 (DOXTRAB): never treated (no EX) -> SAFFL N, CYCLES 0, ACTARM as planned. RANDDT only
  from DS. Dies 02-15 (DS only): OS and PFS (death, no assessment) events, AVAL 46.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from oncotrial.clinical.adsl import derive_dthcaus
from oncotrial.clinical.derive import derive_all
from oncotrial.protocol import Protocol

T = pd.Timestamp
CUTOFF = "2024-09-01"


def _sdtm() -> dict[str, pd.DataFrame]:
    dm = pd.DataFrame(
        [
            (
                "LMS04",
                "S1",
                "01",
                "DOX",
                "DOX",
                55,
                "F",
                "2024-01-01",
                "2024-06-01",
                "uterine",
                "metastatic",
            ),
            (
                "LMS04",
                "S2",
                "01",
                "DOXTRAB",
                "DOXTRAB",
                61,
                "F",
                "2024-01-01",
                None,
                "soft_tissue",
                "metastatic",
            ),
            (
                "LMS04",
                "S3",
                "02",
                "DOX",
                "DOX",
                48,
                "M",
                "2024-01-01",
                None,
                "bone",
                "locally_advanced",
            ),
            (
                "LMS04",
                "S4",
                "02",
                "DOXTRAB",
                "DOXTRAB",
                70,
                "M",
                None,
                None,
                "uterine",
                "locally_advanced",
            ),
        ],
        columns=[
            "STUDYID",
            "USUBJID",
            "SITEID",
            "ARM",
            "ARMCD",
            "AGE",
            "SEX",
            "RFSTDTC",
            "DTHDTC",
            "origin",
            "stage",
        ],
    )
    ds = pd.DataFrame(
        [
            ("S1", "RANDOMIZED", "2024-01-01"),
            ("S1", "DEATH", "2024-06-01"),
            ("S2", "RANDOMIZED", "2024-01-01"),
            ("S3", "RANDOMIZED", "2024-01-01"),
            ("S3", "WITHDRAWAL BY SUBJECT", "2024-02-01"),
            ("S4", "RANDOMIZED", "2024-01-01"),
            ("S4", "DEATH", "2024-02-15"),
        ],
        columns=["USUBJID", "DSDECOD", "DSSTDTC"],
    )
    ex = [
        ("S1", "DOXORUBICIN", 75.0, d, "INDUCTION")
        for d in ("2024-01-01", "2024-01-22", "2024-02-12", "2024-03-04")
    ]
    induction = (
        "2024-01-01",
        "2024-01-22",
        "2024-02-12",
        "2024-03-04",
        "2024-03-25",
        "2024-04-15",
    )
    for d in induction:
        ex += [
            ("S2", "DOXORUBICIN", 60.0, d, "INDUCTION"),
            ("S2", "TRABECTEDIN", 1.1, d, "INDUCTION"),
        ]
    ex += [
        ("S2", "TRABECTEDIN", 1.1, d, "MAINTENANCE")
        for d in ("2024-05-06", "2024-05-27")
    ]
    ex += [
        ("S3", "DOXORUBICIN", 75.0, "2024-01-03", "INDUCTION"),
        ("S3", "TRABECTEDIN", 1.1, "2024-01-03", "INDUCTION"),
    ]
    ex = pd.DataFrame(ex, columns=["USUBJID", "EXTRT", "EXDOSE", "EXSTDTC", "EPOCH"])
    ae = pd.DataFrame(
        [
            ("S1", "Nausea", "Gastrointestinal disorders", "2024-01-05", 2, "N"),
            ("S1", "Neutropenia", "Blood disorders", "2024-04-10", 3, "N"),
            ("S2", "Fatigue", "General disorders", "2024-02-01", 1, "N"),
            ("S2", "Anaemia", "Blood disorders", "2024-02-20", 7, "N"),
        ],
        columns=["USUBJID", "AEDECOD", "AEBODSYS", "AESTDTC", "AETOXGR", "AESER"],
    )
    tu = pd.DataFrame(
        [
            ("S1", "T01", "TUMIDENT", "TARGET", "LIVER", "2023-12-20"),
            ("S2", "T01", "TUMIDENT", "TARGET", "LIVER", "2023-12-20"),
            ("S3", "T01", "TUMIDENT", "TARGET", "LUNG", "2023-12-20"),
        ],
        columns=["USUBJID", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUDTC"],
    )
    tr_rows = [
        ("S1", "T01", v, d)
        for v, d in ((50, "2023-12-20"), (30, "2024-02-12"), (40, "2024-03-25"))
    ]
    tr_rows += [
        ("S2", "T01", v, d)
        for v, d in (
            (40, "2023-12-20"),
            (38, "2024-02-12"),
            (38, "2024-03-25"),
            (38, "2024-05-06"),
        )
    ]
    tr_rows += [("S3", "T01", 20, "2023-12-20"), ("S3", "T99", 12, "2024-01-20")]
    tr = pd.DataFrame(
        [
            {
                "USUBJID": s,
                "TRLNKID": k,
                "TRTESTCD": "LDIAM",
                "TRORRES": str(v),
                "TRSTRESN": float(v),
                "TRDTC": d,
            }
            for s, k, v, d in tr_rows
        ]
    )
    return {"DM": dm, "DS": ds, "EX": ex, "AE": ae, "TU": tu, "TR": tr}


@pytest.fixture(scope="module")
def derived():
    return derive_all(_sdtm(), Protocol.load("lms04"), cutoff=CUTOFF)


def test_adsl(derived):
    adsl = derived.adsl.set_index("USUBJID")
    assert list(adsl.index) == ["S1", "S2", "S3", "S4"]
    assert adsl["ARMCD"].tolist() == ["DOX", "DOXTRAB", "DOX", "DOXTRAB"]
    assert adsl["ACTARMCD"].tolist() == ["DOX", "DOXTRAB", "DOXTRAB", "DOXTRAB"]
    assert (adsl["RANDDT"] == T("2024-01-01")).all()
    assert adsl["ITTFL"].tolist() == ["Y", "Y", "Y", "Y"]
    assert adsl["SAFFL"].tolist() == ["Y", "Y", "Y", "N"]
    assert adsl["CYCLES"].tolist() == [4, 8, 1, 0]
    assert adsl["CYCINDUC"].tolist() == [4, 6, 1, 0]
    assert adsl["CYCMAINT"].tolist() == [0, 2, 0, 0]
    assert adsl.at["S1", "PDDT"] == T("2024-03-25")
    assert adsl["PDDT"].drop("S1").isna().all()
    assert adsl.at["S1", "DTHDT"] == T("2024-06-01")
    assert adsl.at["S4", "DTHDT"] == T("2024-02-15")
    assert adsl["DTHCAUS"].isna().all()  # DS has no DSTERM: no cause is made up
    assert adsl.at["S1", "TEAEENDT"] == T("2024-03-25")
    assert pd.isna(adsl.at["S2", "TEAEENDT"])
    assert adsl.at["S3", "TEAEENDT"] == T("2024-02-01")
    assert adsl["LSTALVDT"].tolist() == [
        T("2024-06-01"),
        T("2024-05-27"),
        T("2024-02-01"),
        T("2024-02-15"),
    ]
    assert adsl["origin"].tolist() == ["uterine", "soft_tissue", None, "uterine"]
    assert adsl["stage"].tolist() == [
        "metastatic",
        "metastatic",
        "locally_advanced",
        "locally_advanced",
    ]


def test_cause_of_death_is_the_earliest_death_record_term():
    ds = pd.DataFrame(
        [
            ("S1", "DEATH", "Progressive disease", T("2024-06-01")),
            ("S1", "DEATH", "Sepsis", T("2024-06-03")),  # a later duplicate is not the cause
            ("S2", "DEATH", "DEATH", T("2024-05-01")),  # repeats the decode: no cause
            ("S3", "DEATH", "  ", T("2024-05-01")),
            ("S4", "WITHDRAWAL BY SUBJECT", "moved away", T("2024-02-01")),
            ("S5", "DEATH", " Sepsis ", T("2024-04-01")),
        ],
        columns=["USUBJID", "DSDECOD", "DSTERM", "DSSTDTC"],
    )
    assert derive_dthcaus(ds).to_dict() == {"S1": "Progressive disease", "S5": "Sepsis"}
    assert derive_dthcaus(ds.drop(columns="DSTERM")).empty


def test_adtte(derived):
    tte = derived.adtte.set_index(["USUBJID", "PARAMCD"])
    expected = {
        ("S1", "PFS"): (85, 0),
        ("S1", "OS"): (153, 0),
        ("S2", "PFS"): (127, 2),
        ("S2", "OS"): (148, 5),
        ("S3", "PFS"): (1, 1),
        ("S3", "OS"): (32, 5),
        ("S4", "PFS"): (46, 0),
        ("S4", "OS"): (46, 0),
    }
    for key, (aval, cnsr) in expected.items():
        assert (tte.at[key, "AVAL"], tte.at[key, "CNSR"]) == (aval, cnsr), key
    # DOR: S1 responds 02-12, progresses 03-25: 17 + 25 = 42 days -> AVAL 43
    assert (tte.at[("S1", "DOR"), "AVAL"], tte.at[("S1", "DOR"), "CNSR"]) == (43, 0)
    summary = derived.summary()
    assert summary["subjects"] == 4
    assert summary["events"]["OS"] == {"subjects": 4, "events": 2}
    assert summary["events"]["PFS"] == {"subjects": 4, "events": 2}


def test_adrs(derived):
    adrs = derived.adrs
    bor = adrs[adrs["PARAMCD"] == "BOR"].set_index("USUBJID")["AVALC"]
    assert bor.to_dict() == {"S1": "PR", "S2": "SD", "S3": "MISSING", "S4": "MISSING"}
    s1 = adrs[(adrs["USUBJID"] == "S1") & (adrs["PARAMCD"] == "OVRLRESP")]
    assert s1["AVALC"].tolist() == ["PR", "PD"]


def test_data_quality_excludes_only_bad_records(derived):
    dq = derived.data_quality()
    ae = dq[dq["domain"] == "AE"]
    assert ae["usubjid"].tolist() == ["S2"] and ae["field"].tolist() == ["AETOXGR"]
    assert ((dq["usubjid"] == "S3") & dq["value"].astype(str).str.contains("T99")).any()
    assert ((dq["usubjid"] == "S3") & (dq["field"] == "origin")).any()
    adae = derived.adae
    assert sorted(adae["AEDECOD"]) == ["Fatigue", "Nausea", "Neutropenia"]
    assert adae.set_index("AEDECOD")["TRTEMFL"].to_dict() == {
        "Nausea": "Y",
        "Neutropenia": "N",
        "Fatigue": "Y",
    }


def test_write_round_trip(derived, tmp_path):
    derived.write(tmp_path)
    for name in ("adsl", "adtte", "adrs", "adae"):
        for ext in ("csv", "parquet", "xpt"):
            assert (tmp_path / f"{name}.{ext}").is_file()
    assert (tmp_path / "data_quality.csv").is_file()
    for name in ("adsl", "adtte", "adrs", "adae"):
        csv = pd.read_csv(tmp_path / f"{name}.csv", dtype=str, keep_default_na=False)
        xpt, _meta = pyreadstat.read_xport(str(tmp_path / f"{name}.xpt"))
        assert list(xpt.columns) == list(csv.columns)
        for column in csv.columns:
            left = csv[column]
            right = xpt[column]
            if column.endswith(("DT", "DTC")):
                left = pd.to_datetime(left.replace("", None))
                right = pd.to_datetime(right)
                assert left.equals(right) or (
                    left.isna().equals(right.isna())
                    and (left.dropna() == right.dropna()).all()
                ), column
            elif pd.api.types.is_numeric_dtype(right):
                assert (
                    pd.to_numeric(left.replace("", None))
                    .astype(float)
                    .round(6)
                    .fillna(-1)
                    .tolist()
                    == right.astype(float).round(6).fillna(-1).tolist()
                ), column
            else:
                assert left.tolist() == right.fillna("").tolist(), column
    _, meta = pyreadstat.read_xport(str(tmp_path / "adsl.xpt"), metadataonly=True)
    assert meta.column_names_to_labels["origin"] == "Tumour origin site"
    assert meta.column_names_to_labels["RANDDT"] == "Date of Randomization"
    parquet = pd.read_parquet(tmp_path / "adsl.parquet")
    assert parquet["USUBJID"].tolist() == ["S1", "S2", "S3", "S4"]


def test_xpt_long_names_are_shortened(tmp_path):
    data = derive_all(_sdtm(), Protocol.load("lms04"), cutoff=CUTOFF)
    adsl = data.adsl.assign(LONGCOLUMNNAME=1.0)
    renamed = type(data)(adsl, data.adtte, data.adrs, data.adae, data.issues).write(
        tmp_path
    )
    assert renamed["adsl"] == {"LONGCOLU": "LONGCOLUMNNAME"}
    xpt, meta = pyreadstat.read_xport(str(tmp_path / "adsl.xpt"))
    assert xpt["LONGCOLU"].tolist() == [1.0] * 4
    assert meta.column_names_to_labels["LONGCOLU"] == "LONGCOLUMNNAME"


def test_adsl_new_therapy_and_randdtc():
    """CM with CMCAT: prior therapy (before RANDDT) is ignored, the first later anticancer
    start is NACTDT; DM.RANDDTC, when present, wins over DS and RFSTDTC (an unparseable value
    is an issue and falls back to DS)."""
    from oncotrial.clinical.adsl import derive_adsl

    sdtm = _sdtm()
    dm = sdtm["DM"].assign(RANDDTC=["2024-01-02", None, "2024-13", None])
    cm = pd.DataFrame(
        [
            ("S2", "GEMCITABINE", "ANTICANCER THERAPY", "2024-07-01"),
            ("S2", "IFOSFAMIDE", "PRIOR ANTICANCER THERAPY", "2023-06-01"),
            ("S2", "PARACETAMOL", "CONCOMITANT", "2024-03-01"),
            ("S1", "DOCETAXEL", "Anticancer therapy", "2024-04-20"),
        ],
        columns=["USUBJID", "CMTRT", "CMCAT", "CMSTDTC"],
    )
    adsl, issues = derive_adsl(
        dm,
        sdtm["DS"],
        sdtm["EX"],
        cm,
        None,
        protocol=Protocol.load("lms04"),
        cutoff=CUTOFF,
    )
    adsl = adsl.set_index("USUBJID")
    assert adsl["NACTDT"].tolist()[:2] == [T("2024-04-20"), T("2024-07-01")]
    assert adsl["RANDDT"].tolist() == [
        T("2024-01-02"),
        T("2024-01-01"),
        T("2024-01-01"),
        T("2024-01-01"),
    ]
    assert any(i.field == "RANDDTC" and i.usubjid == "S3" for i in issues)
    # S2's last record is now the CM start 07-01 (before the cut-off)
    assert adsl.at["S2", "LSTALVDT"] == T("2024-07-01")


def test_cutoff_caps_last_alive_and_drops_later_events():
    """Cut-off 2024-04-01: S1's death (06-01) and S2's last EX (05-27) are after it, so
    LSTALVDT is capped at 04-01; S1's OS is censored there (91 days -> AVAL 92, CNSR 5)."""
    data = derive_all(_sdtm(), Protocol.load("lms04"), cutoff="2024-04-01")
    adsl = data.adsl.set_index("USUBJID")
    assert adsl.at["S1", "LSTALVDT"] == T("2024-04-01")
    assert adsl.at["S2", "LSTALVDT"] == T("2024-04-01")
    assert adsl.at["S3", "LSTALVDT"] == T("2024-02-01")
    os_ = data.adtte[data.adtte["PARAMCD"] == "OS"].set_index("USUBJID")
    assert (os_.at["S1", "AVAL"], os_.at["S1", "CNSR"]) == (92, 5)


def test_assessment_schedules_feed_the_missed_assessment_rule():
    """derive_all hands ADTTE each subject's protocol schedule (6-weekly first: day 42, 84, ...);
    a subject whose arm is not a protocol arm gets none, and an issue says the rule was skipped."""
    from oncotrial.clinical.derive import _assessment_schedules
    from oncotrial.protocol import Protocol

    adsl = pd.DataFrame({"USUBJID": ["S1", "S2", "S3"], "ARMCD": ["DOX", None, "DOXTRAB"],
                         "RANDDT": [pd.Timestamp("2017-03-01"), pd.Timestamp("2017-04-01"), pd.NaT]})
    schedules, issues = _assessment_schedules(adsl, Protocol.load("lms04"))
    assert set(schedules) == {"S1", "S2"}
    assert schedules["S1"][0] == np.datetime64("2017-04-12")  # randomisation + 42 days
    assert schedules["S2"].size == 0
    assert [(i.usubjid, i.field) for i in issues] == [("S2", "ARMCD")]


def _with_response_rules(**rules):
    protocol = Protocol.load("lms04")
    response = protocol.assessments.response.model_copy(update=rules)
    return protocol.model_copy(
        update={"assessments": protocol.assessments.model_copy(update={"response": response})}
    )


def _extended_sdtm() -> dict[str, pd.DataFrame]:
    """The four subjects plus baseline ECOG in DM, phase dispositions in DS, a reduced dose
    and an EXADJ reason in EX, surgery in PR and second progressions in RS."""
    sdtm = _sdtm()
    sdtm["DM"] = sdtm["DM"].assign(ECOG=[0, 1, 0, 1], NMETS=[2, 1, 0, 0])
    ds = sdtm["DS"].assign(EPOCH=None)
    phases = pd.DataFrame(
        [("S1", "PROGRESSIVE DISEASE", "2024-03-25", "INDUCTION"),
         ("S2", "COMPLETED", "2024-05-06", "INDUCTION")],
        columns=["USUBJID", "DSDECOD", "DSSTDTC", "EPOCH"])
    sdtm["DS"] = pd.concat([ds, phases], ignore_index=True)
    ex = sdtm["EX"].assign(EXADJ=None)
    # S2's last induction doxorubicin at the first reduction level (45 mg/m2, not 60)
    last = (ex["USUBJID"] == "S2") & (ex["EXTRT"] == "DOXORUBICIN") & (
        ex["EXSTDTC"] == "2024-04-15")
    ex.loc[last, "EXDOSE"] = 45.0
    # S1: full dose recorded, but the site flagged a reduction (EXADJ wins)
    ex.loc[(ex["USUBJID"] == "S1") & (ex["EXSTDTC"] == "2024-03-04"), "EXADJ"] = "DOSE REDUCED"
    sdtm["EX"] = ex
    sdtm["PR"] = pd.DataFrame(
        [("S2", "SURGERY OF RESIDUAL DISEASE", "SURGERY", "2024-05-20"),
         ("S1", "BIOPSY", "DIAGNOSTIC", "2024-01-10"),
         ("S3", "HYSTERECTOMY", "SURGERY", "2023-06-01")],
        columns=["USUBJID", "PRTRT", "PRCAT", "PRSTDTC"])
    sdtm["RS"] = pd.DataFrame(
        [("S1", "PROG2", "PD", "2024-03-01"),   # before the first PD (03-25): an issue
         ("S1", "PROG2", "PD", "2024-05-10")],
        columns=["USUBJID", "RSTESTCD", "RSORRES", "RSDTC"])
    return sdtm


@pytest.fixture(scope="module")
def extended():
    return derive_all(_extended_sdtm(), Protocol.load("lms04"), cutoff=CUTOFF)


def test_adsl_treatment_disposition_surgery_and_baseline(extended):
    adsl = extended.adsl.set_index("USUBJID")
    assert adsl["ECOG"].tolist() == [0, 1, 0, 1]
    assert adsl["NMETS"].tolist() == [2, 1, 0, 0]
    assert adsl["DOSREDFL"].tolist() == ["Y", "Y", "N", "N"]
    assert adsl["REDINDUC"].tolist() == ["Y", "Y", "N", None]
    assert adsl["REDMAINT"].tolist() == [None, "N", None, None]
    assert adsl["EOTSTT"].tolist() == ["DISCONTINUED", "COMPLETED", "DISCONTINUED", "ONGOING"]
    assert adsl["DCTREAS"].tolist()[0] == "PROGRESSIVE DISEASE"
    assert adsl.at["S3", "DCTREAS"] == "WITHDRAWAL BY SUBJECT"
    assert adsl.at["S3", "DCTDT"] == T("2024-02-01")
    assert adsl["EOTINDUC"].tolist()[:2] == ["PROGRESSIVE DISEASE", "COMPLETED"]
    assert adsl["EOTINDUC"].iloc[2:].isna().all()
    # surgery: only S2's (S1's biopsy is not surgical, S3's hysterectomy predates RANDDT)
    assert adsl["SURGFL"].tolist() == ["N", "Y", "N", "N"]
    assert adsl.at["S2", "SURGDT"] == T("2024-05-20")
    assert adsl.at["S1", "PD2DT"] == T("2024-05-10")
    assert adsl["PD2DT"].drop("S1").isna().all()


def test_pfs2_from_second_progression_records(extended):
    """S1: second progression 05-10 = 31 + 29 + 31 + 30 + 9 = 130 days -> AVAL 131, event.
    S2: no second progression, alive: censored at LSTALVDT 05-27 (AVAL 148, CNSR 5).
    S4 dies on 02-15: event, AVAL 46. The PROG2 record before S1's first PD is reported."""
    tte = extended.adtte.set_index(["USUBJID", "PARAMCD"])
    assert (tte.at[("S1", "PFS2"), "AVAL"], tte.at[("S1", "PFS2"), "CNSR"]) == (131, 0)
    assert tte.at[("S1", "PFS2"), "EVNTDESC"] == "Second disease progression"
    assert (tte.at[("S2", "PFS2"), "AVAL"], tte.at[("S2", "PFS2"), "CNSR"]) == (148, 5)
    assert (tte.at[("S4", "PFS2"), "AVAL"], tte.at[("S4", "PFS2"), "CNSR"]) == (46, 0)
    dq = extended.data_quality()
    early = dq[(dq["domain"] == "RS") & (dq["usubjid"] == "S1")]
    assert early["problem"].str.contains("before the first progression").tolist() == [True]


def test_pfs2_not_derived_without_second_progression_data(derived):
    """No PROG2 record anywhere: second progression was not collected, so no PFS2 rows
    (rather than a PFS2 in which nobody progressed twice)."""
    assert "PD2DT" not in derived.adsl.columns
    assert "PFS2" not in set(derived.adtte["PARAMCD"])


def test_protocol_confirmation_setting_drives_bor_and_dor():
    """S1's PR (02-12) is followed by PD (03-25): unconfirmed it is the BOR and S1 has a DOR;
    with ``confirmation: true`` the PR does not count (BOR SD: 42 days >= 35) and S1 is not
    a responder, so no DOR row."""
    confirmed = derive_all(_sdtm(), _with_response_rules(confirmation=True), cutoff=CUTOFF)
    bor = confirmed.adrs[confirmed.adrs["PARAMCD"] == "BOR"].set_index("USUBJID")
    assert bor.at["S1", "AVALC"] == "SD"
    assert bor.at["S1", "PARAM"] == "Best Overall Response (RECIST 1.1, confirmed)"
    assert "DOR" not in set(confirmed.adtte["PARAMCD"])
    # SD needs 50 days under a longer minimum: S1's only post-baseline non-PD is at day 42
    strict = derive_all(_sdtm(), _with_response_rules(confirmation=True, min_sd_days=50),
                        cutoff=CUTOFF)
    bor = strict.adrs[strict.adrs["PARAMCD"] == "BOR"].set_index("USUBJID")
    assert bor.at["S1", "AVALC"] == "PD"


def test_protocol_missed_assessment_settings_reach_adtte(monkeypatch):
    import oncotrial.clinical.derive as derive_module

    seen = {}
    real = derive_module.derive_adtte

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(derive_module, "derive_adtte", spy)
    derive_all(_sdtm(), _with_response_rules(missed_assessments=None, window_days=3),
               cutoff=CUTOFF)
    assert seen["missed_assessments"] is None and seen["window_days"] == 3
    assert set(seen["schedule"]) == {"S1", "S2", "S3", "S4"}


def test_adrs_flags_responses_after_the_cutoff():
    """Cut-off 2024-03-01: S1's PD of 03-25 stays in ADRS for traceability with ANL01FL empty;
    the BOR uses only flagged records."""
    data = derive_all(_sdtm(), Protocol.load("lms04"), cutoff="2024-03-01")
    s1 = data.adrs[(data.adrs["USUBJID"] == "S1") & (data.adrs["PARAMCD"] == "OVRLRESP")]
    assert s1["AVALC"].tolist() == ["PR", "PD"]
    assert s1["ANL01FL"].tolist() == ["Y", None]
