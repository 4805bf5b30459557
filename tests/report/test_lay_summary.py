"""The plain-language summary: its headings, its reading grade, and every number traced to an
ARD record (or a protocol fact, or a date given to it) and recomputed here."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.lay_records import annex_v_records
from oncotrial.report.lay_summary import (
    LaySummary,
    count_syllables,
    flesch_kincaid_grade,
    lay_summary,
)
from oncotrial.simulate.trial import simulate_trial

LMS04 = Protocol.load("lms04")
#: the headings of EU Regulation 536/2014 Annex V, as the questions a patient asks (the
#: title is the summary's title), plus the limits of the trial
HEADINGS = [
    "Which trial is this?",                      # title, identifiers, date of summary and data
    "Who sponsored this trial?",                 # name and contact of the sponsor
    "Why was this trial done?",                  # general information: where, when, why
    "Who took part?",                            # population of subjects
    "What treatments did people get?",           # investigational medicinal products
    "What side effects did people have?",        # adverse reactions
    "What were the main results?",               # overall results
    "What do the results mean?",                 # comment on the outcome
    "What are the limits of this trial?",        # the limits the protocol declares
    "Are there more trials?",                    # follow-up clinical trials
    "Where can I learn more?",                   # where to find more information
]


@pytest.fixture(scope="module")
def ard() -> pd.DataFrame:
    """The analysis ARD, which holds the Annex V records (adverse reactions, age groups)."""
    trial = simulate_trial("lms04", seed=1)
    derived = derive_all(trial.domains, LMS04, cutoff=trial.cutoff)
    ard = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), LMS04).ard
    expected = annex_v_records(derived.adsl, derived.adae, arms=["Doxorubicin", "Doxorubicin + trabectedin"])
    held = ard[ard["table"].isin(["adverse_reactions", "age_groups"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(held[["table", "arm", "subgroup", "statistic", "value"]],
                                  expected[["table", "arm", "subgroup", "statistic", "value"]], check_dtype=False)
    return ard


@pytest.fixture(scope="module")
def summary(ard) -> LaySummary:
    return lay_summary(ard, LMS04, data_cutoff="2023-01-31", summary_date=date(2026, 12, 4))


def _half_up(x: float) -> str:
    return str(abs(q) if (q := Decimal(repr(float(x))).quantize(Decimal(1), ROUND_HALF_UP)) == 0 else q)


def _record(ard: pd.DataFrame, key: dict[str, Any]) -> pd.Series:
    mask = pd.Series(True, index=ard.index)
    for column, value in key.items():
        mask &= ard[column].isna() if value is None else ard[column] == value
    assert mask.sum() == 1, key
    return ard[mask].iloc[0]


def _protocol_value(path: str) -> Any:
    value: Any = LMS04
    for part in path.split("."):
        if isinstance(value, dict):
            value = value[part]
        elif isinstance(value, list):
            value = value[int(part)]
        else:
            value = getattr(value, part)
    return value


def _recompute(ard: pd.DataFrame, source) -> str:
    """The printed text of a traced number, recomputed here from the ARD or the protocol."""
    if source.transform == "date":
        day = date.fromisoformat(source.records[0]["date"])
        return source.text if source.text in (str(day.day), str(day.year)) else f"not in {day}"
    if "protocol" in source.records[0]:
        value = _protocol_value(source.records[0]["protocol"])
        if source.transform == "text":
            return source.text if re.search(rf"(?<![\d.]){re.escape(source.text)}(?![\d.])", value) else value
        return _half_up(value / 7) if source.transform == "weeks" else str(value)
    records = [_record(ard, key) for key in source.records]
    if source.transform == "text":
        return source.text if source.text in re.findall(r"\d+", str(records[0][source.field])) else "?"
    value = records[0][source.field]
    return {
        "count": lambda: str(int(value)),
        "whole": lambda: _half_up(value),
        "per_100": lambda: _half_up(100 * value),
        "years": lambda: _half_up(value / 12),
        "difference": lambda: _half_up(abs(records[1]["value"] - records[0]["value"])),
    }[source.transform]()


def _number_tokens(summary: LaySummary) -> list[str]:
    """Every number in the Markdown text except the trial's names (protocol id, registry id) and the
    denominator of the natural frequencies ("x of every 100", "x of 100": the unit of a
    proportion, not a result)."""
    text = summary.to_markdown().replace(LMS04.registry, "").replace(LMS04.id, "")
    text = re.sub(r"\bof (?:every )?100\b", "", text)
    return re.findall(r"\d+(?:\.\d+)?", text)


def test_headings_follow_the_eu_lay_summary(summary):
    assert [s.heading for s in summary.sections] == HEADINGS
    assert summary.title == ("Does adding trabectedin to doxorubicin help people with metastatic or "
                             "unresectable leiomyosarcoma?")
    markdown, html = summary.to_markdown(), summary.to_html()
    assert summary.notice == "Simulated data (seed 1) — not trial results"  # the simulator's mark
    assert markdown.startswith(f"**{summary.notice}**\n\n# {summary.title}\n")
    for heading in HEADINGS:
        assert f"\n## {heading}\n" in markdown
        assert f"<h2>{heading}</h2>" in html.replace("&#39;", "'")
    assert "<script" not in html and "<link" not in html


def test_reading_grade_is_about_twelve_years(summary):
    grade = summary.reading_grade()
    assert 0 < grade <= 8, grade
    assert "##" not in summary.body_text() and "|" not in summary.body_text()


def test_flesch_kincaid_on_known_texts():
    assert flesch_kincaid_grade("The cat sat on the mat.") == pytest.approx(0.39 * 6 + 11.8 * 1 - 15.59)
    assert [count_syllables(w) for w in ("the", "people", "time", "cancer", "randomisation", "doxorubicin",
                                         "table", "24")] == [1, 2, 1, 2, 5, 5, 2, 1]
    hard = ("Randomised participants receiving combination chemotherapy experienced substantially "
            "prolonged progression-free survival compared with monotherapy.")
    assert flesch_kincaid_grade(hard) > 16
    assert flesch_kincaid_grade("") == 0.0


def test_every_number_comes_from_the_ard(summary, ard):
    assert Counter(_number_tokens(summary)) == Counter(s.text for s in summary.numbers)
    for source in summary.numbers:
        assert _recompute(ard, source) == source.text, source
    ard_sources = [s for s in summary.numbers if "protocol" not in s.records[0]]
    assert len(ard_sources) >= 25


def test_main_results_in_words_and_natural_frequencies(summary, ard):
    os = ard[(ard["table"] == "efficacy") & (ard["endpoint"] == "OS")
             & ((ard["statistic"] == "median") | (ard["time"] == 24))]
    os = os.set_index(["arm", "statistic"])
    control, experimental = "Doxorubicin", "Doxorubicin + trabectedin"
    gap = _half_up(os.loc[(experimental, "median"), "value"] - os.loc[(control, "median"), "value"])
    text = summary.to_markdown()
    assert (f"The median time was about {gap} months longer in group B. This does not mean that each person "
            f"gained or lost that much time.") in text
    assert "on average" not in text  # a gap between medians is not an average gain
    assert (f"After 2 years, {_half_up(100 * os.loc[(experimental, 'rate'), 'value'])} of every 100 people in "
            f"group B were still alive. In group A, it was {_half_up(100 * os.loc[(control, 'rate'), 'value'])} "
            f"of every 100.") in text
    severe = ard[ard["statistic"] == "grade34_any"].set_index("arm")["value"]
    assert (f"| Severe side effects | {_half_up(100 * severe[control])} of 100 | "
            f"{_half_up(100 * severe[experimental])} of 100 |") in text


def test_numbers_follow_the_ard_not_the_text(ard):
    """Changing the ARD changes the summary: no number is written into the text."""
    changed = ard.copy()
    os_median = (changed["endpoint"] == "OS") & (changed["statistic"] == "median")
    changed.loc[os_median & (changed["arm"] == "Doxorubicin"), "value"] = 20.2
    changed.loc[os_median & (changed["arm"] == "Doxorubicin + trabectedin"), "value"] = 31.9
    text = lay_summary(changed, LMS04).to_markdown()
    assert "half of the people were still alive after 20 months. In group B, this was 32 months." in text
    assert "The median time was about 12 months longer in group B." in text


def test_missing_records_are_said_not_guessed(ard):
    without_safety = ard[ard["table"] != "adverse_events"]
    summary = lay_summary(without_safety, LMS04)
    text = summary.to_markdown()
    assert "This summary has no information on side effects." in text
    assert "Severe side effects" not in text
    without_efficacy = lay_summary(ard[~ard["table"].isin(["efficacy", "response"])], LMS04).to_markdown()
    assert "This summary has no results on how well the treatments worked." in without_efficacy
    assert "This summary has no result for the main question of the trial." in without_efficacy
