"""A plain-language summary of a trial's results, written from the analysis-results dataset.

:func:`lay_summary` reads the ARD records (:mod:`oncotrial.report.ard`, with the
adverse-reaction and age-group records of :func:`~oncotrial.report.lay_records.annex_v_records`
when the analysis adds them) and the protocol (names, regimens and its ``lay_summary``
section: :class:`oncotrial.protocol.lay.LaySummary`) and nothing else, so a summary cannot
show a number the analysis did not produce. Each number is traced
(:class:`~oncotrial.report.lay_numbers.NumberSource`) and the tests recompute it.

The sections follow EU Regulation 536/2014, Annex V, item by item, asked as the questions a
patient would ask: the trial's identifiers and the dates of the summary and of the data
(a), the sponsor and its contact (b), where, when and why (c), who took part — number, age
groups, sex, who could join (d), the medicines in plain words (e), adverse reactions (f),
overall results (g), a comment on the outcome (h), the limits the protocol declares,
follow-up trials (i) and where to find more (j). A part the protocol or the ARD does not
give is said to be missing, never guessed. The text aims at a reading age of about 12
(:mod:`oncotrial.report.lay_text`). Simulated data are said on the first line and
everywhere a real trial would speak of its participants; a simulation thanks no one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

import pandas as pd

from oncotrial.core.errors import InputError
from oncotrial.protocol import Protocol
from oncotrial.protocol.lay import LaySummary as LayFacts
from oncotrial.report.lay_document import Block, LaySummary, Section
from oncotrial.report.lay_numbers import NumberSource, TracedNumbers
from oncotrial.report.lay_results import comment, endpoint_results, sided
from oncotrial.report.lay_sections import side_effects, who_took_part
from oncotrial.report.lay_text import (
    GLOSSARY,
    PLAIN_ENDPOINTS,
    PLAIN_TERMS,
    ROUTES,
    PlainEndpoint,
    count_syllables,
    flesch_kincaid_grade,
    flesch_reading_ease,
)

__all__ = [
    "GLOSSARY",
    "PLAIN_ENDPOINTS",
    "PLAIN_TERMS",
    "Block",
    "LaySummary",
    "NumberSource",
    "PlainEndpoint",
    "Section",
    "count_syllables",
    "drug_name",
    "flesch_kincaid_grade",
    "flesch_reading_ease",
    "lay_summary",
]

_GROUPS = "ABCDEFGH"
_REGISTRY_URLS = {"NCT": "https://clinicaltrials.gov/study/{}",
                  "EUCT": "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={}"}
_EU_URL = "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={}"


def _paragraph(*sentences: str) -> Block:
    return Block("paragraph", (" ".join(sentences),))


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _condition(protocol: Protocol) -> str:
    """The disease of the trial: the end of the title after its last " for " (protocol
    titles read "A versus B as first-line therapy for <disease>")."""
    title = " ".join(protocol.title.split())
    return title.rsplit(" for ", 1)[1].rstrip(".") if " for " in title else "cancer"


def _plain_key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


def drug_name(protocol: Protocol, drug: str) -> str:
    """A drug as the summary prints it. A name written as a code (``anti_pd1``: with an
    underscore or a digit) is printed as an arm label of the protocol spells it when one
    does, ignoring case and punctuation (``CAPOX + anti-PD-1`` gives ``anti-PD-1``), else
    with spaces for underscores; a name in words (``capecitabine``) is printed as written."""
    if not re.search(r"[_0-9]", drug):
        return drug
    key = _plain_key(drug)
    for arm in protocol.arms:
        for word in re.split(r"\s+|\s*[+/,]\s*", arm.label):
            if word and _plain_key(word) == key:
                return word
    return drug.replace("_", " ")


def _regimen_drugs(protocol: Protocol, code: str) -> list[str]:
    """The drugs of an arm's regimen as written in the protocol, first-seen order."""
    return list(dict.fromkeys(d.drug for phase in protocol.regimens[code].phases for d in phase.drugs))


def _drugs(protocol: Protocol, code: str) -> list[str]:
    return list(dict.fromkeys(drug_name(protocol, d) for d in _regimen_drugs(protocol, code)))


def _schedule(numbers: TracedNumbers, protocol: Protocol, code: str, group: str) -> list[str]:
    """How a group was treated, from the protocol's regimens (drugs, route, cycles of each
    phase in order; an open-ended phase runs until the cancer grows)."""
    out = []
    for i, phase in enumerate(protocol.regimens[code].phases):
        path = f"regimens.{code}.phases.{i}"
        drugs = _join([drug_name(protocol, d.drug) for d in phase.drugs])
        route = _join(list(dict.fromkeys(ROUTES.get(d.route, d.route) for d in phase.drugs)))
        every = (f"every {numbers.weeks(phase.cycle_length_days, path + '.cycle_length_days')} weeks"
                 if phase.cycle_length_days % 7 == 0 else
                 f"every {numbers.protocol_count(phase.cycle_length_days, path + '.cycle_length_days')} days")
        how_long = ("until their cancer grew" if phase.max_cycles is None else
                    f"up to {numbers.protocol_count(phase.max_cycles, path + '.max_cycles')}"
                    f"{' more' if i else ''} times")
        if i == 0:
            out.append(f"Group {group} got {drugs} {route} {every}, {how_long}.")
        else:
            out.append(f"After that, people in group {group} whose cancer had not grown kept getting {drugs} "
                       f"{every}, {how_long}.")
    return out


def _medicines(n: TracedNumbers, protocol: Protocol, facts: LayFacts) -> list[Block]:
    """What each medicine is, from the protocol's ``lay_summary.medicines``, and which are
    left unexplained; a described drug that no regimen gives is an error."""
    drugs = list(dict.fromkeys(d for arm in protocol.arms for d in _regimen_drugs(protocol, arm.code)))
    support = list(dict.fromkeys(d.drug for arm in protocol.arms for phase in protocol.regimens[arm.code].phases
                                 for d in phase.supportive_care if d.drug not in drugs))
    unknown = [d for d in facts.medicines if d not in drugs + support]
    if unknown:
        raise InputError(f"protocol lay_summary.medicines: {', '.join(map(repr, unknown))} not a drug of the "
                         f"regimens ({', '.join(drugs + support)})")
    items = []
    for drug in drugs + support:
        if drug in facts.medicines:
            name = drug_name(protocol, drug)
            what = n.protocol_text(facts.medicines[drug].strip(), f"lay_summary.medicines.{drug}")
            items.append(f"{name[:1].upper()}{name[1:]} is {what.rstrip('.')}.")
    missing = [drug_name(protocol, d) for d in drugs if d not in facts.medicines]
    blocks = [_paragraph("The medicines in this trial:"), Block("bullets", tuple(items))] if items else []
    if missing:
        blocks.append(_paragraph(f"This summary does not explain what {_join(missing)} "
                                 f"{'is' if len(missing) == 1 else 'are'}."))
    return blocks


def _as_date(value: date | str | None, what: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise InputError(f"lay_summary: {what} {value!r} is not an ISO date (YYYY-MM-DD)") from None


def _identification(n: TracedNumbers, protocol: Protocol, facts: LayFacts, simulated: bool,
                    cutoff: date | None, written: date) -> Block:
    """Annex V (a): the trial's names and numbers, the date of the summary and of the data."""
    numbers = ([f"registry number is {protocol.registry}"] if protocol.registry else [])
    numbers += [f"EU trial number is {facts.eu_trial_number}"] if facts.eu_trial_number else []
    numbers += [f"other numbers are {_join(facts.other_identifiers)}"] if facts.other_identifiers else []
    if simulated:  # the real trial's numbers would make a simulation pass for its results
        text = [f"This summary is about a computer simulation based on the plan of the trial {protocol.id}. "
                f"It is not about the results of the real trial."]
    else:
        text = [f"This summary is about the trial called {protocol.id}."]
        text += [f"The trial's {_join(numbers)}."] if numbers else []
        if not facts.eu_trial_number:
            text.append("This summary does not give an EU trial number.")
    text.append(f"This summary was written on {n.date(written, 'summary_date')}.")
    if cutoff is not None:
        text.append(f"It uses the {'simulated ' if simulated else ''}data collected up to "
                    f"{n.date(cutoff, 'data_cutoff')}.")
    else:
        text.append("This summary does not say up to which date the data were collected.")
    return _paragraph(*text)


def _sponsor(protocol: Protocol, facts: LayFacts, n: TracedNumbers, simulated: bool) -> Block:
    """Annex V (b): who sponsored the trial and how to contact them; a simulation thanks no one."""
    if simulated:
        text = ["This summary was made from a computer simulation. No real person's results are in it.",
                f"The real trial was sponsored by the {protocol.sponsor}."]
    else:
        text = [f"The trial was sponsored by the {protocol.sponsor}."]
    if facts.sponsor_contact:
        text.append(f"You can contact the sponsor at: "
                    f"{n.protocol_text(facts.sponsor_contact, 'lay_summary.sponsor_contact').rstrip('.')}.")
    else:
        text.append("This summary has no contact details for the sponsor.")
    if not simulated:
        text.append("We thank everyone who took part.")
    return _paragraph(*text)


def _where_and_when(n: TracedNumbers, facts: LayFacts, registry: bool) -> list[str]:
    """Annex V (c): the countries, places and dates of the trial, as the protocol gives them."""
    text = []
    if facts.countries or facts.places:
        where = _join(list(facts.countries)) if facts.countries else ""
        places = n.protocol_text(facts.places, "lay_summary.places") if facts.places else ""
        text.append(f"The trial took place in {where}{', at ' if where and places else ''}{places}.")
    if facts.start:
        text.append(f"The first person joined in {n.protocol_text(facts.start, 'lay_summary.start')}.")
    if facts.end:
        text.append(f"The trial ended in {n.protocol_text(facts.end, 'lay_summary.end')}.")
    if not text:
        text.append("This summary does not say where and when the trial took place.")
    if registry:
        text.append("More about the dates and places of the trial is listed in the trial registry.")
    return text


def lay_summary(ard: pd.DataFrame, protocol: Protocol, *, data_cutoff: date | str | None = None,
                summary_date: date | None = None) -> LaySummary:
    """The plain-language summary of the trial whose ARD is ``ard`` (see the module
    docstring). ``data_cutoff``: the data cut-off (a date or ISO text, e.g.
    ``ReportContent.data_cutoff``); ``summary_date``: the date the summary is written
    (default today). Sections whose records are absent say so rather than guess."""
    n = TracedNumbers(ard)
    facts = protocol.lay_summary or LayFacts()
    cutoff = _as_date(data_cutoff, "data_cutoff")
    written = summary_date or date.today()
    roles = {r["arm"]: r["subgroup"] for r in ard[ard["statistic"] == "randomised"].to_dict("records")}
    arms = sorted(roles, key=lambda arm: roles[arm] != "control")
    control = next(a for a in arms if roles[a] == "control")
    experimental = next(a for a in arms if roles[a] == "experimental")
    groups = {arm: _GROUPS[i] for i, arm in enumerate(arms)}
    unit = protocol.analysis.time_unit
    condition = _condition(protocol)
    usual = _drugs(protocol, protocol.control.code)
    added = [d for d in _drugs(protocol, protocol.experimental.code) if d not in usual]
    mark = n.find(table="trial", arm=None, statistic="simulated")
    simulated = mark is not None
    notice = None if mark is None else f"Simulated data (seed {n.count(mark)}) — not trial results"

    sections = [Section("Which trial is this?", (_identification(n, protocol, facts, simulated, cutoff, written),)),
                Section("Who sponsored this trial?", (_sponsor(protocol, facts, n, simulated),))]

    why = (f"Doctors wanted to know if adding {_join(added)} to {_join(usual)} helps people with this cancer."
           if added else f"Doctors wanted to compare {control} with {experimental}.")
    general = [f"The people in this trial had {condition}.", why,
               f"This was a phase {n.protocol_count(protocol.phase, 'phase')} trial.",
               "Trials like this compare a new treatment with the usual one in many people.",
               *_where_and_when(n, facts, protocol.registry is not None and not simulated)]
    follow = (n.find(table="efficacy", endpoint="OS", arm=None, statistic="median_followup")
              or n.find(table="efficacy", endpoint=protocol.design.endpoint.upper(), arm=None,
                        statistic="median_followup"))
    if follow is not None:
        general.append(f"Doctors kept checking on people for a long time. Half of them were followed for more "
                       f"than {n.whole(follow)} {unit}.")
    glossary = {**protocol.reporting.glossary, **{w: m for w, m in GLOSSARY.items()
                                                   if w not in protocol.reporting.glossary}}
    words = [f"{word[:1].upper()}{word[1:]}: {meaning}." for word, meaning in glossary.items()
             if re.search(rf"\b{re.escape(word)}\b", protocol.title, re.IGNORECASE)]
    blocks = [_paragraph(*general)]
    if words:
        blocks += [_paragraph("Some words explained:"), Block("bullets", tuple(words))]
    sections.append(Section("Why was this trial done?", tuple(blocks)))

    who = [_paragraph(*who_took_part(n, groups, simulated))]
    if facts.eligibility:
        who += [_paragraph("People could take part if they met rules like these:"),
                Block("bullets", tuple(n.protocol_text(c, f"lay_summary.eligibility.{i}")
                                       for i, c in enumerate(facts.eligibility)))]
    else:
        who.append(_paragraph("This summary does not list who could take part. The trial plan has the full list."))
    sections.append(Section("Who took part?", tuple(who)))

    codes = {control: protocol.control.code, experimental: protocol.experimental.code}
    treatments = [sentence for arm in arms for sentence in _schedule(n, protocol, codes[arm], groups[arm])]
    sections.append(Section("What treatments did people get?", (
        Block("bullets", tuple(f"Group {groups[a]}: {a}." for a in arms)), _paragraph(*treatments),
        *_medicines(n, protocol, facts))))

    side, safety_rows = side_effects(n, control, experimental, groups)
    sections.append(Section("What side effects did people have?", tuple(side)))

    results: list[str] = []
    glance: list[tuple[str, ...]] = []
    for endpoint in sorted(protocol.endpoints, key=lambda e: e.role != "primary"):
        if endpoint.name.upper() in PLAIN_ENDPOINTS:
            test = (sided(protocol, endpoint.name), protocol.design.alpha, protocol.design.sided)
            paragraph, rows = endpoint_results(n, endpoint.name.upper(), endpoint.role == "primary", control,
                                               experimental, groups, unit, test,
                                               protocol.endpoint_analysis(endpoint.name).p_value,
                                               protocol.design.looks)
            results += [paragraph] if paragraph else []
            glance += rows
    orr_a = n.find(table="response", endpoint="ORR", arm=control, statistic="orr")
    orr_b = n.find(table="response", endpoint="ORR", arm=experimental, statistic="orr")
    if orr_a is not None and orr_b is not None:
        results.append(f"The tumours shrank in {n.per_100(orr_b)} of every 100 people in group "
                       f"{groups[experimental]}, and in {n.per_100(orr_a)} of every 100 in group {groups[control]}.")
        glance.append(("Tumours shrank", n.of_100(orr_a), n.of_100(orr_b)))
    glance += safety_rows
    results = results or ["This summary has no results on how well the treatments worked."]
    result_blocks = [_paragraph(r) for r in results]
    if glance:
        result_blocks.append(Block("table", header=("", f"Group {groups[control]}", f"Group {groups[experimental]}"),
                                   rows=tuple(glance)))
    sections.append(Section("What were the main results?", tuple(result_blocks)))

    meaning = [comment(n, protocol, control, experimental, groups)]
    if any("blind" in (e.assessed_by or "") for e in protocol.endpoints):
        meaning.append("Experts who did not know each person's group checked the scans. This makes the results "
                       "on cancer growth more reliable.")
    sections.append(Section("What do the results mean?", (_paragraph(*meaning),)))

    limits = [n.protocol_text(x, f"lay_summary.limitations.{i}") for i, x in enumerate(facts.limitations)]
    if not limits:
        limits.append("The trial plan does not list the limits of the trial.")
    limits += (["This summary shows the results of one trial. Other trials may find different results.",
                "The numbers come from the people in this trial. The true numbers could be a bit higher or lower."]
               if not simulated else
               ["These numbers were made by a computer simulation. They are not the results of the real trial."])
    limits.append("Do not change your treatment because of this summary. Talk to your doctor first.")
    sections.append(Section("What are the limits of this trial?", (Block("bullets", tuple(limits)),)))

    more_trials = ([n.protocol_text(facts.follow_up_trials, "lay_summary.follow_up_trials")]
                   if facts.follow_up_trials else
                   ["This summary does not say if there are new trials of these medicines."])
    if not simulated:
        more_trials.append("You can look for them in public trial registries.")
    sections.append(Section("Are there more trials?", (_paragraph(*more_trials),)))

    sections.append(Section("Where can I learn more?", tuple(_more(n, protocol, facts, simulated))))

    title = (f"Does adding {_join(added)} to {_join(usual)} help people with {condition}?"
             if added else f"{control} compared with {experimental} for people with {condition}")
    return LaySummary(title=title, subtitle=f"Summary for the public of trial {protocol.id}: {protocol.title}",
                      sections=tuple(sections), numbers=tuple(n.sources), notice=notice)


def _more(n: TracedNumbers, protocol: Protocol, facts: LayFacts, simulated: bool) -> list[Block]:
    """Annex V (j): the registries (with their web pages) and the protocol's other sources."""
    if simulated:
        return [_paragraph("This summary was made to test how the trial's results are worked out and shown. "
                           "Ask your doctor about the results of the real trial.")]
    text = []
    if protocol.registry:
        url = next((u.format(protocol.registry) for prefix, u in _REGISTRY_URLS.items()
                    if protocol.registry.startswith(prefix)), None)
        text.append(f"You can find this trial in a public registry under the number {protocol.registry}.")
        text += [f"The web page is {url}."] if url else []
    if facts.eu_trial_number:
        text.append(f"In the EU, look for the number {facts.eu_trial_number} at "
                    f"{_EU_URL.format(facts.eu_trial_number)}.")
    blocks = [_paragraph(*text)] if text else []
    if facts.more_information:
        blocks += [_paragraph("You can also read:"),
                   Block("bullets", tuple(n.protocol_text(x, f"lay_summary.more_information.{i}")
                                          for i, x in enumerate(facts.more_information)))]
    return blocks or [_paragraph("Ask your doctor where to find more about this trial.")]

