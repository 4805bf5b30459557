"""ADTTE derivation: a hand-worked cohort covering every PFS censoring rule and the data
cut-off, OS/PFS2, data-quality cases and a property test.

Every subject is randomised on 2024-01-01 (a leap year: Jan 31 + Feb 29 days). Assessments are
scheduled every 42 days: 02-12 (day 42), 03-25 (84), 05-06 (126), 06-17 (168), 07-29 (210),
09-09 (252). AVAL = ADT - RANDDT + 1 (admiral ``add_one = TRUE``). Cut-off 2024-09-01
(day 244, AVAL 245).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical.adtte import (
    CENSORING_CODES,
    count_missed_assessments,
    derive_adtte,
    derive_dor,
    derive_first_progression,
    derive_last_adequate_assessment,
    derive_os,
    derive_pfs,
    derive_pfs2,
    scheduled_assessments,
)
from oncotrial.protocol import Protocol

T = pd.Timestamp
RAND = T("2024-01-01")
CUTOFF = T("2024-09-01")
SCHEDULE_DATES = pd.to_datetime(["2024-02-12", "2024-03-25", "2024-05-06", "2024-06-17",
                                 "2024-07-29", "2024-09-09"]).to_numpy()
NA = pd.NaT

# USUBJID, RANDDT, DTHDT, LSTALVDT, NACTDT, PD2DT
SUBJECTS = pd.DataFrame(
    [
        ("S01", RAND, NA, T("2024-06-30"), NA, T("2024-08-01")),
        ("S02", RAND, T("2024-04-01"), T("2024-04-01"), NA, NA),
        ("S03", RAND, NA, T("2024-02-01"), NA, NA),
        ("S04", RAND, NA, T("2024-10-15"), NA, NA),
        ("S05", RAND, NA, T("2024-07-01"), T("2024-04-15"), NA),
        ("S06", RAND, NA, T("2024-07-01"), NA, NA),
        ("S07", RAND, T("2024-10-05"), T("2024-10-05"), NA, NA),
        ("S08", RAND, T("2024-01-20"), T("2024-01-20"), NA, NA),
        ("S09", NA, NA, T("2024-05-01"), NA, NA),
        ("S10", RAND, T("2024-03-01"), T("2024-03-01"), NA, NA),
        ("S11", RAND, T("2023-12-15"), T("2023-12-15"), NA, NA),
        ("S12", RAND, NA, T("2024-04-01"), NA, NA),
        ("S13", RAND, NA, T("2024-07-01"), NA, NA),
        ("S14", RAND, T("2024-03-10"), T("2024-03-10"), NA, NA),
    ],
    columns=["USUBJID", "RANDDT", "DTHDT", "LSTALVDT", "NACTDT", "PD2DT"],
)

RS = pd.DataFrame(
    [
        ("S01", "2024-02-12", "SD"), ("S01", "2024-03-25", "PD"),
        ("S02", "2024-02-12", "SD"), ("S02", "2024-03-25", "SD"),
        ("S04", "2024-02-12", "SD"), ("S04", "2024-03-25", "PR"), ("S04", "2024-05-06", "PR"),
        ("S05", "2024-02-12", "SD"), ("S05", "2024-03-25", "SD"), ("S05", "2024-05-06", "PD"),
        ("S06", "2024-02-12", "SD"), ("S06", "2024-06-17", "PD"),
        ("S07", "2024-02-12", "SD"), ("S07", "2024-03-25", "SD"), ("S07", "2024-08-20", "NE"),
        ("S07", "2024-10-01", "PD"),
        ("S09", "2024-02-12", "SD"),
        ("S10", "2024-03-25", "SD"),
        ("S12", "2024-02-12", "NE"), ("S12", "2024-03-25", "NE"),
        ("S13", "2024-02-12", "PR"), ("S13", "2024-03-25", "CR"), ("S13", "2024-06-17", "PD"),
        ("S14", "2024-02-12", "PR"),
    ],
    columns=["USUBJID", "RSDTC", "RSORRES"],
).assign(RSTESTCD="OVRLRESP", RSDTC=lambda d: pd.to_datetime(d["RSDTC"]))
# A non-overall record must be ignored.
RS = pd.concat([RS, pd.DataFrame([{"USUBJID": "S04", "RSDTC": T("2024-06-17"),
                                   "RSORRES": "PD", "RSTESTCD": "NTRGRESP"}])],
               ignore_index=True)
SCHEDULE = {s: SCHEDULE_DATES for s in SUBJECTS["USUBJID"]}


def pfs(**kwargs: object) -> pd.DataFrame:
    options = {"cutoff": CUTOFF, "schedule": SCHEDULE} | kwargs
    return derive_pfs(SUBJECTS, RS, **options).frame.set_index("USUBJID")


# USUBJID: (ADT, AVAL, CNSR, SRCDOM)
PFS_EXPECTED = {
    # P2 progression: 03-25 is day 31 + 29 + 24 = 84 -> AVAL 85.
    "S01": ("2024-03-25", 85, 0, "RS"),
    # P8 death between visits: 04-01 is day 31 + 29 + 31 = 91 -> AVAL 92; last adequate 03-25,
    # missed window (03-25 + 7, 04-01 - 7) is empty, so the event stands.
    "S02": ("2024-04-01", 92, 0, "ADSL"),
    # P1 no post-baseline assessment: censored at randomisation, AVAL 0 + 1 = 1.
    "S03": ("2024-01-01", 1, 1, "ADSL"),
    # P3 no progression: last adequate 05-06 is day 31 + 29 + 31 + 30 + 5 = 126 -> AVAL 127
    # (the NTRGRESP "PD" is not an overall response and is ignored).
    "S04": ("2024-05-06", 127, 2, "RS"),
    # P6 new therapy 04-15 before PD 05-06: last adequate before it is 03-25 -> AVAL 85.
    "S05": ("2024-03-25", 85, 3, "RS"),
    # P9 PD 06-17 after SD 02-12: scheduled 03-25 and 05-06 fall in (02-19, 06-10) = 2 missed
    # -> censored at 02-12, day 42 -> AVAL 43.
    "S06": ("2024-02-12", 43, 4, "RS"),
    # Cut-off: PD 10-01 and death 10-05 are after 09-01 and ignored; the 08-20 NE is not
    # adequate, so censored at 03-25 -> AVAL 85.
    "S07": ("2024-03-25", 85, 2, "RS"),
    # P7 death before any assessment: 01-20 is day 19 -> AVAL 20.
    "S08": ("2024-01-20", 20, 0, "ADSL"),
    # Only NE assessments: no adequate assessment -> censored at randomisation, AVAL 1.
    "S12": ("2024-01-01", 1, 1, "ADSL"),
    # PD 06-17 after CR 03-25: only 05-06 lies in (04-01, 06-10) = 1 missed -> event, day 168
    # (31 + 29 + 31 + 30 + 31 + 16) -> AVAL 169.
    "S13": ("2024-06-17", 169, 0, "RS"),
    # Death 03-10 after PR 02-12: day 31 + 29 + 9 = 69 -> AVAL 70; nothing missed in
    # (02-19, 03-03).
    "S14": ("2024-03-10", 70, 0, "ADSL"),
}


@pytest.mark.parametrize("usubjid", sorted(PFS_EXPECTED))
def test_pfs_hand_worked(usubjid: str) -> None:
    row = pfs().loc[usubjid]
    adt, aval, cnsr, srcdom = PFS_EXPECTED[usubjid]
    assert row["ADT"] == T(adt)
    assert row["AVAL"] == aval
    assert row["AVALM"] == pytest.approx(aval / 30.4375)
    assert row["CNSR"] == cnsr
    assert row["SRCDOM"] == srcdom
    assert row["STARTDT"] == RAND
    assert row["PARAMCD"] == "PFS"
    assert row["EVNTDESC"] in {"Disease progression", "Death"} or (
        row["EVNTDESC"] == CENSORING_CODES[cnsr])


def test_pfs_excludes_bad_subjects_with_reasons() -> None:
    result = derive_pfs(SUBJECTS, RS, cutoff=CUTOFF, schedule=SCHEDULE)
    assert set(result.frame["USUBJID"]) == set(PFS_EXPECTED)
    issues = result.issues_frame().set_index("usubjid")
    assert issues.loc["S09", "field"] == "RANDDT"
    assert "randomisation date is missing" in issues.loc["S09", "problem"]
    # S10 died 03-01 but has an assessment on 03-25.
    assert issues.loc["S10", "field"] == "RSDTC"
    assert issues.loc["S10", "value"] == "2024-03-25"
    assert "after death" in issues.loc["S10", "problem"]
    assert issues.loc["S11", "field"] == "DTHDT"
    assert "death before randomisation" in issues.loc["S11", "problem"]
    assert len(issues) == 3


def test_new_therapy_switch_off_keeps_the_progression() -> None:
    # S05: PD 05-06 stands -> day 126, AVAL 127.
    row = pfs(censor_at_new_therapy=False).loc["S05"]
    assert (row["ADT"], row["AVAL"], row["CNSR"]) == (T("2024-05-06"), 127, 0)


def test_missed_assessment_rule_switches() -> None:
    # S06: PD 06-17 stands -> day 31 + 29 + 31 + 30 + 31 + 16 = 168, AVAL 169.
    for frame in (pfs(missed_assessments=None), pfs(schedule=None)):
        row = frame.loc["S06"]
        assert (row["ADT"], row["AVAL"], row["CNSR"]) == (T("2024-06-17"), 169, 0)
    # Three missed assessments required: S06 missed two, so the event stands.
    assert pfs(missed_assessments=3).loc["S06", "CNSR"] == 0


def test_without_cutoff_late_events_count() -> None:
    # S07: PD 10-01 after NE 08-20 and SD 03-25; scheduled 05-06, 06-17, 07-29, 09-09 fall in
    # (04-01, 09-24) -> 4 missed -> censored at 03-25 (CNSR 4); without a schedule it is an
    # event on 10-01 (day 274, AVAL 275).
    assert pfs(cutoff=None).loc["S07", "CNSR"] == 4
    row = pfs(cutoff=None, schedule=None).loc["S07"]
    assert (row["ADT"], row["AVAL"], row["CNSR"]) == (T("2024-10-01"), 275, 0)


def test_schedule_must_cover_every_subject() -> None:
    with pytest.raises(ValueError, match="'S01'"):
        derive_pfs(SUBJECTS, RS, schedule={"S02": SCHEDULE_DATES})


def test_dor_hand_worked() -> None:
    result = derive_dor(SUBJECTS, RS, cutoff=CUTOFF, schedule=SCHEDULE)
    dor = result.frame.set_index("USUBJID")
    assert set(dor.index) == {"S04", "S13", "S14"}
    # S04: first response PR 03-25 (day 84); no PD, last adequate PR 05-06 (day 126)
    # -> AVAL 126 - 84 + 1 = 43, CNSR 2.
    assert (dor.loc["S04", "STARTDT"], dor.loc["S04", "ADT"], dor.loc["S04", "AVAL"],
            dor.loc["S04", "CNSR"]) == (T("2024-03-25"), T("2024-05-06"), 43, 2)
    # S13: PR 02-12 (day 42) to PD 06-17 (day 168) -> AVAL 168 - 42 + 1 = 127, event.
    assert (dor.loc["S13", "STARTDT"], dor.loc["S13", "AVAL"], dor.loc["S13", "CNSR"]) == (
        T("2024-02-12"), 127, 0)
    # S14: PR 02-12 (day 42) to death 03-10 (day 69) -> AVAL 28, event.
    assert (dor.loc["S14", "AVAL"], dor.loc["S14", "CNSR"]) == (28, 0)
    assert (dor["PARAMCD"] == "DOR").all()
    # Subject-level problems are reported for DOR too (S09, S10, S11).
    assert set(result.issues_frame()["usubjid"]) == {"S09", "S10", "S11"}


def test_dor_listed_responders() -> None:
    # S01 (SD then PD) is listed but never responded: an issue, not a row.
    result = derive_dor(SUBJECTS, RS, responders=["S01", "S13"])
    assert list(result.frame["USUBJID"]) == ["S13"]
    assert [(i.usubjid, i.field) for i in result.issues] == [("S01", "RSORRES")]
    # A response after the cut-off does not count: S13's PR 02-12 is after a 02-01 cut-off.
    assert derive_dor(SUBJECTS, RS, cutoff=T("2024-02-01")).frame.empty


def test_os_hand_worked() -> None:
    result = derive_os(SUBJECTS, cutoff=CUTOFF)
    os_ = result.frame.set_index("USUBJID")
    # S01 alive, last known alive 06-30: day 31 + 29 + 31 + 30 + 31 + 29 = 181 -> AVAL 182.
    assert (os_.loc["S01", "ADT"], os_.loc["S01", "AVAL"], os_.loc["S01", "CNSR"]) == (
        T("2024-06-30"), 182, 5)
    # S04 last known alive 10-15 is capped at the cut-off 09-01 (day 244) -> AVAL 245.
    assert (os_.loc["S04", "ADT"], os_.loc["S04", "AVAL"], os_.loc["S04", "CNSR"]) == (
        CUTOFF, 245, 5)
    # S07 died 10-05, after the cut-off: censored at the cut-off.
    assert (os_.loc["S07", "AVAL"], os_.loc["S07", "CNSR"]) == (245, 5)
    # S10 died 03-01 (day 60): OS is derivable although PFS is not -> AVAL 61.
    assert (os_.loc["S10", "ADT"], os_.loc["S10", "AVAL"], os_.loc["S10", "CNSR"]) == (
        T("2024-03-01"), 61, 0)
    assert set(result.issues_frame()["usubjid"]) == {"S09", "S11"}


def test_randomised_after_cutoff_is_an_issue() -> None:
    subjects = SUBJECTS[SUBJECTS["USUBJID"] == "S01"].assign(RANDDT=T("2024-09-02"))
    result = derive_adtte(subjects, RS, cutoff=CUTOFF)
    assert result.frame.empty
    assert {i.problem.split()[0] for i in result.issues} == {"PFS", "DOR", "OS", "PFS2"}
    assert all("after the data cut-off 2024-09-01" in i.problem for i in result.issues)


def test_os_without_last_alive_date_is_an_issue() -> None:
    subjects = SUBJECTS[SUBJECTS["USUBJID"] == "S03"].assign(LSTALVDT=pd.NaT)
    result = derive_os(subjects)
    assert result.frame.empty
    assert result.issues[0].field == "LSTALVDT"


def test_pfs2_hand_worked() -> None:
    pfs2 = derive_pfs2(SUBJECTS, cutoff=CUTOFF).frame.set_index("USUBJID")
    # S01 second progression 08-01: day 213 -> AVAL 214.
    assert (pfs2.loc["S01", "ADT"], pfs2.loc["S01", "AVAL"], pfs2.loc["S01", "CNSR"]) == (
        T("2024-08-01"), 214, 0)
    assert pfs2.loc["S01", "EVNTDESC"] == "Second disease progression"
    # S02 died 04-01 without a second progression -> event, AVAL 92.
    assert (pfs2.loc["S02", "AVAL"], pfs2.loc["S02", "CNSR"]) == (92, 0)
    # S05 alive, last known alive 07-01: day 182 -> AVAL 183, CNSR 5.
    assert (pfs2.loc["S05", "AVAL"], pfs2.loc["S05", "CNSR"]) == (183, 5)


def test_adtte_stacks_parameters() -> None:
    result = derive_adtte(SUBJECTS, RS, cutoff=CUTOFF, schedule=SCHEDULE)
    counts = result.to_frame().groupby("PARAMCD").size().to_dict()
    # PFS: 14 - S09, S10, S11; OS and PFS2: 14 - S09, S11; DOR: responders S04, S13, S14.
    assert counts == {"DOR": 3, "OS": 12, "PFS": 11, "PFS2": 12}
    assert list(result.frame.columns) == ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT",
                                          "AVAL", "AVALM", "CNSR", "EVNTDESC", "CNSDTDSC",
                                          "SRCDOM"]
    assert len(result.issues) == 3 + 3 + 2 + 2  # PFS, DOR, OS, PFS2
    assert "PFS2" not in set(derive_adtte(SUBJECTS.drop(columns="PD2DT"), RS).frame["PARAMCD"])


def test_helpers() -> None:
    assert derive_first_progression(RS).to_dict() == {
        "S01": T("2024-03-25"), "S05": T("2024-05-06"), "S06": T("2024-06-17"),
        "S07": T("2024-10-01"), "S13": T("2024-06-17")}
    assert "S07" not in derive_first_progression(RS, cutoff=CUTOFF)
    last = derive_last_adequate_assessment(RS, before=T("2024-05-01"))
    assert last["S04"] == T("2024-03-25")
    assert "S12" not in last
    assert derive_last_adequate_assessment(RS, after=T("2024-03-25"))["S04"] == T("2024-05-06")
    assert "S01" not in derive_last_adequate_assessment(RS, after=T("2024-03-25"))
    # Scheduled 03-25 and 05-06 lie in (02-19, 06-10); 06-17 is the event's own visit.
    assert count_missed_assessments(SCHEDULE_DATES, T("2024-02-12"), T("2024-06-17"), 7) == 2


def test_scheduled_assessments_from_protocol() -> None:
    protocol = Protocol.load("lms04")
    arm = protocol.arms[0].code
    dates = scheduled_assessments(protocol, arm, date(2024, 1, 1), horizon=12)
    plan = protocol.schedule(arm, date(2024, 1, 1), horizon_months=12)
    expected = plan.loc[plan["event"] == "assessment", "date"].to_numpy()
    np.testing.assert_array_equal(dates, expected)
    assert len(dates) > 0


@pytest.mark.parametrize(
    ("subjects", "rs", "match"),
    [
        (SUBJECTS.drop(columns="NACTDT"), RS, "NACTDT"),
        (SUBJECTS.assign(DTHDT=["not a date"] + [pd.NaT] * 13), RS, "DTHDT.*'not a date'.*'S01'"),
        (pd.concat([SUBJECTS, SUBJECTS.iloc[:1]]), RS, "unique.*'S01'"),
        (SUBJECTS, RS.assign(RSORRES="XX"), "RSORRES.*'XX'"),
        (SUBJECTS, RS.drop(columns="RSDTC"), "RSDTC"),
    ],
)
def test_invalid_input_raises(subjects: pd.DataFrame, rs: pd.DataFrame, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        derive_pfs(subjects, rs)


@st.composite
def cohorts(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    day = st.integers(min_value=1, max_value=400)
    maybe = st.one_of(st.none(), day)
    subjects, records = [], []
    for i in range(draw(st.integers(min_value=1, max_value=6))):
        usubjid = f"P{i}"
        death, nact = draw(maybe), draw(maybe)
        visits = sorted(set(draw(st.lists(day, max_size=6))))
        if death is not None:
            visits = [v for v in visits if v <= death]
        for v in visits:
            records.append((usubjid, RAND + pd.Timedelta(days=v),
                            draw(st.sampled_from(["CR", "PR", "SD", "PD", "NE"]))))
        last_alive = max([death or 0, *visits, draw(day)])
        subjects.append((usubjid, RAND,
                         pd.NaT if death is None else RAND + pd.Timedelta(days=death),
                         RAND + pd.Timedelta(days=last_alive),
                         pd.NaT if nact is None else RAND + pd.Timedelta(days=nact)))
    cutoff = RAND + pd.Timedelta(days=draw(st.integers(min_value=-5, max_value=400)))
    return (pd.DataFrame(subjects, columns=["USUBJID", "RANDDT", "DTHDT", "LSTALVDT", "NACTDT"]),
            pd.DataFrame(records, columns=["USUBJID", "RSDTC", "RSORRES"]).assign(
                RSTESTCD="OVRLRESP"),
            cutoff)


@settings(max_examples=60, deadline=None)
@given(cohorts())
def test_property_aval_and_dates(cohort: tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]) -> None:
    subjects, rs, cutoff = cohort
    schedule = {s: SCHEDULE_DATES for s in subjects["USUBJID"]}
    result = derive_adtte(subjects, rs, cutoff=cutoff, schedule=schedule)
    frame = result.frame
    assert all("after the data cut-off" in i.problem for i in result.issues)
    assert (frame["AVAL"] >= 0).all()
    assert (frame["ADT"] <= cutoff).all()
    assert (frame["AVAL"] == (frame["ADT"] - frame["STARTDT"]).dt.days + 1).all()
    first_pd = derive_first_progression(rs, cutoff=cutoff)
    deaths = subjects.set_index("USUBJID")["DTHDT"]
    for row in frame[frame["CNSR"] == 0].itertuples():
        candidates = [deaths[row.USUBJID]]
        if row.PARAMCD in {"PFS", "DOR"} and row.USUBJID in first_pd:
            candidates.append(first_pd[row.USUBJID])
        event = min(d for d in candidates if not pd.isna(d) and d <= cutoff)
        assert event == row.ADT
