"""Cross-check of the ADTTE derivation against admiral's documented semantics.

Reference: the documented contract of ``admiral::derive_param_tte`` (pharmaverse/admiral
``R/derive_param_tte.R``) and the admiralonco PFS/OS/DOR calls:

* PFS: ``event_conditions = list(pd_event, death_event)``, ``censor_conditions =
  list(lasta_censor, rand_censor)``, ``start_date = RANDDT``. OS: ``death_event`` vs
  ``lastalive_censor, rand_censor``. DOR: start at the response date.
* events: first record per source, earliest across sources, ties broken by the order of
  ``event_conditions``; censorings: last record per source, latest across sources; an event
  always wins; ``ADT = max(ADT, STARTDT)``; ``AVAL = ADT - STARTDT + 1``
  (``derive_vars_duration(add_one = TRUE)``); the result does not depend on input order.

admiral has no new-therapy or missed-visit rule built in, so those oncotrial switches are off
here (``censor_at_new_therapy=False, missed_assessments=None``). Known, documented
differences not exercised: admiral's CNSR is 1 for every censoring where oncotrial keeps
distinct codes (compared here as "censored or not"); ``lasta_censor`` counts any assessment,
oncotrial only adequate ones (not ``NE``), so the generated assessments have no ``NE``.

The reference implementation below is written from that contract only, independently of
``oncotrial.clinical.adtte``.
"""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from oncotrial.clinical.adtte import derive_dor, derive_os, derive_pfs

T = pd.Timestamp
RAND = T("2024-01-01")
PARITY = {"censor_at_new_therapy": False, "missed_assessments": None}


def admiral_tte(start: pd.Timestamp, events: list[list[pd.Timestamp]],
                censors: list[list[pd.Timestamp]]) -> tuple[pd.Timestamp, int, int]:
    """(ADT, CNSR, event source index) by the derive_param_tte contract: per event source the
    first date, the earliest across sources (first source on ties); else per censor source the
    last date, the latest across sources; ADT = max(ADT, STARTDT)."""
    firsts = [(min(dates), k) for k, dates in enumerate(events) if dates]
    if firsts:
        adt, source = min(firsts)  # tuple order: date, then source order
        return max(adt, start), 0, source
    lasts = [(max(dates), k) for k, dates in enumerate(censors) if dates]
    adt, source = max(lasts, key=lambda x: (x[0], -x[1]))
    return max(adt, start), 1, source


def _subjects(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "RANDDT", "DTHDT", "NACTDT", "LSTALVDT"])


def _rs(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["USUBJID", "RSDTC", "RSORRES"])
    return frame.assign(RSTESTCD="OVRLRESP")


def test_documented_pfs_rules_on_worked_subjects():
    """Four subjects, one per clause of the contract (AVAL = ADT - RANDDT + 1)."""
    na = pd.NaT
    subjects = _subjects([
        # PD 03-25 and death 03-25 on the same day: pd_event listed first wins the tie
        ("A", RAND, T("2024-03-25"), na, T("2024-03-25")),
        # no event: lasta_censor at the last assessment 05-06
        ("B", RAND, na, na, T("2024-07-01")),
        # no assessment at all: rand_censor, ADT = RANDDT, AVAL 1
        ("C", RAND, na, na, T("2024-02-01")),
        # death on the day of randomisation: ADT = max(ADT, STARTDT) = RANDDT, AVAL 1
        ("D", RAND, RAND, na, RAND),
    ])
    rs = _rs([("A", "2024-02-12", "SD"), ("A", "2024-03-25", "PD"),
              ("B", "2024-02-12", "PR"), ("B", "2024-05-06", "SD")])
    pfs = derive_pfs(subjects, rs, **PARITY).frame.set_index("USUBJID")
    assert (pfs.at["A", "ADT"], pfs.at["A", "AVAL"], pfs.at["A", "CNSR"]) == (
        T("2024-03-25"), 85, 0)
    assert pfs.at["A", "EVNTDESC"] == "Disease progression"
    assert (pfs.at["B", "ADT"], pfs.at["B", "AVAL"]) == (T("2024-05-06"), 127)
    assert pfs.at["B", "CNSR"] > 0
    assert (pfs.at["C", "ADT"], pfs.at["C", "AVAL"]) == (RAND, 1)
    assert pfs.at["C", "CNSR"] > 0
    assert (pfs.at["D", "ADT"], pfs.at["D", "AVAL"], pfs.at["D", "CNSR"]) == (RAND, 1, 0)


def test_os_death_versus_last_alive():
    subjects = _subjects([("A", RAND, T("2024-06-01"), pd.NaT, T("2024-06-01")),
                          ("B", RAND, pd.NaT, pd.NaT, T("2024-08-15"))])
    os_ = derive_os(subjects).frame.set_index("USUBJID")
    assert (os_.at["A", "AVAL"], os_.at["A", "CNSR"]) == (153, 0)
    assert (os_.at["B", "ADT"], os_.at["B", "AVAL"]) == (T("2024-08-15"), 228)
    assert os_.at["B", "CNSR"] > 0


def test_dor_starts_at_the_first_response():
    """admiralonco DOR: STARTDT = first CR/PR; PD 84 days later -> AVAL 85."""
    subjects = _subjects([("A", RAND, pd.NaT, pd.NaT, T("2024-09-01"))])
    rs = _rs([("A", "2024-02-12", "PR"), ("A", "2024-03-25", "PR"),
              ("A", "2024-05-06", "PD")])
    dor = derive_dor(subjects, rs, **PARITY).frame.iloc[0]
    assert (dor["STARTDT"], dor["ADT"], dor["AVAL"], dor["CNSR"]) == (
        T("2024-02-12"), T("2024-05-06"), 85, 0)


_RESPONSES = st.sampled_from(["CR", "PR", "SD", "PD"])


@st.composite
def cohorts(draw):
    n = draw(st.integers(1, 8))
    subjects, rs = [], []
    for i in range(n):
        sid = f"S{i:02d}"
        days = sorted(draw(st.sets(st.integers(1, 400), max_size=6)))
        for day in days:
            rs.append((sid, (RAND + pd.Timedelta(days=day)).strftime("%Y-%m-%d"),
                       draw(_RESPONSES)))
        death = draw(st.one_of(st.none(), st.integers(0, 500)))
        dthdt = pd.NaT if death is None else RAND + pd.Timedelta(days=death)
        # nothing is recorded after death (a data-quality problem in oncotrial)
        if death is not None:
            rs = [r for r in rs if r[0] != sid or T(r[1]) <= dthdt]
        last_seen = max([RAND, *[T(r[1]) for r in rs if r[0] == sid]])
        lstalv = dthdt if death is not None else last_seen + pd.Timedelta(
            days=draw(st.integers(0, 60)))
        subjects.append((sid, RAND, dthdt, pd.NaT, lstalv))
    order = draw(st.permutations(range(len(rs))))
    return _subjects(subjects), _rs([rs[k] for k in order]) if rs else _rs([])


@settings(max_examples=150, deadline=None)
@given(cohorts())
def test_pfs_and_os_match_the_admiral_contract(cohort):
    """On random cohorts in random input order, PFS and OS (ADT, AVAL, event or not, and the
    event's source for PFS) equal the contract's reference implementation."""
    subjects, rs = cohort
    pfs = derive_pfs(subjects, rs, **PARITY).frame.set_index("USUBJID")
    os_ = derive_os(subjects).frame.set_index("USUBJID")
    for row in subjects.itertuples(index=False):
        mine = rs[rs["USUBJID"] == row.USUBJID]
        dates = pd.to_datetime(mine["RSDTC"])
        pds = list(dates[mine["RSORRES"].to_numpy() == "PD"])
        deaths = [] if pd.isna(row.DTHDT) else [row.DTHDT]
        adt, cnsr, source = admiral_tte(RAND, [pds, deaths], [list(dates), [RAND]])
        got = pfs.loc[row.USUBJID]
        assert got["ADT"] == adt and int(got["AVAL"]) == (adt - RAND).days + 1
        assert (got["CNSR"] == 0) == (cnsr == 0)
        if cnsr == 0:
            expected = ("Disease progression", "Death")[source]
            assert got["EVNTDESC"] == expected
        adt, cnsr, _ = admiral_tte(RAND, [deaths], [[row.LSTALVDT], [RAND]])
        got = os_.loc[row.USUBJID]
        assert got["ADT"] == adt and (got["CNSR"] == 0) == (cnsr == 0)
