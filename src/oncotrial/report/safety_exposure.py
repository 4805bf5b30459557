"""The subject-level safety tables of a trial report (ICH E3 section 12): deaths, treatment
discontinued because of an adverse event, exposure per treatment phase, and subsequent
anticancer therapy and surgery; plus the safety population they all share.

Every table is computed from ADSL (and ADAE for fatal events) of the safety population
(``SAFFL = "Y"``) by the arm actually received, so that every denominator is the one of the
adverse-event tables. A table the data cannot support is left out with a message naming the
absent variable: an empty or guessed table would read as "none happened". Phases, their
names and which arm has which phase come from the protocol's regimens; the per-phase ADSL
variables are named by :func:`oncotrial.clinical.exposure.phase_suffixes`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from oncotrial.clinical.exposure import phase_suffixes
from oncotrial.core.errors import DataError
from oncotrial.io import require_columns
from oncotrial.protocol import Protocol
from oncotrial.report.format import DASH, format_number, n_percent
from oncotrial.report.html import PERCENT_DIGITS, ReportTable, Row

__all__ = ["NumberLog", "SafetyPopulation", "deaths_table", "discontinuation_table", "exposure_table",
           "readable", "safety_population", "subsequent_therapy_table"]

#: what a cell shows for an arm whose regimen has no such phase
NOT_APPLICABLE = DASH
#: the disposition decode of a stop because of an adverse event (CDISC NCOMPLRS)
ADVERSE_EVENT = "ADVERSE EVENT"
COMPLETED = "COMPLETED"


def readable(text: Any) -> str:
    """``"PROGRESSIVE DISEASE"`` -> ``"Progressive disease"``: CDISC codes are upper case,
    labels are not; text already in mixed case is kept as written."""
    value = str(text).strip()
    return value[:1].upper() + value[1:].lower() if value.isupper() else value


@dataclasses.dataclass
class NumberLog:
    """Every number of the safety tables in long form, as it is printed (the ``to_frame``
    of the result): one record per table, arm, column, row and statistic."""

    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def count(self, table: str, group: str, row: str, n: int, total: int, column: str = "") -> str:
        """Log ``n``, ``N`` and the percentage, and return the printed "n (%)"."""
        pct = 100.0 * n / total if total else None
        for statistic, value in (("n", int(n)), ("N", int(total)), ("pct", pct)):
            self.records.append({"table": table, "group": group, "column": column, "row": row,
                                 "statistic": statistic, "value": value})
        return n_percent(int(n), int(total), digits=PERCENT_DIGITS)

    def value(self, table: str, group: str, row: str, statistic: str, value: Any, column: str = "") -> None:
        self.records.append({"table": table, "group": group, "column": column, "row": row,
                             "statistic": statistic, "value": value})

    def frame(self) -> pd.DataFrame:
        columns = ["table", "group", "column", "row", "statistic", "value"]
        return pd.DataFrame({c: pd.Series([r[c] for r in self.records], dtype=object) for c in columns},
                            columns=columns)


@dataclasses.dataclass(frozen=True)
class SafetyPopulation:
    """The safety population by arm actually received: ``adsl`` holds its patients only
    (``USUBJID`` as text), ``arms`` the arms in protocol order and ``totals`` each arm's N;
    ``codes`` maps an arm to its protocol arm code (regimen), when known."""

    adsl: pd.DataFrame
    arm: str
    arms: tuple[str, ...]
    totals: dict[str, int]
    codes: dict[str, str]

    def header(self, first: str = "") -> tuple[str, ...]:
        return (first, *[f"{a} (N={self.totals[a]})" for a in self.arms])

    def of(self, arm: str) -> pd.DataFrame:
        return self.adsl[self.adsl[self.arm] == arm]


def safety_population(adsl: pd.DataFrame, protocol: Protocol, arm: str = "ACTARM") -> SafetyPopulation:
    """Patients with ``SAFFL = "Y"``; arms ordered as in the protocol (labels or codes),
    arms the protocol does not name after them, sorted."""
    require_columns(adsl, ["USUBJID", "SAFFL", arm], source="ADSL")
    safety = adsl[adsl["SAFFL"] == "Y"].reset_index(drop=True).copy()
    blank = safety[arm].isna() | (safety[arm].astype(str).str.strip() == "")
    if blank.any():
        rows = [int(i) + 1 for i in adsl.index[(adsl["SAFFL"] == "Y").to_numpy()][blank.to_numpy()]][:10]
        raise DataError(f"ADSL: {int(blank.sum())} safety patient(s) without {arm}", dataset="ADSL",
                        variable=arm, rows=rows)
    safety["USUBJID"] = safety["USUBJID"].astype(str)
    safety[arm] = safety[arm].astype(str)
    by_label = {a.label: a.code for a in protocol.arms}
    by_code = {a.code: a.code for a in protocol.arms}
    codes: dict[str, str] = {}
    code_column = {"ACTARM": "ACTARMCD", "ARM": "ARMCD"}.get(arm)
    for value in safety[arm].unique():
        if value in by_label or value in by_code:
            codes[value] = by_label.get(value, value)
        elif code_column in safety.columns:
            observed = safety.loc[safety[arm] == value, code_column].astype(str).unique()
            if len(observed) == 1 and observed[0] in by_code:
                codes[value] = observed[0]
    protocol_order = [a.label for a in protocol.arms] + [a.code for a in protocol.arms]
    present = list(safety[arm].unique())
    arms = [a for a in dict.fromkeys(protocol_order) if a in present]
    arms += sorted(a for a in present if a not in arms)
    totals = {a: int((safety[arm] == a).sum()) for a in arms}
    return SafetyPopulation(safety, arm, tuple(arms), totals, codes)


def _capital(name: str) -> str:
    """A phase name as a label's first word: ``"combination"`` -> ``"Combination"``."""
    text = readable(name)
    return text[:1].upper() + text[1:]


def _median_range(values: pd.Series, log: NumberLog, table: str, group: str, row: str,
                  digits: int | None = None) -> str:
    """"6 (1–6)": median and range, logged; ``digits`` decimals for all three, or (None)
    whole numbers with a half printed as such (4.5)."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    if values.empty:
        return NOT_APPLICABLE
    median = float(values.median())
    for statistic, number in (("median", median), ("min", values.min().item()), ("max", values.max().item()),
                              ("n", len(values))):
        log.value(table, group, row, statistic, number)
    if digits is not None:
        return (f"{format_number(median, digits)} ({format_number(float(values.min()), digits)}"
                f"{DASH}{format_number(float(values.max()), digits)})")
    return (f"{format_number(median, 0 if median.is_integer() else 1)} ({format_number(float(values.min()), 0)}"
            f"{DASH}{format_number(float(values.max()), 0)})")


def _phases(population: SafetyPopulation, protocol: Protocol) -> list[tuple[str, str, set[str]]]:
    """(phase name, variable suffix, arms whose regimen has the phase), in protocol order."""
    suffixes = phase_suffixes(protocol)
    out = []
    for name, suffix in suffixes.items():
        arms = {a for a in population.arms
                if (regimen := protocol.regimens.get(population.codes.get(a, ""))) is not None
                and name in regimen.phase_names}
        out.append((name, suffix, arms))
    return out


def _open_ended(protocol: Protocol, population: SafetyPopulation, name: str) -> bool:
    """Whether the phase runs until progression in every arm that has it: such a phase is
    never "completed", so that row would be 0 by construction."""
    phases = [regimen.phase(name) for code in population.codes.values()
              if (regimen := protocol.regimens.get(code)) is not None and name in regimen.phase_names]
    return bool(phases) and all(phase.open_ended for phase in phases)


def exposure_table(population: SafetyPopulation, protocol: Protocol, log: NumberLog,
                   messages: list[str]) -> ReportTable | None:
    """Cycles received overall and per phase, phase completion and dose reductions; each
    phase row's denominator is the arm's patients who entered the phase (at least one cycle
    of it, ``CYC<phase> > 0``), never all patients of the arm."""
    adsl, key = population.adsl, "safety-exposure"
    if "CYCLES" not in adsl.columns:
        messages.append("Exposure table left out: ADSL has no CYCLES (cycles received).")
        return None
    rows: list[Row] = [Row(("Cycles received, median (range)",
                            *[_median_range(population.of(a)["CYCLES"], log, key, a, "Cycles received")
                              for a in population.arms]))]
    if "DOSREDFL" in adsl.columns:
        label = "Any dose reduction"
        rows.append(Row((label, *[log.count(key, a, label, int((population.of(a)["DOSREDFL"] == "Y").sum()),
                                            population.totals[a]) for a in population.arms])))
    absent: list[str] = []
    for name, suffix, arms in _phases(population, protocol):
        cycles_column = f"CYC{suffix}"
        if cycles_column not in adsl.columns:
            absent.append(cycles_column)
            continue
        phase = _capital(name)
        rows.append(Row((f"{phase} phase",), kind="section"))
        entered = {a: population.of(a)[pd.to_numeric(population.of(a)[cycles_column], errors="coerce") > 0]
                   for a in population.arms}
        label = "Entered the phase"
        rows.append(Row((label, *[log.count(key, a, f"{phase}: {label}", len(entered[a]), population.totals[a])
                                  if a in arms else NOT_APPLICABLE for a in population.arms]), indent=True))
        rows.append(Row(("Cycles received, median (range)",
                         *[_median_range(entered[a][cycles_column], log, key, a, f"{phase}: Cycles received")
                           if a in arms else NOT_APPLICABLE
                           for a in population.arms]), indent=True))
        if f"RDI{suffix}" in adsl.columns:
            rows.append(Row(("Relative dose intensity, %, median (range)",
                             *[_median_range(entered[a][f"RDI{suffix}"], log, key, a,
                                             f"{phase}: Relative dose intensity", digits=1)
                               if a in arms else NOT_APPLICABLE for a in population.arms]), indent=True))
        else:
            absent.append(f"RDI{suffix}")
        checks = [(f"EOT{suffix}", "Stopped because of an adverse event", ADVERSE_EVENT),
                  (f"RED{suffix}", "Dose reduced", "Y")]
        if not _open_ended(protocol, population, name):
            checks.insert(0, (f"EOT{suffix}", "Completed the phase", COMPLETED))
        for flag, label, wanted in checks:
            if flag not in adsl.columns:
                if flag not in absent:
                    absent.append(flag)
                continue
            rows.append(Row((f"{label}, n (% of entered)",
                             *[log.count(key, a, f"{phase}: {label}", int((entered[a][flag] == wanted).sum()),
                                         len(entered[a])) if a in arms else NOT_APPLICABLE
                               for a in population.arms]), indent=True))
    phase_rdi = {f"RDI{suffix}" for _, suffix, _ in _phases(population, protocol)}
    for column in [c for c in adsl.columns if str(c).upper().startswith("RDI") and c not in phase_rdi]:
        # a dose intensity supplied with the data that is not a phase's: shown under its own name
        rows.append(Row((f"Relative dose intensity ({column}), %, median (range)",
                         *[_median_range(population.of(a)[column], log, key, a, str(column), digits=1)
                           for a in population.arms])))
    if absent:
        messages.append(f"Exposure table: ADSL has no {', '.join(absent)}; those phase rows are left out.")
    notes = ["Safety population by the arm actually received. Cycles: cycles with at least one dose given.",
             "Phase rows: n (%) of the arm's patients who entered the phase (received at least one cycle of it); "
             f"{NOT_APPLICABLE}: the phase is not part of the arm's regimen."]
    if any(str(r.cells[0]).startswith("Relative dose intensity") for r in rows):
        notes.append("Relative dose intensity: dose received relative to the full protocol dose, times the cycles "
                     "received over the cycles the time from the first to the last cycle allowed; the mean over the "
                     "phase's drugs (Hryniuk and Bush, J Clin Oncol 1984).")
    return ReportTable(key=key, title="Exposure to study treatment by phase", header=population.header(),
                       rows=tuple(rows), footnotes=tuple(notes))


def deaths_table(population: SafetyPopulation, adae: pd.DataFrame, log: NumberLog,
                 messages: list[str]) -> ReportTable | None:
    """Deaths by arm, whether within the treatment-emergent window (``DTHDT`` on or before
    ``TEAEENDT``), and by cause: ``DTHCAUS`` when ADSL has it, else the grade 5 adverse
    event the patient had (by preferred term) or, without one, whether the patient had
    progressed (``PDDT`` on or before ``DTHDT``). Causes are never guessed beyond that."""
    adsl, key = population.adsl, "safety-deaths"
    if "DTHDT" not in adsl.columns:
        messages.append("Deaths table left out: ADSL has no DTHDT (date of death).")
        return None
    died = adsl[pd.to_datetime(adsl["DTHDT"]).notna()]
    fatal = pd.DataFrame(columns=["USUBJID", "AEDECOD"])
    if {"ATOXGR", "AEDECOD"} <= set(adae.columns):
        grade = pd.to_numeric(adae["ATOXGR"], errors="coerce")
        fatal = adae.loc[grade == 5, ["USUBJID", "AEDECOD"]].astype(str).drop_duplicates("USUBJID")
    fatal_term = dict(zip(fatal["USUBJID"], fatal["AEDECOD"], strict=True))
    undated = sorted(set(fatal_term) & set(adsl["USUBJID"]) - set(died["USUBJID"]))
    if undated:
        messages.append(f"Deaths table: {len(undated)} patient(s) with a grade 5 adverse event have no DTHDT "
                        f"(first: {undated[0]}); they are not counted as deaths.")

    def rows_for(label: str, mask: pd.Series, indent: bool = True) -> Row:
        return Row((label, *[log.count(key, a, label, int((mask & (died[population.arm] == a)).sum()),
                                       population.totals[a]) for a in population.arms]), indent=indent)

    rows = [rows_for("Deaths", pd.Series(True, index=died.index), indent=False)]
    notes = ["n (%) of the safety population by the arm actually received."]
    if "TEAEENDT" in adsl.columns:
        within = pd.to_datetime(died["TEAEENDT"]).isna() | (pd.to_datetime(died["DTHDT"])
                                                             <= pd.to_datetime(died["TEAEENDT"]))
        rows.append(rows_for("Within the treatment-emergent window", within))
        rows.append(rows_for("After the treatment-emergent window", ~within))
        notes.append("Within the window: death on or before the end of the adverse-event reporting window.")
    rows.append(Row(("Cause of death",), kind="section"))
    if "DTHCAUS" in adsl.columns:
        causes = died["DTHCAUS"].fillna("Not recorded").astype(str)
        for cause in causes.value_counts().index:
            rows.append(rows_for(readable(cause), causes == cause))
        notes.append("Cause of death as recorded (ADSL DTHCAUS).")
    else:
        has_fatal = died["USUBJID"].isin(fatal_term)
        terms = died["USUBJID"].map(fatal_term)
        for term in terms[has_fatal].value_counts().index:
            rows.append(rows_for(f"Fatal adverse event: {term}", terms == term))
        if "PDDT" in died.columns:
            progressed = pd.to_datetime(died["PDDT"]) <= pd.to_datetime(died["DTHDT"])
            rows.append(rows_for("No fatal adverse event, after disease progression", ~has_fatal & progressed))
            rows.append(rows_for("No fatal adverse event, no progression recorded", ~has_fatal & ~progressed))
        else:
            rows.append(rows_for("No fatal adverse event recorded", ~has_fatal))
        notes.append("ADSL records no cause of death (no DTHCAUS): deaths are classed by the grade 5 adverse "
                     "event recorded in ADAE and, without one, by progression (PDDT) before death.")
        messages.append("Deaths table: ADSL has no DTHCAUS; causes are classed from grade 5 ADAE records.")
    return ReportTable(key=key, title="Deaths and causes of death", header=population.header(),
                       rows=tuple(rows), footnotes=tuple(notes))


def discontinuation_table(population: SafetyPopulation, protocol: Protocol, adae: pd.DataFrame,
                          log: NumberLog, messages: list[str]) -> ReportTable | None:
    """Patients whose treatment was stopped because of an adverse event: from the
    end-of-treatment reason of ADSL (``DCTREAS``, and ``EOT<phase>`` per phase over the
    patients who entered it). ADAE ``AEACN`` would name the events; without it the table
    says who stopped, not which event made them stop."""
    adsl, key = population.adsl, "safety-discontinuation"
    if "DCTREAS" not in adsl.columns:
        messages.append("Adverse events leading to discontinuation left out: ADSL has no DCTREAS "
                        "(reason for ending treatment).")
        return None
    label = "Treatment stopped because of an adverse event"
    rows = [Row((label, *[log.count(key, a, label,
                                    int((population.of(a)["DCTREAS"].astype(str).str.upper() == ADVERSE_EVENT).sum()),
                                    population.totals[a]) for a in population.arms]))]
    notes = ["n (%) of the safety population by the arm actually received; phase rows: n (%) of the arm's "
             f"patients who entered the phase ({NOT_APPLICABLE}: not part of the arm's regimen)."]
    for name, suffix, arms in _phases(population, protocol):
        flag, cycles = f"EOT{suffix}", f"CYC{suffix}"
        if flag not in adsl.columns or cycles not in adsl.columns:
            continue
        phase = _capital(name)
        cells, before = [], []
        for a in population.arms:
            patients = population.of(a)
            entered = pd.to_numeric(patients[cycles], errors="coerce") > 0
            because = patients[flag].astype(str).str.upper() == ADVERSE_EVENT
            cells.append(log.count(key, a, f"{phase}: stopped", int((entered & because).sum()), int(entered.sum()))
                         if a in arms else NOT_APPLICABLE)
            before.append((a, int((~entered & because).sum())))
        rows.append(Row((f"During the {phase.lower()} phase", *cells), indent=True))
        if any(n for _, n in before):
            label = f"Before starting the {phase.lower()} phase"
            rows.append(Row((label, *[log.count(key, a, label, n, population.totals[a]) if a in arms
                                      else NOT_APPLICABLE for a, n in before]), indent=True))
            notes.append(f"Before starting the {phase.lower()} phase: the phase's end-of-treatment reason is an "
                         "adverse event and no cycle of it was given; n (%) of the safety population.")
    if "AEACN" in adae.columns:
        notes.append("The events themselves, by term: table of adverse events leading to withdrawal of study "
                     "treatment (ADAE AEACN).")
    else:
        messages.append("Adverse events leading to discontinuation are not listed by term: ADAE has no AEACN "
                        "(action taken with study treatment).")
        notes.append("ADAE records no action taken with treatment (AEACN): the events leading to the stop "
                     "cannot be named.")
    return ReportTable(key=key, title="Treatment discontinued because of an adverse event",
                       header=population.header(), rows=tuple(rows), footnotes=tuple(notes))


def subsequent_therapy_table(population: SafetyPopulation, log: NumberLog,
                             messages: list[str]) -> ReportTable | None:
    """Patients with a subsequent anticancer therapy (``NACTDT``), by the first therapy
    given (``NACTTRT``), and with surgery after randomisation (``SURGFL``)."""
    adsl, key = population.adsl, "safety-subsequent"
    rows: list[Row] = []
    if "NACTDT" in adsl.columns:
        started = pd.to_datetime(adsl["NACTDT"]).notna()
        label = "Any subsequent anticancer therapy"
        rows.append(Row((label, *[log.count(key, a, label, int((started & (adsl[population.arm] == a)).sum()),
                                            population.totals[a]) for a in population.arms])))
        if "NACTTRT" in adsl.columns:
            therapy = adsl["NACTTRT"].where(started)
            for name in therapy.dropna().astype(str).value_counts().index:
                rows.append(Row((name, *[log.count(key, a, f"First subsequent therapy: {name}",
                                                   int(((therapy == name) & (adsl[population.arm] == a)).sum()),
                                                   population.totals[a]) for a in population.arms]),
                                indent=True))
        else:
            messages.append("Subsequent therapy is not broken down by treatment: ADSL has no NACTTRT.")
    else:
        messages.append("Subsequent anticancer therapy left out: ADSL has no NACTDT.")
    if "SURGFL" in adsl.columns:
        label = "Surgery after randomisation"
        rows.append(Row((label, *[log.count(key, a, label, int((population.of(a)["SURGFL"] == "Y").sum()),
                                            population.totals[a]) for a in population.arms])))
    else:
        messages.append("Surgery after randomisation left out: ADSL has no SURGFL.")
    if not rows:
        return None
    notes = ("n (%) of the safety population by the arm actually received.",
             "Indented rows: the first anticancer therapy started after randomisation, one per patient.")
    return ReportTable(key=key, title="Subsequent anticancer therapy and surgery", header=population.header(),
                       rows=tuple(rows), footnotes=notes)

