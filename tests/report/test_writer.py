"""build_report: every file written, the progress it reports, and outputs whose inputs are
missing (ADAE, end points, a subgroup column) skipped with a message."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from docx import Document

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.writer import FIGURE_FORMATS, build_report, figure_formats
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
MAIN_FILES = {"report.html", "report.docx", "lay_summary.md", "lay_summary.html", "ard.json", "ard.csv", "ars.json",
              "ars.csv", "messages.txt"}


@pytest.fixture(scope="module")
def adam() -> AdamData:
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def full(adam, tmp_path_factory):
    """The full report, and the progress calls made while writing it."""
    calls: list[tuple[str, int, int]] = []
    out = tmp_path_factory.mktemp("full")
    paths = build_report(adam, "lms04", out, progress=lambda step, done, total: calls.append((step, done, total)))
    return out, paths, calls


@pytest.fixture(scope="module")
def reduced(adam, tmp_path_factory):
    """A report without ADAE, with the primary end point only and without ADSL.NMETS."""
    data = AdamData(adam.adsl.drop(columns=["NMETS"]), adam.adtte[adam.adtte["PARAMCD"] == "PFS"], adam.adrs,
                    None)
    return build_report(data, LMS04, tmp_path_factory.mktemp("reduced"))


def test_every_file_is_written(full):
    """By default the figures are PNG only: the reports embed them, other formats are asked for."""
    out, paths, _ = full
    figures = {f"figures/{kind}_{e}.png" for kind in ("km", "ph", "forest") for e in ("pfs", "os", "pfs2")}
    assert set(paths) == MAIN_FILES | figures | {"figures/consort.png"}
    assert sorted(p.name for p in (out / "figures").iterdir()) == sorted(k.split("/")[1] for k in paths
                                                                         if k.startswith("figures/"))
    for key, path in paths.items():
        assert path == out / key and path.is_file() and path.stat().st_size > 0, key
        if key.startswith("figures/"):
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", key


def test_figure_formats_are_checked_and_always_hold_png():
    assert figure_formats(["svg"]) == ("png", "svg")
    assert figure_formats("PDF, png,svg") == FIGURE_FORMATS == figure_formats([".pdf", "svg", "png", "svg"])
    assert figure_formats(()) == ("png",)
    for bad in ("png,gif", "png,", ["eps"]):
        with pytest.raises(InputError, match="formats: unknown figure format.*expected a comma-separated list of "
                                             "png, svg, pdf") as caught:
            figure_formats(bad)
        assert caught.value.field == "formats"


def test_a_bad_format_writes_nothing(adam, tmp_path):
    with pytest.raises(InputError, match="'tiff'"):
        build_report(adam, LMS04, tmp_path / "out", formats=("png", "tiff"))
    assert not (tmp_path / "out").exists()


def test_ard_files_hold_every_record(full, adam):
    _, paths, _ = full
    records = json.loads(paths["ard.json"].read_text(encoding="utf-8"))
    table = pd.read_csv(paths["ard.csv"])
    assert len(records) == len(table) > 500
    assert list(table.columns) == ["table", "endpoint", "arm", "subgroup", "statistic", "value", "lower", "upper",
                                   "time", "method"]
    pfs_hr = [r for r in records if r["table"] == "efficacy" and r["endpoint"] == "PFS"
              and r["statistic"] == "hazard_ratio"]
    assert len(pfs_hr) == 1 and 0 < pfs_hr[0]["value"] < 1


def test_ard_holds_the_numbers_of_figures_and_safety_tables(full, adam):
    """Every number the report prints is a record: the KM risk tables (equal to
    km_plot.risk_table at the figure's ticks), the PH tests, each safety table."""
    from oncotrial.report.km_plot import default_risk_times, risk_table
    from oncotrial.report.writer import endpoint_data

    _, paths, _ = full
    ard = pd.read_csv(paths["ard.csv"])
    assert {"km_risk", "ph_test", "safety", "events", "dor", "forest", "adverse_reactions"} <= set(ard["table"])
    data = endpoint_data(adam, LMS04, "OS")
    ticks = default_risk_times(float(data["TIME"].max()), "months")
    arms = ["Doxorubicin", "Doxorubicin + trabectedin"]
    expected = risk_table(data, "TIME", "EVENT", "ARM", ticks, arm_order=arms, convention="sas")
    got = ard[(ard["table"] == "km_risk") & (ard["endpoint"] == "OS") & (ard["statistic"] == "at_risk")]
    assert got["value"].tolist() == expected["at_risk"].astype(float).tolist()
    assert got["time"].tolist() == expected["time"].tolist()
    ph = ard[(ard["table"] == "ph_test") & (ard["statistic"] == "ph_p")]
    assert set(ph["endpoint"]) == {"PFS", "OS", "PFS2"} and ph["value"].between(0, 1).all()
    safety = ard[ard["table"] == "safety"]
    assert {"safety-overview", "safety-teae", "safety-deaths", "safety-exposure"} <= set(safety["endpoint"])
    shares = safety[safety["statistic"] == "n_percent"]["value"]
    assert shares.between(0, 1).all() and not shares.empty


def test_safety_tables_replace_the_overview_and_consort_is_a_figure(full):
    _, paths, _ = full
    html = paths["report.html"].read_text(encoding="utf-8")
    assert 'id="adverse-events"' not in html and 'id="safety-teae"' in html and 'id="safety-deaths"' in html
    assert "Patient flow" in html and html.count("data:image/png;base64") == 10  # CONSORT + 3 × (KM, PH, forest)
    document = Document(str(paths["report.docx"]))
    assert len(document.inline_shapes) == 10
    assert len(document.tables) == html.count('<table class="data"')
    assert "Numbers are rounded half up (SAS ROUND)" in html


def test_the_unprinted_overview_keeps_only_what_the_lay_summary_prints(full):
    """The safety tables replace the adverse-event overview: its records stay in the ARD only
    where a lay-summary number is traced to them, and the ARS files them under the lay
    summary's output."""
    _, paths, _ = full
    records = json.loads(paths["ard.json"].read_text(encoding="utf-8"))
    overview = [r for r in records if r["table"] == "adverse_events"]
    markdown = paths["lay_summary.md"].read_text(encoding="utf-8")
    assert overview and "Severe side effects happened to" in markdown
    ars = json.loads(paths["ars.json"].read_text(encoding="utf-8"))
    outputs = {r["output_id"] for r in ars}
    assert "T-AE" not in outputs and "T-LAY" in outputs
    rows = {r["ard_row"] for r in ars if r["output_id"] == "T-LAY"}
    assert {i for i, r in enumerate(records) if r["table"] == "adverse_events"} <= rows
    grade34 = [r for r in overview if r["statistic"] == "grade34_any"]
    assert {r["arm"] for r in grade34} == {"Doxorubicin", "Doxorubicin + trabectedin"}
    assert len(overview) < 40  # not the whole by-term overview (hundreds of records)


def test_progress_counts_every_step(full):
    _, _, calls = full
    totals = {total for _, _, total in calls}
    assert totals == {14}  # 5 fixed steps + 3 figures for each of PFS, OS, PFS2
    done = [d for _, d, _ in calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == 14
    assert any("Forest plot, OS" in step for step, _, _ in calls)


def test_missing_inputs_skip_outputs_with_a_message(reduced):
    paths = reduced
    messages = paths["messages.txt"].read_text(encoding="utf-8").splitlines()
    for expected in ("ADAE not supplied: adverse-event table skipped",
                     "OS: no ADTTE records (PARAMCD 'OS' absent); efficacy table skipped",
                     "PFS: forest plot without subgroups No. of metastases (ADSL has no NMETS)",
                     "Table 1: Number of metastases left out (ADSL has no NMETS)"):
        assert expected in messages, expected
    assert {p for p in paths if p.startswith("figures/") and not p.startswith("figures/consort.")} == {
        f"figures/{kind}_pfs.png" for kind in ("km", "ph", "forest")}
    html = paths["report.html"].read_text(encoding="utf-8")
    assert 'id="adverse-events"' not in html and 'id="efficacy-os"' not in html
    assert html.count("ADAE not supplied: adverse-event table skipped") == 2  # its section and the notes
    # the Word report holds every table of the HTML one
    assert len(Document(str(paths["report.docx"])).tables) == html.count('<table class="data"')
    lay = paths["lay_summary.md"].read_text(encoding="utf-8")
    assert "This summary has no information on side effects." in lay
    assert "The trial also looked at how long people lived" not in lay


# ----------------------------------------------------------------------------- figure captions
@pytest.fixture(scope="module")
def drawn(adam, tmp_path_factory):
    """The figures of the LMS04 replica, drawn as the report draws them, in every format, by
    two worker processes (whatever the load of the machine)."""
    from oncotrial.report.analysis import analyse
    from oncotrial.report.writer import draw_figures

    analysis = analyse(adam, LMS04)
    figures, _ = draw_figures(adam, analysis, LMS04, tmp_path_factory.mktemp("figures"), formats=FIGURE_FORMATS,
                              workers=2)
    return analysis, figures


def test_figures_are_written_in_every_format_asked_for(drawn):
    _, figures = drawn
    assert len(figures) == 9
    for figure in figures:
        assert list(figure.paths) == ["png", "svg", "pdf"], figure.key
        assert figure.paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in figure.paths["svg"].read_bytes()[:2000]
        assert figure.paths["pdf"].read_bytes().startswith(b"%PDF")


def test_captions_describe_the_figures_and_follow_the_ph_test(drawn, adam):
    from oncotrial.report.ph_plot import ph_test_sentence, schoenfeld_p_values
    from oncotrial.report.tables import endpoint_analyses, model_terms
    from oncotrial.report.writer import endpoint_data

    analysis, figures = drawn
    assert figures and not any("Figure" in f.caption or "Figure" in f.title for f in figures)
    km = [f for f in figures if f.kind == "km"]
    assert km and all("pointwise 95% confidence intervals" in f.caption and "dashed" in f.caption
                      and "cumulative numbers of events and of censored patients" in f.caption for f in km)
    analyses = endpoint_analyses(LMS04, list(analysis.efficacy))
    for figure in (f for f in figures if f.kind == "ph"):
        strata, adjust = model_terms(analyses[figure.endpoint])
        data = endpoint_data(adam, LMS04, figure.endpoint)
        (p,) = schoenfeld_p_values(data, time="TIME", event="EVENT", group="ARM", reference=analysis.control,
                                   adjust=adjust, strata=strata, convention=analysis.convention).values()
        assert ph_test_sentence(p) in figure.caption
        assert "cox.zph" not in figure.caption and "support proportional hazards" not in figure.caption.split(".")[0]


def test_figures_drawn_side_by_side_equal_those_drawn_one_by_one(drawn, adam, tmp_path):
    """Workers drawing figures at once give the files and records that drawing them one
    after the other in this process gives."""
    from oncotrial.report.writer import draw_figures

    analysis, figures = drawn
    serial, _ = draw_figures(adam, analysis, LMS04, tmp_path, workers=1)
    assert [(f.key, f.title, f.caption) for f in serial] == [(f.key, f.title, f.caption) for f in figures]
    for one, other in zip(serial, figures, strict=True):
        assert one.paths["png"].read_bytes() == other.paths["png"].read_bytes(), one.key
        assert (one.records is None) == (other.records is None)
        if one.records is not None:
            pd.testing.assert_frame_equal(one.records, other.records)


def test_every_figure_of_simulated_data_is_marked(drawn):
    analysis, figures = drawn
    assert analysis.simulated is not None
    for figure in figures:
        assert analysis.simulated.note in figure.paths["svg"].read_text(encoding="utf-8"), figure.key


def test_ph_caption_differs_for_a_small_and_a_large_p():
    from oncotrial.report.writer import ph_caption

    large, small = ph_caption({"B": 0.41}, "A", "Cox model"), ph_caption({"B": 0.003}, "A", "Cox model")
    assert "P = 0.410: no evidence against proportional hazards" in large
    assert "P = 0.003: evidence of non-proportional hazards; interpret the hazard ratio as an average" in small
    assert "B vs A: " in ph_caption({"B": 0.41, "C": 0.003}, "A", "Cox model")
