"""RECIST 1.1 best overall response (BOR), response rates and duration-of-response dates.

Input is the RS-style output of :func:`oncotrial.clinical.derive_timepoint_responses`
(``USUBJID, RSDTC, RSTESTCD, RSORRES``; only ``RSTESTCD == "OVRLRESP"`` rows are used).
Reference: Eisenhauer et al., Eur J Cancer 2009;45:228-247, section 4.4 and Table 3;
admiralonco conventions where RECIST leaves a choice open (noted per parameter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from oncotrial.clinical.sdtm import check_columns, parse_iso_date
from oncotrial.clinical.sdtm_parse import boxed
from oncotrial.core.errors import DataError, InputError
from oncotrial.core.validation import row_labels, row_numbers

__all__ = ["derive_best_overall_response", "response_rates"]

RESPONSES = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
#: worst first: used to keep one assessment per date when several exist (two readers)
WORST_ORDER = ("PD", "NE", "NON-CR/NON-PD", "SD", "PR", "CR")
#: best first: the BOR is the best qualifying category
BEST_ORDER = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
STABLE = ("SD", "NON-CR/NON-PD")
#: codes a BOR record may hold: a category, or MISSING (no post-baseline assessment)
BOR_CODES = (*BEST_ORDER, "MISSING")
BOR_COLUMNS = ["USUBJID", "BOR", "BORDT", "RSPDT", "PDDT", "DTHDT", "RSPENDDT"]


def _as_dict(dates: Mapping[str, Any] | pd.Series | None) -> dict[str, pd.Timestamp]:
    if dates is None:
        return {}
    return {str(k): pd.Timestamp(v) for k, v in dates.items() if not pd.isna(v)}


def _assessments(rs: pd.DataFrame) -> dict[str, list[tuple[pd.Timestamp, str]]]:
    """Overall responses per subject, one (worst) per date, sorted by date (ANL01FL)."""
    check_columns(rs, "RS")
    for column in ("USUBJID", "RSDTC", "RSTESTCD", "RSORRES"):
        if column not in rs.columns:
            raise DataError(f"RS: required column {column!r} is missing", dataset="RS",
                            variable=column)
    overall = (rs["RSTESTCD"] == "OVRLRESP").to_numpy()
    picked = rs[overall]
    lines = np.flatnonzero(overall) + 1
    subjects = picked["USUBJID"].astype(str).to_numpy(dtype=object)
    raw_values, raw_dates = boxed(picked["RSORRES"]), boxed(picked["RSDTC"])
    values = np.empty(len(picked), dtype=object)
    values[:] = [str(raw).strip().upper() for raw in raw_values]
    parsed = [parse_iso_date(v) for v in raw_dates]
    dates = [date for date, _ in parsed]
    unknown = ~pd.Series(values, dtype=object).isin(RESPONSES).to_numpy()
    undated = pd.isna(pd.Series(dates, dtype=object)).to_numpy()
    wrong = np.flatnonzero(unknown | undated)
    if len(wrong):  # the first wrong row, as a row-by-row reading would stop at it
        i = int(wrong[0])
        line = lines[i]
        if unknown[i]:
            raise DataError(
                f"RS: RSORRES {raw_values[i]!r} for subject {subjects[i]} at row {line} is "
                f"not one of {', '.join(RESPONSES)}", dataset="RS", variable="RSORRES",
                rows=[int(line)])
        problem = parsed[i][1]
        raise DataError(
            f"RS: RSDTC {raw_dates[i]!r} for subject {subjects[i]} at row {line} is not a "
            f"complete date{f' ({problem})' if problem else ''}", dataset="RS",
            variable="RSDTC", rows=[int(line)])
    # one assessment per subject and date, the worst (the first of equally bad ones)
    table = pd.DataFrame({"subject": subjects, "date": pd.to_datetime(pd.Series(dates)),
                          "rank": [WORST_ORDER.index(v) for v in values],
                          "position": np.arange(len(values))})
    kept = (table.sort_values(["subject", "date", "rank"], kind="stable")
            .drop_duplicates(["subject", "date"], keep="first"))
    out: dict[str, list[tuple[pd.Timestamp, str]]] = {}
    for subject, position in zip(kept["subject"], kept["position"], strict=True):
        out.setdefault(subject, []).append((dates[position], values[position]))
    return out


def _confirmed(
    seq: list[tuple[pd.Timestamp, str]],
    i: int,
    level: str,
    confirm_days: int,
    max_ne_between: int,
    forbid_pr_after_cr: bool,
) -> bool:
    """Is the response at ``seq[i]`` confirmed at ``level`` (CR: by a later CR; PR: by a later
    CR/PR) at least ``confirm_days`` later, with only such responses or NE in between, at most
    ``max_ne_between`` NE, and (if ``forbid_pr_after_cr``) no PR after a CR?"""
    start, first = seq[i]
    allowed = ("CR",) if level == "CR" else ("CR", "PR")
    ne = 0
    seen_cr = first == "CR"
    for date, value in seq[i + 1 :]:
        if value == "NE":
            ne += 1
            if ne > max_ne_between:
                return False
            continue
        if value not in allowed or (forbid_pr_after_cr and seen_cr and value == "PR"):
            return False
        seen_cr = seen_cr or value == "CR"
        if (date - start).days >= confirm_days:
            return True
    return False


def derive_best_overall_response(
    rs: pd.DataFrame,
    ref_dates: Mapping[str, Any] | pd.Series,
    *,
    confirm: bool = False,
    confirm_days: int = 28,
    min_sd_days: int = 35,
    max_ne_between: int = 1,
    forbid_pr_after_cr: bool = True,
    nact_dates: Mapping[str, Any] | pd.Series | None = None,
    death_dates: Mapping[str, Any] | pd.Series | None = None,
) -> pd.DataFrame:
    """Best overall response per subject (RECIST section 4.4.1, Table 3 when ``confirm``).

    One row per subject of ``ref_dates`` (USUBJID -> randomisation or first-dose date):
    ``USUBJID, BOR, BORDT`` (date of the assessment giving the BOR), ``RSPDT`` (first date of
    the (confirmed) CR/PR), ``PDDT`` (first PD), ``DTHDT`` and ``RSPENDDT`` (end of response =
    earlier of PD and death, responders only; censoring belongs to ADTTE). Rules:

    * Only assessments up to and including the first PD and before new anticancer therapy
      (``nact_dates``) count, because later ones do not describe the study treatment.
    * Several assessments on one date: the worst is kept (PD > NE > NON-CR/NON-PD > SD > PR >
      CR), so a second reader can never improve a response.
    * SD / NON-CR/NON-PD count only at >= ``min_sd_days`` after the reference date (RECIST
      4.4.1 "minimum interval"; default 35 = 6 weeks minus a 1-week visit window). CR/PR/PD
      count at any time.
    * Without confirmation the BOR is the best qualifying category, CR > PR > SD >
      NON-CR/NON-PD > PD > NE; subjects without any assessment get ``MISSING``.
    * With confirmation (Table 3) a CR needs a later CR and a PR a later CR/PR at least
      ``confirm_days`` later (RECIST 4.4.1 "confirmation": 4 weeks). Between them at most
      ``max_ne_between`` NE and, with ``forbid_pr_after_cr``, no PR after a CR (both
      admiralonco conventions, not RECIST text). An unconfirmed CR/PR counts as SD when the
      SD minimum is met. An unconfirmed CR followed by PR/SD before the SD minimum is PD
      (Table 3: after a true CR, reappearing disease is progression).
    """
    refs = _as_dict(ref_dates)
    nact = _as_dict(nact_dates)
    deaths = _as_dict(death_dates)
    assessments = _assessments(rs)
    unknown = sorted(set(assessments) - set(refs))
    if unknown:
        raise InputError(f"ref_dates: no reference date for subject {unknown[0]}",
                         field="ref_dates")
    rows = []
    for subject in sorted(refs):
        seq = [
            (d, v)
            for d, v in assessments.get(subject, [])
            if subject not in nact or d < nact[subject]
        ]
        pd_index = next((i for i, (_, v) in enumerate(seq) if v == "PD"), None)
        if pd_index is not None:
            seq = seq[: pd_index + 1]
        bor, bor_date, rsp_date = _best(
            seq,
            refs[subject],
            confirm,
            confirm_days,
            min_sd_days,
            max_ne_between,
            forbid_pr_after_cr,
        )
        pd_date = seq[pd_index][0] if pd_index is not None else pd.NaT
        death = deaths.get(subject, pd.NaT)
        end = min((d for d in (pd_date, death) if not pd.isna(d)), default=pd.NaT)
        rows.append(
            {
                "USUBJID": subject,
                "BOR": bor,
                "BORDT": bor_date,
                "RSPDT": rsp_date,
                "PDDT": pd_date,
                "DTHDT": death,
                "RSPENDDT": end if bor in ("CR", "PR") else pd.NaT,
            }
        )
    return pd.DataFrame(rows, columns=BOR_COLUMNS)


def _best(
    seq: list[tuple[pd.Timestamp, str]],
    ref: pd.Timestamp,
    confirm: bool,
    confirm_days: int,
    min_sd_days: int,
    max_ne_between: int,
    forbid_pr_after_cr: bool,
) -> tuple[str, Any, Any]:
    if not seq:
        return "MISSING", pd.NaT, pd.NaT
    candidates: list[tuple[str, pd.Timestamp]] = []
    for i, (date, value) in enumerate(seq):
        if value not in ("CR", "PR"):
            continue
        if not confirm:
            candidates.append((value, date))
            continue
        for level in ("CR", "PR")[("CR", "PR").index(value) :]:
            if _confirmed(
                seq, i, level, confirm_days, max_ne_between, forbid_pr_after_cr
            ):
                candidates.append((level, date))
                break
    stable = [
        ("SD" if v in ("CR", "PR") else v, d)
        for d, v in seq
        if (v in STABLE or (confirm and v in ("CR", "PR")))
        and (d - ref).days >= min_sd_days
    ]
    candidates += stable
    # SD / NON-CR/NON-PD before the minimum interval cannot be called stable: NE
    candidates += [
        ("NE", d) for d, v in seq if v in STABLE and (d - ref).days < min_sd_days
    ]
    if confirm and not stable:
        cr = next((i for i, (_, v) in enumerate(seq) if v == "CR"), None)
        later = (
            [d for d, v in seq[cr + 1 :] if v in ("PR", "SD")] if cr is not None else []
        )
        if later:
            candidates.append(("PD", later[0]))
    candidates += [(v, d) for d, v in seq if v in ("PD", "NE")]
    bor, bor_date = min(candidates, key=lambda c: (BEST_ORDER.index(c[0]), c[1]))
    rsp_date = pd.NaT
    if bor in ("CR", "PR"):
        rsp_date = min(d for v, d in candidates if v in ("CR", "PR"))
    return bor, bor_date, rsp_date


def response_rates(
    bor: pd.DataFrame, arms: Mapping[str, Any] | pd.Series, *, confidence: float = 0.95
) -> pd.DataFrame:
    """Objective response rate and disease-control rate per arm with exact CIs.

    ORR = #(BOR in CR, PR) / N and DCR = #(BOR in CR, PR, SD, NON-CR/NON-PD) / N (RECIST
    section 4.4; the SD minimum duration is already applied in the BOR). N is every subject
    of ``arms`` (intention to treat): subjects without a BOR row are non-responders, as the
    ORR denominator must not shrink with missing data. The CI is Clopper-Pearson
    (``scipy.stats.binomtest(...).proportion_ci(method="exact")``), the usual regulatory
    default. Returns ``ARM, PARAMCD (ORR/DCR), N, n, RATE, LCL, UCL``.
    """
    from scipy.stats import binomtest

    check_columns(bor, "bor")
    for column in ("USUBJID", "BOR"):
        if column not in bor.columns:
            raise DataError(f"bor: required column {column!r} is missing", dataset="bor",
                            variable=column)
    unknown = ~bor["BOR"].isin(BOR_CODES).to_numpy()
    if unknown.any():
        found = sorted({str(v) for v in bor["BOR"][unknown]})
        raise DataError(f"bor.BOR: unknown best-response code(s) {', '.join(found)} at "
                        f"{row_labels(unknown)} (accepted: {', '.join(BOR_CODES)}); a subject "
                        "would otherwise fall out of every category", dataset="bor",
                        variable="BOR", rows=row_numbers(unknown))
    mapping = {str(k): v for k, v in arms.items()}
    best = dict(zip(bor["USUBJID"].astype(str), bor["BOR"], strict=True))
    stray = sorted(set(best) - set(mapping))
    if stray:
        raise InputError(f"arms: subject {stray[0]} in BOR has no arm", field="arms")
    rows = []
    for arm in sorted(set(mapping.values()), key=str):
        subjects = [s for s, a in mapping.items() if a == arm]
        for param, codes in (("ORR", ("CR", "PR")), ("DCR", ("CR", "PR") + STABLE)):
            n = sum(best.get(s) in codes for s in subjects)
            ci = binomtest(n, len(subjects)).proportion_ci(
                confidence_level=confidence, method="exact"
            )
            rows.append(
                {
                    "ARM": arm,
                    "PARAMCD": param,
                    "N": len(subjects),
                    "n": n,
                    "RATE": n / len(subjects),
                    "LCL": ci.low,
                    "UCL": ci.high,
                }
            )
    return pd.DataFrame(
        rows, columns=["ARM", "PARAMCD", "N", "n", "RATE", "LCL", "UCL"]
    )
