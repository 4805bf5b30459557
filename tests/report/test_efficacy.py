"""The efficacy table on the colon trial (Obs vs Lev+5FU) against R (tests/fixtures/r/efficacy.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.report.efficacy import efficacy_summary


@pytest.fixture(scope="module")
def colon() -> pd.DataFrame:
    d = load("colon")
    d = d[d["rx"].isin(["Obs", "Lev+5FU"])].copy()
    d["months"] = d["time"] / 30.4375
    return d


def _check(summary, ref) -> None:
    arms = summary.arms.set_index("arm").loc[["Obs", "Lev+5FU"]]
    assert arms["n"].tolist() == ref["n"]
    assert arms["events"].tolist() == ref["events"]
    assert_close(arms["median"], ref["median"], what="median")
    assert_close(arms["median_lower"], ref["median_lower"], what="median lower")
    assert_close(arms["median_upper"], ref["median_upper"], what="median upper")
    rates = summary.rates.set_index(["arm", "time"])
    for arm, t, r, lo, hi in zip(ref["rate_arm"], ref["rate_time"], ref["rate"], ref["rate_lower"],
                                 ref["rate_upper"]):
        row = rates.loc[(arm.removeprefix("rx="), t)]
        assert_close([row["rate"], row["lower"], row["upper"]], [r, lo, hi], what=f"rate {arm} {t}")
    hr = summary.hazard_ratios.iloc[0]
    assert hr["arm"] == "Lev+5FU" and hr["reference"] == "Obs"
    assert_close([hr["hr"], hr["lower"], hr["upper"], hr["p"]],
                 [ref["hr"], ref["hr_lower"], ref["hr_upper"], ref["hr_p"]], what="hazard ratio")
    assert_close([summary.logrank_chisq, summary.logrank_p], [ref["logrank_chisq"], ref["logrank_p"]],
                 what="log-rank")
    assert_close([summary.followup_q1, summary.followup_median, summary.followup_q3],
                 [ref["fu_q1"], ref["fu_median"], ref["fu_q3"]], what="follow-up")


@pytest.mark.parametrize("etype,key", [(1, "recurrence"), (2, "death")])
def test_efficacy_matches_r(colon, etype, key):
    d = colon[colon["etype"] == etype]
    summary = efficacy_summary(d, time="months", event="status", group="rx", adjust=["node4"],
                               landmarks=[36, 60], reference="Obs")
    _check(summary, load_fixture("efficacy")[key])


def test_stratified_efficacy_matches_r(colon):
    d = colon[colon["etype"] == 2]
    summary = efficacy_summary(d, time="months", event="status", group="rx", adjust=["node4"],
                               strata=["extent"], landmarks=[36, 60], reference="Obs")
    _check(summary, load_fixture("efficacy")["death_strat"])
    assert "stratified by extent" in summary.model


def test_long_format_has_every_number(colon):
    d = colon[colon["etype"] == 2]
    s = efficacy_summary(d, time="months", event="status", group="rx", landmarks=[36], reference="Obs")
    long = s.to_frame()
    assert set(long.columns) == {"endpoint", "arm", "statistic", "value", "lower", "upper", "time"}
    counts = long["statistic"].value_counts()
    assert counts["n"] == 2 and counts["median"] == 2 and counts["rate"] == 2
    assert counts["hazard_ratio"] == 1 and counts["logrank_p"] == 1 and counts["median_followup"] == 1
    assert np.isclose(long.loc[long["statistic"] == "logrank_p", "value"].item(), s.logrank_p)
    assert "Lev+5FU" in repr(s)


def test_sas_convention_uses_breslow_and_last_level_reference(colon):
    d = colon[colon["etype"] == 2]
    s = efficacy_summary(d, time="months", event="status", group="rx", convention="sas")
    assert s.convention == "sas" and "Breslow" in s.model
    assert s.hazard_ratios["reference"].tolist() == ["Obs"]  # "Obs" sorts after "Lev+5FU"


def test_unknown_reference_names_column_and_levels(colon):
    with pytest.raises(InputError, match=r"reference: level 'Placebo' not found in 'rx'") as info:
        efficacy_summary(colon, time="months", event="status", group="rx", reference="Placebo")
    assert info.value.field == "reference"


def test_missing_time_is_reported_not_dropped(colon):
    """The row is the 1-based row of the data passed (the 4th), neither its pandas index
    label nor its position within its arm."""
    d = colon[colon["etype"] == 2].copy()
    d.loc[d.index[3], "months"] = np.nan
    assert d.index[3] != 3
    with pytest.raises(InputError, match=r"months.*rows \[4\] \(1 row\)"):
        efficacy_summary(d, time="months", event="status", group="rx")
