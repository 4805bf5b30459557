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
from oncotrial.clinical.tte_outcomes import (
    CENSORING_CODES,
    LATEST,
    NAT,
    Outcomes,
    Records,
    assessed_after_death,
    group_min,
    progression_outcomes,
    underivable,
)
from oncotrial.core.errors import DataError
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
_DAY_NS = 86_400_000_000_000
COLUMNS = ["USUBJID", "PARAMCD", "PARAM", "STARTDT", "ADT", "AVAL", "AVALM", "CNSR",
           "EVNTDESC", "CNSDTDSC", "SRCDOM"]
RS_COLUMNS = ("USUBJID", "RSTESTCD", "RSORRES", "RSDTC")
RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")


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


def _frame(usubjid: np.ndarray, paramcd: str, param: str, start: np.ndarray,
           outcomes: Outcomes) -> pd.DataFrame:
    """The ADTTE rows: admiral's ``ADT = max(ADT, STARTDT)`` and ``AVAL = ADT - STARTDT + 1``
    (whole days)."""
    adt = np.where(start > outcomes.adt, start, outcomes.adt)
    aval = (adt - start).view(np.int64) // _DAY_NS + 1
    frame = pd.DataFrame({"USUBJID": usubjid, "PARAMCD": paramcd, "PARAM": param,
                          "STARTDT": start, "ADT": adt, "AVAL": aval,
                          "AVALM": aval / DAYS_PER_MONTH, "CNSR": outcomes.cnsr,
                          "EVNTDESC": outcomes.evntdesc, "CNSDTDSC": outcomes.cnsdtdsc,
                          "SRCDOM": outcomes.srcdom}, columns=COLUMNS)
    for column in ("STARTDT", "ADT"):
        frame[column] = pd.to_datetime(frame[column])
    frame["AVAL"] = frame["AVAL"].astype("int64")
    frame["AVALM"] = frame["AVALM"].astype("float64")
    frame["CNSR"] = frame["CNSR"].astype("int64")
    return frame


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].to_numpy(dtype="datetime64[ns]")


def _records(subj: pd.DataFrame, ovr: pd.DataFrame) -> Records:
    """The overall responses of the subjects of ``subj``, numbered by subject (records of
    other subjects are left out, as a per-subject lookup would never reach them)."""
    owner = pd.Index(subj["USUBJID"]).get_indexer(ovr["USUBJID"])
    owner[ovr["USUBJID"].isna().to_numpy()] = -1
    known = owner >= 0
    return Records(owner[known], _column(ovr, "RSDTC")[known],
                   ovr["RSORRES"].to_numpy(dtype=object)[known])


def _sorted_issues(*found: dict[int, DataQualityIssue]) -> tuple[DataQualityIssue, ...]:
    """The issues in subject order (at most one per subject and parameter)."""
    merged = {k: v for part in found for k, v in part.items()}
    return tuple(merged[k] for k in sorted(merged))


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


# -- parameters ----------------------------------------------------------------------------


def _cutoff(cutoff: Any) -> pd.Timestamp | None:
    return None if cutoff is None else pd.Timestamp(cutoff)


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
    death leave the subject's PFS underivable (a data-quality issue). The rules run on all
    subjects at once (:func:`~oncotrial.clinical.tte_outcomes.progression_outcomes`).
    """
    cut = _cutoff(cutoff)
    subj = _subjects(subjects, ("RANDDT", "DTHDT", "NACTDT"))
    records = _records(subj, _overall(rs))
    usubjid = subj["USUBJID"].to_numpy(dtype=object)
    randdt, death = _column(subj, "RANDDT"), _column(subj, "DTHDT")
    everyone = np.ones(len(subj), dtype=bool)
    bad, issues = underivable(usubjid, randdt, death, "PFS", cut, everyone)
    late, late_issues = assessed_after_death(usubjid, death, records, "PFS", ~bad)
    keep = ~bad & ~late
    post = records.of_kept(keep, records.dates > randdt[records.owner])
    outcomes = progression_outcomes(
        usubjid[keep], randdt[keep], death[keep], _column(subj, "NACTDT")[keep], post,
        origin_text="RANDOMIZATION", origin_dom="ADSL", cutoff=cut,
        censor_at_new_therapy=censor_at_new_therapy, missed_assessments=missed_assessments,
        schedule=schedule, window_days=window_days)
    frame = _frame(usubjid[keep], "PFS", "Progression-Free Survival (days)", randdt[keep],
                   outcomes)
    return AdtteResult(frame, _sorted_issues(issues, late_issues))


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
    cut = _cutoff(cutoff)
    subj = _subjects(subjects, ("RANDDT", "DTHDT", "NACTDT"))
    records = _records(subj, _overall(rs))
    usubjid = subj["USUBJID"].to_numpy(dtype=object)
    randdt, death = _column(subj, "RANDDT"), _column(subj, "DTHDT")
    n = len(subj)
    listed = None if responders is None else set(responders)
    considered = (np.ones(n, dtype=bool) if listed is None
                  else np.array([s in listed for s in usubjid], dtype=bool))
    bad, issues = underivable(usubjid, randdt, death, "DOR", cut, considered)
    late, late_issues = assessed_after_death(usubjid, death, records, "DOR",
                                             considered & ~bad)
    post = records.subset(records.dates > randdt[records.owner])
    progressions = post.subset(post.results == "PD")
    first_pd = group_min(progressions.owner, progressions.dates, n)
    first_pd = np.where(np.isnat(first_pd), LATEST, first_pd)
    limit = LATEST if cut is None else np.datetime64(cut.value, "ns")
    responded = (pd.Series(post.results).isin(("CR", "PR")).to_numpy()
                 & (post.dates < first_pd[post.owner]) & (post.dates <= limit))
    start = group_min(post.owner[responded], post.dates[responded], n)
    candidates = considered & ~bad & ~late
    unanswered = candidates & np.isnat(start)
    missing: dict[int, DataQualityIssue] = {}
    if listed is not None:
        missing = {int(i): DataQualityIssue(
            "RS", usubjid[i], "RSORRES", None,
            "DOR not derived: listed responder has no CR or PR before progression and the "
            "data cut-off") for i in np.flatnonzero(unanswered)}
    keep = candidates & ~unanswered
    counted = post.of_kept(keep, post.dates >= start[post.owner])
    outcomes = progression_outcomes(
        usubjid[keep], start[keep], death[keep], _column(subj, "NACTDT")[keep], counted,
        origin_text="FIRST RESPONSE", origin_dom="RS", cutoff=cut,
        censor_at_new_therapy=censor_at_new_therapy, missed_assessments=missed_assessments,
        schedule=schedule, window_days=window_days)
    frame = _frame(usubjid[keep], "DOR", "Duration of Response (days)", start[keep], outcomes)
    return AdtteResult(frame, _sorted_issues(issues, late_issues, missing))


def _death_or_alive(subjects: pd.DataFrame, cutoff: date | pd.Timestamp | None,
                    paramcd: str, param: str, event_column: str | None) -> AdtteResult:
    """Event = first of ``event_column`` and death on/before the cut-off (death when both
    fall on one day); otherwise censored at the last known alive date capped at the cut-off
    (CNSR 5)."""
    cut = _cutoff(cutoff)
    extra = (event_column,) if event_column else ()
    subj = _subjects(subjects, ("RANDDT", "DTHDT", "LSTALVDT", *extra))
    usubjid = subj["USUBJID"].to_numpy(dtype=object)
    randdt, death, alive = (_column(subj, c) for c in ("RANDDT", "DTHDT", "LSTALVDT"))
    n = len(subj)
    bad, issues = underivable(usubjid, randdt, death, paramcd, cut, np.ones(n, dtype=bool))
    limit = None if cut is None else np.datetime64(cut.value, "ns")
    death_ok = ~np.isnat(death) if limit is None else ~np.isnat(death) & (death <= limit)
    second = _column(subj, event_column) if event_column else np.full(n, NAT)
    second_ok = ~np.isnat(second) if limit is None else ~np.isnat(second) & (second <= limit)
    use_death = death_ok & (~second_ok | (death <= second))
    has_event = death_ok | second_ok
    unknown = ~bad & ~has_event & np.isnat(alive)
    missing = {int(i): DataQualityIssue("ADSL", usubjid[i], "LSTALVDT", None,
                                        f"{paramcd} not derived: no death and no last known "
                                        "alive date") for i in np.flatnonzero(unknown)}
    capped = alive if limit is None else np.where(limit < alive, limit, alive)
    outcomes = Outcomes(np.where(has_event, np.where(use_death, death, second), capped),
                        np.where(has_event, 0, 5).astype(np.int64),
                        np.where(has_event, np.where(use_death, "Death",
                                                     "Second disease progression"),
                                 CENSORING_CODES[5]).astype(object),
                        np.where(has_event, "", "LAST KNOWN ALIVE").astype(object),
                        np.full(n, "ADSL", dtype=object))
    keep = ~bad & ~unknown
    chosen = Outcomes(outcomes.adt[keep], outcomes.cnsr[keep], outcomes.evntdesc[keep],
                      outcomes.cnsdtdsc[keep], outcomes.srcdom[keep])
    frame = _frame(usubjid[keep], paramcd, param, randdt[keep], chosen)
    return AdtteResult(frame, _sorted_issues(issues, missing))


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
