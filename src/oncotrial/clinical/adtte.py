"""ADTTE (time-to-event) rows for PFS, DOR, OS and PFS2 from subject-level dates and RS
records.

Sources: FDA Guidance for Industry "Clinical Trial Endpoints for the Approval of Cancer
Drugs and Biologics" (2018) and its PFS censoring table (cited below as "FDA table", rows
P1-P9 as numbered in ``reporting_standards.md`` §1.5); admiral ``derive_param_tte`` and
``derive_vars_duration`` (cited as "admiral").

Input
-----
``subjects``: one row per subject with ``USUBJID``, ``RANDDT`` (randomisation), ``DTHDT``
(death or NaT), ``LSTALVDT`` (last known alive), ``NACTDT`` (start of new anticancer therapy
or NaT) and, for PFS2, ``PD2DT`` (second progression or NaT). ``rs``: RS records
``USUBJID, RSTESTCD, RSORRES, RSDTC``; only ``RSTESTCD == "OVRLRESP"`` rows are used. PFS
takes the assessments rather than one first-progression / last-assessment date per subject
because the last adequate assessment depends on the cut-off and on the new-therapy date.

Output columns: ``USUBJID, PARAMCD, PARAM, STARTDT, ADT, AVAL, AVALM, CNSR, EVNTDESC,
CNSDTDSC, SRCDOM``. ``STARTDT`` is ``RANDDT`` (DOR: the first response); ``ADT = max(ADT, STARTDT)`` and
``AVAL = ADT - STARTDT + 1`` days (admiral ``derive_vars_duration(add_one = TRUE)``, for
numeric parity); ``AVALM = AVAL / 30.4375`` (average month of 365.25 / 12 days; admiral's
``lubridate::time_length`` months differ slightly).

Censoring codes (``CNSR``; 0 = event, CDISC ADaM TTE convention):

====  ==============================================  =======================================
CNSR  Situation                                       ADT
====  ==============================================  =======================================
0     progression, death or second progression        event date
1     no adequate post-baseline assessment (FDA P1;   randomisation
      cannot occur for DOR)
2     no progression or death by the last adequate    last adequate assessment on/before
      assessment or data cut-off (FDA P3, P5)         the cut-off
3     new anticancer therapy before progression       last adequate assessment before the
      (FDA P6)                                        therapy start (randomisation if none)
4     progression or death after >= N missed          last adequate assessment before the
      scheduled assessments (FDA P9)                  gap (randomisation if none)
5     alive without the event (OS, PFS2)              last known alive, capped at cut-off
====  ==============================================  =======================================

Data-quality problems (missing ``RANDDT``, randomisation after the cut-off, death before
randomisation, tumour assessments after death, no last-known-alive date) never stop the derivation: the affected
subject-parameter is left out and reported as a :class:`DataQualityIssue` naming why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.quality import DataQualityIssue, issues_frame
from oncotrial.clinical.sdtm import check_columns, parse_iso_date
from oncotrial.core.errors import DataError, InputError
from oncotrial.core.results import Result
from oncotrial.core.validation import row_labels, row_numbers
from oncotrial.protocol.schedule import assessment_dates

__all__ = [
    "CENSORING_CODES",
    "AdtteResult",
    "Origin",
    "Outcome",
    "censor_missed_assessments",
    "censor_new_therapy",
    "censor_no_event",
    "count_missed_assessments",
    "derive_adtte",
    "derive_dor",
    "derive_first_progression",
    "derive_last_adequate_assessment",
    "derive_os",
    "derive_pfs",
    "derive_pfs2",
    "scheduled_assessments",
]

DAYS_PER_MONTH = 30.4375
COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALM", "CNSR",
           "EVNTDESC", "CNSDTDSC", "SRCDOM"]
RS_COLUMNS = ("USUBJID", "RSTESTCD", "RSORRES", "RSDTC")
RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
CENSORING_CODES: Mapping[int, str] = {
    0: "Event",
    1: "No adequate post-baseline assessment",
    2: "No progression or death",
    3: "New anticancer therapy",
    4: "Event after missed assessments",
    5: "Alive without event",
}


@dataclasses.dataclass(frozen=True, repr=False)
class AdtteResult(Result):
    """ADTTE rows (``frame``, columns as in the module docstring) and data-quality issues."""

    frame: pd.DataFrame
    issues: tuple[DataQualityIssue, ...]

    def issues_frame(self) -> pd.DataFrame:
        """The issues as a DataFrame with columns ``domain, usubjid, field, value, problem``."""
        return issues_frame(self.issues)

    def to_frame(self) -> pd.DataFrame:
        return self.frame


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One subject's event or censoring: date, ``CNSR``, descriptions and source domain."""

    adt: pd.Timestamp
    cnsr: int
    evntdesc: str
    cnsdtdsc: str
    srcdom: str


# -- input ---------------------------------------------------------------------------------


def _dates(df: pd.DataFrame, column: str, domain: str,
           positions: np.ndarray | None = None) -> pd.Series:
    """``df[column]`` as datetimes; a value that is present but not a complete date (a
    partial ``2019-05`` is not completed) is a :class:`DataError` naming the rows (1-based
    rows of ``df``, or ``positions[i]`` when ``df`` is a subset of the frame given)."""
    if pd.api.types.is_datetime64_any_dtype(df[column]):
        return pd.to_datetime(df[column])
    parsed, bad = [], []
    for value in df[column]:
        date, problem = parse_iso_date(value)
        parsed.append(date)
        bad.append(problem is not None)
    if any(bad):
        mask = np.asarray(bad)
        i = int(np.flatnonzero(mask)[0])
        rows = row_numbers(mask) if positions is None else positions[mask].tolist()
        raise DataError(f"{domain}.{column} must be a complete date, got "
                        f"{df[column].iloc[i]!r} for subject {df['USUBJID'].iloc[i]!r} at "
                        f"rows {rows[:10]}", dataset=domain, variable=column, rows=rows)
    return pd.Series(parsed, index=df.index, dtype="datetime64[ns]")


def _subjects(subjects: pd.DataFrame, required: Sequence[str]) -> pd.DataFrame:
    check_columns(subjects, "subjects")
    missing = [c for c in ("USUBJID", *required) if c not in subjects.columns]
    if missing:
        raise DataError(f"subjects is missing column(s) {', '.join(missing)}",
                        dataset="subjects", variable=missing[0])
    dup = subjects["USUBJID"].duplicated()
    if dup.any():
        raise DataError(f"subjects.USUBJID must be unique, got "
                        f"{subjects['USUBJID'][dup].iloc[0]!r} twice at {row_labels(dup)}",
                        dataset="subjects", variable="USUBJID", rows=row_numbers(dup))
    out = subjects[["USUBJID", *required]].copy()
    for column in required:
        out[column] = _dates(subjects, column, "subjects")
    return out.reset_index(drop=True)


def _overall(rs: pd.DataFrame) -> pd.DataFrame:
    check_columns(rs, "RS")
    missing = [c for c in RS_COLUMNS if c not in rs.columns]
    if missing:
        raise DataError(f"rs is missing column(s) {', '.join(missing)}", dataset="RS",
                        variable=missing[0])
    overall = (rs["RSTESTCD"] == "OVRLRESP").to_numpy()
    unknown = overall & ~rs["RSORRES"].isin(RESPONSES).to_numpy()
    if unknown.any():
        i = int(np.flatnonzero(unknown)[0])
        raise DataError(f"RS.RSORRES must be one of {', '.join(RESPONSES)}, got "
                        f"{rs['RSORRES'].iloc[i]!r} for subject {rs['USUBJID'].iloc[i]!r} at "
                        f"{row_labels(unknown)}", dataset="RS", variable="RSORRES",
                        rows=row_numbers(unknown))
    out = rs.loc[overall, list(RS_COLUMNS)].copy()
    out["RSDTC"] = _dates(out, "RSDTC", "RS", np.flatnonzero(overall) + 1)
    return out.sort_values(["USUBJID", "RSDTC"], kind="stable")


def _cap(when: pd.Timestamp, cutoff: pd.Timestamp | None) -> bool:
    """The date is known and on or before the cut-off (no cut-off: any known date)."""
    return not pd.isna(when) and (cutoff is None or when <= cutoff)


def _subject_issues(row: Any, paramcd: str,
                    cutoff: pd.Timestamp | None) -> list[DataQualityIssue]:
    """Missing ``RANDDT``, randomisation after the cut-off and death before randomisation
    leave the parameter underivable."""
    if pd.isna(row.RANDDT):
        return [DataQualityIssue("ADSL", row.USUBJID, "RANDDT", None,
                                 f"{paramcd} not derived: randomisation date is missing")]
    if cutoff is not None and cutoff < row.RANDDT:
        return [DataQualityIssue("ADSL", row.USUBJID, "RANDDT", row.RANDDT.date().isoformat(),
                                 f"{paramcd} not derived: randomised after the data cut-off "
                                 f"{cutoff.date().isoformat()}")]
    if not pd.isna(row.DTHDT) and row.DTHDT < row.RANDDT:
        return [DataQualityIssue("ADSL", row.USUBJID, "DTHDT", row.DTHDT.date().isoformat(),
                                 f"{paramcd} not derived: death before randomisation "
                                 f"{row.RANDDT.date().isoformat()}")]
    return []


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("STARTDT", "ADT"):
        frame[column] = pd.to_datetime(frame[column])
    frame["AVAL"] = frame["AVAL"].astype("int64")
    frame["AVALM"] = frame["AVALM"].astype("float64")
    frame["CNSR"] = frame["CNSR"].astype("int64")
    return frame


def _row(usubjid: str, paramcd: str, param: str, startdt: pd.Timestamp,
         outcome: Outcome) -> dict[str, Any]:
    """Apply admiral's ``ADT = max(ADT, STARTDT)`` and ``AVAL = ADT - STARTDT + 1``."""
    adt = max(outcome.adt, startdt)
    aval = (adt - startdt).days + 1
    return {"USUBJID": usubjid, "PARAMCD": paramcd, "PARAM": param, "STARTDT": startdt,
            "ADT": adt, "AVAL": aval, "AVALM": aval / DAYS_PER_MONTH, "CNSR": outcome.cnsr,
            "EVNTDESC": outcome.evntdesc, "CNSDTDSC": outcome.cnsdtdsc,
            "SRCDOM": outcome.srcdom}


# -- assessment helpers --------------------------------------------------------------------


def derive_first_progression(rs: pd.DataFrame, *, after: pd.Timestamp | None = None,
                             cutoff: pd.Timestamp | None = None) -> pd.Series:
    """First ``OVRLRESP == "PD"`` date per subject (index ``USUBJID``).

    Rule: progression is dated at the first assessment at which it can be declared (FDA
    table P2). Only assessments after ``after`` (exclusive) and on or before ``cutoff`` are
    considered; subjects without such a PD are absent from the result.
    """
    ovr = _overall(rs)
    keep = ovr["RSORRES"] == "PD"
    if after is not None:
        keep &= ovr["RSDTC"] > pd.Timestamp(after)
    if cutoff is not None:
        keep &= ovr["RSDTC"] <= pd.Timestamp(cutoff)
    return ovr[keep].groupby("USUBJID")["RSDTC"].min().rename("PDDT")


def derive_last_adequate_assessment(rs: pd.DataFrame, *, after: pd.Timestamp | None = None,
                                    before: pd.Timestamp | None = None) -> pd.Series:
    """Last adequate assessment date per subject (index ``USUBJID``).

    Rule: an adequate assessment is an ``OVRLRESP`` other than ``NE`` (FDA table P3: "date of
    last adequate radiological assessment"). Only dates after ``after`` and strictly before
    ``before`` (exclusive bounds) are considered.
    """
    ovr = _overall(rs)
    keep = ovr["RSORRES"] != "NE"
    if after is not None:
        keep &= ovr["RSDTC"] > pd.Timestamp(after)
    if before is not None:
        keep &= ovr["RSDTC"] < pd.Timestamp(before)
    return ovr[keep].groupby("USUBJID")["RSDTC"].max().rename("LASTADEQDT")


def scheduled_assessments(protocol: Any, arm: str, randdt: date | pd.Timestamp,
                          horizon: int = 60) -> np.ndarray:
    """Scheduled tumour-assessment dates (``datetime64[ns]``) for one subject.

    The assessments of ``protocol.schedule(arm, randdt, horizon_months=horizon)``
    (:func:`oncotrial.protocol.schedule.assessment_dates`); build the ``schedule`` mapping of
    :func:`derive_pfs` with it.
    """
    dates = assessment_dates(protocol, arm, pd.Timestamp(randdt).date(), horizon_months=horizon)
    return np.array(dates, dtype="datetime64[D]").astype("datetime64[ns]")


# -- censoring rules -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Origin:
    """Start of the at-risk period: its date, ``CNSDTDSC`` wording and source domain.

    ``assessments`` handed to the rules are the subject's ``OVRLRESP`` records that count
    after this origin (PFS: after randomisation; DOR: from the first response on).
    """

    date: pd.Timestamp
    description: str
    srcdom: str


def _last_adequate(assessments: pd.DataFrame, before: pd.Timestamp) -> pd.Timestamp | None:
    adequate = assessments[(assessments["RSORRES"] != "NE") & (assessments["RSDTC"] < before)]
    return None if adequate.empty else adequate["RSDTC"].max()


def censor_new_therapy(assessments: pd.DataFrame, origin: Origin,
                       nactdt: pd.Timestamp) -> Outcome:
    """Censor at the last adequate assessment before new anticancer therapy (CNSR 3).

    Rule: FDA table P6, "new anticancer treatment started: last adequate assessment before
    start"; the origin (randomisation) when there is none (admiral ``rand_censor``). Applied
    when the therapy starts on/before the cut-off and strictly before progression or death.
    """
    last = _last_adequate(assessments, nactdt)
    if last is None:
        return Outcome(origin.date, 3, CENSORING_CODES[3], origin.description, origin.srcdom)
    return Outcome(last, 3, CENSORING_CODES[3], "LAST ADEQUATE ASSESSMENT BEFORE NEW THERAPY",
                   "RS")


def count_missed_assessments(scheduled: np.ndarray, last: pd.Timestamp, event: pd.Timestamp,
                             window_days: int) -> int:
    """Scheduled assessments missed between the last adequate assessment and the event.

    A scheduled date ``d`` is missed when ``last + window < d < event - window``: no
    assessment was done within ``window_days`` of it on either side of the gap.
    """
    window = pd.Timedelta(days=window_days)
    dates = pd.DatetimeIndex(scheduled)
    return int(((dates > last + window) & (dates < event - window)).sum())


def censor_missed_assessments(assessments: pd.DataFrame, origin: Origin, event: pd.Timestamp,
                              scheduled: np.ndarray, missed: int,
                              window_days: int) -> Outcome | None:
    """Censor an event that follows >= ``missed`` missed scheduled assessments (CNSR 4).

    Rule: FDA table P9, "death or progression after two or more missed visits: censored at the
    last adequate assessment" (before the gap; the origin if none), missed visits counted by
    :func:`count_missed_assessments`. Returns ``None`` when fewer were missed: the event stands.
    """
    last = _last_adequate(assessments, event)
    reference = origin.date if last is None else last
    if count_missed_assessments(scheduled, reference, event, window_days) < missed:
        return None
    if last is None:
        return Outcome(origin.date, 4, CENSORING_CODES[4], origin.description, origin.srcdom)
    return Outcome(last, 4, CENSORING_CODES[4], "LAST ADEQUATE ASSESSMENT", "RS")


def censor_no_event(assessments: pd.DataFrame, origin: Origin,
                    cutoff: pd.Timestamp | None) -> Outcome:
    """Censor a subject without progression or death on/before the cut-off.

    Rule: FDA table P3 (CNSR 2) at the last adequate assessment on/before the cut-off; FDA P1
    (CNSR 1) at the origin (randomisation) when there is no adequate post-baseline assessment
    (admiral ``lasta_censor`` then ``rand_censor``). Events after the cut-off are ignored.
    """
    limit = pd.Timestamp.max if cutoff is None else cutoff + pd.Timedelta(days=1)
    last = _last_adequate(assessments, limit)
    if last is None:
        return Outcome(origin.date, 1, CENSORING_CODES[1], origin.description, origin.srcdom)
    return Outcome(last, 2, CENSORING_CODES[2], "LAST ADEQUATE ASSESSMENT", "RS")


@dataclasses.dataclass(frozen=True)
class _Rules:
    cutoff: pd.Timestamp | None
    censor_at_new_therapy: bool
    missed_assessments: int | None
    schedule: Mapping[str, Iterable[Any]] | None
    window_days: int


def _progression_outcome(row: Any, assessments: pd.DataFrame, origin: Origin,
                         rules: _Rules) -> Outcome:
    """PFS/DOR decision for one subject: event = first PD or death on/before the cut-off,
    then the censoring rules in order: new therapy, missed assessments, no event."""
    cut = rules.cutoff
    progressions = assessments[assessments["RSORRES"] == "PD"]
    pddt = progressions["RSDTC"].min() if not progressions.empty else pd.NaT
    candidates = [(d, dom, desc) for d, dom, desc in
                  ((pddt, "RS", "Disease progression"), (row.DTHDT, "ADSL", "Death"))
                  if _cap(d, cut)]
    event = min(candidates, key=lambda c: c[0]) if candidates else None
    if (rules.censor_at_new_therapy and _cap(row.NACTDT, cut)
            and (event is None or event[0] > row.NACTDT)):
        return censor_new_therapy(assessments, origin, row.NACTDT)
    if event is None:
        return censor_no_event(assessments, origin, cut)
    if rules.schedule is not None and rules.missed_assessments is not None:
        if row.USUBJID not in rules.schedule:
            raise InputError(f"schedule has no scheduled assessments for subject "
                             f"{row.USUBJID!r}", field="schedule")
        scheduled = np.asarray(rules.schedule[row.USUBJID], dtype="datetime64[ns]")
        censored = censor_missed_assessments(assessments, origin, event[0], scheduled,
                                             rules.missed_assessments, rules.window_days)
        if censored is not None:
            return censored
    return Outcome(event[0], 0, event[2], "", event[1])


def _assessments_after_death(row: Any, assessments: pd.DataFrame,
                             paramcd: str) -> list[DataQualityIssue]:
    if pd.isna(row.DTHDT):
        return []
    late = assessments[assessments["RSDTC"] > row.DTHDT]
    if late.empty:
        return []
    return [DataQualityIssue("RS", row.USUBJID, "RSDTC", late["RSDTC"].iloc[0].date().isoformat(),
                             f"{paramcd} not derived: tumour assessment after death "
                             f"{row.DTHDT.date().isoformat()}")]


# -- parameters ----------------------------------------------------------------------------


def _progression_inputs(subjects: pd.DataFrame, rs: pd.DataFrame, cutoff: Any,
                        censor_at_new_therapy: bool, missed_assessments: int | None,
                        schedule: Mapping[str, Iterable[Any]] | None, window_days: int,
                        ) -> tuple[_Rules, pd.DataFrame, dict[Any, pd.DataFrame], pd.DataFrame]:
    """What PFS and DOR both start from: the rules, the validated subjects, each subject's
    overall responses, and an empty response frame for subjects without any."""
    rules = _Rules(None if cutoff is None else pd.Timestamp(cutoff), censor_at_new_therapy,
                   missed_assessments, schedule, window_days)
    subj = _subjects(subjects, ("RANDDT", "DTHDT", "NACTDT"))
    ovr = _overall(rs)
    by_subject = {k: g for k, g in ovr.groupby("USUBJID", sort=False)}
    return rules, subj, by_subject, ovr.iloc[0:0]


def derive_pfs(subjects: pd.DataFrame, rs: pd.DataFrame, *,
               cutoff: date | pd.Timestamp | None = None, censor_at_new_therapy: bool = True,
               missed_assessments: int | None = 2,
               schedule: Mapping[str, Iterable[Any]] | None = None,
               window_days: int = 7) -> AdtteResult:
    """Progression-free survival (``PARAMCD = "PFS"``) from randomisation.

    Rule: event = first progression (``OVRLRESP == "PD"``) after randomisation or death,
    whichever is first, both on/before ``cutoff`` (FDA table P2, P7, P8; admiral ``pd_event``,
    ``death_event``). In order: new therapy before the event censors
    (:func:`censor_new_therapy`, switch ``censor_at_new_therapy``); an event after
    ``missed_assessments`` or more missed scheduled assessments censors
    (:func:`censor_missed_assessments`, applied when ``schedule`` — USUBJID to scheduled
    dates, see :func:`scheduled_assessments` — is given and ``missed_assessments`` is not
    None); otherwise no event censors (:func:`censor_no_event`). Tumour assessments after
    death leave the subject's PFS underivable (a data-quality issue).
    """
    rules, subj, by_subject, empty = _progression_inputs(
        subjects, rs, cutoff, censor_at_new_therapy, missed_assessments, schedule, window_days)
    rows: list[dict[str, Any]] = []
    issues: list[DataQualityIssue] = []
    for row in subj.itertuples(index=False):
        assessments = by_subject.get(row.USUBJID, empty)
        found = (_subject_issues(row, "PFS", rules.cutoff)
                 or _assessments_after_death(row, assessments, "PFS"))
        if found:
            issues += found
            continue
        origin = Origin(row.RANDDT, "RANDOMIZATION", "ADSL")
        outcome = _progression_outcome(row, assessments[assessments["RSDTC"] > row.RANDDT],
                                       origin, rules)
        rows.append(_row(row.USUBJID, "PFS", "Progression-Free Survival (days)", row.RANDDT,
                         outcome))
    return AdtteResult(_frame(rows), tuple(issues))


def derive_dor(subjects: pd.DataFrame, rs: pd.DataFrame, *,
               responders: Iterable[str] | None = None,
               cutoff: date | pd.Timestamp | None = None, censor_at_new_therapy: bool = True,
               missed_assessments: int | None = 2,
               schedule: Mapping[str, Iterable[Any]] | None = None,
               window_days: int = 7) -> AdtteResult:
    """Duration of response (``PARAMCD = "DOR"``), responders only.

    Rule: ``STARTDT`` = first ``OVRLRESP`` of CR or PR after randomisation, before the first
    progression and on/before the cut-off (admiralonco DOR: start at the response date); event
    and censoring exactly as :func:`derive_pfs` counted from that date, the response itself
    being an adequate assessment (FDA 2018: DOR "measured from the time of initial response
    until documented tumor progression"). ``responders`` (e.g. confirmed responders from the
    best overall response) restricts the subjects; without it every subject with such a
    response is a responder. A listed responder without one is a data-quality issue.
    """
    rules, subj, by_subject, empty = _progression_inputs(
        subjects, rs, cutoff, censor_at_new_therapy, missed_assessments, schedule, window_days)
    listed = None if responders is None else set(responders)
    rows: list[dict[str, Any]] = []
    issues: list[DataQualityIssue] = []
    for row in subj.itertuples(index=False):
        if listed is not None and row.USUBJID not in listed:
            continue
        assessments = by_subject.get(row.USUBJID, empty)
        found = (_subject_issues(row, "DOR", rules.cutoff)
                 or _assessments_after_death(row, assessments, "DOR"))
        if found:
            issues += found
            continue
        post = assessments[assessments["RSDTC"] > row.RANDDT]
        pds = post.loc[post["RSORRES"] == "PD", "RSDTC"]
        first_pd = pds.min() if not pds.empty else pd.Timestamp.max
        limit = pd.Timestamp.max if rules.cutoff is None else rules.cutoff
        responses = post[post["RSORRES"].isin(("CR", "PR")) & (post["RSDTC"] < first_pd)
                         & (post["RSDTC"] <= limit)]
        if responses.empty:
            if listed is not None:
                issues.append(DataQualityIssue(
                    "RS", row.USUBJID, "RSORRES", None,
                    "DOR not derived: listed responder has no CR or PR before progression "
                    "and the data cut-off"))
            continue
        start = responses["RSDTC"].iloc[0]
        outcome = _progression_outcome(row, post[post["RSDTC"] >= start],
                                       Origin(start, "FIRST RESPONSE", "RS"), rules)
        rows.append(_row(row.USUBJID, "DOR", "Duration of Response (days)", start, outcome))
    return AdtteResult(_frame(rows), tuple(issues))


def _death_or_alive(subjects: pd.DataFrame, cutoff: date | pd.Timestamp | None,
                    paramcd: str, param: str, event_column: str | None) -> AdtteResult:
    """Event = first of ``event_column`` and death on/before the cut-off; otherwise censored
    at the last known alive date capped at the cut-off (CNSR 5)."""
    cut = None if cutoff is None else pd.Timestamp(cutoff)
    extra = (event_column,) if event_column else ()
    subj = _subjects(subjects, ("RANDDT", "DTHDT", "LSTALVDT", *extra))
    rows: list[dict[str, Any]] = []
    issues: list[DataQualityIssue] = []
    for row in subj.itertuples(index=False):
        found = _subject_issues(row, paramcd, cut)
        if found:
            issues += found
            continue
        candidates = [(row.DTHDT, "Death")]
        if event_column:
            candidates.append((getattr(row, event_column), "Second disease progression"))
        events = [c for c in candidates if _cap(c[0], cut)]
        if events:
            when, desc = min(events, key=lambda c: c[0])
            outcome = Outcome(when, 0, desc, "", "ADSL")
        elif pd.isna(row.LSTALVDT):
            issues.append(DataQualityIssue("ADSL", row.USUBJID, "LSTALVDT", None,
                                           f"{paramcd} not derived: no death and no last "
                                           "known alive date"))
            continue
        else:
            alive = row.LSTALVDT if cut is None else min(row.LSTALVDT, cut)
            outcome = Outcome(alive, 5, CENSORING_CODES[5], "LAST KNOWN ALIVE", "ADSL")
        rows.append(_row(row.USUBJID, paramcd, param, row.RANDDT, outcome))
    return AdtteResult(_frame(rows), tuple(issues))


def derive_os(subjects: pd.DataFrame, *,
              cutoff: date | pd.Timestamp | None = None) -> AdtteResult:
    """Overall survival (``PARAMCD = "OS"``) from randomisation.

    Rule: event = death on/before the cut-off; otherwise censored at the last known alive date,
    capped at the cut-off (CNSR 5; admiral ``death_event`` vs ``lastalive_censor``).
    """
    return _death_or_alive(subjects, cutoff, "OS", "Overall Survival (days)", None)


def derive_pfs2(subjects: pd.DataFrame, *,
                cutoff: date | pd.Timestamp | None = None) -> AdtteResult:
    """Progression-free survival 2 (``PARAMCD = "PFS2"``) from randomisation.

    Rule: event = second progression (``PD2DT``) or death, first on/before the cut-off;
    otherwise censored at the last known alive date capped at the cut-off (CNSR 5;
    ``reporting_standards.md`` §1.6, PFS2 modelled as an admiral ``event_source``).
    """
    return _death_or_alive(subjects, cutoff, "PFS2", "Progression-Free Survival 2 (days)",
                           "PD2DT")


def derive_adtte(subjects: pd.DataFrame, rs: pd.DataFrame, *,
                 cutoff: date | pd.Timestamp | None = None, censor_at_new_therapy: bool = True,
                 missed_assessments: int | None = 2,
                 schedule: Mapping[str, Iterable[Any]] | None = None,
                 window_days: int = 7,
                 responders: Iterable[str] | None = None) -> AdtteResult:
    """PFS, DOR, OS and (when ``subjects`` has ``PD2DT``) PFS2 stacked, sorted by subject and
    parameter, with every parameter's data-quality issues (options as in :func:`derive_pfs`
    and :func:`derive_dor`)."""
    progression: dict[str, Any] = {"cutoff": cutoff, "censor_at_new_therapy": censor_at_new_therapy,
                   "missed_assessments": missed_assessments, "schedule": schedule,
                   "window_days": window_days}
    parts = [derive_pfs(subjects, rs, **progression),
             derive_dor(subjects, rs, responders=responders, **progression),
             derive_os(subjects, cutoff=cutoff)]
    if "PD2DT" in subjects.columns:
        parts.append(derive_pfs2(subjects, cutoff=cutoff))
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    frame = frame.sort_values(["USUBJID", "PARAMCD"], kind="stable", ignore_index=True)
    return AdtteResult(frame, tuple(i for p in parts for i in p.issues))
