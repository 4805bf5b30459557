"""The ARS records of a simulated replica of each bundled protocol: one record per ARD
number, unique ids, counts as integers, no float noise, the printed cells of the report,
JSON and CSV round trips; and the builders of the figure numbers (forest plot, KM risk
table, PH test)."""

from __future__ import annotations

import csv
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData, validate_adam
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.ard_rows import forest_ard_rows, ph_test_ard_rows, risk_table_ard_rows
from oncotrial.report.ars import ARS_COLUMNS, ArsDataset, ars_records, json_number
from oncotrial.report.forest import protocol_subgroups, spec_column, subgroup_hazard_ratios
from oncotrial.report.format import DASH
from oncotrial.report.html import report_content
from oncotrial.report.km_plot import coefficient_name, risk_table
from oncotrial.report.writer import endpoint_data
from oncotrial.simulate.trial import simulate_trial
from oncotrial.stats import cox_zph, coxph

PROTOCOLS = ("lms04", "gastric_example")


def _replica(name: str) -> tuple[Protocol, AdamData, TrialAnalysis]:
    protocol = Protocol.load(name)
    trial = simulate_trial(name, seed=1)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    adam = AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)
    return protocol, adam, analyse(adam, protocol)


@pytest.fixture(scope="module", params=PROTOCOLS)
def replica(request) -> tuple[Protocol, AdamData, TrialAnalysis]:
    return _replica(request.param)


@pytest.fixture(scope="module")
def ars(replica) -> ArsDataset:
    protocol, _, analysis = replica
    return ars_records(analysis.ard, protocol)


@pytest.fixture(scope="module")
def frame(ars) -> pd.DataFrame:
    return ars.to_frame()


def _record(frame: pd.DataFrame, **where: object) -> pd.Series:
    hit = frame
    for column, value in where.items():
        hit = hit[hit[column] == value]
    assert len(hit) == 1, f"{where}: {len(hit)} records"
    return hit.iloc[0]


# ----------------------------------------------------------------- one record per number

def test_every_ard_number_maps_to_exactly_one_record(replica, frame):
    ard = replica[2].ard.reset_index(drop=True)
    cells = {(i, c) for c in ("value", "lower", "upper") for i in ard.index[ard[c].notna()]}
    mapped = list(zip(frame["ard_row"], frame["ard_column"], strict=True))
    assert len(mapped) == len(set(mapped))
    assert cells <= set(mapped)
    # a record without an ARD number is a missing limit of a statistic that has limits
    extra = set(mapped) - cells
    assert all(c != "value" or ard.at[i, "value"] != ard.at[i, "value"] for i, c in extra)
    for i, c in list(cells)[::25]:
        value = frame.loc[(frame["ard_row"] == i) & (frame["ard_column"] == c), "value"].iloc[0]
        assert math.isclose(value, ard.at[i, c], rel_tol=1e-14)


def test_ids_are_unique_and_columns_complete(frame):
    assert list(frame.columns) == ARS_COLUMNS
    assert frame["result_id"].is_unique
    assert frame["analysis_id"].notna().all() and frame["output_id"].notna().all()
    assert set(frame["analysis_set"]) <= {"ITT", "SAF", "ALL"}


def test_record_keys_follow_the_columns_and_roles_are_groups(ars, replica):
    assert all(list(r) == ARS_COLUMNS for r in ars.records)
    roles = {(r["group1"], r["group2"]) for r in ars.records if r["analysis_id"] == "TRIAL-RANDOMISED"}
    assert roles == set(replica[2].arm_roles.items())


def test_ci_limits_and_quartiles_are_separate_operations(frame):
    hr = frame[frame["analysis_id"] == "PFS-COX-HR"]
    assert set(hr["operation"]) == {"hazard ratio", "lower confidence limit", "upper confidence limit"}
    assert (hr.loc[hr["operation"] != "hazard ratio", "ci_level"] == 0.95).all()
    followup = frame[frame["analysis_id"].str.endswith("-FOLLOWUP")]
    assert set(followup["operation"]) == {"median", "first quartile", "third quartile"}
    assert followup["ci_level"].isna().all()
    age = frame[frame["analysis_id"] == "T1-AGE-MEDIAN"]
    assert "lower confidence limit" not in set(age["operation"])


def test_populations_datasets_filters_come_from_the_protocol(replica, frame):
    protocol = replica[0]
    hr = frame[frame["analysis_id"] == "PFS-COX-HR"].iloc[0]
    assert (hr["output_id"], hr["dataset"], hr["analysis_set"]) == ("T-EFF-PFS", "ADTTE", "ITT")
    assert 'PARAMCD = "PFS"' in hr["filter"]
    assert hr["method_id"] == "COX-STRATIFIED" and "stratified" in hr["method"]
    ae = frame[frame["output_id"] == "T-AE"]
    assert set(ae["analysis_set"]) == {"SAF"}
    assert set(ae["population"]) == {protocol.safety_population.text}
    orr = frame[frame["analysis_id"] == "ORR-PCT"]
    assert set(orr["method_id"]) == {"CLOPPER-PEARSON"} and set(orr["dataset"]) == {"ADRS"}


# ----------------------------------------------------------------- written values

def _significant(text: str) -> int:
    """Significant digits of a written number ("0.0789" has 3)."""
    return len(re.sub(r"e.*$", "", text).replace("-", "").replace(".", "").lstrip("0"))


def test_counts_are_integers_and_no_float_has_more_than_15_digits(ars, tmp_path):
    data = json.loads(ars.write_json(tmp_path / "ars.json").read_text(encoding="utf-8"))
    counts = [r for r in data if r["statistic"] in ("n", "N", "events", "randomised")]
    assert counts and all(isinstance(r["value"], int) for r in counts)
    floats = [r["value"] for r in data if isinstance(r["value"], float)]
    assert floats
    assert all(_significant(repr(x)) <= 15 for x in floats)
    with ars.write_csv(tmp_path / "ars.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(re.fullmatch(r"\d+", r["value"]) for r in rows if r["statistic"] in ("n", "N", "events"))
    assert max(_significant(r["value"]) for r in rows) <= 15
    assert max(_significant(r["value"]) for r in rows) > 6  # the raw value, not the printed one


def test_json_number_removes_float_noise():
    assert json_number(0.5000000000000002) == 0.5
    assert repr(json_number(0.1 + 0.2)) == "0.3"
    assert json_number(74.0, integer=True) == 74 and isinstance(json_number(74.0, integer=True), int)
    assert json_number(float("nan")) is None and json_number(math.inf) is None
    with pytest.raises(ValueError, match="integer"):
        json_number(2.5, integer=True)


def test_json_and_csv_round_trip(ars, tmp_path):
    assert json.loads(ars.write_json(tmp_path / "a.json").read_text(encoding="utf-8")) == ars.to_dict()
    with ars.write_csv(tmp_path / "a.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(ars)
    for row, record in zip(rows, ars.to_dict(), strict=True):
        for column in ARS_COLUMNS:
            value = record[column]
            if value is None:
                assert row[column] == ""
            elif isinstance(value, int | float):
                assert type(value)(json.loads(row[column])) == value
            else:
                assert row[column] == value


# ----------------------------------------------------------------- formatted = printed

def test_formatted_values_equal_the_printed_cells(replica, frame):
    protocol, _, analysis = replica
    content = report_content(analysis, protocol)
    section = next(s for s in content.endpoints if s.table is not None)
    endpoint, table = section.endpoint, section.table
    experimental = analysis.experimental
    column = 1 + list(analysis.arm_roles).index(experimental)
    hr_row = next(r for r in table.rows if r.cells[0].startswith("Hazard ratio"))
    ids = {"operation": "hazard ratio", "group1": experimental}
    hr = _record(frame, analysis_id=f"{endpoint}-COX-HR", **ids)["formatted"]
    low = _record(frame, analysis_id=f"{endpoint}-COX-HR", operation="lower confidence limit",
                  group1=experimental)["formatted"]
    high = _record(frame, analysis_id=f"{endpoint}-COX-HR", operation="upper confidence limit",
                   group1=experimental)["formatted"]
    assert hr_row.cells[column] == f"{hr} ({low}{DASH}{high})"

    median_row = next(r for r in table.rows if r.cells[0].startswith("Median"))
    parts = [_record(frame, analysis_id=f"{endpoint}-KM-MEDIAN", operation=op, group1=experimental)["formatted"]
             for op in ("median", "lower confidence limit", "upper confidence limit")]
    assert median_row.cells[column] == f"{parts[0]} ({parts[1]}{DASH}{parts[2]})"

    events_row = next(r for r in table.rows if r.cells[0].startswith("Events"))
    events = _record(frame, analysis_id=f"{endpoint}-EVENTS", group1=experimental)["formatted"]
    assert events_row.cells[column].startswith(f"{events} (")

    t1 = {r.cells[0]: r.cells for r in content.table1.rows if r.kind == "data"}
    female = frame[(frame["analysis_id"] == "T1-SEX-PCT") & (frame["group1"] == experimental)].iloc[0]
    n = _record(frame, analysis_id="T1-SEX-N", operation="count", group1=experimental,
                group2=female["group2"])["formatted"]
    printed = [cells[column] for label, cells in t1.items() if label.startswith(str(female["group2"])[:1])]
    assert f"{n} ({female['formatted']})" in printed or any(
        c.startswith(f"{n}/") and c.endswith(f"({female['formatted']})") for c in printed)


# ----------------------------------------------------------------- bad input

def test_bad_input_names_the_column(replica):
    protocol, _, analysis = replica
    with pytest.raises(ValueError, match="statistic"):
        ars_records(analysis.ard.drop(columns="statistic"), protocol)
    bad = analysis.ard.head(3).assign(table="nonsense")
    with pytest.raises(ValueError, match="table"):
        ars_records(bad, protocol)


# ----------------------------------------------------------------- figure builders

@pytest.fixture(scope="module")
def lms04() -> tuple[Protocol, TrialAnalysis, pd.DataFrame]:
    protocol, adam, analysis = _replica("lms04")
    return protocol, analysis, endpoint_data(validate_adam(adam, protocol), protocol, "PFS")


def test_forest_rows_map_to_ars_records(lms04):
    protocol, analysis, data = lms04
    subgroups = {k: v for k, v in protocol_subgroups(protocol).items() if spec_column(v) in data.columns}
    table = subgroup_hazard_ratios(data, time="TIME", event="EVENT", group="ARM", subgroups=subgroups,
                                   reference=analysis.control, convention=analysis.convention)
    rows = forest_ard_rows(table, "PFS")
    assert (rows["statistic"] == "p_interaction").sum() == table["subgroup"].dropna().nunique()
    assert (rows["statistic"] == "hazard_ratio").sum() == len(table)
    others = analysis.ard[analysis.ard["table"] != "forest"]  # the analysis's own subgroup records
    records = ars_records(pd.concat([others, rows], ignore_index=True), protocol).to_frame()
    forest = records[records["output_id"] == "F-FOREST-PFS"]
    hr = forest[(forest["analysis_id"] == "PFS-SUBGROUP-COX-HR") & (forest["operation"] == "hazard ratio")]
    assert len(hr) == len(table)
    assert np.allclose(hr["value"].astype(float), table["hr"].astype(float), equal_nan=True)
    assert set(forest.loc[forest["analysis_id"] == "PFS-SUBGROUP-INTERACTION-P", "method_id"]) == {
        "COX-LRT-INTERACTION"}


def test_risk_table_rows_are_integer_counts(lms04):
    protocol, analysis, data = lms04
    risk = risk_table(data, "TIME", "EVENT", "ARM", [0, 6, 12, 24], arm_order=list(analysis.arm_roles))
    rows = risk_table_ard_rows(risk, "PFS")
    assert len(rows) == 3 * len(risk)
    records = ars_records(pd.concat([analysis.ard, rows], ignore_index=True), protocol)
    km = [r for r in records.to_dict() if r["output_id"] == "F-KM-PFS"]
    assert len(km) == len(rows) and all(isinstance(r["value"], int) for r in km)
    at0 = [r["value"] for r in km if r["operation"] == "count at risk" and r["time"] == 0]
    assert sorted(at0) == sorted(int(n) for n in analysis.efficacy["PFS"].arms["n"])


def test_ph_test_rows(lms04):
    protocol, analysis, data = lms04
    fit = coxph(data, time="TIME", event="EVENT", covariates=["ARM"], categorical={"ARM": analysis.control},
                convention=analysis.convention)
    test = cox_zph(fit, "km", terms=False)
    term = coefficient_name("ARM", analysis.experimental)
    rows = ph_test_ard_rows(test, "PFS", {term: analysis.experimental})
    records = ars_records(pd.concat([analysis.ard, rows], ignore_index=True), protocol).to_frame()
    p = _record(records, analysis_id="PFS-PH-P", group1=analysis.experimental)
    assert math.isclose(p["value"], float(test.loc[term, "p"]), rel_tol=1e-12)
    assert p["output_id"] == "F-PH-PFS" and p["method_id"] == "COX-ZPH"
    assert _record(records, analysis_id="PFS-PH-DF", group1=analysis.experimental)["value"] == 1


def test_response_and_adverse_event_cells(replica, frame):
    protocol, _, analysis = replica
    content = report_content(analysis, protocol)
    arms = list(analysis.arm_roles)
    experimental = analysis.experimental
    column = 1 + arms.index(experimental)

    def text(analysis_id: str, operation: str, group1: str | None = experimental) -> str:
        return str(_record(frame, analysis_id=analysis_id, operation=operation, group1=group1)["formatted"])

    assert content.response is not None and content.adverse_events is not None
    orr = next(r.cells for r in content.response.rows if r.cells[0] == "ORR")
    assert orr[column] == (f"{text('ORR-N', 'count')} ({text('ORR-PCT', 'percentage')}) [95% CI "
                           f"{text('ORR-PCT', 'lower confidence limit')}{DASH}"
                           f"{text('ORR-PCT', 'upper confidence limit')}]")
    assert orr[1 + len(arms)] == (f"{text('ORR-DIFF', 'difference of proportions')} "
                                  f"({text('ORR-DIFF', 'lower confidence limit')}{DASH}"
                                  f"{text('ORR-DIFF', 'upper confidence limit')})")
    teae = next(r.cells for r in content.adverse_events.rows if r.cells[0] == "Any TEAE")
    assert teae[column] == f"{text('TEAE-TEAE-ANY-N', 'count')} ({text('TEAE-TEAE-ANY-PCT', 'percentage')})"
