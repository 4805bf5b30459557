"""The analysis-results dataset holds every number of every table of a simulated LMS04 analysis."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard import ARD_COLUMNS, ard_to_csv, ard_to_json, build_ard
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
KEY = ["table", "endpoint", "arm", "subgroup", "statistic", "time"]


@pytest.fixture(scope="module")
def analysis() -> TrialAnalysis:
    trial = simulate_trial("lms04", seed=2)
    d = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return analyse(AdamData(d.adsl, d.adtte, d.adrs, d.adae), LMS04)


@pytest.fixture(scope="module")
def ard(analysis) -> pd.DataFrame:
    return analysis.ard


def _lookup(ard: pd.DataFrame, **key) -> pd.Series:
    mask = pd.Series(True, index=ard.index)
    for column, value in key.items():
        mask &= ard[column].isna() if value is None else ard[column] == value
    rows = ard[mask]
    assert len(rows) == 1, f"{len(rows)} ARD records for {key}"
    return rows.iloc[0]


def _find(ard: pd.DataFrame, **key) -> pd.DataFrame:
    mask = pd.Series(True, index=ard.index)
    for column, value in key.items():
        mask &= ard[column].isna() if value is None else ard[column] == value
    return ard[mask]


def _same(record: pd.Series, value: float, lower: float = np.nan, upper: float = np.nan) -> None:
    np.testing.assert_allclose([record["value"], record["lower"], record["upper"]], [value, lower, upper],
                               rtol=0, atol=0, equal_nan=True)


def test_ard_columns_keys_and_types(ard):
    assert list(ard.columns) == ARD_COLUMNS
    assert not ard.duplicated(KEY).any()
    assert ard["value"].dtype == float
    proportions = ard["statistic"].isin(["n_percent", "rate", "orr", "dcr", "bor", "teae_any", "grade34_any",
                                         "serious_any", "grade5_any", "term_any", "term_grade34", "dose_reduction"])
    assert ard.loc[proportions, "value"].dropna().between(0, 1).all()


def test_every_efficacy_number_is_in_the_ard(analysis, ard):
    for paramcd, s in analysis.efficacy.items():
        base = {"table": "efficacy", "endpoint": paramcd, "subgroup": None}
        for r in s.arms.itertuples(index=False):
            _same(_lookup(ard, **base, arm=r.arm, statistic="n", time=None), r.n)
            _same(_lookup(ard, **base, arm=r.arm, statistic="events", time=None), r.events)
            _same(_lookup(ard, **base, arm=r.arm, statistic="median", time=None), r.median, r.median_lower,
                  r.median_upper)
        for r in s.rates.itertuples(index=False):
            _same(_lookup(ard, **base, arm=r.arm, statistic="rate", time=r.time), r.rate, r.lower, r.upper)
        for r in s.hazard_ratios.itertuples(index=False):
            record = _lookup(ard, **base, arm=r.arm, statistic="hazard_ratio", time=None)
            _same(record, r.hr, r.lower, r.upper)
            assert "stratified by origin, stage" in record["method"] and "vs Doxorubicin" in record["method"]
            assert _find(ard, **base, arm=r.arm, statistic="hazard_ratio_p").empty  # the P is the test's only
        for c in s.comparisons.itertuples(index=False):  # PFS only: OS and PFS2 report no P (p_value: false)
            record = _lookup(ard, **base, arm=c.arm, statistic="logrank_p", time=None)
            _same(record, c.p)
            assert record["method"] == "log-rank test stratified by origin, stage; two-sided; vs Doxorubicin"
        assert s.comparisons.empty != s.p_value
        assert _find(ard, **base, statistic="logrank_p").shape[0] == len(s.comparisons)
        _same(_lookup(ard, **base, arm=None, statistic="median_followup", time=None), s.followup_median,
              s.followup_q1, s.followup_q3)


def test_every_table1_and_consort_number_is_in_the_ard(analysis, ard):
    table1 = ard[ard["table"] == "table1"]
    assert len(table1) == len(analysis.table1.stats)
    merged = analysis.table1.to_frame().reset_index(drop=True)
    np.testing.assert_array_equal(table1["value"].to_numpy(), merged["value"].to_numpy())
    female = _lookup(ard, table="table1", arm="Doxorubicin", subgroup="SEX=Female", statistic="n_percent")
    n = _lookup(ard, table="table1", arm="Doxorubicin", subgroup="SEX=Female", statistic="n")["value"]
    total = _lookup(ard, table="table1", arm="Doxorubicin", subgroup="SEX=Female", statistic="N")["value"]
    assert female["value"] == n / total
    grade = _lookup(ard, table="table1", arm="Total", subgroup="GRADE=Missing", statistic="N")
    assert grade["value"] == (analysis.table1.stats.query("column == 'origin' and level == 'Soft tissue' and "
                                                          "arm == 'Total' and statistic == 'n'")["value"].item())
    for r in analysis.consort.table.itertuples(index=False):
        subgroup = r.stage if r.reason is None else f"{r.stage}: {r.reason}"
        _same(_lookup(ard, table="consort", arm=r.arm, subgroup=subgroup, statistic="n"), r.n)


def test_every_response_and_adverse_event_number_is_in_the_ard(analysis, ard):
    for r in analysis.response.rates.itertuples(index=False):
        key = {"table": "response", "endpoint": r.endpoint, "arm": r.arm, "subgroup": None}
        _same(_lookup(ard, **key, statistic=r.endpoint.lower()), r.rate, r.lower, r.upper)
        _same(_lookup(ard, **key, statistic="n"), r.n)
        _same(_lookup(ard, **key, statistic="N"), r.N)
    for c in analysis.response.comparisons.itertuples(index=False):
        key = {"table": "response", "endpoint": c.endpoint, "arm": c.arm}
        _same(_lookup(ard, **key, statistic="difference"), c.difference, c.lower, c.upper)
        assert _find(ard, **key, statistic="fisher_p").empty  # ORR and DCR: p_value false in the SAP
    ae = analysis.adverse_events
    for r in ae.overview.itertuples(index=False):
        key = {"table": "adverse_events", "arm": r.arm, "subgroup": r.row}
        _same(_lookup(ard, **key, statistic="n"), r.n)
        _same(_lookup(ard, **key, statistic=r.row), r.n / r.N)
    assert _find(ard, table="adverse_events", statistic="fisher_p").empty  # adverse_event_p_values: false
    for t in ae.by_term.itertuples(index=False):
        _same(_lookup(ard, table="adverse_events", arm=t.arm, subgroup=f"AEDECOD={t.AEDECOD}", statistic="n"),
              t.any_n)
        _same(_lookup(ard, table="adverse_events", arm=t.arm, subgroup=f"AEDECOD={t.AEDECOD}; grade 3-4",
                      statistic="n"), t.grade34_n)
    for d in ae.dose_reductions.itertuples(index=False):
        _same(_lookup(ard, table="adverse_events", arm=d.arm, subgroup=d.variable, statistic="n"), d.n)


def test_a_lay_summary_can_be_written_from_the_ard_alone(ard):
    roles = ard[ard["table"] == "trial"].set_index("subgroup")["arm"]
    control, experimental = roles["control"], roles["experimental"]
    alive = {arm: _lookup(ard, table="efficacy", endpoint="OS", arm=arm, statistic="rate", time=24.0)["value"]
             for arm in (control, experimental)}
    sentence = (f"{round(100 * alive[experimental])} of 100 vs {round(100 * alive[control])} of 100 "
                f"alive at 2 years")
    assert sentence.endswith("alive at 2 years") and alive[experimental] > alive[control]
    medians = {arm: _lookup(ard, table="efficacy", endpoint="OS", arm=arm, statistic="median")
               for arm in (control, experimental)}
    gain = medians[experimental]["value"] - medians[control]["value"]
    assert "months" in medians[control]["method"] and gain > 0


def test_ard_files_round_trip(ard, tmp_path):
    path = ard_to_json(ard, tmp_path / "ard.json")
    records = json.loads(path.read_text(encoding="utf-8"))
    assert len(records) == len(ard) and set(records[0]) == set(ARD_COLUMNS)
    assert records[0]["lower"] is None  # NaN as null
    back = pd.read_csv(ard_to_csv(ard, tmp_path / "ard.csv"))
    np.testing.assert_allclose(back["value"], ard["value"], equal_nan=True)


def test_build_ard_skips_tables_that_were_not_produced(analysis):
    partial = dataclasses.replace(analysis, response=None, adverse_events=None)
    tables = set(build_ard(partial)["table"])
    assert tables == {"trial", "table1", "consort", "efficacy"}
