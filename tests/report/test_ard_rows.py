"""ARD records of the end-point summaries and the safety tables (report/ard_rows.py): each
record is the number the report prints, events and censorings partition each arm, and a
printed percentage becomes the fraction beside its n and N."""

from __future__ import annotations

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.ard import ARD_COLUMNS
from oncotrial.report.ard_rows import endpoint_result_records, safety_records
from oncotrial.report.safety_tables import safety_tables
from oncotrial.simulate.trial import simulate_trial


@pytest.fixture(scope="module", params=["lms04", "gastric_example"])
def replica(request):
    protocol = Protocol.load(request.param)
    trial = simulate_trial(request.param, seed=2)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    adam = AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)
    return protocol, adam, analyse(adam, protocol)


def test_events_and_censorings_partition_each_arm(replica):
    _, _, analysis = replica
    records = endpoint_result_records(analysis.endpoints)
    assert list(records.columns) == ARD_COLUMNS
    events = records[records["table"] == "events"]
    for (endpoint, arm), mine in events.groupby(["endpoint", "arm"]):
        n = mine[mine["statistic"] == "n"].set_index("subgroup")["value"]
        total = mine[mine["statistic"] == "N"]["value"].unique()
        assert len(total) == 1, (endpoint, arm)
        assert n["event"] + n.get("censored", 0) == total[0], (endpoint, arm)
        kinds = n[n.index.str.startswith("event: ")]
        assert kinds.sum() == n["event"], (endpoint, arm)
        share = mine[mine["statistic"] == "n_percent"].set_index("subgroup")["value"]
        assert share.to_dict() == pytest.approx((n / total[0]).to_dict())
    # the totals are those of the efficacy summary
    for endpoint, summary in analysis.efficacy.items():
        for arm in summary.arms.itertuples(index=False):
            got = events[(events["endpoint"] == endpoint) & (events["arm"] == arm.arm)
                         & (events["subgroup"] == "event") & (events["statistic"] == "n")]["value"]
            assert got.tolist() == [float(arm.events)], (endpoint, arm.arm)


def test_response_duration_is_described_per_arm_never_compared(replica):
    _, _, analysis = replica
    records = endpoint_result_records(analysis.endpoints)
    dor = records[records["table"] == "dor"]
    if analysis.endpoints.response_duration:
        assert not dor.empty and not dor["statistic"].isin(["hazard_ratio", "logrank_p"]).any()
        responders = dor[(dor["subgroup"] == "responders") & (dor["statistic"] == "n")]
        assert (responders["value"] >= 0).all() and responders["value"].apply(float.is_integer).all()
    else:
        assert dor.empty


def test_safety_records_are_the_printed_numbers(replica):
    protocol, adam, _ = replica
    tables = safety_tables(adam, protocol)
    records = safety_records(tables.numbers)
    assert len(records) == len(tables.numbers) and set(records["table"]) == {"safety"}
    assert set(records["endpoint"]) == {t.key for t in tables.tables} - {
        t.key for t in tables.tables if not (tables.numbers["table"] == t.key).any()}
    pct = tables.numbers["statistic"] == "pct"
    assert records.loc[pct.to_numpy(), "statistic"].eq("n_percent").all()
    assert records.loc[pct.to_numpy(), "value"].tolist() == pytest.approx(
        (pd.to_numeric(tables.numbers.loc[pct, "value"]) / 100).tolist())
    counts = tables.numbers["statistic"].isin(["n", "N"]).to_numpy()
    assert records.loc[counts, "value"].apply(float.is_integer).all()
    graded = tables.numbers["column"].fillna("") != ""
    assert records.loc[graded.to_numpy(), "subgroup"].str.contains("; ").all()


def test_empty_inputs_give_empty_records():
    assert safety_records(pd.DataFrame(columns=["table", "group", "column", "row", "statistic", "value"])).empty
