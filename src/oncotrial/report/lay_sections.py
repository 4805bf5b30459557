"""Two sections of the lay summary built from ARD records: who took part (Annex V (d):
number, age, age groups, sex, randomisation) and the side effects (Annex V (f): adverse
reactions, the events the doctors related to the treatment, then all side effects).

Adverse reactions come from the ``adverse_reactions`` records
(:func:`oncotrial.report.lay_records.annex_v_records`); an ARD without them gets a sentence
saying that this summary cannot tell which side effects the treatment caused, and the
counts of all adverse events, named as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oncotrial.report.lay_document import Block
from oncotrial.report.lay_numbers import TracedNumbers
from oncotrial.report.lay_text import PLAIN_TERMS

__all__ = ["side_effects", "who_took_part"]


def _paragraph(*sentences: str) -> Block:
    return Block("paragraph", (" ".join(sentences),))


def _sex(n: TracedNumbers, *levels: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The ``n`` and ``N`` Table 1 records (all patients) of the first sex level present."""
    for level in levels:
        count = n.find(table="table1", arm="Total", subgroup=f"SEX={level}", statistic="n")
        total = n.find(table="table1", arm="Total", subgroup=f"SEX={level}", statistic="N")
        if count is not None and total is not None:
            return count, total
    return None


def who_took_part(n: TracedNumbers, groups: Mapping[str, str], simulated: bool) -> list[str]:
    """How many took part, their age (median, range and the EU age groups), their sex, and
    randomisation in words with each group's size."""
    total = n.find(table="consort", arm=None, subgroup="randomised", statistic="n")
    text = []
    if total is not None:
        text.append(f"{n.count(total)} {'simulated ' if simulated else ''}people took part.")
    age = n.find(table="table1", arm="Total", subgroup="AGE", statistic="median")
    if age is not None:
        text.append(f"Half of them were younger than {n.whole(age)} years, and half were older.")
    low = n.find(table="table1", arm="Total", subgroup="AGE", statistic="min")
    high = n.find(table="table1", arm="Total", subgroup="AGE", statistic="max")
    if low is not None and high is not None:
        text.append(f"The youngest was {n.whole(low)} years old and the oldest {n.whole(high)}.")
    bands = n.records(table="age_groups", arm="Total", statistic="n")
    ages = [f"{n.count(r)} were {_age_words(n, r)}" for r in bands.to_dict("records") if r["value"] > 0]
    if ages:
        text.append(f"By age, {', '.join(ages[:-1]) + ' and ' + ages[-1] if len(ages) > 1 else ages[0]}.")
    women, men = _sex(n, "Female", "F"), _sex(n, "Male", "M")
    if women is not None and men is not None:
        text.append(f"Of the {n.count(women[1])} people, {n.count(women[0])} were women and "
                    f"{n.count(men[0])} were men.")
    elif women is not None:
        text.append(f"{n.count(women[0])} of the {n.count(women[1])} people were women.")
    text.append("A computer put each person into a group by chance. This is called randomisation. "
                "It makes the groups fair to compare.")
    for arm, group in groups.items():
        record = n.find(table="trial", arm=arm, statistic="randomised")
        if record is not None:
            text.append(f"{n.count(record)} people were in group {group}.")
    return text


def _age_words(n: TracedNumbers, record: Mapping[str, Any]) -> str:
    """An age group in words (``aged 18 to 64``), its numbers traced to the record's label."""
    label = str(record["subgroup"]).removeprefix("AGEGR=")
    words = "aged " + label.replace("-", " to ")
    n.label_numbers(record, label)
    return words


def _pair(n: TracedNumbers, table: str, subgroup: str, statistic: str, control: str,
          experimental: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    a = n.find(table=table, arm=control, subgroup=subgroup, statistic=statistic)
    b = n.find(table=table, arm=experimental, subgroup=subgroup, statistic=statistic)
    return None if a is None or b is None else (a, b)


def _common(n: TracedNumbers, table: str, arm: str, statistic: str, suffix: str) -> list[str]:
    """The three most frequent terms of ``arm``, one line each, a plain phrase said once."""
    frame = n.ard
    terms = frame[(frame["table"] == table) & (frame["arm"] == arm) & (frame["statistic"] == statistic)
                  & (frame["value"] > 0)]
    common: dict[str, str] = {}
    for record in terms.sort_values("value", ascending=False, kind="stable").to_dict("records"):
        term = str(record["subgroup"]).removeprefix("AEDECOD=").removesuffix(suffix)
        plain = PLAIN_TERMS.get(term, term.lower())
        if plain not in common and len(common) < 3:
            common[plain] = f"{plain[:1].upper()}{plain[1:]}: {n.per_100(record)} of every 100 people."
    return list(common.values())


def _reactions(n: TracedNumbers, control: str, experimental: str, a: str, b: str) -> list[Block]:
    """Adverse reactions: side effects the doctors thought the treatment caused."""
    anyr = _pair(n, "adverse_reactions", "related_any", "related_any", control, experimental)
    if anyr is None:
        return [_paragraph("This summary cannot say which side effects were caused by the treatment. "
                           "The numbers below count all medical problems, caused by the treatment or not.")]
    text = ["The doctors noted if they thought each side effect was caused by the treatment.",
            f"Side effects caused by the treatment happened to {n.per_100(anyr[1])} of every 100 people in group "
            f"{b}, and to {n.per_100(anyr[0])} of every 100 in group {a}."]
    severe = _pair(n, "adverse_reactions", "related_grade34", "related_grade34", control, experimental)
    if severe is not None:
        text.append(f"Severe ones happened to {n.per_100(severe[1])} of every 100 people in group {b} and "
                    f"{n.per_100(severe[0])} of every 100 in group {a}.")
    fatal = _pair(n, "adverse_reactions", "related_grade5", "n", control, experimental)
    if fatal is not None:
        text.append(f"The number of people who died of a side effect caused by the treatment was "
                    f"{n.count(fatal[1])} in group {b} and {n.count(fatal[0])} in group {a}.")
    blocks = [_paragraph(*text)]
    common = _common(n, "adverse_reactions", experimental, "term_related", "; related")
    if common:
        blocks += [_paragraph(f"The most common side effects caused by the treatment in group {b} were:"),
                   Block("bullets", tuple(common))]
    blocks.append(_paragraph("The numbers below count all side effects, caused by the treatment or not."))
    return blocks


def side_effects(n: TracedNumbers, control: str, experimental: str,
                 groups: Mapping[str, str]) -> tuple[list[Block], list[tuple[str, ...]]]:
    """Adverse reactions, then all severe, serious and fatal side effects, the most common
    severe ones in the new treatment's group and dose reductions; and the at-a-glance row of
    severe side effects."""
    a, b = groups[control], groups[experimental]
    intro = _paragraph("Side effects are medical problems that happen during treatment. They may or may not be "
                       "caused by it.")
    severe = _pair(n, "adverse_events", "grade34_any", "grade34_any", control, experimental)
    if severe is None:
        return [_paragraph("This summary has no information on side effects.")], []
    blocks = [intro, *_reactions(n, control, experimental, a, b)]
    text = [f"Severe side effects happened to {n.per_100(severe[1])} of every 100 people in group {b}, "
            f"and to {n.per_100(severe[0])} of every 100 in group {a}."]
    serious = _pair(n, "adverse_events", "serious_any", "serious_any", control, experimental)
    if serious is not None:
        text.append(f"Serious side effects, such as ones that needed a hospital stay, happened to "
                    f"{n.per_100(serious[1])} of every 100 people in group {b} and {n.per_100(serious[0])} "
                    f"of every 100 in group {a}.")
    fatal = _pair(n, "adverse_events", "grade5_any", "n", control, experimental)
    if fatal is not None:
        text.append(f"The number of people who died of a side effect was {n.count(fatal[1])} in group {b} "
                    f"and {n.count(fatal[0])} in group {a}.")
    blocks.append(_paragraph(*text))
    common = _common(n, "adverse_events", experimental, "term_grade34", "; grade 3-4")
    if common:
        blocks += [_paragraph(f"The most common severe side effects in group {b} were:"),
                   Block("bullets", tuple(common))]
    reduce = _pair(n, "adverse_events", "DOSREDFL", "dose_reduction", control, experimental)
    if reduce is not None:
        blocks.append(_paragraph(f"Because of side effects, doctors lowered the dose for {n.per_100(reduce[1])} of "
                                 f"every 100 people in group {b} and {n.per_100(reduce[0])} of every 100 in group "
                                 f"{a}."))
    return blocks, [("Severe side effects", n.of_100(severe[0]), n.of_100(severe[1]))]

