"""Subgroup hazard ratios and the forest plot (tests/fixtures/r/forest.R)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.protocol import Protocol
from oncotrial.report.forest import (
    endpoint_subgroups,
    forest_figure,
    protocol_subgroups,
    subgroup_hazard_ratios,
    subgroup_levels,
)
from oncotrial.report.format import format_estimate

LMS04_SUBGROUPS = protocol_subgroups(Protocol.load("lms04"))
COLON_SUBGROUPS = {"sex": "sex", "age65": ("age", [65]), "obstruct": "obstruct"}
R_LEVELS = {"< 65": "< 65", ">= 65": "\u2265 65"}  # R's labels -> ours


@pytest.fixture(scope="module")
def colon() -> pd.DataFrame:
    """Deaths of the colon trial, observation vs levamisole + fluorouracil, in months."""
    d = load("colon")
    d = d[(d["etype"] == 2) & (d["rx"] != "Lev")].copy()
    d["months"] = d["time"] / 30.4375
    return d


@pytest.fixture(scope="module")
def adsl_like() -> pd.DataFrame:
    """A seeded LMS04-shaped data set: ADSL columns plus PFS in months (EVENT = CNSR == 0)."""
    rng = np.random.default_rng(20170101)
    n = 150
    arm = rng.permutation(np.repeat(["DOX", "DOXTRAB"], [76, 74]))
    stage = np.where(rng.random(n) < 0.12, "locally_advanced", "metastatic")
    nmets = np.where(stage == "metastatic", rng.integers(1, 6, n), 0)
    ecog = rng.choice([0.0, 1.0], n, p=[0.65, 0.35])
    ecog[rng.choice(n, 6, replace=False)] = np.nan
    hazard = np.log(2) / np.where(arm == "DOX", 6.0, 11.0)
    event_time = rng.exponential(1 / hazard)
    censor_time = rng.uniform(12, 60, n)
    return pd.DataFrame({
        "USUBJID": [f"LMS04-{i:03d}" for i in range(n)], "ARMCD": arm,
        "origin": np.where(rng.random(n) < 0.45, "uterine", "soft_tissue"), "stage": stage,
        "AGE": rng.integers(28, 82, n), "ECOG": ecog, "NMETS": nmets,
        "AVALM": np.minimum(event_time, censor_time), "EVENT": (event_time <= censor_time).astype(int),
    })


@pytest.mark.parametrize("model,adjust,strata", [("unadjusted", [], []), ("adjusted", ["node4"], []),
                                                 ("stratified", ["node4"], ["extent"])])
def test_subgroup_hazard_ratios_equal_r(colon, model, adjust, strata):
    ref = load_fixture("forest")[model]
    table = subgroup_hazard_ratios(colon, time="months", event="status", group="rx", reference="Obs",
                                   subgroups=COLON_SUBGROUPS, adjust=adjust, strata=strata)
    assert len(table) == len(ref["rows"]) == 7
    assert table.attrs["control"] == "Obs" and table.attrs["experimental"] == "Lev+5FU"
    for row, r in zip(table.to_dict("records"), ref["rows"]):
        assert (row["level"] if r["subgroup"] != "Overall" else "All patients") == R_LEVELS.get(r["level"], r["level"])
        assert (r["subgroup"] == "Overall") == pd.isna(row["subgroup"])
        what = f"{model} {r['subgroup']}={r['level']}"
        for col in ("n_control", "events_control", "n_experimental", "events_experimental"):
            assert row[col] == r[col], what
        assert_close([row["hr"], row["lower"], row["upper"]], [r["hr"], r["lower"], r["upper"]], what=what)
        assert_close([row["median_control"], row["median_experimental"]],
                     [r["median_control"], r["median_experimental"]], what=f"{what} medians")
        assert row["note"] == ""
    for name, r in ref["interaction"].items():
        p = table.loc[table["subgroup"] == name, "p_interaction"].unique()
        assert len(p) == 1
        assert_close(p, r["p"], what=f"{model} interaction {name}")


def test_levels_without_events_are_kept_with_a_note(colon):
    d = colon.copy()
    obs_censored = d.index[(d["rx"] == "Obs") & (d["status"] == 0)][:6]
    exp_events = d.index[(d["rx"] == "Lev+5FU") & (d["status"] == 1)][:6]
    d["cohort"] = "main"
    d.loc[obs_censored.union(exp_events), "cohort"] = "pilot"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a monotone likelihood becomes a note, not a warning
        table = subgroup_hazard_ratios(d, time="months", event="status", group="rx", reference="Obs",
                                       subgroups={"Cohort": "cohort",
                                                  "Sex": ("sex", {0: "Female", 1: "Male", 9: "Unknown"})})
    pilot = table[table["level"] == "pilot"].iloc[0]
    assert (pilot["n_control"], pilot["events_control"], pilot["events_experimental"]) == (6, 0, 6)
    assert np.isnan(pilot["hr"]) and np.isnan(pilot["lower"]) and np.isnan(pilot["upper"])
    assert pilot["note"] == "no events in Obs: HR not estimable"
    assert "did not converge" in pilot["interaction_note"]
    unknown = table[table["level"] == "Unknown"].iloc[0]
    assert unknown["n_control"] == unknown["n_experimental"] == 0 and np.isnan(unknown["hr"])
    assert unknown["note"] == "no patients in Obs and Lev+5FU: HR not estimable"
    assert np.isfinite(table.loc[table["subgroup"] == "Sex", "p_interaction"]).all()

    fig = forest_figure(table)
    texts = {t.get_gid(): t.get_text() for t in fig.texts if t.get_gid()}
    row = table.index.get_loc(table.index[table["level"] == "pilot"][0]) + 1  # + the Cohort heading
    assert texts[f"forest:hr:{row}"] == "NE"
    footer = "\n".join(t.get_text() for t in fig.texts)
    assert "NE: not estimable." in footer and "Cohort (pilot): no events in Obs: HR not estimable." in footer


def test_constant_adjustment_covariate_is_dropped_with_a_note(colon):
    table = subgroup_hazard_ratios(colon, time="months", event="status", group="rx", reference="Obs",
                                   subgroups={"Nodes > 4": "node4"}, adjust=["node4", "sex"])
    levels = table[table["subgroup"] == "Nodes > 4"]
    assert (levels["note"] == "adjustment for node4 dropped (constant in this subgroup)").all()
    assert table.loc[table["subgroup"].isna(), "note"].item() == ""
    assert np.isfinite(levels["hr"]).all() and np.isfinite(levels["p_interaction"]).all()


def test_subgroup_on_a_stratification_column(colon):
    table = subgroup_hazard_ratios(colon, time="months", event="status", group="rx", reference="Obs",
                                   subgroups={"Sex": ("sex", {0: "Female", 1: "Male"})}, strata=["sex"])
    assert np.isfinite(table["p_interaction"].iloc[1:]).all()
    assert table["level"].tolist() == ["All patients", "Female", "Male"]


def test_lms04_subgroups_on_adsl_columns(adsl_like):
    table = subgroup_hazard_ratios(adsl_like, time="AVALM", event="EVENT", group="ARMCD", reference="DOX",
                                   subgroups=LMS04_SUBGROUPS, strata=["origin", "stage"])
    assert table["subgroup"].dropna().unique().tolist() == list(LMS04_SUBGROUPS)
    assert table["level"].tolist() == ["All patients", "Uterine", "Soft tissue", "Locally advanced", "Metastatic",
                                       "< 65", "\u2265 65", "0", "1", "1", "\u2265 2"]
    n = table["n_control"] + table["n_experimental"]
    assert n.iloc[0] == 150 and n.iloc[1] + n.iloc[2] == 150 and n.iloc[5] + n.iloc[6] == 150
    assert n.iloc[7] + n.iloc[8] == 144  # 6 without ECOG
    metastatic = (adsl_like["stage"] == "metastatic").sum()
    assert n.iloc[9] + n.iloc[10] == metastatic  # no metastases: not in the 1 / >= 2 comparison
    notes = table.groupby("subgroup", sort=False)["interaction_note"].first()
    assert notes["ECOG performance status"].startswith(
        "6 patients not in any level of ECOG performance status (not recorded or not applicable)")
    assert notes["No. of metastases"].startswith(f"{150 - metastatic} patients not in any level of No. of metastases")
    assert not any("missing" in str(note).lower() for note in table["interaction_note"])
    assert np.isfinite(table["hr"]).all() and np.isfinite(table["p_interaction"].iloc[1:]).all()


def test_forest_figure_prints_the_table(adsl_like, tmp_path):
    table = subgroup_hazard_ratios(adsl_like, time="AVALM", event="EVENT", group="ARMCD", reference="DOX",
                                   subgroups=LMS04_SUBGROUPS)
    fig = forest_figure(table, control_label="Doxorubicin", experimental_label="Doxorubicin + trabectedin",
                        xlim=(0.2, 2.0), overall_hr=0.41, title="Progression-free survival", path=tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    texts = {t.get_gid(): t.get_text() for t in fig.texts if t.get_gid()}
    rows = [None]  # the all-patients row, then per subgroup a heading and its levels
    for name, block in table.iloc[1:].groupby("subgroup", sort=False):
        rows += [name] + list(block.index)
    for i, key in enumerate(rows):
        if isinstance(key, str):
            p = table.loc[table["subgroup"] == key, "p_interaction"].iloc[0]
            assert texts[f"forest:label:{i}"] == key
            assert texts[f"forest:p_interaction:{i}"] in (f"{p:.2f}", f"{p:.3f}", "<0.001")
            continue
        r = table.iloc[0] if key is None else table.loc[key]
        assert texts[f"forest:label:{i}"] == r["level"]
        printed = format_estimate(r["hr"], r["lower"], r["upper"], 2) if np.isfinite(r["hr"]) else "NE"
        assert texts[f"forest:hr:{i}"] == printed
        assert texts[f"forest:control:{i}"] == f"{r['events_control']}/{r['n_control']}"
        assert texts[f"forest:experimental:{i}"] == f"{r['events_experimental']}/{r['n_experimental']}"
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlim() == pytest.approx((0.2, 2.0))
    lines = ax.get_lines()
    assert any(np.allclose(line.get_xdata(), [0.41, 0.41]) and line.get_linestyle() == "--" for line in lines)
    assert any(np.allclose(line.get_xdata(), [1, 1]) and line.get_linestyle() == "-" for line in lines)
    clipped = ((table["lower"] < 0.2) | (table["upper"] > 2.0)).sum()
    arrows = [line for line in lines if line.get_marker() in ("<", ">")]
    assert clipped > 0 and len(arrows) >= clipped
    sizes = np.concatenate([c.get_sizes() for c in ax.collections])
    events = (table["events_control"] + table["events_experimental"]).iloc[1:]
    shown = events[(table["hr"].iloc[1:] >= 0.2) & (table["hr"].iloc[1:] <= 2.0)]
    assert np.allclose(np.sort(sizes), np.sort(12 + 110 * shown / events.max()))  # area proportional to events
    all_text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))
    assert "Favours Doxorubicin + trabectedin" in all_text and "Favours Doxorubicin \u2192" in all_text


def test_subgroup_spec_errors(colon):
    base = {"time": "months", "event": "status", "group": "rx", "reference": "Obs"}
    with pytest.raises(InputError, match=r"subgroups\['Site'\]: column 'site' not in data; expected a subgroup column"):
        subgroup_hazard_ratios(colon, subgroups={"Site": "site"}, **base)
    with pytest.raises(InputError, match=r"subgroups\['Age'\]: expected a mapping, a function or increasing cut"):
        subgroup_hazard_ratios(colon, subgroups={"Age": ("age", [70, 65])}, **base)
    with pytest.raises(InputError, match=r"subgroups\['Age'\]: expected a column name or"):
        subgroup_hazard_ratios(colon, subgroups={"Age": 65}, **base)
    with pytest.raises(InputError, match=r"subgroups\['Arm'\]: cut points need a numeric column; 'rx'"):
        subgroup_hazard_ratios(colon, subgroups={"Arm": ("rx", [1])}, **base)
    with pytest.raises(InputError, match=r"adjust: column 'ecog' not in data; expected a covariate column"):
        subgroup_hazard_ratios(colon, subgroups=COLON_SUBGROUPS, adjust=["ecog"], **base)
    with pytest.raises(InputError, match=r"time: column 'AVALM' not in data; expected follow-up times"):
        subgroup_hazard_ratios(colon, time="AVALM", event="status", group="rx", subgroups=COLON_SUBGROUPS)


def test_arm_errors(colon):
    with pytest.raises(InputError, match=r"rx: expected at least 2 distinct levels"):
        subgroup_hazard_ratios(colon[colon["rx"] == "Obs"], time="months", event="status", group="rx",
                               subgroups=COLON_SUBGROUPS)
    three = load("colon")
    three = three[three["etype"] == 2]
    with pytest.raises(InputError, match=r"group: column 'rx' has 3 arms .* expected exactly two"):
        subgroup_hazard_ratios(three, time="time", event="status", group="rx", subgroups=COLON_SUBGROUPS)


def test_figure_input_errors(colon):
    with pytest.raises(InputError, match=r"table: columns \['hr', 'lower', 'upper'\] missing"):
        forest_figure(pd.DataFrame(columns=["subgroup", "level", "n_control", "events_control", "n_experimental",
                                            "events_experimental"]))
    table = subgroup_hazard_ratios(colon, time="months", event="status", group="rx", reference="Obs",
                                   subgroups={"Sex": "sex"})
    with pytest.raises(InputError, match=r"xlim: expected 0 < lower < 1 < upper"):
        forest_figure(table, xlim=(1.5, 3))


def test_levels_of_a_plain_column_are_sorted_and_integers_print_without_decimals():
    d = pd.DataFrame({"ecog": [1.0, 0.0, np.nan, 1.0]})
    column, levels, order = subgroup_levels(d, "ECOG", "ecog")
    assert column == "ecog" and order == ["0", "1"]
    assert levels.tolist()[:2] == ["1", "0"] and pd.isna(levels.iloc[2])


def test_an_end_point_names_its_subgroups():
    """The names an end point's analysis gives (stratification factors here, the example
    protocol having no ``reporting.subgroups``), by printed label in that order; all the
    protocol's subgroups when it names none; a name that is no subgroup is returned apart."""
    protocol = Protocol.load("gastric_example")
    every = protocol_subgroups(protocol)
    chosen, unknown = endpoint_subgroups(protocol, ["pd_l1_cps_class", "region"])
    assert list(chosen) == ["PD-L1 combined positive score", "Region"] and unknown == []
    assert chosen["Region"] == every["Region"]
    assert endpoint_subgroups(protocol, []) == (every, [])
    assert endpoint_subgroups(protocol, ["Region", "sex"]) == ({"Region": every["Region"]}, ["sex"])


def test_footnotes_say_not_recorded_or_not_applicable(adsl_like):
    """Patients outside a subset (no ECOG recorded, no metastases to count) are footnoted as
    not recorded or not applicable, never as "missing"."""
    table = subgroup_hazard_ratios(adsl_like, time="AVALM", event="EVENT", group="ARMCD", reference="DOX",
                                   subgroups=LMS04_SUBGROUPS)
    fig = forest_figure(table, show_interaction=True)
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text()]
    joined = "\n".join(texts).replace("\n", " ")
    assert "not recorded or not applicable" in joined
    assert "missing" not in joined.lower()
