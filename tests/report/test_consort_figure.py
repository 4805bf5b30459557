"""The CONSORT diagram as a figure: its boxes print the report's CONSORT counts."""

from __future__ import annotations

import re

import pytest
from matplotlib.patches import Rectangle

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import TrialAnalysis, analyse
from oncotrial.report.consort_figure import consort_figure, draw_consort
from oncotrial.report.html import ConsortBox, ReportContent, report_content
from oncotrial.simulate.trial import simulate_trial

PROTOCOL = Protocol.load("lms04")


@pytest.fixture(scope="module")
def analysis() -> TrialAnalysis:
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, PROTOCOL, cutoff=trial.cutoff)
    return analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), PROTOCOL)


@pytest.fixture(scope="module")
def content(analysis) -> ReportContent:
    return report_content(analysis, PROTOCOL, [], [])


def _texts(fig) -> dict[str, str]:
    return {str(t.get_gid()): t.get_text() for t in fig.axes[0].texts if t.get_gid()}


def _counts(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"n = (\d+)", text)]


def test_box_texts_are_the_box_counts(analysis, content):
    fig = consort_figure(content.consort_total, content.consort_arms, content.consort_rows, flow=analysis.consort)
    texts = _texts(fig)
    assert _counts(texts["consort:text:top"]) == [content.consort_total]
    drawn = 0
    for i, row in enumerate(content.consort_rows):
        for j, box in enumerate(row):
            key = f"consort:text:{i}:{j}"
            if box is None:
                assert key not in texts
                continue
            drawn += 1
            text = texts[key]
            assert text.replace("\n", " ").startswith(box.label)
            assert _counts(text) == [box.n, *(n for _, n in box.reasons)]
            for reason, _ in box.reasons:
                assert reason in text.replace("\n  ", " ")
    assert drawn == sum(b is not None for row in content.consort_rows for b in row)
    assert [texts[f"consort:arm:{j}"] for j in range(len(content.consort_arms))] == list(content.consort_arms)


def test_text_stays_inside_its_box_and_the_figure(analysis, content):
    fig = consort_figure(content.consort_total, content.consort_arms, content.consort_rows, flow=analysis.consort)
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    boxes = {str(p.get_gid()).removeprefix("consort:box:"): p.get_window_extent(renderer)
             for p in fig.axes[0].patches if isinstance(p, Rectangle) and p.get_gid()}
    for text in fig.axes[0].texts:
        extent = text.get_window_extent(renderer)
        assert fig.bbox.x0 <= extent.x0 and extent.x1 <= fig.bbox.x1
        assert fig.bbox.y0 <= extent.y0 and extent.y1 <= fig.bbox.y1
        key = str(text.get_gid()).removeprefix("consort:text:")
        if key in boxes:
            frame = boxes[key]
            assert frame.x0 <= extent.x0 and extent.x1 <= frame.x1 + 0.5
            assert frame.y0 <= extent.y0 + 0.5 and extent.y1 <= frame.y1 + 0.5


def test_stopping_boxes_branch_off_the_main_line(analysis, content):
    """With the flow's structure, a stage that ends the arm's course (did not receive
    treatment, stopped a phase) is indented to the right of the stages that go on."""
    fig = consort_figure(content.consort_total, content.consort_arms, content.consort_rows, flow=analysis.consort)
    x = {str(p.get_gid()): p.get_x() for p in fig.axes[0].patches if isinstance(p, Rectangle)}
    labels = [row[0].label if row[0] is not None else None for row in content.consort_rows]
    allocated, not_treated = labels.index("Allocated"), labels.index("Did not receive allocated treatment")
    assert x[f"consort:box:{not_treated}:0"] > x[f"consort:box:{allocated}:0"]
    flat = consort_figure(content.consort_total, content.consort_arms, content.consort_rows)
    assert len({round(p.get_x(), 6) for p in flat.axes[0].patches
                if isinstance(p, Rectangle) and str(p.get_gid()).endswith(":0")}) == 1


def test_written_figure_carries_the_simulated_mark(analysis, content, tmp_path):
    assert analysis.simulated is not None
    figure = draw_consort(content.consort_total, content.consort_arms, content.consort_rows, tmp_path,
                          flow=analysis.consort, note=analysis.simulated.note)
    assert figure.kind == "consort" and "Figure" not in figure.caption and "Figure" not in figure.title
    assert set(figure.paths) == {"png", "svg", "pdf"}
    assert figure.paths["png"].read_bytes().startswith(b"\x89PNG")
    assert analysis.simulated.note in figure.paths["svg"].read_text(encoding="utf-8")
    assert figure.width_inches() > 3


def test_any_number_of_arms_without_a_flow():
    arms = ("Arm A", "Arm B", "Arm C")
    rows = ((ConsortBox("Allocated", 10), ConsortBox("Allocated", 11), ConsortBox("Allocated", 12)),
            (ConsortBox("Stopped", 3, (("Progressive disease", 2), ("Death", 1))), None,
             ConsortBox("Stopped", 0)))
    texts = _texts(consort_figure(33, arms, rows))
    assert _counts(texts["consort:text:1:0"]) == [3, 2, 1]
    assert "consort:text:1:1" not in texts and _counts(texts["consort:text:0:2"]) == [12]
    with pytest.raises(InputError, match=r"rows: row 1 has 2 boxes for 3 arms"):
        consort_figure(33, arms, (rows[0], rows[1][:2]))
    with pytest.raises(InputError, match=r"arms: expected the names"):
        consort_figure(0, (), ())


def test_another_protocol_with_other_phases():
    """The gastric example (combination then continuation, still-on-treatment stages) draws
    with the same rules: every box prints its counts, stopping boxes branch off."""
    protocol = Protocol.load("gastric_example")
    trial = simulate_trial("gastric_example", seed=1)
    derived = derive_all(trial.domains, protocol, cutoff=trial.cutoff)
    analysis = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol)
    content = report_content(analysis, protocol, [], [])
    fig = consort_figure(content.consort_total, content.consort_arms, content.consort_rows, flow=analysis.consort)
    texts = _texts(fig)
    x = {str(p.get_gid()): p.get_x() for p in fig.axes[0].patches if isinstance(p, Rectangle)}
    for i, row in enumerate(content.consort_rows):
        for j, box in enumerate(row):
            if box is not None:
                assert _counts(texts[f"consort:text:{i}:{j}"]) == [box.n, *(n for _, n in box.reasons)]
                ends_here = box.label.startswith(("Stopped", "Did not", "Still on"))
                branches = x[f"consort:box:{i}:{j}"] > x[f"consort:box:0:{j}"] + 1e-9  # right of "Allocated"
                assert branches == ends_here, box.label
