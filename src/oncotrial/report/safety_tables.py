"""The safety tables of a trial report at clinical-study-report grade (ICH E3 section 12),
for any protocol: an overview, treatment-emergent adverse events by system organ class and
preferred term with columns any grade / grade 3 / grade 4 / grade 5, serious and
treatment-related events by term, deaths with causes, treatment stopped because of an
adverse event, exposure per phase, and subsequent anticancer therapy and surgery.

Rules every table keeps:

* a patient is counted once per row, at the worst grade of their events in that row, so the
  grade 3, 4 and 5 columns are a partition of the patients with a grade 3 or higher event
  and never add up to more than "any grade"; a fatal event (``ATOXGR`` 5, or ``AESDTH`` /
  ``AEOUT`` saying fatal when ADAE carries them) is grade 5;
* safety population (``SAFFL = "Y"``) by the arm actually received; percentages of the
  arm's safety patients;
* tables describe: no P value, as ICH E9 and CONSORT harms ask for adverse events;
* the footnotes say the CTCAE version and reporting window of the protocol, the MedDRA
  version when the protocol states one, and the frequency threshold of the by-term rows
  (the overview is always complete);
* a table the data cannot support is left out and a message says which variable is absent.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from oncotrial.core.errors import DataError, InputError
from oncotrial.core.results import Result
from oncotrial.io import require_columns
from oncotrial.protocol import Protocol
from oncotrial.report.adam import AdamData
from oncotrial.report.causality import related_events
from oncotrial.report.format import format_number
from oncotrial.report.html import ReportTable, Row
from oncotrial.report.safety_exposure import (
    NumberLog,
    SafetyPopulation,
    deaths_table,
    discontinuation_table,
    exposure_table,
    safety_population,
    subsequent_therapy_table,
)

__all__ = ["DRUG_WITHDRAWN", "GRADE_COLUMNS", "SafetyTables", "safety_tables"]

#: the grade columns of the by-term tables: label -> worst grade counted (None: any grade)
GRADE_COLUMNS: tuple[tuple[str, int | None], ...] = (("Any grade", None), ("Grade 3", 3), ("Grade 4", 4),
                                                       ("Grade 5", 5))
_ANY = "Any treatment-emergent adverse event"
#: the AEACN decode of an event that made study treatment stop (CDISC ACN)
DRUG_WITHDRAWN = "DRUG WITHDRAWN"


@dataclasses.dataclass(frozen=True, repr=False)
class SafetyTables(Result):
    """The safety tables in printing order, the messages of tables or rows left out, and
    every printed number in long form (``numbers``: ``table``, ``group`` (arm), ``column``
    (grade column or ""), ``row``, ``statistic`` (``n``, ``N``, ``pct``, ``median``,
    ``min``, ``max``) and ``value``, counts as ``int``)."""

    tables: tuple[ReportTable, ...]
    messages: tuple[str, ...]
    numbers: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.numbers

    def table(self, key: str) -> ReportTable:
        """The table called ``key`` (InputError listing the keys otherwise)."""
        for table in self.tables:
            if table.key == key:
                return table
        raise InputError(f"no safety table {key!r}; tables: {[t.key for t in self.tables]}", field="key")


def _teae(adae: pd.DataFrame, population: SafetyPopulation, messages: list[str]) -> pd.DataFrame:
    """Treatment-emergent records of safety patients with their actual arm and a numeric
    ``_grade`` (fatal outcome -> 5); records without a grade keep NaN (any-grade rows only)."""
    require_columns(adae, ["USUBJID", "AEBODSYS", "AEDECOD", "TRTEMFL", "ATOXGR"], source="ADAE")
    frame = adae.reset_index(drop=True)
    frame = frame[frame["TRTEMFL"] == "Y"].copy()
    frame["USUBJID"] = frame["USUBJID"].astype(str)
    arm_of = dict(zip(population.adsl["USUBJID"], population.adsl[population.arm], strict=True))
    outside = ~frame["USUBJID"].isin(arm_of)
    if outside.any():
        messages.append(f"{int(frame.loc[outside, 'USUBJID'].nunique())} patient(s) with treatment-emergent "
                        f"events are outside the safety population and are not counted.")
    frame = frame[~outside].copy()
    frame["_arm"] = frame["USUBJID"].map(arm_of)
    grade = pd.to_numeric(frame["ATOXGR"], errors="coerce")
    bad = frame["ATOXGR"].notna() & (grade.isna() | ~grade.isin([1, 2, 3, 4, 5]))
    if bad.any():
        raise DataError(f"ADAE: ATOXGR must be a CTCAE grade 1 to 5, not {frame.loc[bad, 'ATOXGR'].iloc[0]!r}",
                        dataset="ADAE", variable="ATOXGR")
    fatal = pd.Series(False, index=frame.index)
    if "AESDTH" in frame.columns:
        fatal |= frame["AESDTH"].astype(str).str.upper() == "Y"
    if "AEOUT" in frame.columns:
        fatal |= frame["AEOUT"].astype(str).str.upper().str.contains("FATAL")
    if (fatal & (grade != 5)).any():
        messages.append(f"{int((fatal & (grade != 5)).sum())} fatal event(s) recorded with a grade below 5 "
                        f"are counted as grade 5.")
    frame["_grade"] = grade.where(~fatal, 5.0)
    if frame["_grade"].isna().any():
        messages.append(f"{int(frame['_grade'].isna().sum())} treatment-emergent event(s) without ATOXGR count in "
                        f"the any-grade column only.")
    for column in ("AEBODSYS", "AEDECOD"):
        blank = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if blank.any():
            messages.append(f"{int(blank.sum())} event(s) without {column} are shown as \"Not coded\".")
            frame.loc[blank, column] = "Not coded"
    return frame


def _worst(records: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One record per patient and ``keys`` with their worst grade (NaN if none graded)."""
    return records.groupby(["_arm", "USUBJID", *keys], dropna=False)["_grade"].max().reset_index()


def _grade_cells(worst: pd.DataFrame, population: SafetyPopulation, log: NumberLog, table: str,
                 row: str) -> list[str]:
    """Cells any / 3 / 4 / 5 per arm for patients (one record each) of ``worst``."""
    cells = []
    for arm in population.arms:
        part = worst[worst["_arm"] == arm]
        for column, grade in GRADE_COLUMNS:
            n = len(part) if grade is None else int((part["_grade"] == grade).sum())
            cells.append(log.count(table, arm, row, n, population.totals[arm], column=column))
    return cells


def _grade_header(population: SafetyPopulation, first: str) -> tuple[str, ...]:
    """The label column, then the grade columns of each arm (under :func:`_grade_groups`)."""
    return (first, *[column for _ in population.arms for column, _ in GRADE_COLUMNS])


def _grade_groups(population: SafetyPopulation) -> tuple[tuple[str, int], ...]:
    """Each arm with its N over its grade columns: the CSR layout, where a flat header would
    repeat the arm in every column and wrap it."""
    return (("", 1), *[(f"{arm} (N={population.totals[arm]})", len(GRADE_COLUMNS)) for arm in population.arms])


def _frequent(worst: pd.DataFrame, population: SafetyPopulation, min_percent: float) -> bool:
    """Whether the row reaches ``min_percent`` of the patients of at least one arm."""
    if min_percent <= 0:
        return True
    return any(100.0 * (worst["_arm"] == a).sum() / population.totals[a] >= min_percent
               for a in population.arms if population.totals[a])


def _order(records: pd.DataFrame, key: str) -> list[str]:
    """Values of ``key`` by descending number of patients (all arms), then alphabetically."""
    counts = records.groupby(key)["USUBJID"].nunique()
    return sorted(counts.index, key=lambda value: (-int(counts[value]), str(value)))


def _notes(protocol: Protocol, min_percent: float, extra: str = "") -> tuple[str, ...]:
    meddra = protocol.adverse_events.meddra_version
    coding = (f"MedDRA version {meddra}." if meddra else "MedDRA version not stated in the protocol.")
    threshold = ("All preferred terms are shown." if min_percent <= 0 else
                 f"Preferred terms reported in at least {format_number(min_percent, 1)}% of the patients of "
                 f"either arm are shown; system organ class rows count every term.")
    return tuple(note for note in (
        "Patients with at least one treatment-emergent event, n (%) of the arm's safety population (the arm "
        "actually received). A patient is counted once per system organ class and once per preferred term, at "
        "the worst grade of their events; the grade columns are the worst grade, so they add up to the patients "
        "with a grade 3 or higher event. A fatal event is grade 5.",
        extra,
        f"Grades: CTCAE version {protocol.adverse_events.ctcae_version}. {coding}",
        f"Reporting window: {protocol.adverse_events.window.rstrip('.')}.",
        f"{threshold} Sorted by descending frequency over all arms.",
    ) if note)


def _soc_term_table(records: pd.DataFrame, population: SafetyPopulation, protocol: Protocol, log: NumberLog,
                    *, key: str, title: str, any_label: str, min_percent: float, extra: str = "") -> ReportTable:
    """One row for patients with any event of ``records``, then each system organ class
    and its preferred terms (indented), at the worst grade per patient."""
    rows = [Row((any_label, *_grade_cells(_worst(records, []), population, log, key, any_label)))]
    by_soc = _worst(records, ["AEBODSYS"])
    by_term = _worst(records, ["AEBODSYS", "AEDECOD"])
    for soc in _order(records, "AEBODSYS"):
        label = str(soc)
        rows.append(Row((label, *_grade_cells(by_soc[by_soc["AEBODSYS"] == soc], population, log, key, label))))
        in_soc = records[records["AEBODSYS"] == soc]
        for term in _order(in_soc, "AEDECOD"):
            worst = by_term[(by_term["AEBODSYS"] == soc) & (by_term["AEDECOD"] == term)]
            if _frequent(worst, population, min_percent):
                rows.append(Row((str(term), *_grade_cells(worst, population, log, key, f"{soc} / {term}")),
                                indent=True))
    return ReportTable(key=key, title=title, header=_grade_header(population, "System organ class / preferred term"),
                       rows=tuple(rows), footnotes=_notes(protocol, min_percent, extra),
                       header_groups=_grade_groups(population))


def _related(teae: pd.DataFrame, messages: list[str]) -> pd.Series | None:
    """Whether each record is related to study treatment (``AEREL``, the rule of
    :func:`~oncotrial.report.causality.related_events`)."""
    if "AEREL" not in teae.columns:
        messages.append("Treatment-related adverse events left out: ADAE has no AEREL (causality).")
        return None
    related, blank = related_events(teae["AEREL"])
    if blank:
        messages.append(f"{blank} event(s) without AEREL are counted as related.")
    return related


def _overview(teae: pd.DataFrame, related: pd.Series | None, population: SafetyPopulation,
              protocol: Protocol, log: NumberLog) -> ReportTable:
    """Patients with any event, grade 3 or higher, grade 5, serious, related: always every
    row the data carry, whatever the by-term threshold."""
    key = "safety-overview"
    conditions: list[tuple[str, pd.Series]] = [
        (_ANY, pd.Series(True, index=teae.index)),
        ("Grade 3 or higher", teae["_grade"] >= 3),
        ("Grade 3 or 4", teae["_grade"].isin([3, 4])),
        ("Grade 5 (fatal)", teae["_grade"] == 5),
    ]
    if "AESER" in teae.columns:
        conditions.append(("Serious", teae["AESER"] == "Y"))
    if related is not None:
        conditions.append(("Related to study treatment", related))
        conditions.append(("Related, grade 3 or higher", related & (teae["_grade"] >= 3)))
        if "AESER" in teae.columns:
            conditions.append(("Related and serious", related & (teae["AESER"] == "Y")))
    rows = []
    for label, condition in conditions:
        part = teae[condition]
        rows.append(Row((label, *[log.count(key, a, label, int(part.loc[part["_arm"] == a, "USUBJID"].nunique()),
                                            population.totals[a]) for a in population.arms]),
                        indent=label != _ANY))
    notes = ("Patients with at least one treatment-emergent event of the row, n (%) of the arm's safety "
             "population (the arm actually received); a patient is counted once per row.",
             f"Grades: CTCAE version {protocol.adverse_events.ctcae_version}. Reporting window: "
             f"{protocol.adverse_events.window.rstrip('.')}.")
    return ReportTable(key=key, title="Overview of treatment-emergent adverse events",
                       header=population.header(), rows=tuple(rows), footnotes=notes)


def safety_tables(adam: AdamData, protocol: Protocol, *, arm: str = "ACTARM",
                  min_percent: float = 0.0) -> SafetyTables:
    """Every safety table of the report from ADSL and ADAE, in printing order.

    ``arm``: the ADSL column of the arm actually received. ``min_percent``: the frequency
    threshold of the preferred-term rows of the adverse-event table (a term is shown when
    it reaches it in at least one arm; 0, the default, shows every term); the overview,
    the system organ class rows and the serious, related and death tables are complete.
    Missing required columns (ADSL ``USUBJID``/``SAFFL``/``arm``, ADAE ``USUBJID``/
    ``AEBODSYS``/``AEDECOD``/``TRTEMFL``/``ATOXGR``) raise a DataError naming the dataset
    and the columns; a table whose optional variables are absent is left out with a message.
    """
    if not 0 <= min_percent <= 100:
        raise InputError(f"min_percent must be between 0 and 100, not {min_percent!r}", field="min_percent")
    if adam.adae is None:
        raise DataError("ADAE is required for the safety tables", dataset="ADAE")
    messages: list[str] = []
    log = NumberLog()
    population = safety_population(adam.adsl, protocol, arm)
    teae = _teae(adam.adae, population, messages)
    related = _related(teae, messages)
    tables = [_overview(teae, related, population, protocol, log),
              _soc_term_table(teae, population, protocol, log, key="safety-teae",
                              title="Treatment-emergent adverse events by system organ class, preferred term and "
                                    "worst grade", any_label=_ANY, min_percent=min_percent)]
    if "AESER" in teae.columns:
        tables.append(_soc_term_table(teae[teae["AESER"] == "Y"], population, protocol, log, key="safety-serious",
                                      title="Serious treatment-emergent adverse events", any_label="Any serious "
                                      "adverse event", min_percent=0.0, extra="Serious: AESER = \"Y\"."))
    else:
        messages.append("Serious adverse events left out: ADAE has no AESER.")
    if related is not None:
        tables.append(_soc_term_table(teae[related], population, protocol, log, key="safety-related",
                                      title="Treatment-related treatment-emergent adverse events",
                                      any_label="Any treatment-related adverse event", min_percent=0.0,
                                      extra="Related: causality (AEREL) related to study treatment as judged by "
                                            "the investigator; a missing causality counts as related."))
    if "AEACN" in teae.columns:
        withdrawn = teae["AEACN"].astype(str).str.strip().str.upper() == DRUG_WITHDRAWN
        tables.append(_soc_term_table(teae[withdrawn], population, protocol, log, key="safety-withdrawn",
                                      title="Treatment-emergent adverse events leading to withdrawal of study "
                                            "treatment", any_label="Any adverse event leading to withdrawal",
                                      min_percent=0.0, extra=f"Action taken with study treatment (AEACN): "
                                                             f"{DRUG_WITHDRAWN.lower()}."))
    for table in (deaths_table(population, adam.adae, log, messages),
                  discontinuation_table(population, protocol, adam.adae, log, messages),
                  exposure_table(population, protocol, log, messages),
                  subsequent_therapy_table(population, log, messages)):
        if table is not None:
            tables.append(table)
    return SafetyTables(tuple(tables), tuple(messages), log.frame())
