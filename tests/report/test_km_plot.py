"""Kaplan–Meier figure and numbers-at-risk table (tests/fixtures/r/km_risk_table.R)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from conftest import assert_close, load_fixture
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.offsetbox import AnchoredOffsetbox

from oncotrial.core.errors import InputError
from oncotrial.datasets import load
from oncotrial.report.km_plot import km_figure, risk_table, save_figure
from oncotrial.stats import coxph, kaplan_meier, logrank_test


@pytest.fixture(scope="module")
def colon() -> pd.DataFrame:
    """Deaths of the colon trial, observation vs levamisole + fluorouracil, in months."""
    d = load("colon")
    d = d[(d["etype"] == 2) & (d["rx"] != "Lev")].copy()
    d["months"] = d["time"] / 30.4375
    return d


def _fixture_data(ref: dict) -> pd.DataFrame:
    d = load(ref["dataset"])
    if ref["dataset"] == "colon":
        d = d[d["etype"] == 2].copy()
        d["months"] = d["time"] / 30.4375
    return d


@pytest.mark.parametrize("case", ["colon_days", "colon_months", "veteran"])
def test_risk_table_equals_r_summary(case):
    ref = load_fixture("km_risk_table")[case]
    d = _fixture_data(ref)
    table = risk_table(d, ref["time_column"], "status", ref["group"], ref["times"])
    assert [str(a) for a in table["arm"]] == ref["arm"]
    assert_close(table["time"], ref["time"], what="time")
    for column in ("at_risk", "events", "censored"):
        assert_close(table[column], ref[column], what=f"{case} {column}")


def test_risk_table_equals_kaplan_meier(colon):
    times = np.arange(0, 109, 6.0)
    table = risk_table(colon, "months", "status", "rx", times)
    for arm, rows in table.groupby("arm"):
        sub = colon[colon["rx"] == arm]
        km = kaplan_meier(sub["months"], sub["status"])
        assert np.array_equal(rows["at_risk"], km.survival_at(times)["n_risk"])
        tab = km.table
        expected_events = [tab.loc[tab["time"] <= t, "n_event"].sum() for t in times]
        expected_censored = [tab.loc[tab["time"] <= t, "n_censor"].sum() for t in times]
        assert rows["events"].tolist() == expected_events
        assert rows["censored"].tolist() == expected_censored


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.booleans(), st.sampled_from(["A", "B"])), min_size=2, max_size=40),
       st.lists(st.integers(0, 70), min_size=1, max_size=8, unique=True))
def test_risk_counts_properties(rows, times):
    d = pd.DataFrame(rows, columns=["t", "e", "arm"]).astype({"e": int})
    if d["arm"].nunique() < 2:
        d.loc[0, "arm"], d.loc[1, "arm"] = "A", "B"
    times = sorted(times)
    table = risk_table(d, "t", "e", "arm", [0, *times])
    for arm, block in table.groupby("arm"):
        sub = d[d["arm"] == arm]
        assert block["at_risk"].iloc[0] == len(sub)  # everyone is at risk at time 0
        assert (np.diff(block["at_risk"]) <= 0).all()  # non-increasing
        assert (np.diff(block["events"]) >= 0).all() and (np.diff(block["censored"]) >= 0).all()
        for t, at_risk, ev, cens in block[["time", "at_risk", "events", "censored"]].itertuples(index=False):
            assert at_risk == (sub["t"] >= t).sum()
            assert ev == ((sub["t"] <= t) & (sub["e"] == 1)).sum()
            assert cens == ((sub["t"] <= t) & (sub["e"] == 0)).sum()


def _risk_texts(fig) -> dict[tuple[str, str, float], object]:
    return {(g.split(":")[1], g.split(":")[2], float(g.split(":")[3])): t
            for t in fig.axes[1].texts if (g := t.get_gid() or "").startswith("risk:")}


def test_printed_numbers_are_the_risk_table(colon):
    times = list(range(0, 109, 12))
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", risk_times=times,
                    risk_table=("at_risk", "events", "censored"))
    printed = _risk_texts(fig)
    table = risk_table(colon, "months", "status", "rx", times)
    assert len(printed) == 3 * len(table)
    for row in table.itertuples(index=False):
        for stat in ("at_risk", "events", "censored"):
            text = printed[(stat, row.arm, float(row.time))]
            assert text.get_text() == str(getattr(row, stat))
            assert text.get_position() == (row.time, text.get_position()[1])
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels[:3] == ["No. at risk", "Obs", "Lev+5FU"]  # reference arm first
    assert "Cumulative no. of events" in labels and "Cumulative no. censored" in labels


@pytest.mark.parametrize("figsize", [(4.5, 4.0), (7.0, 5.5), (12.0, 8.0)])
def test_numbers_stay_under_their_ticks_at_any_size(colon, figsize):
    times = list(range(0, 109, 12))
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", risk_times=times,
                    figsize=figsize, show_hr=False, show_p=False)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    ax, ax_table = fig.axes[:2]
    assert ax_table.get_shared_x_axes().joined(ax, ax_table)
    tick_x = {float(t): ax.transData.transform((t, 0))[0] for t in ax.get_xticks()}
    assert sorted(tick_x) == times
    for (_, _, t), text in _risk_texts(fig).items():
        box = text.get_window_extent(renderer)
        assert abs((box.x0 + box.x1) / 2 - tick_x[t]) < 1.0  # within a pixel of its tick
    rows = sorted({round(t.get_window_extent(renderer).y0, 3) for t in _risk_texts(fig).values()})
    assert len(rows) == 6  # one line per arm and statistic (at risk, events, censored), no overlap


@pytest.mark.parametrize("legend_loc", ["above", "auto"])
def test_key_never_covers_a_curve(colon, legend_loc):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", ci=True,
                    risk_times=range(0, 109, 12), legend_loc=legend_loc)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = [a for a in ax.artists if isinstance(a, AnchoredOffsetbox)]
    assert boxes
    curve_points = np.concatenate([line.get_xydata() for line in ax.lines if len(line.get_xydata())])
    display = ax.transData.transform(curve_points)
    for box in boxes:
        assert not box.get_window_extent(renderer).count_contains(display)


def test_annotations_are_computed_like_the_efficacy_table(colon):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs",
                    strata=["extent"], adjust=["node4"], risk_times=range(0, 109, 12))
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    cox = coxph(colon, time="months", event="status", covariates=["rx", "node4"], strata=["extent"],
                categorical={"rx": "Obs"})
    hr = cox.coef_table.loc["rx[Lev+5FU]"]
    assert f"Hazard ratio, {hr['hr']:.2f} (95% CI, {hr['lower']:.2f}\u2013{hr['upper']:.2f})" in text
    assert "Cox model adjusted for node4; stratified by extent" in text
    p = logrank_test(colon["months"], colon["status"], colon["rx"], strata=colon[["extent"]]).p
    assert f"Stratified log-rank P = {p:.3f}" in text
    obs = colon[colon["rx"] == "Obs"]
    med = kaplan_meier(obs["months"], obs["status"]).median()
    assert f"Obs: {med.estimate:.1f} ({med.lower:.1f}\u2013{med.upper:.1f})" in text
    assert "Lev+5FU: NR" in text  # median not reached


def test_given_hazard_ratio_and_p_are_printed(colon):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs",
                    hazard_ratio=(0.41, 0.29, 0.58), p=0.0004, p_label="Stratified log-rank",
                    convention="sas", ci=True, y_scale="percent")
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    assert "Hazard ratio, 0.41 (95% CI, 0.29\u20130.58)" in text
    assert "Stratified log-rank P<0.001" in text
    assert "Pointwise 95% CI (log-log)" in text  # the SAS band
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()][-1] == "100%"


def test_every_format_is_written_and_valid(colon, tmp_path):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", title="Overall survival")
    paths = save_figure(fig, tmp_path / "km")
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    png, svg, pdf = (p.read_bytes() for p in paths)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert ET.fromstring(svg).tag.endswith("svg")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1_000
    single = tmp_path / "sub" / "km.pdf"
    km_figure(colon, time="months", event="status", group="rx", reference="Obs", path=single)
    assert single.read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("kwargs,match", [
    ({"time": "AVALM"}, r"time: column 'AVALM' not in data; expected follow-up times"),
    ({"group": "ARM"}, r"group: column 'ARM' not in data; expected the arm of each patient"),
    ({"event": "CNSR"}, r"event: 'CNSR' is the ADaM censoring flag"),
    ({"strata": ["site"]}, r"strata: column 'site' not in data; expected a stratification column"),
    ({"risk_table": ("at_risk", "deaths")}, r"risk_table: unknown row\(s\) \['deaths'\]"),
    ({"reference": "Placebo"}, r"reference: level 'Placebo' not found in column 'rx'"),
    ({"conf_type": "logit"}, r"conf_type: expected one of"),
])
def test_bad_input_names_the_column(colon, kwargs, match):
    args = {"time": "months", "event": "status", "group": "rx"} | kwargs
    with pytest.raises(InputError, match=match):
        km_figure(colon, **args)


def test_one_arm_and_bad_files_are_refused(colon, tmp_path):
    one_arm = colon[colon["rx"] == "Obs"]
    with pytest.raises(InputError, match=r"rx: expected at least 2 distinct levels"):
        km_figure(one_arm, time="months", event="status", group="rx")
    with pytest.raises(InputError, match=r"rx: expected at least 2 distinct levels"):
        risk_table(one_arm, "months", "status", "rx", [0, 12])
    with pytest.raises(InputError, match=r"times: expected one or more finite times >= 0"):
        risk_table(colon, "months", "status", "rx", [-1, 12])
    with pytest.raises(InputError, match=r"path: unsupported file type '\.jpg'"):
        km_figure(colon, time="months", event="status", group="rx", path=tmp_path / "km.jpg")
    with pytest.raises(InputError, match=r"formats: unsupported format 'eps'"):
        save_figure(km_figure(colon, time="months", event="status", group="rx"), tmp_path / "km", formats=["eps"])


def test_three_arms_need_hazard_ratios_per_arm():
    d = load("colon")
    d = d[d["etype"] == 2]
    with pytest.raises(InputError, match=r"hazard_ratio: a single \(hr, lower, upper\) needs two arms"):
        km_figure(d, time="time", event="status", group="rx", hazard_ratio=(0.7, 0.5, 0.9))
    fig = km_figure(d, time="time", event="status", group="rx", reference="Obs", time_unit="days",
                    hazard_ratio={"Lev": (0.97, 0.78, 1.21), "Lev+5FU": (0.69, 0.55, 0.87)},
                    arm_order=["Obs", "Lev+5FU", "Lev"])
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    assert "Hazard ratio (Lev+5FU vs Obs), 0.69 (95% CI, 0.55\u20130.87)" in text
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()][:4] == ["No. at risk", "Obs", "Lev+5FU", "Lev"]


def test_three_arms_print_a_p_value_per_comparison():
    """Pairwise P values against the reference, in the arms' order, labelled as given."""
    d = load("colon")
    d = d[d["etype"] == 2]
    fig = km_figure(d, time="time", event="status", group="rx", reference="Obs", time_unit="days",
                    hazard_ratio={"Lev": (0.97, 0.78, 1.21), "Lev+5FU": (0.69, 0.55, 0.87)},
                    p={"Lev": 0.4024, "Lev+5FU": 0.0004}, p_label="Stratified log-rank (one-sided)")
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    assert "Stratified log-rank (one-sided) P (Lev vs Obs) = 0.402" in text
    assert "Stratified log-rank (one-sided) P (Lev+5FU vs Obs) <0.001" in text
    quiet = km_figure(d, time="time", event="status", group="rx", reference="Obs", time_unit="days",
                      hazard_ratio={"Lev": (0.97, 0.78, 1.21), "Lev+5FU": (0.69, 0.55, 0.87)}, show_p=False)
    assert not any(" P " in t.get_text() or t.get_text().endswith(" P")
                   for t in quiet.findobj(lambda a: hasattr(a, "get_text")))


def test_numeric_arm_codes(tmp_path):
    """Arms coded 1/2 (veteran ``trt``) print and compare like text arms."""
    d = load("veteran")
    fig = km_figure(d, time="time", event="status", group="trt", time_unit="days",
                    arm_labels={1: "Standard", 2: "Test"})
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    hr = coxph(d, time="time", event="status", covariates=["trt"], categorical={"trt": 1}).coef_table.iloc[0]
    assert f"Hazard ratio, {hr['hr']:.2f}" in text
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()][:3] == ["No. at risk", "Standard", "Test"]


# ----------------------------------------------------------------------------- publication defaults
def test_default_risk_table_is_kmunicate_and_adds_up(colon):
    """At risk (time >= t), cumulative events and censored (time <= t) per arm, computed
    directly from the patients; with no follow-up time on a tick they add up to the arm's N."""
    times = list(range(0, 109, 12))
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", risk_times=times)
    printed = _risk_texts(fig)
    for arm, block in colon.groupby("rx", observed=True):
        t, e = block["months"].to_numpy(), block["status"].to_numpy()
        assert not np.isin(t, times).any()
        for tick in times:
            at_risk = int((t >= tick).sum())
            events = int(((t <= tick) & (e == 1)).sum())
            censored = int(((t <= tick) & (e == 0)).sum())
            assert at_risk + events + censored == len(block)
            assert [printed[(s, arm, float(tick))].get_text() for s in ("at_risk", "events", "censored")] == \
                [str(at_risk), str(events), str(censored)]


def test_y_axis_is_percent(colon):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs")
    fig.draw_without_rendering()
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["0%", "20%", "40%", "60%", "80%", "100%"]


def test_ci_bands_on_by_default_and_off_on_request(colon):
    def bands(fig):
        return [a for a in fig.axes[0].collections if str(a.get_gid()).startswith("km:band:")]

    assert {b.get_gid() for b in bands(km_figure(colon, time="months", event="status", group="rx",
                                                 reference="Obs"))} == {"km:band:Obs", "km:band:Lev+5FU"}
    assert bands(km_figure(colon, time="months", event="status", group="rx", reference="Obs", ci=False)) == []


def _direct_tail_start(times: np.ndarray, fraction: float) -> float:
    """The first observed time after which fewer than ``fraction`` of the patients remain."""
    for u in sorted(set(times.tolist())):
        if (times > u).sum() < fraction * times.size:
            return float(u)
    raise AssertionError("unreachable: nobody remains after the last time")


@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_curves_are_dashed_where_few_remain_at_risk(colon, fraction):
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs", tail_fraction=fraction)
    lines = {line.get_gid(): line for line in fig.axes[0].lines if line.get_gid()}
    for arm, block in colon.groupby("rx", observed=True):
        cut = _direct_tail_start(block["months"].to_numpy(), fraction)
        solid, tail = lines[f"km:curve:{arm}"], lines[f"km:tail:{arm}"]
        assert float(np.max(solid.get_xdata())) == pytest.approx(cut)
        assert float(np.min(tail.get_xdata())) == pytest.approx(cut)
        assert float(np.max(tail.get_xdata())) == pytest.approx(block["months"].max())
        assert tail.get_linestyle() != "-"
        band = next(c for c in fig.axes[0].collections if c.get_gid() == f"km:band:{arm}")
        assert band.get_paths()[0].vertices[:, 0].max() <= cut + 1e-9  # no band over the tail
    text = "\n".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    assert f"fewer than {round(100 * fraction)}% of the arm at risk" in text
    whole = km_figure(colon, time="months", event="status", group="rx", reference="Obs", tail_fraction=None)
    assert not any(str(line.get_gid()).startswith("km:tail:") for line in whole.axes[0].lines)
    with pytest.raises(InputError, match=r"tail_fraction: expected a fraction between 0 and 1"):
        km_figure(colon, time="months", event="status", group="rx", tail_fraction=10)


def test_long_arm_label_is_not_clipped(colon, recwarn):
    long = "Experimental arm: a long combination regimen given every three weeks until progression"
    fig = km_figure(colon, time="months", event="status", group="rx", reference="Obs",
                    arm_labels={"Lev+5FU": long})
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[1].get_yticklabels() if t.get_text()]
    assert long in [t.get_text() for t in labels]
    for text in labels + [a for a in fig.axes[0].artists if isinstance(a, AnchoredOffsetbox)]:
        box = text.get_window_extent(renderer)
        assert box.x0 >= fig.bbox.x0 and box.x1 <= fig.bbox.x1 and box.y0 >= fig.bbox.y0 and box.y1 <= fig.bbox.y1
    assert not [w for w in recwarn if "constrained_layout not applied" in str(w.message)]


def test_key_is_in_the_same_place_in_every_figure(colon):
    """The key sits above the plot at its left edge whatever the curves."""
    for data in (colon, colon.assign(months=colon["months"] / 3)):
        fig = km_figure(data, time="months", event="status", group="rx", reference="Obs")
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        ax = fig.axes[0]
        (box,) = [a for a in ax.artists if isinstance(a, AnchoredOffsetbox)]
        extent, axes_box = box.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert extent.y0 >= axes_box.y1 - 1
        assert abs(extent.x0 - axes_box.x0) < 8
