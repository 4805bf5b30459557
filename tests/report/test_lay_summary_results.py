"""The lay summary keeps every result: each landmark rate, a median not reached, the verdict
of a one-sided test, and an end point reported without a P value."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.lay_summary import LaySummary, lay_summary
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
CONTROL, EXPERIMENTAL = (a.label for a in sorted(LMS04.arms, key=lambda a: a.role != "control"))


def _protocol(**changes: dict) -> Protocol:
    # what the file sets: to_dict() would also write each end point's default (empty) landmarks
    spec = LMS04.model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    for section, values in changes.items():
        spec[section] = {**spec[section], **values}
    return Protocol.from_dict(spec)


TWO_LANDMARKS = _protocol(analysis={"landmarks": [12, 24]})
ONE_SIDED = _protocol(design={"alpha": 0.025, "sided": 1}, analysis={"landmarks": [12, 24]})


@pytest.fixture(scope="module")
def adam() -> AdamData:
    trial = simulate_trial("lms04", seed=2)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    return AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae)


@pytest.fixture(scope="module")
def ard(adam) -> pd.DataFrame:
    return analyse(adam, TWO_LANDMARKS).ard


@pytest.fixture(scope="module")
def one_sided_ard(adam) -> pd.DataFrame:
    """The primary end point (PFS) takes the design's sidedness: its P is one-sided."""
    return analyse(adam, ONE_SIDED).ard


def _results(summary: LaySummary) -> str:
    section = next(s for s in summary.sections if s.heading == "What were the main results?")
    return "\n".join(item for block in section.blocks for item in block.items)


def _table(summary: LaySummary) -> list[tuple[str, ...]]:
    section = next(s for s in summary.sections if s.heading == "What were the main results?")
    return [row for block in section.blocks if block.kind == "table" for row in block.rows]


def _set(ard: pd.DataFrame, value: float, **key: object) -> pd.DataFrame:
    changed = ard.copy()
    mask = pd.Series(True, index=changed.index)
    for column, wanted in key.items():
        mask &= changed[column].isna() if wanted is None else changed[column] == wanted
    assert mask.sum() == 1, key
    changed.loc[mask, "value"] = value
    return changed


def _per_100(value: float) -> str:
    return str(math.floor(100 * value + 0.5))


def test_every_landmark_rate_is_in_words_and_in_the_table(ard):
    summary = lay_summary(ard, TWO_LANDMARKS)
    text, rows = _results(summary), _table(summary)
    os_rates = ard[(ard["endpoint"] == "OS") & (ard["statistic"] == "rate")].set_index(["time", "arm"])["value"]
    for time, words in ((12.0, "1 year"), (24.0, "2 years")):
        assert (f"After {words}, {_per_100(os_rates[(time, EXPERIMENTAL)])} of every 100 people in group B were "
                f"still alive. In group A, it was {_per_100(os_rates[(time, CONTROL)])} of every 100.") in text
        assert (f"Alive after {words}", f"{_per_100(os_rates[(time, CONTROL)])} of 100",
                f"{_per_100(os_rates[(time, EXPERIMENTAL)])} of 100") in rows
        assert any(row[0] == f"Alive with no cancer growth after {words}" for row in rows)
    assert text.index("After 1 year, ") < text.index("After 2 years, ")
    traced = [s for s in summary.numbers if s.records[0].get("statistic") == "rate" and s.transform == "per_100"]
    assert {s.records[0]["time"] for s in traced} == {12.0, 24.0}


def test_a_rate_that_cannot_be_estimated_is_said(ard):
    changed = _set(ard, math.nan, table="efficacy", endpoint="OS", arm=EXPERIMENTAL, statistic="rate", time=24.0)
    summary = lay_summary(changed, TWO_LANDMARKS)
    assert ("After 2 years, how many people were still alive is not known for group B: too few people were "
            "followed that long.") in _results(summary)
    row = next(r for r in _table(summary) if r[0] == "Alive after 2 years")
    assert row[2] == "not known" and row[1].endswith("of 100")


def test_a_median_not_reached_is_said_not_dropped(ard):
    changed = _set(ard, math.nan, table="efficacy", endpoint="OS", arm=EXPERIMENTAL, statistic="median")
    text = _results(lay_summary(changed, TWO_LANDMARKS))
    os_median = ard[(ard["endpoint"] == "OS") & (ard["statistic"] == "median") & (ard["arm"] == CONTROL)]
    assert (f"In group A, half of the people were still alive after {math.floor(os_median['value'].iloc[0] + 0.5)} "
            f"months. In group B, the median time was not reached: more than half of the people were still alive "
            f"when the results were looked at.") in text
    assert "The median time was about" not in text.split("how long people lived.")[1]  # no gap without two medians
    both = _set(changed, math.nan, table="efficacy", endpoint="PFS", arm=CONTROL, statistic="median")
    text = _results(lay_summary(both, TWO_LANDMARKS))
    assert ("In group A, the median time was not reached: fewer than half of the people had their cancer grow "
            "or spread, or had died, by the time the results were looked at.") in text
    assert "In group B, half of the people had their cancer grow or spread, or had died, by" in text


@pytest.mark.parametrize("p, hr, verdict", [
    (0.02, 0.7, "This difference is very unlikely to be due to chance."),   # one-sided 0.02 < 0.025
    (0.03, 0.7, "This difference could be due to chance."),
    (0.98, 1.3, "This difference could be due to chance."),                 # the other direction
])
def test_a_one_sided_design(one_sided_ard, p, hr, verdict):
    primary = ONE_SIDED.design.endpoint.upper()
    record = one_sided_ard[(one_sided_ard["endpoint"] == primary) & (one_sided_ard["statistic"] == "logrank_p")]
    assert "one-sided" in record["method"].item() and record["arm"].item() == EXPERIMENTAL
    changed = _set(one_sided_ard, p, table="efficacy", endpoint=primary, arm=EXPERIMENTAL, statistic="logrank_p")
    changed = _set(changed, hr, table="efficacy", endpoint=primary, arm=EXPERIMENTAL, statistic="hazard_ratio")
    summary = lay_summary(changed, ONE_SIDED)
    paragraph = next(item for item in _results(summary).splitlines() if item.startswith("The main question"))
    assert paragraph.endswith(verdict)
    assert "After 2 years" in paragraph  # the result itself is kept whatever the verdict
    meaning = next(s for s in summary.sections if s.heading == "What do the results mean?").blocks[0].items[0]
    if verdict.startswith("This difference is very unlikely"):
        assert meaning.startswith("People in group B lived without their cancer getting worse for longer")
    else:
        assert meaning.startswith("The trial did not show a clear difference")


def test_a_two_sided_p_of_a_one_sided_end_point_is_read_in_the_direction_of_the_hazard_ratio(one_sided_ard):
    """An ARD whose P is two-sided (its method does not say one-sided): half of it in the
    direction of the hazard ratio, and no verdict without a hazard ratio."""
    primary = ONE_SIDED.design.endpoint.upper()
    key = (one_sided_ard["endpoint"] == primary) & (one_sided_ard["statistic"] == "logrank_p")
    two_sided = one_sided_ard.copy()
    two_sided.loc[key, "method"] = "log-rank test; vs " + CONTROL
    for p, hr, verdict in ((0.04, 0.7, "This difference is very unlikely to be due to chance."),
                           (0.04, 1.3, "This difference could be due to chance."),
                           (0.04, math.nan, "Whether this difference could be due to chance cannot be said "
                                            "without the size of the difference.")):
        changed = _set(two_sided, p, table="efficacy", endpoint=primary, arm=EXPERIMENTAL, statistic="logrank_p")
        changed = _set(changed, hr, table="efficacy", endpoint=primary, arm=EXPERIMENTAL, statistic="hazard_ratio")
        paragraph = next(item for item in _results(lay_summary(changed, ONE_SIDED)).splitlines()
                         if item.startswith("The main question"))
        assert paragraph.endswith(verdict), (p, hr)


def test_a_two_sided_design_reads_the_p_value_as_before(ard):
    changed = _set(ard, 0.04, table="efficacy", endpoint="PFS", arm=EXPERIMENTAL, statistic="logrank_p")
    changed = _set(changed, 1.3, table="efficacy", endpoint="PFS", arm=EXPERIMENTAL, statistic="hazard_ratio")
    paragraph = _results(lay_summary(changed, TWO_LANDMARKS)).splitlines()[0]
    assert paragraph.endswith("This difference is very unlikely to be due to chance.")  # 0.04 < 0.05


def test_an_end_point_without_a_p_value_keeps_its_results_without_a_verdict(ard):
    """OS has ``p_value: false``: its medians and rates are said, no "due to chance"
    judgement, one sentence that it was not tested — whatever its hazard ratio."""
    assert ard[(ard["endpoint"] == "OS") & ard["statistic"].str.endswith("_p")].empty
    changed = _set(ard, 0.2, table="efficacy", endpoint="OS", arm=EXPERIMENTAL, statistic="hazard_ratio")
    paragraph = next(item for item in _results(lay_summary(changed, TWO_LANDMARKS)).splitlines()
                     if item.startswith("The trial also looked at how long people lived."))
    assert "very unlikely" not in paragraph and "This difference could be due to chance." not in paragraph
    assert paragraph.endswith("As planned before the trial, this difference was not tested to see if it could be "
                              "due to chance.")
    assert "After 1 year" in paragraph and "After 2 years" in paragraph and "In group A, half" in paragraph
