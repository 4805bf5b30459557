"""The lay summary against EU Regulation 536/2014, Annex V, item by item, for both bundled
protocols: identifiers and dates, sponsor contact, where and when, population (number, age
groups, sex, eligibility), the medicines, adverse reactions (AEREL), results, comment,
limits, follow-up trials, more information; its readability; and simulated versus real data."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from oncotrial.clinical import derive_all
from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol, ProtocolError
from oncotrial.report.adam import AdamData
from oncotrial.report.analysis import analyse
from oncotrial.report.lay_records import annex_v_records
from oncotrial.report.lay_summary import LaySummary, flesch_reading_ease, lay_summary
from oncotrial.report.lay_text import readability
from oncotrial.simulate.trial import simulate_trial

NAMES = ("lms04", "gastric_example")
WRITTEN = date(2026, 12, 4)


@pytest.fixture(scope="module", params=NAMES)
def trial(request) -> tuple[Protocol, pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """Protocol, the analysis ARD (which holds the Annex V records), ADSL, ADAE and the cut-off (ISO)."""
    protocol = Protocol.load(request.param)
    simulated = simulate_trial(request.param, seed=1)
    derived = derive_all(simulated.domains, protocol, cutoff=simulated.cutoff)
    ard = analyse(AdamData(derived.adsl, derived.adtte, derived.adrs, derived.adae), protocol).ard
    return protocol, ard, derived.adsl, derived.adae, simulated.cutoff.date().isoformat()


@pytest.fixture(scope="module")
def summary(trial) -> LaySummary:
    protocol, ard, _, _, cutoff = trial
    return lay_summary(ard, protocol, data_cutoff=cutoff, summary_date=WRITTEN)


def _section(summary: LaySummary, heading: str) -> str:
    section = next(s for s in summary.sections if s.heading == heading)
    return "\n".join(item for block in section.blocks for item in block.items)


def _real(ard: pd.DataFrame) -> pd.DataFrame:
    """The ARD of real data: without the simulator's mark."""
    return ard[ard["statistic"] != "simulated"]


def test_identifiers_and_dates(summary, trial):
    protocol, _, _, _, cutoff = trial
    text = _section(summary, "Which trial is this?")
    assert protocol.id in text and "written on 4 December 2026" in text
    day = date.fromisoformat(cutoff)
    assert f"data collected up to {day.day} {day:%B} {day.year}." in text
    if protocol.registry:  # a simulation does not carry the real trial's numbers
        assert protocol.registry not in summary.to_markdown()
    assert summary.sections[0].heading == "Which trial is this?"


def test_where_when_and_who_could_take_part(summary, trial):
    protocol, ard, adsl, _, _ = trial
    facts = protocol.lay_summary
    assert facts is not None and facts.eligibility
    who = _section(summary, "Who took part?")
    for criterion in facts.eligibility:
        assert criterion in who
    ages = pd.to_numeric(adsl["AGE"])
    assert f"{int(((ages >= 18) & (ages < 65)).sum())} were aged 18 to 64" in who
    assert "were women and" in who and "were men." in who
    why = _section(summary, "Why was this trial done?")
    for country in facts.countries:
        assert country in why
    if facts.start:
        assert f"The first person joined in {facts.start}." in why
    else:
        assert "does not say where and when" in why


def test_every_medicine_is_explained(summary, trial):
    protocol = trial[0]
    text = _section(summary, "What treatments did people get?")
    study_drugs = {d.drug for r in protocol.regimens.values() for p in r.phases for d in p.drugs}
    assert protocol.lay_summary is not None
    assert study_drugs <= set(protocol.lay_summary.medicines)  # the bundled protocols explain all of them
    for drug, what in protocol.lay_summary.medicines.items():
        assert f" is {what.rstrip('.')}." in text, drug
    assert "does not explain" not in text


def test_adverse_reactions_follow_aerel(summary, trial):
    """The related-event proportions printed are those of ADAE's related TEAEs, recomputed here."""
    protocol, _, adsl, adae, _ = trial
    safety = adsl[adsl["SAFFL"] == "Y"].set_index("USUBJID")["ACTARM"]
    related = adae[(adae["TRTEMFL"] == "Y") & (adae["AEREL"] != "NOT RELATED")]
    severe = related[pd.to_numeric(related["ATOXGR"]).isin([3, 4])]
    control, experimental = (a.label for a in sorted(protocol.arms, key=lambda a: a.role != "control"))

    def per_100(events: pd.DataFrame, arm: str) -> str:
        ids = set(events["USUBJID"]) & set(safety[safety == arm].index)
        return str(int(100 * len(ids) / (safety == arm).sum() + 0.5))

    text = _section(summary, "What side effects did people have?")
    assert (f"Severe ones happened to {per_100(severe, experimental)} of every 100 people in group B and "
            f"{per_100(severe, control)} of every 100 in group A.") in text
    assert "caused by the treatment or not" in text  # all events are named as such


def test_without_relatedness_the_summary_says_so(trial):
    protocol, ard, _, _, cutoff = trial
    text = lay_summary(ard[ard["table"] != "adverse_reactions"], protocol, data_cutoff=cutoff,
                       summary_date=WRITTEN).to_markdown()
    assert "This summary cannot say which side effects were caused by the treatment." in text


def test_limits_are_the_protocols_and_blinded_review_is_a_strength(summary, trial):
    protocol = trial[0]
    assert protocol.lay_summary is not None
    limits = _section(summary, "What are the limits of this trial?")
    for limit in protocol.lay_summary.limitations:
        assert limit in limits
    assert "did not know each person's group" not in limits
    if any("blind" in (e.assessed_by or "") for e in protocol.endpoints):
        assert "did not know each person's group checked the scans" in _section(summary, "What do the results mean?")
    follow_up = _section(summary, "Are there more trials?")
    assert protocol.lay_summary.follow_up_trials in follow_up


def test_honest_wording(summary):
    text = summary.to_markdown()
    assert "on average" not in text
    assert "does not mean that each person gained or lost that much time" in text


def test_readability_of_both_protocols(summary):
    """Flesch reading ease at least 60 ("plain English") and sentences of at most 15 words
    on average (measured: about 80 and 12 for both protocols)."""
    score = summary.readability()
    assert score.reading_ease >= 60, score
    assert score.words_per_sentence <= 15, score
    assert score.sentences > 50  # the whole text is scored, not a heading


def test_flesch_reading_ease_on_known_texts():
    assert flesch_reading_ease("The cat sat on the mat.") == pytest.approx(206.835 - 1.015 * 6 - 84.6 * 1)
    hard = ("Randomised participants receiving combination chemotherapy experienced substantially "
            "prolonged progression-free survival compared with monotherapy.")
    assert flesch_reading_ease(hard) < 0
    assert readability("One. Two words here.").words_per_sentence == 2
    assert flesch_reading_ease("") == 0.0


def test_simulated_data_first_line_and_no_thanks(summary):
    markdown = summary.to_markdown()
    assert markdown.splitlines()[0].startswith("**Simulated data (seed 1)")
    assert "thank" not in markdown.lower()
    assert "The real trial was sponsored by" in markdown


def test_real_data_thank_and_point_to_the_registries(trial):
    protocol, ard, _, _, cutoff = trial
    facts = protocol.lay_summary.model_copy(update={"eu_trial_number": "2099-500000-00-00",
                                                    "sponsor_contact": "the trial office, by e-mail"})
    real = lay_summary(_real(ard), protocol.model_copy(update={"lay_summary": facts}), data_cutoff=cutoff,
                       summary_date=WRITTEN)
    text = real.to_markdown()
    assert real.notice is None and "We thank everyone who took part." in text
    assert "EU trial number is 2099-500000-00-00" in text
    if protocol.registry:
        assert f"The trial's registry number is {protocol.registry} and EU trial number is" in text
    assert "euclinicaltrials.eu" in text and "contact the sponsor at: the trial office, by e-mail." in text
    without = lay_summary(_real(ard), protocol.model_copy(update={"lay_summary": None}), summary_date=WRITTEN)
    text = without.to_markdown()
    assert "This summary does not give an EU trial number." in text
    assert "This summary does not say up to which date the data were collected." in text
    assert "This summary does not list who could take part." in text
    assert "The trial plan does not list the limits of the trial." in text


def test_every_number_is_traced(summary, trial):
    """Each number of the text is a traced source, and each traced ARD number is an ARD
    value (the full recomputation is in test_lay_summary.py)."""
    protocol, ard, _, _, _ = trial
    text = summary.to_markdown().replace(protocol.id, "")
    text = text.replace(protocol.registry, "") if protocol.registry else text
    text = re.sub(r"\bof (?:every )?100\b", "", text)
    # a digit glued to a word is part of a name (anti-PD-1), not a number
    assert sorted(re.findall(r"(?<![\w-])\d+(?:\.\d+)?", text)) == sorted(s.text for s in summary.numbers)
    for source in summary.numbers:
        for key in source.records:
            if "table" in key:
                rows = ard
                for column, value in key.items():
                    rows = rows[rows[column].isna()] if value is None else rows[rows[column] == value]
                assert len(rows) == 1, key


def test_a_medicine_not_in_the_regimens_is_an_error(trial):
    protocol, ard, _, _, _ = trial
    facts = protocol.lay_summary.model_copy(update={"medicines": {"aspirin": "a pain killer"}})
    with pytest.raises(InputError, match=r"lay_summary\.medicines: 'aspirin'"):
        lay_summary(ard, protocol.model_copy(update={"lay_summary": facts}))
    with pytest.raises(InputError, match="data_cutoff"):
        lay_summary(ard, protocol, data_cutoff="31/01/2023")


def test_the_protocol_section_is_strict():
    spec = Protocol.load("gastric_example").model_dump(by_alias=True, exclude_none=True, exclude_unset=True)
    spec["lay_summary"] = {"limitation": ["a typo"]}
    with pytest.raises(ProtocolError, match="lay_summary"):
        Protocol.from_dict(spec)


def test_annex_v_records():
    adsl = pd.DataFrame({"USUBJID": ["1", "2", "3", "4"], "SAFFL": ["Y", "Y", "Y", "N"],
                         "ACTARM": ["X", "X", "Y", "Y"], "AGE": [17, 64, 65, 90]})
    adae = pd.DataFrame({"USUBJID": ["1", "2", "3", "3"], "AEDECOD": ["Nausea", "Nausea", "Fatigue", "Rash"],
                         "TRTEMFL": ["Y", "Y", "Y", "Y"], "AEREL": ["RELATED", "NOT RELATED", None, "N"],
                         "ATOXGR": [3, 1, 2, 4], "AESER": ["N", "N", "Y", "N"]})
    records = annex_v_records(adsl, adae, arms=["X", "Y"]).set_index(["arm", "subgroup", "statistic"])["value"]
    assert records[("X", "related_any", "related_any")] == 0.5          # the NOT RELATED event left out
    assert records[("Y", "related_any", "n")] == 1                       # a missing AEREL counts as related
    assert records[("Y", "related_grade34", "n")] == 0                   # the grade-4 event was not related
    assert records[("Y", "related_serious", "n")] == 1
    assert records[("X", "AEDECOD=Nausea; related", "term_related")] == 0.5
    groups = ("under 18", "18-64", "65-84", "85 and over")
    assert [records[("Total", f"AGEGR={g}", "n")] for g in groups] == [1, 1, 1, 1]
    with pytest.raises(InputError, match="AEREL"):
        annex_v_records(adsl, adae.drop(columns="AEREL"))
