"""A plain-language summary of a trial's results, written from the analysis-results dataset.

:func:`lay_summary` reads the ARD records (:mod:`oncotrial.report.ard`) and the protocol (for
names: arms, drugs, sponsor, registry, schedule) and nothing else, so a summary cannot show a
number the analysis did not produce. Each number it prints is traced
(:class:`NumberSource`): the ARD records it comes from, the field and how it was turned
into words (a count; a proportion as "x of 100", a natural frequency that readers
understand better than percentages; a time rounded to whole units; the difference of two
medians; a landmark in years). Tests recompute every traced number from the ARD.

The headings follow the lay summary of EU Regulation 536/2014, Annex V (who sponsored the
trial, general information, who took part, the medicines, side effects, overall results,
comment on the outcome, follow-up trials, where to find more), asked as the questions a
patient would ask. The text aims at a reading age of about 12: short sentences, common
words, the trial's arms called group A and group B after first naming their treatments,
and a few medical words explained (:data:`GLOSSARY`, :data:`PLAIN_TERMS`).
:func:`flesch_kincaid_grade` scores it.

Whether a difference "is very unlikely to be due to chance" follows each end point's
analysis: its P value, one- or two-sided as the ARD's method says, against the design's
level; for the design's end point of a group-sequential design, whether the ARD says the
efficacy boundary of the look was crossed (the look's nominal level, not the overall
alpha), and the summary says that the results are those of an interim look. An end point
reported without a P value gets no such judgement, only its results and a sentence saying
that it was not tested, as planned. Drugs are named as the protocol prints them
(:func:`drug_name`).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import jinja2
import pandas as pd

from oncotrial.protocol import Protocol
from oncotrial.report.tables import format_number

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
    "lay_summary",
]

@dataclasses.dataclass(frozen=True)
class PlainEndpoint:
    """An end point in plain words: the question it answers, what its median means (``{t}``
    is the time), what a median not reached means, what its landmark rate counts, what
    "longer" means, the table row."""

    question: str
    median: str
    not_reached: str
    rate: str
    longer: str
    row: str


#: the end points a lay summary explains; the others are left to the full report
PLAIN_ENDPOINTS: Mapping[str, PlainEndpoint] = {
    "PFS": PlainEndpoint("how long people lived without their cancer getting worse",
                         "half of the people had their cancer grow or spread, or had died, by {t}",
                         "fewer than half of the people had their cancer grow or spread, or had died, by the "
                         "time the results were looked at",
                         "were alive and their cancer had not grown",
                         "lived without their cancer getting worse",
                         "Alive with no cancer growth"),
    "OS": PlainEndpoint("how long people lived",
                        "half of the people were still alive after {t}",
                        "more than half of the people were still alive when the results were looked at",
                        "were still alive",
                        "lived",
                        "Alive"),
}
#: medical words of a protocol title, explained when the title uses them (a protocol adds
#: its own in ``reporting.glossary``)
GLOSSARY: Mapping[str, str] = {
    "metastatic": "the cancer has spread to other parts of the body",
    "unresectable": "the cancer cannot be taken out by surgery",
    "locally advanced": "the cancer has grown into nearby parts of the body",
    "sarcoma": "a cancer that starts in muscle, fat, bone or other soft tissue",
    "first-line": "the first treatment given for the cancer",
    "maintenance": "treatment that goes on after the main treatment, to keep the cancer from growing",
}
#: side effects (MedDRA preferred terms) in plain words
PLAIN_TERMS: Mapping[str, str] = {
    "Neutrophil count decreased": "low levels of white blood cells that fight germs",
    "White blood cell decreased": "low levels of white blood cells",
    "Febrile neutropenia": "fever with low levels of white blood cells",
    "Platelet count decreased": "low levels of platelets, the cells that help blood clot",
    "Anemia": "low levels of red blood cells",
    "Alanine aminotransferase increased": "signs of liver damage in blood tests",
    "Aspartate aminotransferase increased": "signs of liver damage in blood tests",
    "Fatigue": "tiredness",
    "Nausea": "feeling sick",
    "Vomiting": "being sick",
    "Mucositis oral": "mouth sores",
    "Alopecia": "hair loss",
    "Diarrhea": "loose stools",
    "Constipation": "constipation",
    "Heart failure": "a weak heart",
}
#: routes of the protocol's drugs, in plain words
_ROUTES = {"IV": "into a vein", "SC": "as a shot under the skin", "PO": "by mouth", "IM": "as a shot into a muscle"}
_GROUPS = "ABCDEFGH"
_REGISTRY_URLS = {"NCT": "https://clinicaltrials.gov/study/{}", "EUCT": "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={}"}


# ----------------------------------------------------------------------------- readability

def count_syllables(word: str) -> int:
    """Syllables of an English word by vowel groups, a silent final "e" dropped (the
    heuristic of most Flesch–Kincaid implementations); a number counts as one."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 1 if any(ch.isdigit() for ch in word) else 0
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", "", w)
    w = re.sub(r"^y", "", w)
    return max(1, len(re.findall(r"[aeiouy]+", w)))


_WORD = re.compile(r"[A-Za-z]+(?:['’\-][A-Za-z]+)*|\d+(?:\.\d+)?")


def flesch_kincaid_grade(text: str) -> float:
    """Flesch–Kincaid grade level: 0.39 × words per sentence + 11.8 × syllables per word −
    15.59 (Kincaid et al. 1975), the US school grade that can read the text; a grade of 7
    is a reading age of about 12. Sentences end at ``.``, ``!``, ``?`` or a line break."""
    sentences = [s for s in re.split(r"[.!?]+(?:\s+|$)|\n+", text) if _WORD.search(s)]
    words = _WORD.findall(text)
    if not sentences or not words:
        return 0.0
    syllables = sum(count_syllables(w) for w in words)
    return 0.39 * len(words) / len(sentences) + 11.8 * syllables / len(words) - 15.59


# ----------------------------------------------------------------------------- structure

@dataclasses.dataclass(frozen=True)
class NumberSource:
    """A number printed in the summary and where it comes from.

    ``records``: the ARD keys (``table, endpoint, arm, subgroup, statistic``, plus ``time``
    for a landmark rate) of the records it is computed from, or ``{"protocol": "<attribute path>"}`` for a protocol
    fact; ``field``: the ARD column read (``value`` or ``time``); ``transform``: ``count``
    (an integer), ``whole`` (rounded half up), ``per_100`` (a proportion times 100, rounded),
    ``years`` (a time in months divided by 12), ``difference`` (the distance between the two
    records' values, rounded), ``weeks`` (protocol days divided by 7).
    """

    text: str
    transform: Literal["count", "whole", "per_100", "years", "difference", "weeks"]
    records: tuple[Mapping[str, Any], ...]
    field: str = "value"


@dataclasses.dataclass(frozen=True)
class Block:
    """A paragraph (one item), a bulleted list or a table (``header`` and ``rows``)."""

    kind: Literal["paragraph", "bullets", "table"]
    items: tuple[str, ...] = ()
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclasses.dataclass(frozen=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]


@dataclasses.dataclass(frozen=True)
class LaySummary:
    """The summary: a title, a subtitle (the official title), sections and the source of
    every number printed; ``notice``, for simulated data, is its first line (Markdown) and
    the first text of the page (HTML)."""

    title: str
    subtitle: str
    sections: tuple[Section, ...]
    numbers: tuple[NumberSource, ...]
    notice: str | None = None

    def body_text(self) -> str:
        """Paragraphs and list items, one per line: the text a reader reads as prose
        (headings and tables left out), scored by :meth:`reading_grade`."""
        return "\n".join(item for s in self.sections for b in s.blocks if b.kind != "table" for item in b.items)

    def reading_grade(self) -> float:
        """Flesch–Kincaid grade of :meth:`body_text`."""
        return flesch_kincaid_grade(self.body_text())

    def to_markdown(self) -> str:
        lines = [*([f"**{self.notice}**", ""] if self.notice else []), f"# {self.title}", "", f"*{self.subtitle}*", ""]
        for section in self.sections:
            lines += [f"## {section.heading}", ""]
            for block in section.blocks:
                if block.kind == "paragraph":
                    lines += [block.items[0], ""]
                elif block.kind == "bullets":
                    lines += [f"- {item}" for item in block.items] + [""]
                else:
                    lines.append("| " + " | ".join(block.header) + " |")
                    lines.append("|" + "|".join([" --- "] + [" ---: "] * (len(block.header) - 1)) + "|")
                    lines += ["| " + " | ".join(row) + " |" for row in block.rows]
                    lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def to_html(self) -> str:
        env = jinja2.Environment(loader=jinja2.PackageLoader("oncotrial.report", "templates"),
                                 autoescape=True, trim_blocks=True, lstrip_blocks=True,
                                 undefined=jinja2.StrictUndefined)
        return env.get_template("lay_summary.html.j2").render(s=self)

    def write_markdown(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.to_markdown(), encoding="utf-8")
        return out

    def write_html(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(self.to_html(), encoding="utf-8")
        return out


# ----------------------------------------------------------------------------- numbers from the ARD

_KEY = ("table", "endpoint", "arm", "subgroup", "statistic")


def _key(record: Mapping[str, Any]) -> dict[str, Any]:
    """The ARD key of a record, with its ``time`` when it has one (a landmark rate)."""
    key = {k: record.get(k) for k in _KEY}
    time = record.get("time")
    if time is not None and math.isfinite(float(time)):
        key["time"] = float(time)
    return key


class _Numbers:
    """Reads ARD records and prints their numbers, tracing each one."""

    def __init__(self, ard: pd.DataFrame) -> None:
        self.ard = ard
        self.sources: list[NumberSource] = []

    def records(self, **key: Any) -> pd.DataFrame:
        """The records with these key values (``None`` matches a missing value)."""
        mask = pd.Series(True, index=self.ard.index)
        for column, value in key.items():
            mask &= self.ard[column].isna() if value is None else self.ard[column] == value
        return self.ard[mask]

    def record(self, **key: Any) -> dict[str, Any] | None:
        """The one record with these key values, its value estimable or not, or None."""
        rows = self.records(**key)
        return rows.iloc[0].to_dict() if len(rows) == 1 else None

    def find(self, **key: Any) -> dict[str, Any] | None:
        """The one record with these key values and an estimable value, or None."""
        record = self.record(**key)
        return record if record is not None and _estimable(record) else None

    def _print(self, value: float, transform: str, records: Sequence[Mapping[str, Any]], field: str = "value") -> str:
        text = format_number(value, 0)
        keys = tuple(_key(r) for r in records)
        self.sources.append(NumberSource(text, transform, keys, field))  # type: ignore[arg-type]
        return text

    def count(self, record: Mapping[str, Any]) -> str:
        return self._print(record["value"], "count", [record])

    def whole(self, record: Mapping[str, Any], field: str = "value") -> str:
        return self._print(record[field], "whole", [record], field=field)

    def per_100(self, record: Mapping[str, Any]) -> str:
        return self._print(100 * record["value"], "per_100", [record])

    def years(self, record: Mapping[str, Any]) -> str:
        return self._print(record["time"] / 12, "years", [record], field="time")

    def landmark(self, record: Mapping[str, Any], unit: str) -> str:
        """The time of a landmark rate: in years when it is a whole number of years."""
        if unit == "months" and record["time"] % 12 == 0:
            years = self.years(record)
            return f"{years} year{'' if years == '1' else 's'}"
        return f"{self.whole(record, 'time')} {unit}"

    def of_100(self, record: Mapping[str, Any]) -> str:
        """A proportion as a natural frequency for a table cell: ``"68 of 100"``."""
        return f"{self.per_100(record)} of 100"

    def difference(self, first: Mapping[str, Any], second: Mapping[str, Any]) -> str:
        return self._print(abs(second["value"] - first["value"]), "difference", [first, second])

    def weeks(self, days: int, path: str) -> str:
        text = format_number(days / 7, 0)
        self.sources.append(NumberSource(text, "weeks", ({"protocol": path},)))
        return text

    def protocol_count(self, value: int, path: str) -> str:
        self.sources.append(NumberSource(str(value), "count", ({"protocol": path},)))
        return str(value)


def _estimable(record: Mapping[str, Any]) -> bool:
    return record["value"] is not None and math.isfinite(float(record["value"]))


# ----------------------------------------------------------------------------- text

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


def _drugs(protocol: Protocol, code: str) -> list[str]:
    return list(dict.fromkeys(drug_name(protocol, d.drug) for phase in protocol.regimens[code].phases
                              for d in phase.drugs))


def _schedule(numbers: _Numbers, protocol: Protocol, code: str, group: str) -> list[str]:
    """How a group was treated, from the protocol's regimens (drugs, route, cycles of each
    phase in order; an open-ended phase runs until the cancer grows)."""
    out = []
    for i, phase in enumerate(protocol.regimens[code].phases):
        path = f"regimens.{code}.phases.{i}"
        drugs = _join([drug_name(protocol, d.drug) for d in phase.drugs])
        route = _join(list(dict.fromkeys(_ROUTES.get(d.route, d.route) for d in phase.drugs)))
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


def _who_took_part(n: _Numbers, groups: Mapping[str, str], simulated: bool) -> list[str]:
    """How many took part, their age and sex (Table 1 records of all patients), and
    randomisation in words with each group's size."""
    total = n.find(table="consort", arm=None, subgroup="randomised", statistic="n")
    text = []
    if total is not None:
        text.append(f"{n.count(total)} {'simulated ' if simulated else ''}people took part.")
    age = n.find(table="table1", arm="Total", subgroup="AGE", statistic="median")
    if age is not None:
        text.append(f"Half of them were younger than {n.whole(age)} years, and half were older.")
    women = n.find(table="table1", arm="Total", subgroup="SEX=Female", statistic="n")
    everyone = n.find(table="table1", arm="Total", subgroup="SEX=Female", statistic="N")
    if women is not None and everyone is not None:
        text.append(f"{n.count(women)} of the {n.count(everyone)} people were women.")
    text.append("A computer put each person into a group by chance. This is called randomisation. "
                "It makes the groups fair to compare.")
    for arm, group in groups.items():
        record = n.find(table="trial", arm=arm, statistic="randomised")
        if record is not None:
            text.append(f"{n.count(record)} people were in group {group}.")
    return text


def _beyond_chance(p: Mapping[str, Any], hr: Mapping[str, Any] | None, sided: int, alpha: float,
                   design_sided: int) -> bool | None:
    """Whether the test of an end point is significant at the design's level, or None when
    a one-sided test cannot be judged (no hazard ratio to give its direction).

    The ARD's log-rank P is two-sided (a chi-square test) unless its method says
    "one-sided". ``alpha`` is the design's, one- or two-sided as ``design_sided`` says; a
    one-sided test asks whether the experimental arm is better (hazard ratio below 1), so
    its P is half the two-sided one in that direction and one minus that half against it.
    """
    one_sided_alpha = alpha if design_sided == 1 else alpha / 2
    given_one_sided = "one-sided" in str(p.get("method") or "")
    if sided == 2:
        two_sided = 2 * p["value"] if given_one_sided else p["value"]
        return bool(two_sided < 2 * one_sided_alpha)
    if given_one_sided:
        return bool(p["value"] < one_sided_alpha)
    if hr is None:
        return None
    one_sided = p["value"] / 2 if hr["value"] < 1 else 1 - p["value"] / 2
    return bool(one_sided < one_sided_alpha)


def _medians(n: _Numbers, plain: PlainEndpoint, endpoint: str, arms: Sequence[tuple[str, str]],
             unit: str) -> list[str]:
    """What the median of each group means, "not reached" said rather than left out, and
    the gap between two medians reached."""
    (control, a), (experimental, b) = arms
    first = n.record(table="efficacy", endpoint=endpoint, arm=control, statistic="median")
    second = n.record(table="efficacy", endpoint=endpoint, arm=experimental, statistic="median")
    if first is None or second is None:
        return []
    text = []
    for group, record in ((a, first), (b, second)):
        if not _estimable(record):
            text.append(f"In group {group}, the median time was not reached: {plain.not_reached}.")
        elif record is second and _estimable(first):
            text.append(f"In group {group}, this was {n.whole(record)} {unit}.")
        else:
            text.append(f"In group {group}, " + plain.median.format(t=f"{n.whole(record)} {unit}") + ".")
    if _estimable(first) and _estimable(second):
        gap = second["value"] - first["value"]
        if abs(gap) >= 0.5:  # at least one unit once rounded
            text.append(f"So people in group {b} {plain.longer} for about {n.difference(first, second)} "
                        f"{'more' if gap > 0 else 'fewer'} {unit} on average.")
    return text


def _rates(n: _Numbers, plain: PlainEndpoint, endpoint: str, arms: Sequence[tuple[str, str]],
           unit: str) -> tuple[list[str], list[tuple[str, ...]]]:
    """Every landmark rate of the end point, earliest first: a sentence and a table row
    each; a rate that could not be estimated (too few people followed that long) is said."""
    rates = n.records(table="efficacy", endpoint=endpoint, statistic="rate")
    text: list[str] = []
    rows: list[tuple[str, ...]] = []
    (control, a), (experimental, b) = arms
    for time in sorted(set(rates["time"].dropna())):
        r_a = n.record(table="efficacy", endpoint=endpoint, arm=control, statistic="rate", time=time)
        r_b = n.record(table="efficacy", endpoint=endpoint, arm=experimental, statistic="rate", time=time)
        if r_a is None or r_b is None:
            continue
        if _estimable(r_a) and _estimable(r_b):
            text.append(f"After {n.landmark(r_b, unit)}, {n.per_100(r_b)} of every 100 people in group {b} "
                        f"{plain.rate}. In group {a}, it was {n.per_100(r_a)} of every 100.")
        else:
            unknown = [g for g, r in ((a, r_a), (b, r_b)) if not _estimable(r)]
            text.append(f"After {n.landmark(r_b, unit)}, how many people {plain.rate} is not known for group "
                        f"{' and group '.join(unknown)}: too few people were followed that long.")
        rows.append((f"{plain.row} after {n.landmark(r_b, unit)}", n.of_100(r_a) if _estimable(r_a) else "not known",
                     n.of_100(r_b) if _estimable(r_b) else "not known"))
    return text, rows


def _p_record(n: _Numbers, endpoint: str, experimental: str) -> dict[str, Any] | None:
    """The P of an end point's comparison (the log-rank or the score test), or None."""
    for statistic in ("logrank_p", "score_p"):
        record = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic=statistic)
        if record is not None:
            return record
    return None


def _verdict(n: _Numbers, endpoint: str, experimental: str, test: tuple[int, float, int]) -> bool | None:
    """Whether an end point's difference is beyond chance: the efficacy boundary of the look
    when the ARD has one (a group-sequential design), else the P against the design's
    level (:func:`_beyond_chance`); None when it cannot be judged."""
    crossed = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="boundary_crossed")
    if crossed is not None:
        return bool(crossed["value"] >= 0.5)
    p = _p_record(n, endpoint, experimental)
    if p is None:
        return None
    hr = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="hazard_ratio")
    return _beyond_chance(p, hr, *test)


def _interim_sentence(n: _Numbers, endpoint: str, experimental: str, looks: int) -> str | None:
    """That the results are those of an interim look of a group-sequential design with
    ``looks`` analyses (the ARD's ``look`` record before the last)."""
    look = n.find(table="efficacy", endpoint=endpoint, arm=experimental, statistic="look")
    if look is None or look["value"] >= looks:
        return None
    return (f"These results come from an early look at the data (look {n.count(look)} of "
            f"{n.protocol_count(looks, 'design.looks')}), planned before the trial began. The final results may "
            f"be different.")


def _endpoint_results(n: _Numbers, endpoint: str, primary: bool, control: str, experimental: str,
                      groups: Mapping[str, str], unit: str, test: tuple[int, float, int], p_value: bool,
                      looks: int) -> tuple[str, list[tuple[str, ...]]]:
    """The paragraph and at-a-glance table rows of one end point (empty without its
    records). ``test``: the end point's sidedness, the design's alpha and sidedness;
    ``p_value``: whether its analysis reports a P value; ``looks``: the design's analyses."""
    plain = PLAIN_ENDPOINTS[endpoint]
    arms = [(control, groups[control]), (experimental, groups[experimental])]
    text = _medians(n, plain, endpoint, arms, unit)
    rates, rows = _rates(n, plain, endpoint, arms, unit)
    text += rates
    if not text:
        return "", rows
    interim = _interim_sentence(n, endpoint, experimental, looks)
    if not p_value:
        text.append("As planned before the trial, this difference was not tested to see if it could be due to "
                    "chance.")
    elif _p_record(n, endpoint, experimental) is not None:
        verdict = _verdict(n, endpoint, experimental, test)
        text.append("This difference is very unlikely to be due to chance." if verdict else
                    "This difference could be due to chance." if verdict is not None else
                    "Whether this difference could be due to chance cannot be said without the size of the "
                    "difference.")
    lead = "The main question was" if primary else "The trial also looked at"
    return f"{lead} {plain.question}. " + " ".join(text + ([interim] if interim else [])), rows


def lay_summary(ard: pd.DataFrame, protocol: Protocol) -> LaySummary:
    """The plain-language summary of the trial whose ARD is ``ard`` (see the module
    docstring); sections whose records are absent say so rather than guess."""
    n = _Numbers(ard)
    roles = {r["arm"]: r["subgroup"] for r in ard[ard["statistic"] == "randomised"].to_dict("records")}
    arms = sorted(roles, key=lambda arm: roles[arm] != "control")
    control = next(a for a in arms if roles[a] == "control")
    experimental = next(a for a in arms if roles[a] == "experimental")
    groups = {arm: _GROUPS[i] for i, arm in enumerate(arms)}
    unit = protocol.analysis.time_unit
    condition = _condition(protocol)
    usual = _drugs(protocol, protocol.control.code)
    added = [d for d in _drugs(protocol, protocol.experimental.code) if d not in usual]
    sections: list[Section] = []
    mark = n.find(table="trial", arm=None, statistic="simulated")
    notice = None if mark is None else f"Simulated data (seed {n.count(mark)}) — not trial results"

    if mark is None:
        sponsor = _paragraph(f"The trial was sponsored by the {protocol.sponsor}.", "We thank everyone who took part.")
    else:
        sponsor = _paragraph(f"This summary is about a computer simulation of the trial, made with seed "
                             f"{n.count(mark)}. No real person's results are in it.",
                             f"The real trial was sponsored by the {protocol.sponsor}.")
    sections.append(Section("Who sponsored this trial?", (sponsor,)))

    why = (f"Doctors wanted to know if adding {_join(added)} to {_join(usual)} helps people with this cancer."
           if added else f"Doctors wanted to compare {control} with {experimental}.")
    general = [f"The people in this trial had {condition}.", why,
               f"This was a phase {n.protocol_count(protocol.phase, 'phase')} trial.",
               "Trials like this compare a new treatment with the usual one in many people."]
    follow = (n.find(table="efficacy", endpoint="OS", arm=None, statistic="median_followup")
              or n.find(table="efficacy", endpoint=protocol.design.endpoint.upper(), arm=None,
                        statistic="median_followup"))
    if follow is not None:
        general.append(f"Doctors kept checking on people for a long time. Half of them were followed for more "
                       f"than {n.whole(follow)} {unit}.")
    if mark is None:
        general.append("The dates and places of the trial are listed in the trial registry.")
    glossary = {**protocol.reporting.glossary, **{w: m for w, m in GLOSSARY.items()
                                                   if w not in protocol.reporting.glossary}}
    words = [f"{word[:1].upper()}{word[1:]}: {meaning}." for word, meaning in glossary.items()
             if re.search(rf"\b{re.escape(word)}\b", protocol.title, re.IGNORECASE)]
    blocks = [_paragraph(*general)]
    if words:
        blocks += [_paragraph("Some words explained:"), Block("bullets", tuple(words))]
    sections.append(Section("Why was this trial done?", tuple(blocks)))

    sections.append(Section("Who took part?", (_paragraph(*_who_took_part(n, groups, mark is not None)),)))

    codes = {control: protocol.control.code, experimental: protocol.experimental.code}
    treatments = [sentence for arm in arms for sentence in _schedule(n, protocol, codes[arm], groups[arm])]
    sections.append(Section("What treatments did people get?", (
        Block("bullets", tuple(f"Group {groups[a]}: {a}." for a in arms)), _paragraph(*treatments))))

    side, safety_rows = _side_effects(n, control, experimental, groups)
    sections.append(Section("What side effects did people have?", tuple(side)))

    results: list[str] = []
    glance: list[tuple[str, ...]] = []
    for endpoint in sorted(protocol.endpoints, key=lambda e: e.role != "primary"):
        if endpoint.name.upper() in PLAIN_ENDPOINTS:
            test = (_sided(protocol, endpoint.name), protocol.design.alpha, protocol.design.sided)
            paragraph, rows = _endpoint_results(n, endpoint.name.upper(), endpoint.role == "primary", control,
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

    sections.append(Section("What do the results mean?",
                            (_paragraph(_comment(n, protocol, control, experimental, groups)),)))

    limits = (["This summary shows the results of one trial. Other trials may find different results.",
               "The numbers come from the people in this trial. The true numbers could be a bit higher or lower."]
              if mark is None else
              ["These numbers were made by a computer simulation. They are not the results of the real trial."])
    if any("blind" in (e.assessed_by or "") for e in protocol.endpoints):
        limits.append("Experts who did not know each person's group checked the scans.")
    limits.append("Do not change your treatment because of this summary. Talk to your doctor first.")
    sections.append(Section("What are the limits of this trial?", (Block("bullets", tuple(limits)),)))

    more_trials = ["This summary does not say if there are new trials of these medicines."]
    if mark is None:
        more_trials.append("You can look for them in public trial registries.")
    sections.append(Section("Are there more trials?", (_paragraph(*more_trials),)))

    if mark is None and protocol.registry:
        url = next((u.format(protocol.registry) for prefix, u in _REGISTRY_URLS.items()
                    if protocol.registry.startswith(prefix)), None)
        more = f"You can find this trial in a public registry under the number {protocol.registry}."
        if url:
            more += f" The web page is {url}."
    elif mark is None:
        more = "Ask your doctor where to find more about this trial."
    else:
        more = ("This summary was made to test how the trial's results are worked out and shown. "
                "Ask your doctor about the results of the real trial.")
    sections.append(Section("Where can I learn more?", (_paragraph(more),)))

    title = (f"Does adding {_join(added)} to {_join(usual)} help people with {condition}?"
             if added else f"{control} compared with {experimental} for people with {condition}")
    return LaySummary(title=title, subtitle=f"Summary for the public of trial {protocol.id}: {protocol.title}",
                      sections=tuple(sections), numbers=tuple(n.sources), notice=notice)


def _sided(protocol: Protocol, name: str) -> int:
    """The sidedness of an end point's test: its protocol analysis (the design's for the
    primary end point, two-sided otherwise)."""
    return int(protocol.endpoint_analysis(name).sided or 2)


def _side_effects(n: _Numbers, control: str, experimental: str,
                  groups: Mapping[str, str]) -> tuple[list[Block], list[tuple[str, ...]]]:
    """Severe, serious and fatal side effects, the most common severe ones in the new
    treatment's group and dose reductions; and the at-a-glance row of severe side effects."""
    a, b = groups[control], groups[experimental]
    text = ["Side effects are medical problems that happen during treatment. They may or may not be caused by it."]
    severe_a = n.find(table="adverse_events", arm=control, subgroup="grade34_any", statistic="grade34_any")
    severe_b = n.find(table="adverse_events", arm=experimental, subgroup="grade34_any", statistic="grade34_any")
    if severe_a is None or severe_b is None:
        return [_paragraph("This summary has no information on side effects.")], []
    text.append(f"Severe side effects happened to {n.per_100(severe_b)} of every 100 people in group {b}, "
                f"and to {n.per_100(severe_a)} of every 100 in group {a}.")
    serious_a = n.find(table="adverse_events", arm=control, subgroup="serious_any", statistic="serious_any")
    serious_b = n.find(table="adverse_events", arm=experimental, subgroup="serious_any", statistic="serious_any")
    if serious_a is not None and serious_b is not None:
        text.append(f"Serious side effects, such as ones that needed a hospital stay, happened to "
                    f"{n.per_100(serious_b)} of every 100 people in group {b} and {n.per_100(serious_a)} "
                    f"of every 100 in group {a}.")
    fatal_a = n.find(table="adverse_events", arm=control, subgroup="grade5_any", statistic="n")
    fatal_b = n.find(table="adverse_events", arm=experimental, subgroup="grade5_any", statistic="n")
    if fatal_a is not None and fatal_b is not None:
        text.append(f"The number of people who died of a side effect was {n.count(fatal_b)} in group {b} "
                    f"and {n.count(fatal_a)} in group {a}.")
    blocks = [_paragraph(*text)]
    terms = n.ard[(n.ard["table"] == "adverse_events") & (n.ard["arm"] == experimental)
                  & (n.ard["statistic"] == "term_grade34") & (n.ard["value"] > 0)]
    common: dict[str, str] = {}
    for record in terms.sort_values("value", ascending=False, kind="stable").to_dict("records"):
        term = str(record["subgroup"]).removeprefix("AEDECOD=").removesuffix("; grade 3-4")
        plain = PLAIN_TERMS.get(term, term.lower())
        if plain not in common and len(common) < 3:
            common[plain] = f"{plain[:1].upper()}{plain[1:]}: {n.per_100(record)} of every 100 people."
    if common:
        blocks.append(_paragraph(f"The most common severe side effects in group {b} were:"))
        blocks.append(Block("bullets", tuple(common.values())))
    reduce_a = n.find(table="adverse_events", arm=control, subgroup="DOSREDFL", statistic="dose_reduction")
    reduce_b = n.find(table="adverse_events", arm=experimental, subgroup="DOSREDFL", statistic="dose_reduction")
    if reduce_a is not None and reduce_b is not None:
        blocks.append(_paragraph(f"Because of side effects, doctors lowered the dose for {n.per_100(reduce_b)} of "
                                 f"every 100 people in group {b} and {n.per_100(reduce_a)} of every 100 in group {a}."))
    return blocks, [("Severe side effects", n.of_100(severe_a), n.of_100(severe_b))]


def _comment(n: _Numbers, protocol: Protocol, control: str, experimental: str, groups: Mapping[str, str]) -> str:
    """What the primary comparison and the severe side effects mean together, without numbers."""
    primary = protocol.design.endpoint.upper()
    hr = n.find(table="efficacy", endpoint=primary, arm=experimental, statistic="hazard_ratio")
    b = groups[experimental]
    name = next((e.name for e in protocol.endpoints if e.name.upper() == primary), protocol.design.endpoint)
    if hr is None:
        return "This summary has no result for the main question of the trial."
    if not protocol.endpoint_analysis(name).p_value:
        return ("The trial reported how large the difference on its main question was, without testing it for "
                "chance, as planned.")
    verdict = _verdict(n, primary, experimental, (_sided(protocol, name), protocol.design.alpha,
                                                   protocol.design.sided))
    if verdict is None:
        return "This summary has no result for the main question of the trial."
    look = n.find(table="efficacy", endpoint=primary, arm=experimental, statistic="look")
    early = look is not None and look["value"] < protocol.design.looks
    if not verdict and early:
        text = ("At this early look, the trial has not yet shown a clear difference between the groups on its "
                "main question. The trial goes on.")
    elif not verdict:
        text = "The trial did not show a clear difference between the groups on its main question."
    elif hr["value"] < 1 and primary in PLAIN_ENDPOINTS:
        text = (f"{'At this early look, people' if early else 'People'} in group {b} "
                f"{PLAIN_ENDPOINTS[primary].longer} for longer than people in group {groups[control]}.")
    elif hr["value"] < 1:
        text = f"People in group {b} did better on the main question of the trial."
    else:
        text = f"People in group {b} did worse on the main question of the trial."
    severe_a = n.find(table="adverse_events", arm=control, subgroup="grade34_any", statistic="grade34_any")
    severe_b = n.find(table="adverse_events", arm=experimental, subgroup="grade34_any", statistic="grade34_any")
    if severe_a is not None and severe_b is not None and severe_b["value"] > severe_a["value"]:
        text += " But they also had more severe side effects. Patients and doctors need to weigh both."
    return text
