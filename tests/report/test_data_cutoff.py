"""The data cut-off travels from the derivation (ADSL DCUTDT) to every report output that
states it: the analysis, the report's facts and footer; a trial has one cut-off."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse, data_cutoff
from oncotrial.report.html import render_html, report_content
from oncotrial.simulate.trial import simulate_trial


@pytest.mark.parametrize("name", ["lms04", "gastric_example"])
def test_the_cutoff_of_the_derivation_is_the_report_s(name):
    protocol = Protocol.load(name)
    trial = simulate_trial(name, seed=2)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    expected = str(pd.Timestamp(trial.cutoff).date())
    assert (derived.adsl["DCUTDT"].dt.date.astype(str) == expected).all()
    analysis = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol)
    assert analysis.data_cutoff == expected
    content = report_content(analysis, protocol)
    assert dict(content.facts)["Data cut-off"] == expected and content.data_cutoff == expected
    assert f"Data cut-off: {expected}." in render_html(content)


def test_two_cutoffs_in_one_adsl_are_refused_naming_the_column():
    adsl = pd.DataFrame({"DCUTDT": pd.to_datetime(["2023-01-31", "2023-02-28", None])})
    with pytest.raises(InputError, match="ADSL: column DCUTDT: one data cut-off expected, found 2") as info:
        data_cutoff(adsl)
    assert info.value.field == "DCUTDT"
    assert data_cutoff(adsl.iloc[[0, 2]]) == "2023-01-31"
    assert data_cutoff(adsl.drop(columns="DCUTDT")) is None
