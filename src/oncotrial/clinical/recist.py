"""RECIST 1.1 time-point responses from SDTM TU/TR data.

Reference: Eisenhauer EA et al. New response evaluation criteria in solid tumours: revised
RECIST guideline (version 1.1). Eur J Cancer 2009;45:228-247 (cited below as "RECIST",
with section and table numbers), plus the EORTC RECIST FAQ where RECIST is silent.

Accepted input columns
----------------------
TU (tumour identification), one row per lesion:

* ``USUBJID``, ``TULNKID`` (lesion id, links to ``TR.TRLNKID``), ``TUTESTCD`` (must be
  ``TUMIDENT``), ``TUORRES`` (``TARGET`` / ``NON-TARGET`` / ``NEW``), ``TULOC`` (organ),
  ``TUDTC`` (identification date; for ``NEW`` lesions the date the lesion was first seen).
* Optional ``TUNODE`` (boolean or ``Y``/``N``): the lesion is a lymph node. Without it a
  lesion is a node when ``TULOC`` contains ``LYMPH NODE`` (case-insensitive).

TR (tumour results), one row per lesion, test and assessment date:

* ``USUBJID``, ``TRLNKID``, ``TRTESTCD``, ``TRDTC``, and ``TRORRES`` and/or ``TRSTRESN``
  (``TRSTRESN`` wins when both are present). ``VISIT``/``TREVAL`` are carried but unused.
* ``TRTESTCD`` is ``LDIAM`` (longest diameter, mm, non-nodal lesions), ``SAXIS`` (short
  axis, mm, lymph nodes) or ``TUMSTATE`` (``PRESENT`` / ``ABSENT`` / ``UNEQUIVOCAL
  PROGRESSION`` / ``NOT EVALUABLE`` for non-target lesions; ``PRESENT`` / ``UNEQUIVOCAL`` /
  ``EQUIVOCAL`` / ``ABSENT`` for new lesions).
* ``TRORRES`` of ``TOO SMALL TO MEASURE`` is recorded as 5 mm (EORTC FAQ "Lesions less than
  5 mm"; RECIST appendix I); ``NOT DONE`` or an empty result means "not assessed".
* A lesion that split is recorded as fragments ``<TULNKID>.<n>`` (e.g. ``T01.1``,
  ``T01.2``) without their own TU rows; fragment diameters are added to the parent
  lesion (RECIST appendix I). Coalesced lesions carry the coalesced LD on one lesion and 0
  on the others.

Baseline is, per subject, every TR record dated on or before the latest ``TUDTC`` of the
subject's TARGET/NON-TARGET lesions; later dates (and ``NEW`` lesion dates) are follow-up
assessments. Diameters are converted to :class:`~decimal.Decimal` from their shortest
decimal representation, so threshold comparisons (exactly -30 %, exactly +20 %) are exact.

Bad input never stops the derivation and is never dropped silently: each problem becomes a
:class:`DataQualityIssue` and the derivation continues on the valid records.

Out of scope because TU/TR carry no field for them: CT slice thickness (measurability
depends on it, RECIST §3.1), tumour markers for a complete response (§4.3.2) and FDG-PET
findings for new lesions (§4.3.2) — checklist rows A3, C2 and D5–D8 of the survey.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pandas as pd

from oncotrial.clinical.quality import DataQualityIssue, issues_frame
from oncotrial.clinical.recist_records import (
    Collector,
    Lesion,
    parse_lesions,
    parse_results,
)
from oncotrial.clinical.sdtm import check_columns
from oncotrial.core.errors import DataError, InputError
from oncotrial.core.results import Result

__all__ = [
    "DataQualityIssue",
    "TimepointResult",
    "derive_nontarget_response",
    "derive_overall_response",
    "derive_target_response",
    "derive_timepoint_responses",
]

TU_COLUMNS = ("USUBJID", "TULNKID", "TUTESTCD", "TUORRES", "TULOC", "TUDTC")
TR_COLUMNS = ("USUBJID", "TRLNKID", "TRTESTCD", "TRDTC")
MAX_TARGETS = 5
MAX_PER_ORGAN = 2
BASELINE_WINDOW_DAYS = 28


@dataclasses.dataclass(frozen=True, repr=False)
class TimepointResult(Result):
    """Output of :func:`derive_timepoint_responses`.

    ``responses``: RS-style records ``USUBJID, RSDTC, RSTESTCD, RSORRES`` with ``RSTESTCD``
    in ``TRGRESP, NTRGRESP, NEWLIND, OVRLRESP``. ``sums``: per subject and date (baseline
    included) ``SUMDIAM`` (NaN when a target was not assessed), ``BASESUM`` and ``NADIR``
    (smallest complete sum before that date). ``issues``: data-quality issues.
    """

    responses: pd.DataFrame
    sums: pd.DataFrame
    issues: tuple[DataQualityIssue, ...]

    def issues_frame(self) -> pd.DataFrame:
        """The issues as a DataFrame with columns ``domain, usubjid, field, value, problem``."""
        return issues_frame(self.issues)

    def to_frame(self) -> pd.DataFrame:
        return self.responses


def _require(df: pd.DataFrame, columns: tuple[str, ...], domain: str) -> None:
    check_columns(df, domain)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{domain}: required column {missing[0]!r} is missing",
                        dataset=domain, variable=missing[0])


def derive_target_response(
    values: list[tuple[Decimal | None, bool]],
    baseline_sum: Decimal,
    nadir: Decimal,
) -> str:
    """Target-lesion response at one time point (RECIST section 4.3.1).

    ``values`` holds ``(diameter_mm_or_None, is_node)`` per baseline target lesion (LD for
    non-nodal lesions, short axis for nodes); ``nadir`` is the smallest complete sum so far,
    baseline included. Rules, checked in this order:

    * CR: every non-nodal target is 0 and every nodal target has SA < 10 mm (the sum need not
      be 0, RECIST 4.3.1 "special notes"), so normal-sized nodes do not block a CR.
    * PD: sum >= 120 % of the nadir **and** at least 5 mm above it. Compared as
      ``10*sum >= 12*nadir`` on Decimals, so exactly +20 % is PD, and a nadir of 0 (after CR)
      needs no division. PD takes precedence over PR because progression is measured from
      the nadir, not from baseline (RECIST 4.3.1).
    * PR: sum <= 70 % of the baseline sum, compared as ``10*sum <= 7*baseline`` (exactly -30 %
      is PR).
    * SD otherwise.

    If any target was not assessed the response is NE, unless the assessed lesions alone
    already meet PD, because a missing lesion can only add to the sum (RECIST 4.3.1,
    "missing assessments").
    """
    assessed = [v for v, _ in values if v is not None]
    total = sum(assessed, Decimal(0))
    progressed = 10 * total >= 12 * nadir and total - nadir >= 5
    if len(assessed) < len(values):
        return "PD" if progressed else "NE"
    if all((v < 10) if node else (v == 0) for v, node in values if v is not None):
        return "CR"
    if progressed:
        return "PD"
    if 10 * total <= 7 * baseline_sum:
        return "PR"
    return "SD"


def derive_nontarget_response(states: list[str | None]) -> str:
    """Non-target response at one time point (RECIST section 4.3.2).

    ``states`` holds one ``TUMSTATE`` per baseline non-target lesion (None = not assessed).
    PD if any lesion shows unequivocal progression (which needs no other lesion assessed);
    NE if any lesion is not assessed or not evaluable (CR cannot be claimed for lesions not
    seen); CR if all are absent (for nodes "absent" means normal size, SA < 10 mm);
    NON-CR/NON-PD otherwise. Tumour markers are not part of the input, so a CR here assumes
    normal markers.
    """
    if "UNEQUIVOCAL PROGRESSION" in states:
        return "PD"
    if any(s is None or s == "NOT EVALUABLE" for s in states):
        return "NE"
    if all(s == "ABSENT" for s in states):
        return "CR"
    return "NON-CR/NON-PD"


def derive_overall_response(
    target: str | None, nontarget: str | None, new_lesion: bool
) -> str:
    """Overall time-point response (RECIST section 4.4.1, Table 1 and Table 2).

    ``target`` is None when the subject has no target lesions (Table 2), ``nontarget`` is
    None when there are no non-target lesions (then only the targets decide). A new lesion
    or PD in either component is PD. With targets (Table 1): target NE is NE; target CR is
    CR only if the non-targets are CR (or absent), otherwise PR, because residual non-target
    disease rules out a complete response; target PR/SD pass through. Without targets
    (Table 2): the non-target response passes through, so NON-CR/NON-PD is never called SD
    (SD is defined on measurements only).
    """
    if new_lesion or target == "PD" or nontarget == "PD":
        return "PD"
    if target is None:
        if nontarget is None:
            raise InputError("overall response needs target or non-target lesions",
                             field="nontarget")
        return nontarget
    if target == "CR" and nontarget not in (None, "CR"):
        return "PR"
    return target


def _select_targets(
    subject: str,
    lesions: list[Lesion],
    baseline: dict[str, Any],
    dq: Collector,
) -> list[Lesion]:
    """Apply the baseline rules of RECIST section 3 / 4.2: measurability and 5-per-patient,
    2-per-organ (all nodes one organ). Ineligible targets are reported and re-classified as
    non-target lesions so their follow-up records are still used."""
    selected: list[Lesion] = []
    per_organ: dict[str, int] = defaultdict(int)
    for lesion in sorted(
        (x for x in lesions if x.role == "TARGET"), key=lambda x: x.lnkid
    ):
        value = baseline.get(lesion.lnkid)
        problem = None
        if not isinstance(value, Decimal):
            problem = "target lesion has no baseline measurement"
        elif lesion.node and value < 10:
            problem = "node SA < 10 mm is normal, not a lesion (RECIST 3.1.1)"
        elif lesion.node and value < 15:
            problem = (
                "node SA 10-<15 mm is pathological but non-measurable (RECIST 3.1.1)"
            )
        elif not lesion.node and value < 10:
            problem = "non-nodal LD < 10 mm is non-measurable (RECIST 3.1.1)"
        elif per_organ[lesion.organ] >= MAX_PER_ORGAN:
            problem = f"more than {MAX_PER_ORGAN} targets in organ {lesion.organ} (RECIST 4.2)"
        elif len(selected) >= MAX_TARGETS:
            problem = f"more than {MAX_TARGETS} target lesions (RECIST 4.2)"
        if problem:
            dq.add(
                "TU", subject, "TULNKID", lesion.lnkid, problem + "; used as non-target"
            )
            lesion.role = "NON-TARGET"
            continue
        per_organ[lesion.organ] += 1
        selected.append(lesion)
    return selected


def _state(lesion: Lesion, value: Any) -> str | None:
    """Non-target state from a TUMSTATE code or a measurement (0 mm / node SA < 10 = absent)."""
    if not isinstance(value, Decimal):
        return value
    if lesion.node:
        return "ABSENT" if value < 10 else "PRESENT"
    return "ABSENT" if value == 0 else "PRESENT"


def _new_lesion_onset(
    lesion: Lesion, records: dict[pd.Timestamp, Any]
) -> pd.Timestamp | None:
    """Date from which a NEW lesion makes the response PD, or None if never unequivocal.

    RECIST 4.3.2 "new lesions": a lesion must be unequivocal; if an equivocal lesion is later
    confirmed, PD is dated at the scan where it was first seen. A new node counts only from
    SA >= 10 mm (EORTC FAQ "new lymph node lesions"). Without TR records the TU row itself
    is the unequivocal finding, dated ``TUDTC``.
    """
    if not records:
        return lesion.date
    seen: list[pd.Timestamp] = []
    confirmed = False
    for date in sorted(records):
        state = _state(lesion, records[date])
        if state in ("PRESENT", "UNEQUIVOCAL"):
            seen.append(date)
            confirmed = True
        elif state == "EQUIVOCAL":
            seen.append(date)
    return min(seen) if confirmed else None


def derive_timepoint_responses(
    tu: pd.DataFrame,
    tr: pd.DataFrame,
    *,
    ref_dates: Mapping[str, Any] | pd.Series | None = None,
    sticky_pr: bool = False,
) -> TimepointResult:
    """Target, non-target, new-lesion and overall response per subject and assessment date.

    Applies the baseline rules (RECIST section 3 and 4.2), the target and non-target
    criteria (section 4.3, :func:`derive_target_response`, :func:`derive_nontarget_response`),
    new lesions (4.3.2) and Table 1/Table 2 (:func:`derive_overall_response`). The nadir is
    the smallest *complete* sum before the time point, baseline included (section 4.3.1).

    ``ref_dates`` (USUBJID -> randomisation/first-dose date) enables the check that baseline
    imaging is within 4 weeks before treatment (RECIST 4.1); violations are issues only.
    ``sticky_pr=True`` keeps a target PR/CR subject at PR until PD when a later sum no longer
    meets -30 % (EORTC FAQ "managing PR when time-point measurements change slightly");
    the default is the literal reading (SD).
    """
    _require(tu, TU_COLUMNS, "TU")
    _require(tr, TR_COLUMNS, "TR")
    if "TRORRES" not in tr.columns and "TRSTRESN" not in tr.columns:
        raise DataError("TR: required column 'TRORRES' or 'TRSTRESN' is missing",
                        dataset="TR", variable="TRORRES")
    dq = Collector()
    lesions = parse_lesions(tu, dq)
    results = parse_results(tr, lesions, dq)
    refs = dict(ref_dates.items()) if ref_dates is not None else {}
    by_subject: dict[str, list[Lesion]] = defaultdict(list)
    for lesion in lesions.values():
        by_subject[lesion.usubjid].append(lesion)
    records: dict[tuple[str, str], dict[pd.Timestamp, Any]] = defaultdict(dict)
    for (subject, lnkid, date), value in results.items():
        records[(subject, lnkid)][date] = value
    rows: list[dict[str, Any]] = []
    sums: list[dict[str, Any]] = []
    for subject in sorted(by_subject):
        _derive_subject(
            subject,
            by_subject[subject],
            records,
            refs.get(subject),
            sticky_pr,
            dq,
            rows,
            sums,
        )
    responses = pd.DataFrame(rows, columns=["USUBJID", "RSDTC", "RSTESTCD", "RSORRES"])
    sum_frame = pd.DataFrame(
        sums, columns=["USUBJID", "TRDTC", "SUMDIAM", "BASESUM", "NADIR"]
    )
    return TimepointResult(responses, sum_frame, tuple(dq.issues))


def _derive_subject(
    subject: str,
    lesions: list[Lesion],
    records: dict[tuple[str, str], dict[pd.Timestamp, Any]],
    ref_date: Any,
    sticky_pr: bool,
    dq: Collector,
    rows: list[dict[str, Any]],
    sums: list[dict[str, Any]],
) -> None:
    disease = [x for x in lesions if x.role != "NEW"]
    if not disease:
        dq.add(
            "TU",
            subject,
            "TUORRES",
            None,
            "no baseline TARGET/NON-TARGET lesion; no response",
        )
        return
    baseline_date = max(x.date for x in disease)
    if ref_date is not None and not pd.isna(ref_date):
        ref = pd.Timestamp(ref_date)
        if (ref - min(x.date for x in disease)).days > BASELINE_WINDOW_DAYS:
            dq.add(
                "TU",
                subject,
                "TUDTC",
                str(min(x.date for x in disease).date()),
                f"baseline more than {BASELINE_WINDOW_DAYS} days before {ref.date()} (RECIST 4.1)",
            )
    baseline = {}
    for lesion in disease:
        before = {
            d: v
            for d, v in records[(subject, lesion.lnkid)].items()
            if d <= baseline_date
        }
        if before:
            baseline[lesion.lnkid] = before[max(before)]
    targets = _select_targets(subject, disease, baseline, dq)
    nontargets = [x for x in disease if x.role == "NON-TARGET"]
    onsets = []
    for lesion in (x for x in lesions if x.role == "NEW"):
        if lesion.date <= baseline_date:
            dq.add(
                "TU",
                subject,
                "TUDTC",
                str(lesion.date.date()),
                f"NEW lesion {lesion.lnkid} dated on/before baseline; ignored",
            )
            continue
        onset = _new_lesion_onset(lesion, records[(subject, lesion.lnkid)])
        if onset is not None:
            onsets.append(onset)
    dates = {
        d for x in lesions for d in records[(subject, x.lnkid)] if d > baseline_date
    }
    dates |= {x.date for x in lesions if x.role == "NEW" and x.date > baseline_date}
    base_sum = sum((baseline[x.lnkid] for x in targets), Decimal(0))
    nadir = base_sum
    if targets:
        sums.append(
            {
                "USUBJID": subject,
                "TRDTC": baseline_date,
                "SUMDIAM": float(base_sum),
                "BASESUM": float(base_sum),
                "NADIR": float(base_sum),
            }
        )
    responded = False
    for date in sorted(dates):
        target = None
        if targets:
            values = [(records[(subject, x.lnkid)].get(date), x.node) for x in targets]
            target = derive_target_response(values, base_sum, nadir)
            if sticky_pr and responded and target == "SD":
                target = "PR"
            responded = responded or target in ("CR", "PR")
            complete = all(v is not None for v, _ in values)
            total = sum((v for v, _ in values if v is not None), Decimal(0))
            sums.append(
                {
                    "USUBJID": subject,
                    "TRDTC": date,
                    "SUMDIAM": float(total) if complete else math.nan,
                    "BASESUM": float(base_sum),
                    "NADIR": float(nadir),
                }
            )
            if complete:
                nadir = min(nadir, total)
        nontarget = None
        if nontargets:
            nontarget = derive_nontarget_response(
                [_state(x, records[(subject, x.lnkid)].get(date)) for x in nontargets]
            )
        new = any(onset <= date for onset in onsets)
        overall = derive_overall_response(target, nontarget, new)
        iso = date.strftime("%Y-%m-%d")
        for code, result in (
            ("TRGRESP", target),
            ("NTRGRESP", nontarget),
            ("NEWLIND", "Y" if new else "N"),
            ("OVRLRESP", overall),
        ):
            if result is not None:
                rows.append(
                    {
                        "USUBJID": subject,
                        "RSDTC": iso,
                        "RSTESTCD": code,
                        "RSORRES": result,
                    }
                )
