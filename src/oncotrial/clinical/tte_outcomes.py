"""The event or censoring outcome of every subject at once, for PFS and DOR.

:mod:`oncotrial.clinical.adtte` states the rules one subject at a time (``censor_new_therapy``,
``censor_missed_assessments``, ``censor_no_event``); applying them subject by subject filters
the assessment frame once per subject, which made ADTTE the slowest derivation of a large
trial. Here the same rules, in the same order, run on columns: each subject's thresholds
(new-therapy start, event date, cut-off) are broadcast to its assessment records, and the
"last adequate assessment before ..." dates are per-subject maxima of the records that
pass, so the cost grows with the number of records, not with subjects times records.

Dates are ``datetime64[ns]`` arrays; ``NaT`` compares false, as ``pd.isna`` checks do in the
per-subject rules. Subjects are numbered 0..n-1 and records carry their subject's number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.quality import DataQualityIssue
from oncotrial.core.errors import InputError

__all__ = ["CENSORING_CODES", "LATEST", "NAT", "Outcomes", "Records", "assessed_after_death", "group_max",
           "group_min", "progression_outcomes", "underivable"]

CENSORING_CODES: Mapping[int, str] = {
    0: "Event",
    1: "No adequate post-baseline assessment",
    2: "No progression or death",
    3: "New anticancer therapy",
    4: "Event after missed assessments",
    5: "Alive without event",
}
NAT = np.datetime64("NaT", "ns")
LATEST = np.datetime64(pd.Timestamp.max.value, "ns")
_INT_MIN = np.iinfo(np.int64).min
_INT_MAX = np.iinfo(np.int64).max


def group_max(owner: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    """Latest of ``dates`` per subject ``0..n-1`` (``NaT`` when a subject has none): NaT is
    the smallest int64, so it never wins a maximum."""
    out = np.full(n, _INT_MIN, dtype=np.int64)
    np.maximum.at(out, owner, dates.view(np.int64))
    return out.view("datetime64[ns]")


def group_min(owner: np.ndarray, dates: np.ndarray, n: int) -> np.ndarray:
    """Earliest of the non-missing ``dates`` per subject ``0..n-1`` (``NaT`` when none)."""
    known = ~np.isnat(dates)
    out = np.full(n, _INT_MAX, dtype=np.int64)
    np.minimum.at(out, owner[known], dates[known].view(np.int64))
    out[out == _INT_MAX] = _INT_MIN
    return out.view("datetime64[ns]")


@dataclasses.dataclass(frozen=True)
class Records:
    """Assessment records: subject number, date and ``RSORRES`` of each."""

    owner: np.ndarray
    dates: np.ndarray
    results: np.ndarray

    def subset(self, keep: np.ndarray) -> Records:
        return Records(self.owner[keep], self.dates[keep], self.results[keep])

    def of_kept(self, kept: np.ndarray, where: np.ndarray) -> Records:
        """The records where ``where`` holds of the subjects ``kept`` (a mask over the
        subjects), their owners renumbered 0.. among the subjects kept, as the per-subject
        arrays are once indexed by ``kept``."""
        number = np.cumsum(kept) - 1
        chosen = self.subset(kept[self.owner] & where)
        return Records(number[chosen.owner], chosen.dates, chosen.results)


@dataclasses.dataclass
class Outcomes:
    """Per subject: outcome date, ``CNSR``, ``EVNTDESC``, ``CNSDTDSC`` and source domain."""

    adt: np.ndarray
    cnsr: np.ndarray
    evntdesc: np.ndarray
    cnsdtdsc: np.ndarray
    srcdom: np.ndarray

    def set(self, where: np.ndarray, adt: np.ndarray, cnsr: int, evntdesc: str,
            cnsdtdsc: str | np.ndarray, srcdom: str | np.ndarray) -> None:
        """Give the subjects of mask ``where`` one outcome (arrays are per subject)."""
        self.adt[where] = adt[where]
        self.cnsr[where] = cnsr
        self.evntdesc[where] = evntdesc
        self.cnsdtdsc[where] = cnsdtdsc[where] if isinstance(cnsdtdsc, np.ndarray) else cnsdtdsc
        self.srcdom[where] = srcdom[where] if isinstance(srcdom, np.ndarray) else srcdom


def _capped(dates: np.ndarray, cutoff: np.datetime64 | None) -> np.ndarray:
    """Known and on or before the cut-off (no cut-off: known)."""
    known = ~np.isnat(dates)
    return known if cutoff is None else known & (dates <= cutoff)


def _last_adequate(records: Records, before: np.ndarray, n: int) -> np.ndarray:
    """Per subject, the last assessment other than ``NE`` strictly before ``before``."""
    keep = (records.results != "NE") & (records.dates < before[records.owner])
    return group_max(records.owner[keep], records.dates[keep], n)


def _censor_at_last(outcomes: Outcomes, where: np.ndarray, last: np.ndarray,
                    origin: np.ndarray, origin_text: str, origin_dom: str, cnsr_none: int,
                    cnsr_last: int, last_text: str) -> None:
    """Censor at the last adequate assessment, or at the origin when there is none."""
    none = np.isnat(last)
    outcomes.set(where & none, origin, cnsr_none, CENSORING_CODES[cnsr_none], origin_text,
                 origin_dom)
    outcomes.set(where & ~none, last, cnsr_last, CENSORING_CODES[cnsr_last], last_text, "RS")


def _missed_counts(subjects: np.ndarray, which: np.ndarray, reference: np.ndarray,
                   event: np.ndarray, schedule: Mapping[str, Iterable[Any]],
                   window_days: int) -> np.ndarray:
    """Per subject of mask ``which``, the scheduled assessments strictly between
    ``reference + window`` and ``event - window`` (``count_missed_assessments``); the first
    subject without a schedule is an error, as in the per-subject rule."""
    positions = np.flatnonzero(which)
    for position in positions:
        if subjects[position] not in schedule:
            raise InputError(f"schedule has no scheduled assessments for subject "
                             f"{subjects[position]!r}", field="schedule")
    dates = [np.asarray(schedule[subjects[p]], dtype="datetime64[ns]") for p in positions]
    counts = np.zeros(len(subjects), dtype=np.int64)
    if not dates:
        return counts
    owner = np.repeat(positions, [len(d) for d in dates])
    scheduled = np.concatenate(dates)
    window = np.timedelta64(window_days, "D").astype("timedelta64[ns]")
    missed = (scheduled > reference[owner] + window) & (scheduled < event[owner] - window)
    counts += np.bincount(owner[missed], minlength=len(subjects))
    return counts


def progression_outcomes(subjects: np.ndarray, origin: np.ndarray, death: np.ndarray,
                         new_therapy: np.ndarray, records: Records, *, origin_text: str,
                         origin_dom: str, cutoff: pd.Timestamp | None,
                         censor_at_new_therapy: bool, missed_assessments: int | None,
                         schedule: Mapping[str, Iterable[Any]] | None,
                         window_days: int) -> Outcomes:
    """PFS/DOR outcome per subject from the records that count after its origin: the event
    is the first PD or death on/before the cut-off (PD when both fall on one day); then, in
    order, new therapy before the event censors (CNSR 3), no event censors (CNSR 1/2), an
    event after ``missed_assessments`` missed scheduled assessments censors (CNSR 4),
    otherwise the event stands (CNSR 0). Rules as in :mod:`oncotrial.clinical.adtte`."""
    n = len(subjects)
    cut = None if cutoff is None else np.datetime64(pd.Timestamp(cutoff).value, "ns")
    progressions = records.subset(records.results == "PD")
    pddt = group_min(progressions.owner, progressions.dates, n)
    pd_ok, death_ok = _capped(pddt, cut), _capped(death, cut)
    use_pd = pd_ok & (~death_ok | (pddt <= death))
    has_event = pd_ok | death_ok
    event = np.where(use_pd, pddt, np.where(death_ok, death, NAT))
    outcomes = Outcomes(event.copy(), np.zeros(n, dtype=np.int64),
                        np.where(use_pd, "Disease progression", "Death").astype(object),
                        np.full(n, "", dtype=object),
                        np.where(use_pd, "RS", "ADSL").astype(object))

    therapy = np.zeros(n, dtype=bool)
    if censor_at_new_therapy:
        therapy = _capped(new_therapy, cut) & (~has_event | (event > new_therapy))
        last = _last_adequate(records, np.where(therapy, new_therapy, NAT), n)
        _censor_at_last(outcomes, therapy, last, origin, origin_text, origin_dom, 3, 3,
                        "LAST ADEQUATE ASSESSMENT BEFORE NEW THERAPY")
    no_event = ~therapy & ~has_event
    limit = np.full(n, LATEST) if cut is None else np.full(n, cut + np.timedelta64(1, "D"))
    last = _last_adequate(records, np.where(no_event, limit, NAT), n)
    _censor_at_last(outcomes, no_event, last, origin, origin_text, origin_dom, 1, 2,
                    "LAST ADEQUATE ASSESSMENT")
    if schedule is not None and missed_assessments is not None:
        eventful = ~therapy & has_event
        last = _last_adequate(records, np.where(eventful, event, NAT), n)
        reference = np.where(np.isnat(last), origin, last)
        counts = _missed_counts(subjects, eventful, reference, event, schedule, window_days)
        censored = eventful & (counts >= missed_assessments)
        _censor_at_last(outcomes, censored, last, origin, origin_text, origin_dom, 4, 4,
                        "LAST ADEQUATE ASSESSMENT")
    return outcomes


def _day(value: np.datetime64) -> str:
    return pd.Timestamp(value).date().isoformat()


def underivable(usubjid: np.ndarray, randdt: np.ndarray, death: np.ndarray, paramcd: str,
                cutoff: pd.Timestamp | None, considered: np.ndarray,
                ) -> tuple[np.ndarray, dict[int, DataQualityIssue]]:
    """Subjects (mask) whose parameter cannot be derived, and the issue of each by subject
    number: a missing ``RANDDT``, randomisation after the cut-off, death before randomisation
    (the first that applies)."""
    missing = considered & np.isnat(randdt)
    late = np.zeros(len(usubjid), dtype=bool)
    if cutoff is not None:
        late = considered & ~missing & (randdt > np.datetime64(pd.Timestamp(cutoff).value, "ns"))
    dead = considered & ~missing & ~late & (death < randdt)
    issues: dict[int, DataQualityIssue] = {}
    for i in np.flatnonzero(missing):
        issues[int(i)] = DataQualityIssue("ADSL", usubjid[i], "RANDDT", None,
                                          f"{paramcd} not derived: randomisation date is missing")
    for i in np.flatnonzero(late):
        assert cutoff is not None
        issues[int(i)] = DataQualityIssue("ADSL", usubjid[i], "RANDDT", _day(randdt[i]),
                                          f"{paramcd} not derived: randomised after the data "
                                          f"cut-off {pd.Timestamp(cutoff).date().isoformat()}")
    for i in np.flatnonzero(dead):
        issues[int(i)] = DataQualityIssue("ADSL", usubjid[i], "DTHDT", _day(death[i]),
                                          f"{paramcd} not derived: death before randomisation "
                                          f"{_day(randdt[i])}")
    return missing | late | dead, issues


def assessed_after_death(usubjid: np.ndarray, death: np.ndarray, records: Records,
                         paramcd: str, considered: np.ndarray,
                         ) -> tuple[np.ndarray, dict[int, DataQualityIssue]]:
    """Subjects (mask, among ``considered``) with a tumour assessment after death, whose
    progression parameter is not derived, and the issue naming the first such assessment."""
    n = len(usubjid)
    late = records.subset(records.dates > death[records.owner])
    first = group_min(late.owner, late.dates, n)
    flagged = considered & ~np.isnat(first)
    issues = {int(i): DataQualityIssue("RS", usubjid[i], "RSDTC", _day(first[i]),
                                       f"{paramcd} not derived: tumour assessment after death "
                                       f"{_day(death[i])}")
              for i in np.flatnonzero(flagged)}
    return flagged, issues
